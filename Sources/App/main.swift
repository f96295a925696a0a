print("chassis-web: not built yet")
