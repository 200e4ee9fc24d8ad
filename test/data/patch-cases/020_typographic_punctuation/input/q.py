msg = “it’s done” — ok
z = 1
