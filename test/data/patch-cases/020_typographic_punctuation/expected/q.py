msg = "finished"
z = 1
