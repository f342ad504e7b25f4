"""Reading the line a license asks to be shipped in a "Notice" file, from the license text itself.

Licenses such as Llama's and Gemma's quote the notice line they require ("... a Notice text file
... with the following notice: "..."). The knowledge base keeps no such line longer than a short
fact; the scan reads it from the license text the repository ships, so the deployer is told the
exact words. Pure functions over text: a compliance bundle can reuse them.
"""

from __future__ import annotations

import re

# A mention of the notice file or notice line, then (within a short span) a quoted passage.
_CUE = re.compile(r"notice[\"”’']?\s+(?:text\s+)?file|following\s+(?:attribution\s+)?notice|attribution\s+notice",
                  re.IGNORECASE)
_QUOTED = re.compile(r":\s*[\"“]([^\"“”]{20,400})[\"”]")   # the line follows a colon
_SPAN = 700          # characters after a cue where the quoted line may start
_MAX_TEXT = 400_000  # longer texts are read up to here


def _flat(text: str) -> str:
    return re.sub(r"\s+", " ", text[:_MAX_TEXT])


def notice_line(text: str | None, anchor: str | None = None) -> str | None:
    """The notice line the license `text` requires, word for word, or None.

    `anchor` (the line's first words, a short fact a record may keep) picks the quoted passage that
    begins with it; without one, the first quoted passage shortly after a mention of the notice."""
    if not text:
        return None
    flat = _flat(text)
    if anchor:
        start = re.escape(_flat(anchor).strip())
        m = re.search(r"[\"“](" + start + r"[^\"“”]{0,400})[\"”]", flat, re.IGNORECASE)
        return _clean(m.group(1)) if m else None
    for cue in _CUE.finditer(flat):
        m = _QUOTED.search(flat, cue.end(), cue.end() + _SPAN)
        if m:
            return _clean(m.group(1))
    return None


def _clean(line: str) -> str:
    return line.strip().rstrip(",;: ")
