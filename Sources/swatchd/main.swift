print("swatchd")
