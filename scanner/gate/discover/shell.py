"""Shell scripts, Dockerfiles, Makefiles, Procfiles and `.env` files: `vllm serve X`, `--model X`,
`--model-id X`, `MODEL_ID=X`, `ollama run|pull hf.co/...` (kinds vllm, tgi, ollama)."""

from __future__ import annotations

from pathlib import Path
from typing import Iterator

from scanner.gate.discover.reference import Reference
from scanner.gate.discover.words import MODEL_ENV, Found, Tok, commands, resolve, tokens


def matches(name: str) -> bool:
    """Dockerfiles, Containerfiles, shell scripts, `.env` files, Procfiles and Makefiles."""
    return (name in ("dockerfile", "containerfile") or name.startswith(("dockerfile.", "containerfile."))
            or name.endswith(".dockerfile") or name.endswith((".sh", ".bash", ".zsh", ".env"))
            or name in (".env", "procfile", "makefile") or name.startswith(".env."))


def _logical_lines(text: str) -> Iterator[list[Tok]]:
    """Words of each logical line (backslash continuations joined), each word with its own line."""
    words: list[Tok] = []
    for i, raw in enumerate(text.splitlines(), start=1):
        line = raw.rstrip()
        cont = line.endswith("\\")
        if cont:
            line = line[:-1]
        words.extend(tokens(line, i))
        if not cont:
            if words:
                yield words
            words = []
    if words:
        yield words


def shell_refs(text: str, file: str, base: Path) -> list[Reference]:
    refs: list[Reference] = []
    file_revision = None
    pending: list[Found] = []
    for words in _logical_lines(text):
        # `vllm serve` inside `sh -c "..."` arrives as one quoted word: split it again.
        expanded: list[Tok] = []
        for w in words:
            if " " in w.text:
                expanded.extend(tokens(w.text, w.line, w.col))
            else:
                expanded.append(w)
        found, revision = commands(expanded, None)
        env_found = [f for f in found if f.detail in MODEL_ENV]
        cmd_found = [f for f in found if f.detail not in MODEL_ENV]
        refs.extend(resolve(cmd_found, revision, file, base))
        pending.extend(env_found)
        if revision and not cmd_found:
            file_revision = file_revision or revision
    # MODEL_ID and REVISION are environment: in a .env file or a Dockerfile they pair up per file.
    refs.extend(resolve(pending, file_revision, file, base))
    refs.sort(key=lambda r: (r.line, r.column or 0))
    return refs
