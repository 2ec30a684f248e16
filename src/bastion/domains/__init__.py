"""Domain extensions. Each is an ordinary ``Extension``; domains never import each other."""
