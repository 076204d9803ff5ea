"""What a stored item carries beside its text, as feeds and pages serve it."""

from __future__ import annotations

from dataclasses import dataclass

from .. import media
from ..model import Enclosure, Episode, Person
from ..store import Preview, StoredItem


@dataclass(frozen=True)
class Extras:
    """A stored row's authors, tags, picture, media files, comments link,
    podcast episode fields and related page, read back from their columns."""

    authors: tuple[Person, ...]
    tags: tuple[str, ...]
    image: str
    enclosures: tuple[Enclosure, ...]
    comments: str
    image_caption: str = ""
    image_credit: str = ""
    episode: Episode = Episode()
    related: str = ""

    @classmethod
    def of(cls, row: StoredItem | Preview) -> "Extras":
        authors = media.stored_people(row.authors)
        if not authors and row.author and row.author.strip():
            authors = (media.person(row.author),)  # stored before authors were
        # A preview (listing pages) reads fewer columns: no episode, no caption.
        full = row if isinstance(row, StoredItem) else None
        return cls(
            authors=authors,
            tags=media.stored_tags(row.tags),
            # An item with no picture of its own shows the first of its content.
            image=row.image or media.first_image(row.content or ""),
            enclosures=media.stored_enclosures(row.enclosures),
            comments=row.comments or "",
            image_caption=full and full.image_caption or "",
            image_credit=full and full.image_credit or "",
            episode=media.stored_episode(full.episode if full else None),
            related=full and full.related or "",
        )

    @property
    def byline(self) -> str:
        """The authors' names, as a page shows them (never an address)."""
        return ", ".join(person.name for person in self.authors if person.name)

    def picture(self) -> Enclosure | None:
        """The picture as a media file with its caption and credit, when it
        has either and is not one of the item's files (which carry their own)."""
        if not self.image or not (self.image_caption or self.image_credit):
            return None
        if any(file.url == self.image for file in self.enclosures):
            return None
        credits = (self.image_credit,) if self.image_credit else ()
        return Enclosure(self.image, medium="image", caption=self.image_caption, credits=credits)
