"""What the lab is for: the demo and the catalogue of real-world misconfigurations."""
