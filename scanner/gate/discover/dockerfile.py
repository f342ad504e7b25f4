"""Dockerfiles and Containerfiles (kinds vllm, tgi, ollama): the model flags and variables in
`CMD`, `ENTRYPOINT`, `RUN` and `ENV` instructions, in shell form (`CMD vllm serve org/model`)
and in exec form (`CMD ["vllm", "serve", "org/model"]`, a JSON array of words).

A bounded parser of the instruction syntax (continuation lines, comments, the `# escape=`
directive, exec form), not of shell: the words of each instruction go through the same command
recognition as shell scripts (scanner/gate/discover/words.py). As Docker does, an exec-form
`ENTRYPOINT` is followed by the `CMD` words of its stage (`ENTRYPOINT ["vllm", "serve"]` then
`CMD ["org/model"]`); an instruction whose brackets are not a JSON array of strings is shell
form. Heredocs are not read.
"""

from __future__ import annotations

import json
import re
from pathlib import Path
from typing import Iterator

from scanner.gate.discover.reference import Reference
from scanner.gate.discover.shell import line_refs
from scanner.gate.discover.words import Tok, tokens

MAX_INSTRUCTION_LINES = 1000          # continuation lines joined into one instruction, at most
_DIRECTIVE = re.compile(r"^#\s*escape\s*=\s*([\\`])\s*$", re.I)
_INSTRUCTION = re.compile(r"^\s*([A-Za-z]+)(\s+|$)")
_JSON_STRING = re.compile(r'"(?:[^"\\]|\\.)*"')
_EXEC = ("CMD", "ENTRYPOINT", "RUN")


def matches(name: str) -> bool:
    return (name in ("dockerfile", "containerfile") or name.startswith(("dockerfile.", "containerfile."))
            or name.endswith((".dockerfile", ".containerfile")))


def _instructions(text: str) -> Iterator[list[tuple[int, str]]]:
    """Each instruction as its physical lines [(line number, text)], continuations joined."""
    escape = "\\"
    lines = text.splitlines()
    for raw in lines[:5]:                 # parser directives come first, before any instruction
        m = _DIRECTIVE.match(raw.strip())
        if m:
            escape = m.group(1)
            break
        if raw.strip() and not raw.lstrip().startswith("#"):
            break
    parts: list[tuple[int, str]] = []
    for i, raw in enumerate(lines, start=1):
        if raw.lstrip().startswith("#") and parts:
            continue                      # a comment inside a continued instruction
        if not parts and (not raw.strip() or raw.lstrip().startswith("#")):
            continue
        stripped = raw.rstrip()
        cont = stripped.endswith(escape) and len(parts) < MAX_INSTRUCTION_LINES
        parts.append((i, stripped[:-1] if cont else stripped))
        if not cont:
            yield parts
            parts = []
    if parts:
        yield parts


def _exec_words(parts: list[tuple[int, str]], start: int) -> list[Tok] | None:
    """The words of an exec-form argument (a JSON array of strings), each at its line and column;
    None when the argument is not one (then it is shell form)."""
    joined = " ".join(t for _, t in parts)[start:].strip()
    if not joined.startswith("["):
        return None
    try:
        value = json.loads(joined)
    except ValueError:
        return None
    if not isinstance(value, list) or not all(isinstance(v, str) for v in value):
        return None
    words: list[Tok] = []
    for n, (line, text) in enumerate(parts):
        offset = start if n == 0 else 0
        for m in _JSON_STRING.finditer(text, offset):
            words.append(Tok(json.loads(m.group(0)), line, m.start() + 2))
    if [w.text for w in words] != value:  # a string split across lines: keep the words, lose columns
        words = [Tok(v, parts[0][0], 1) for v in value]
    # `["sh", "-c", "vllm serve org/model"]`: a word with spaces is a command line of its own
    out: list[Tok] = []
    for w in words:
        out.extend(tokens(w.text, w.line, w.col) if " " in w.text else [w])
    return out


def _logical_lines(text: str) -> Iterator[list[Tok]]:
    entrypoint: list[Tok] | None = None
    for parts in _instructions(text):
        first_line, first = parts[0]
        m = _INSTRUCTION.match(first)
        if not m:
            continue
        keyword = m.group(1).upper()
        if keyword == "FROM":
            entrypoint = None             # a new build stage
        head = [Tok(m.group(1), first_line, m.start(1) + 1)]
        words = _exec_words(parts, m.end()) if keyword in _EXEC else None
        if words is None:                 # shell form (and ENV, ARG, LABEL, ...)
            words = tokens(first[m.end():], first_line, m.end() + 1)
            for line, text in parts[1:]:
                words.extend(tokens(text, line))
            if keyword == "ENTRYPOINT":
                entrypoint = None         # shell-form ENTRYPOINT ignores CMD
        elif keyword == "ENTRYPOINT":
            entrypoint = words
        elif keyword == "CMD" and entrypoint:
            words = entrypoint + words    # what the container runs
        yield head + words


def dockerfile_refs(text: str, file: str, base: Path) -> list[Reference]:
    return line_refs(_logical_lines(text), file, base)
