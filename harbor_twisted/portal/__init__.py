"""What the web portal talks to besides the REST API: the session endpoints under ``/c``."""
