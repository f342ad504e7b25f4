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

# Bounded repetitions: these run on text from strangers, and an unbounded `[^>\s]+` after an
# optional prefix makes "<http://<http://..." quadratic.
_LINK = re.compile(r"!?\[([^\[\]\n]{0,500})\]\(([^()\s]{0,2048})\)")   # [text](url) -> text url
_AUTOLINK = re.compile(r"<(https?://[^<>\s]{1,2048})>")
_HTML_TAG = re.compile(r"</?[a-zA-Z][^>\n]{0,200}>")
_ESCAPE = re.compile(r"\\([\\`*_{}\[\]()#+\-.!|>~\"'])")
_LINE_PREFIX = re.compile(
    r"^[ \t]*(?:>[ \t]*)*(?:#{1,6}[ \t]+|[-*+][ \t]+|(?:\(?[0-9]{1,3}[.)]|\(?[a-z]{1,2}\)|\(?[ivx]{1,5}\))[ \t]+)*",
    re.MULTILINE)
_NON_ASCII = re.compile(r"[^\x00-\x7f]+")
_TRANSLATED = re.compile("[" + re.escape("".join(chr(c) for c in _TRANSLATE)) + "]")
_PUNCT_SPACE = re.compile(r" ([,.;:!?)])")        # whitespace is single spaces by then
_OPEN_SPACE = re.compile(r"\( ")
_HRULE = re.compile(r"^[ \t]*([-*_=])(?:[ \t]*\1){2,}[ \t]*$", re.MULTILINE)


def normalize(text: str) -> str:
    """Return the canonical form of a license text: one line, lower case, plain ASCII punctuation.

    Written for speed (the gate normalises every license file it sees): the steps are those
    of the plain pipeline kept in tests/test_textnorm.py, which checks that both agree.
    """
    if not text.isascii():
        if not unicodedata.is_normalized("NFKC", text):
            text = _nfkc(text)
        text = _TRANSLATED.sub(_translate, text)
    text = text.replace("\r\n", "\n").replace("\r", "\n")
    text = _HRULE.sub(" ", text)
    if "](" in text:
        text = _LINK.sub(r"\1 \2", text)
    text = _AUTOLINK.sub(r"\1", text)
    text = _HTML_TAG.sub(" ", text)
    text = _ESCAPE.sub(r"\1", text)
    text = _LINE_PREFIX.sub("", text)
    # emphasis: ~~ pairs (a lone ~ stays), then every *, _ and `
    text = text.replace("~~", "")
    for ch in "*_`":
        if ch in text:
            text = text.replace(ch, "")
    for mark in ("©", "(C)"):
        if mark in text:
            text = text.replace(mark, "(c)")
    text = " ".join(text.lower().split())          # str.split() and re's \s agree on whitespace
    text = _PUNCT_SPACE.sub(r"\1", text)
    text = _OPEN_SPACE.sub("(", text)
    return text


def _nfkc(text: str) -> str:
    """NFKC of the non-ASCII runs only, each with the character before it (a combining mark
    composes with it); ASCII characters are stable under NFKC and never compose with what follows."""
    out = []
    pos = 0
    for m in _NON_ASCII.finditer(text):
        start = max(m.start() - 1, pos)
        out.append(text[pos:start])
        out.append(unicodedata.normalize("NFKC", text[start:m.end()]))
        pos = m.end()
    out.append(text[pos:])
    return "".join(out)


def _translate(m: "re.Match[str]") -> str:
    return m.group().translate(_TRANSLATE)


def normalized_sha256(text: str) -> str:
    return hashlib.sha256(normalize(text).encode("utf-8")).hexdigest()


def git_blob_oid(data: bytes) -> str:
    """The git blob sha1 the Hub reports as a file's blobId / oid."""
    return hashlib.sha1(b"blob %d\0" % len(data) + data).hexdigest()


def decode_text(data: bytes) -> str | None:
    """Decode license-file bytes, or None when they are not text (binary)."""
    if data[:2] in (b"\xff\xfe", b"\xfe\xff"):      # UTF-16 with its byte-order mark (NULs are normal there)
        try:
            return data.decode("utf-16")
        except UnicodeDecodeError:
            return None
    if b"\0" in data[:8192]:
        return None
    try:
        return data.decode("utf-8-sig")
    except UnicodeDecodeError:
        pass
    # Not UTF-8: Windows-1252 (curly quotes saved by a word processor), else Latin-1, accepted only
    # when it is mostly printable text.
    try:
        text = data.decode("cp1252")
    except UnicodeDecodeError:
        text = data.decode("latin-1")
    printable = sum(1 for ch in text[:8192] if ch.isprintable() or ch in "\n\r\t")
    if printable < 0.95 * min(len(text), 8192):
        return None
    return text
