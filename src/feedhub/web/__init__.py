"""The web side: the only code that imports Flask, werkzeug or granian."""

from .app import create_app

__all__ = ["create_app"]
