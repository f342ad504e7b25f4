"""Strings from outside are data: one place that makes them safe for each rendered surface.

Card fields, Hub answers, file names, policy names and error messages reach terminals, pull-request
comments and XML/JSON reports. Every renderer passes them through one of these:

* `plain(text)`: one line with no control characters (C0, C1, DEL), no bidi overrides or
  isolates, and no lone surrogates; what a terminal or a log line may show.
* `terminal(text)`: `plain` plus rich markup escaped (for rich renderables).
* `markdown_inline(text)`: `plain` plus every Markdown/HTML/table character escaped, @mentions and
  bare autolinks (`https://`, `www.`) broken with a zero-width space, for GitHub comments and job
  summaries. Reused by anything that writes a PR comment.
* `xml_text(text)`: only the characters XML 1.0 can carry (JUnit).
* `encodable(text)`: lone surrogates replaced, so that the text always encodes as UTF-8.
"""

from __future__ import annotations

import functools
import re
from typing import Any

_SURROGATE = re.compile("[\ud800-\udfff]")
# C0 (but tab and newline are handled by the caller), DEL, C1, bidi marks/embeddings/overrides/isolates,
# the Arabic letter mark, and the line/paragraph separators.
_CONTROL = re.compile("[\x00-\x08\x0b-\x1f\x7f-\x9f\u061c\u200e\u200f\u202a-\u202e\u2066-\u2069\u2028\u2029]")
_SPACE = re.compile(r"\s+")
_MD_SPECIAL = re.compile(r"([\\`*_\[\]<>|~&!#])")
_MENTION = re.compile(r"@(?=[A-Za-z0-9])")
_AUTOLINK = re.compile(r"(?i)(?<=[a-z0-9])(:)(?=//)|\b(www)(\.)")
ZWSP = "\u200b"


def encodable(text: str) -> str:
    """`text` with lone surrogates replaced by U+FFFD (they cannot be written as UTF-8)."""
    if text.isascii():
        return text
    try:
        text.encode("utf-8")                 # in C, and much faster than the search when none is there
    except UnicodeEncodeError:
        return _SURROGATE.sub("\ufffd", text)
    return text


def strip_controls(text: str, keep_newlines: bool = False) -> str:
    """`text` without control, bidi and surrogate characters (tabs become spaces)."""
    text = encodable(text).replace("\t", " ")
    if keep_newlines:
        return "\n".join(_CONTROL.sub("", line) for line in text.replace("\r\n", "\n").split("\n"))
    return _CONTROL.sub("", text.replace("\r", " ").replace("\n", " "))


def plain(value: Any) -> str:
    """A value as one safe line of text."""
    return strip_controls("" if value is None else str(value))


def terminal(value: Any) -> str:
    """A value for rich: one safe line, with rich markup escaped."""
    from rich.markup import RE_TAGS, escape

    text = escape(plain(value))
    # rich escapes what looks like a tag, but when it renders, text outside tags loses the
    # backslash of every backslash-bracket pair ("\\[" shows as "["): give those one more.
    out, pos = [], 0
    for m in RE_TAGS.finditer(text):
        out.append(text[pos:m.start()].replace("\\[", "\\\\["))
        out.append(m.group(0))
        pos = m.end()
    out.append(text[pos:].replace("\\[", "\\\\["))
    return "".join(out)


def markdown_inline(value: Any) -> str:
    """A value as inline Markdown text: one line, every markup character escaped, no mention or
    autolink, no HTML, no table cell break."""
    text = _SPACE.sub(" ", plain(value)).strip()
    text = _MD_SPECIAL.sub(r"\\\1", text)
    text = _MENTION.sub("@" + ZWSP, text)
    return _AUTOLINK.sub(lambda m: (m.group(1) + ZWSP) if m.group(1) else (m.group(2) + ZWSP + m.group(3)), text)


def xml_text(value: Any) -> str:
    """Text XML 1.0 can carry (characters it cannot are dropped)."""
    return _not_xml().sub("", "" if value is None else str(value))


@functools.lru_cache(maxsize=1)
def _not_xml() -> re.Pattern[str]:
    # compiled on first use (about 9 ms: the class spans the astral planes); only JUnit needs it
    return re.compile("[^\u0009\u000a\u000d\u0020-\ud7ff\ue000-\ufffd\U00010000-\U0010ffff]")
