"""feedhub: newsroom articles and source feeds in, deduplicated RSS and Atom out."""

__version__ = "0.1.0"
