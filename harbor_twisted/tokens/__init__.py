"""The token service's HTTP resource (``/service/token``): an HTTP surface of its own."""
