"""The served side, without HTTP: the store's items rendered as RSS 2.0, Atom
1.0 and JSON Feed (feeds.py), kept rendered and compressed (cache.py), written
as static files (static.py), listed as OPML (opml.py), and who may read which
category (access.py: partner keys, private categories, operator checks).
"""
