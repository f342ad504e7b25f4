"""Text normalisation shared by hashing, marker matching and fingerprints.

Two copies of one license differ in ways that carry no meaning: line wraps, case,
markdown emphasis and escapes, curly quotes, "©" vs "(c)", bullets and list
numbering. Every comparison in the scanner goes through :func:`normalize` so that
these differences never decide a match.
"""

from __future__ import annotations

import hashlib
import re
import unicodedata

_TRANSLATE = str.maketrans({
    "\u2018": "'", "\u2019": "'", "\u201a": "'", "\u201b": "'", "\u2032": "'",
    "\u201c": '"', "\u201d": '"', "\u201e": '"', "\u201f": '"', "\u2033": '"',
    "\u00ab": '"', "\u00bb": '"',
    "\u2013": "-", "\u2014": "-", "\u2012": "-", "\u2212": "-", "\u2010": "-", "\u2011": "-",
    "\u00a0": " ", "\u2009": " ", "\u202f": " ", "\u200b": "", "\ufeff": "",
    "\u2022": " ", "\u25cf": " ", "\u25aa": " ", "\u2023": " ", "\u2043": " ", "\u00b7": " ",
    "\u2026": "...",
})

_LINK = re.compile(r"!?\[([^\]\n]*)\]\(([^)\s]*)\)")            # [text](url) -> text url
_AUTOLINK = re.compile(r"<(https?://[^>\s]+)>")
_HTML_TAG = re.compile(r"</?[a-zA-Z][^>\n]{0,200}>")
_ESCAPE = re.compile(r"\\([\\`*_{}\[\]()#+\-.!|>~\"'])")
_EMPHASIS = re.compile(r"(\*{1,3}|_{1,3}|~~|`+)")
_LINE_PREFIX = re.compile(
    r"^[ \t]*(?:>[ \t]*)*(?:#{1,6}[ \t]+|[-*+][ \t]+|(?:\(?[0-9]{1,3}[.)]|\(?[a-z]{1,2}\)|\(?[ivx]{1,5}\))[ \t]+)*",
    re.MULTILINE)
_COPYRIGHT = re.compile(r"\(c\)|©|\(C\)")
_PUNCT_SPACE = re.compile(r"\s+([,.;:!?)])")
_OPEN_SPACE = re.compile(r"([(])\s+")
_SPACES = re.compile(r"\s+")
_HRULE = re.compile(r"^[ \t]*([-*_=])(?:[ \t]*\1){2,}[ \t]*$", re.MULTILINE)


def normalize(text: str) -> str:
    """Return the canonical form of a license text: one line, lower case, plain ASCII punctuation."""
    text = unicodedata.normalize("NFKC", text).translate(_TRANSLATE)
    text = text.replace("\r\n", "\n").replace("\r", "\n")
    text = _HRULE.sub(" ", text)
    text = _LINK.sub(r"\1 \2", text)
    text = _AUTOLINK.sub(r"\1", text)
    text = _HTML_TAG.sub(" ", text)
    text = _ESCAPE.sub(r"\1", text)
    text = _LINE_PREFIX.sub("", text)
    text = _EMPHASIS.sub("", text)
    text = _COPYRIGHT.sub("(c)", text)
    text = text.lower()
    text = _SPACES.sub(" ", text)
    text = _PUNCT_SPACE.sub(r"\1", text)
    text = _OPEN_SPACE.sub(r"\1", text)
    return text.strip()


def normalized_sha256(text: str) -> str:
    return hashlib.sha256(normalize(text).encode("utf-8")).hexdigest()


def git_blob_oid(data: bytes) -> str:
    """The git blob sha1 the Hub reports as a file's blobId / oid."""
    return hashlib.sha1(b"blob %d\0" % len(data) + data).hexdigest()


def decode_text(data: bytes) -> str | None:
    """Decode license-file bytes, or None when they are not text (binary)."""
    if b"\0" in data[:8192]:
        return None
    for enc in ("utf-8-sig", "utf-16"):
        if enc == "utf-16" and not data[:2] in (b"\xff\xfe", b"\xfe\xff"):
            continue
        try:
            return data.decode(enc)
        except UnicodeDecodeError:
            pass
    # Not UTF-8: accept it as Latin-1 only when it is mostly printable text.
    text = data.decode("latin-1")
    printable = sum(1 for ch in text[:8192] if ch.isprintable() or ch in "\n\r\t")
    if printable < 0.95 * min(len(text), 8192):
        return None
    return text
