"""harbor-twisted: an enterprise container registry on Twisted."""

__version__ = "0.1.0"
