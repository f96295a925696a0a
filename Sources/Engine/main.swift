print("chassis-engine: not built yet")
