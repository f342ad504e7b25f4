"""Ollama Modelfiles: `FROM hf.co/org/name[:quant]` (kind ollama)."""

from __future__ import annotations

import re
from pathlib import Path

from scanner.gate.discover.reference import Reference
from scanner.gate.discover.words import Found, Tok, resolve


def matches(name: str) -> bool:
    return name == "modelfile" or name.startswith("modelfile.") or name.endswith(".modelfile")


def modelfile_refs(text: str, file: str, base: Path) -> list[Reference]:
    refs: list[Reference] = []
    for i, raw in enumerate(text.splitlines(), start=1):
        m = re.match(r"^(\s*FROM\s+)(\S+)", raw, re.I)
        if not m:
            continue
        value = m.group(2)
        if not re.match(r"^(?:https?://)?(?:www\.)?(?:hf\.co|huggingface\.co)/", value):
            continue
        refs.extend(resolve([Found(value, Tok(value, i, len(m.group(1)) + 1), "ollama", "FROM")], None, file, base))
    return refs
