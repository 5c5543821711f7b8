print("swatchctl")
