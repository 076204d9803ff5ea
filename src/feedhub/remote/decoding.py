"""Bytes in an uncertain encoding to text, never to silent mojibake.

Newsroom files and feeds arrive in UTF-8 (with or without a BOM), in the
Windows-1252 / ISO-8859-1 of older tools, and sometimes mislabelled.  UTF-8
is tried first: legacy text with accented letters is practically never valid
UTF-8, so when it decodes, it is right.  Otherwise Windows-1252 is tried (it
reads ISO-8859-1 text the same way and also has the curly quotes and dashes
ISO-8859-1 lacks), but only kept when charset-normalizer finds the result
plausible: Cyrillic or Greek bytes read as Windows-1252 ("Ïðèâåò") are a mess
of accents and are refused instead of stored.

Text that is valid UTF-8 can still be mojibake: UTF-8 that some tool read as
Windows-1252 and saved again ("CafÃ©").  ftfy recognises that; ``mojibake``
says where, ``repair`` undoes it.
"""

from __future__ import annotations

import codecs
import re

# ftfy and charset-normalizer are imported where they are used: most files are
# plain UTF-8 (often ASCII) and never need them, and loading them was a tenth
# of a second at every start of `feedhub ingest`.

LEGACY = "windows-1252"
# Western text read as Windows-1252 measures below 0.05; Cyrillic, Greek or
# Central European bytes read that way measure 0.2 to over 1.
MAX_MESS = 0.1
MARKUP = re.compile(r"<[^>]*>")


class Undecodable(ValueError):
    """Bytes whose encoding cannot be told; `line` is where the trouble starts."""

    def __init__(self, message: str, line: int):
        super().__init__(message)
        self.line = line


def decode(raw: bytes) -> tuple[str, str]:
    """(text, encoding used): UTF-8, else plausible Windows-1252, else Undecodable."""
    if raw.startswith(codecs.BOM_UTF8):
        raw = raw[len(codecs.BOM_UTF8):]
    try:
        return raw.decode("utf-8"), "utf-8"
    except UnicodeDecodeError as exc:
        first_bad = exc.start
    line = raw[:first_bad].count(b"\n") + 1
    if not plausible_legacy(raw):
        raise Undecodable(
            f"not UTF-8 (byte 0x{raw[first_bad]:02x}), and not Windows-1252 / ISO-8859-1 text either; "
            "cannot tell its encoding",
            line,
        )
    return raw.decode(LEGACY), LEGACY


def plausible_legacy(raw: bytes) -> bool:
    """True if `raw` reads as sensible Windows-1252 (or ISO-8859-1) text."""
    try:
        text = raw.decode(LEGACY)
    except UnicodeDecodeError:  # 0x81, 0x8d, 0x8f, 0x90, 0x9d: unused there
        return False
    from charset_normalizer.md import mess_ratio

    # charset-normalizer's measure of how garbled text looks (accents inside
    # runs of other accents, odd symbols); markup is ASCII and would dilute it.
    return mess_ratio(MARKUP.sub(" ", text), maximum_threshold=1.0) < MAX_MESS


def detect(raw: bytes) -> tuple[str, str] | None:
    """(text, encoding) of bytes in some legacy encoding (Shift_JIS, KOI8-R,
    Windows-1251...) when charset-normalizer finds one they read plausibly
    in; None when none does.  For documents that name no encoding at all."""
    from charset_normalizer import from_bytes

    best = from_bytes(raw).best()
    if best is None or best.chaos > MAX_MESS:
        return None
    return str(best), best.encoding


def mostly_utf8(raw: bytes) -> bool:
    """UTF-8 with a few broken bytes (a bad paste, a truncated character):
    far more valid multi-byte characters than broken ones."""
    text = raw.decode("utf-8", "replace")
    broken = text.count("\ufffd")
    non_ascii = len(text) - len(text.encode("ascii", "ignore"))
    return non_ascii - broken >= 10 * broken


def mojibake(text: str) -> tuple[int, str, str] | None:
    """(line number, garbled text, what it should say) for the first line of
    UTF-8 that was read as a legacy encoding, or None."""
    if text.isascii():  # mojibake is made of non-ASCII characters; skip ftfy
        return None
    import ftfy

    for number, line in enumerate(text.splitlines(), start=1):
        if line.isascii():
            continue
        fixed = ftfy.fix_encoding(line)
        if fixed != line:
            return number, line, fixed
    return None


def repair(text: str) -> str:
    """`text` with UTF-8-read-as-legacy sequences ("CafÃ©") decoded back."""
    if text.isascii():  # nothing was misread: mojibake is made of non-ASCII letters
        return text
    import ftfy

    return ftfy.fix_encoding(text)
