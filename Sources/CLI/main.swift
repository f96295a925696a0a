print("chassisctl: not built yet")
