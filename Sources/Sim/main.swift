print("chassis-sim: not built yet")
