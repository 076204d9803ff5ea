"""OPML 2.0 subscription lists: written for `/opml` (categories_document)
and source exports (feedlist), read for source imports.

An OPML file is a tree of <outline> elements; a feed is an outline with an
``xmlUrl``.  Readers often group feeds in folder outlines, so reading returns
each feed with the folder it sits in (or its ``category`` attribute).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from email.utils import format_datetime
from typing import Iterator
from urllib.parse import urlencode

from lxml import etree

from ..config import Category, Config
from . import access, feeds

SPEC = "http://opml.org/spec2.opml"


class OpmlError(ValueError):
    """An OPML document that cannot be read; str() says where and why."""


@dataclass(frozen=True)
class Outline:
    """One subscription: a feed URL and what to call it."""

    text: str
    xml_url: str
    html_url: str = ""
    description: str = ""
    category: str = ""  # the folder outline it sat in, or its category attribute
    type: str = "rss"  # OPML 2.0 uses "rss" for every feed format


def write(title: str, outlines: list[Outline], created: datetime | None = None) -> bytes:
    root = etree.Element("opml", version="2.0")
    head = etree.SubElement(root, "head")
    etree.SubElement(head, "title").text = title
    if created:
        etree.SubElement(head, "dateCreated").text = format_datetime(created, usegmt=True)
    etree.SubElement(head, "docs").text = SPEC
    body = etree.SubElement(root, "body")
    for outline in outlines:
        attributes = {"type": outline.type, "text": outline.text, "title": outline.text, "xmlUrl": outline.xml_url}
        if outline.html_url:
            attributes["htmlUrl"] = outline.html_url
        if outline.description:
            attributes["description"] = outline.description
        if outline.category:
            attributes["category"] = outline.category
        etree.SubElement(body, "outline", attributes)
    return etree.tostring(root, xml_declaration=True, encoding="UTF-8")


def categories_document(config: Config, categories: dict[str, Category], key: str | None = None) -> bytes:
    """These categories' RSS feeds as an OPML 2.0 subscription list; private
    ones' addresses carry `key`."""

    def address(name: str, category: Category) -> str:
        url = feeds.feed_url(config, name, "rss")
        return f"{url}?{urlencode({access.KEY_PARAM: key})}" if key and category.private else url

    outlines = [
        Outline(
            text=f"{config.site.title}: {category.title}",
            xml_url=address(name, category),
            html_url=feeds.page_url(config, name),
            description=category.description,
        )
        for name, category in categories.items()
    ]
    return write(config.site.title, outlines)


def read(data: bytes, name: str = "OPML") -> list[Outline]:
    """Every feed outline in an OPML document, in document order."""
    # No entities, no DTDs, no network: an import is untrusted input.
    parser = etree.XMLParser(resolve_entities=False, no_network=True, load_dtd=False, huge_tree=False)
    try:
        root = etree.fromstring(data, parser)
    except etree.XMLSyntaxError as exc:
        raise OpmlError(f"{name}:{exc.lineno}: not well-formed XML: {exc.msg}") from None
    if root.tag != "opml":
        raise OpmlError(f"{name}:{root.sourceline}: expected an <opml> document, got <{root.tag}>")
    body = root.find("body")
    if body is None:
        raise OpmlError(f"{name}: no <body> element")
    return list(_feeds(body, ""))


def _feeds(parent: etree._Element, folder: str) -> Iterator[Outline]:
    for node in parent.iterfind("outline"):
        text = node.get("text") or node.get("title") or ""
        if xml_url := node.get("xmlUrl"):
            yield Outline(
                text=text or xml_url,
                xml_url=xml_url,
                html_url=node.get("htmlUrl", ""),
                description=node.get("description", ""),
                category=node.get("category") or folder,
                type=node.get("type", "rss"),
            )
        elif len(node):
            yield from _feeds(node, text)
