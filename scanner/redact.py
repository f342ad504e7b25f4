"""Keeping tokens out of everything the tool prints, reports or writes."""

from __future__ import annotations

import re

_BEARER = re.compile(r"(?i)(bearer\s+)[A-Za-z0-9_\-.]+")


def redact(text: str, token: str | None) -> str:
    """`text` with the token, and any bearer credential, replaced by ***."""
    if token and token in text:
        text = text.replace(token, "***")
    return _BEARER.sub(r"\1***", text)
