"""Running the two functions against the lab: the function process runner and the local Functions host."""
