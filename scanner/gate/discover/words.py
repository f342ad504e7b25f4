"""Words of command lines and the model flags and variables in them (vLLM, TGI, Ollama); shared by
the shell and the compose / Kubernetes kinds."""

from __future__ import annotations

import os
import re
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Iterable

import yaml

from scanner.gate.discover.ids import hub_model_id
from scanner.gate.discover.reference import Reference

MODEL_ENV = ("MODEL_ID", "HF_MODEL_ID")          # TGI (and SageMaker's TGI containers)
REVISION_ENV = ("REVISION", "HF_MODEL_REVISION")
MODEL_FLAGS = {"--model": "vllm", "--model-id": "tgi", "--model_id": "tgi"}
_TOKEN = re.compile(r""""((?:[^"\\]|\\.)*)"|'([^']*)'|([^\s"']+(?:(?:"[^"]*"|'[^']*')[^\s"']*)*)""")


@dataclass(frozen=True)
class Tok:
    text: str
    line: int
    col: int


def tokens(text: str, line: int, col: int = 1) -> list[Tok]:
    """Shell-ish words of one physical line with their columns; quotes are removed, '#' ends it."""
    out: list[Tok] = []
    for m in _TOKEN.finditer(text):
        word = m.group(0)
        if word.startswith("#"):
            break
        if m.group(1) is not None:
            word = m.group(1)
        elif m.group(2) is not None:
            word = m.group(2)
        else:
            word = re.sub(r"""["']""", "", word)
        out.append(Tok(word, line, col + m.start()))
    return out


def scalar_tokens(node: yaml.ScalarNode) -> list[Tok]:
    """Words of a YAML scalar, with the line each sits on (block scalars start a line below)."""
    value = str(node.value)
    first = node.start_mark.line + 1
    if node.style in ("|", ">"):
        return [t for i, ln in enumerate(value.split("\n")) for t in tokens(ln, first + 1 + i)]
    col = node.start_mark.column + 1 + (1 if node.style in ('"', "'") else 0)
    return [t for i, ln in enumerate(value.split("\n")) for t in tokens(ln, first + i, col if i == 0 else 1)]


# ---------------------------------------------------------------------------------------- command lines
@dataclass
class Found:
    value: str
    tok: Tok
    kind: str
    detail: str
    revision: str | None = None


def commands(tokens: list[Tok], default_kind: str | None) -> tuple[list[Found], str | None]:
    """Model references in a list of words (one command line, or a container's command + args),
    and the `--revision` given among them."""
    found: list[Found] = []
    revision = None
    n = len(tokens)
    for i, tok in enumerate(tokens):
        word = tok.text
        nxt = tokens[i + 1] if i + 1 < n else None
        prev = tokens[i - 1].text if i > 0 else ""
        if word == "serve" and os.path.basename(prev) == "vllm" and nxt is not None:
            found.append(Found(nxt.text, nxt, default_kind or "vllm", "vllm serve"))
        elif word in MODEL_FLAGS and nxt is not None:
            found.append(Found(nxt.text, nxt, default_kind or MODEL_FLAGS[word], word))
        elif "=" in word and word.split("=", 1)[0] in MODEL_FLAGS:
            flag, val = word.split("=", 1)
            found.append(Found(val, Tok(val, tok.line, tok.col + len(flag) + 1), default_kind or MODEL_FLAGS[flag], flag))
        elif word == "--revision" and nxt is not None:
            revision = nxt.text
        elif word.startswith("--revision="):
            revision = word.split("=", 1)[1]
        elif word in ("run", "pull") and os.path.basename(prev) == "ollama" and nxt is not None:
            found.append(Found(nxt.text, nxt, default_kind or "ollama", f"ollama {word}"))
        elif "=" in word and re.match(r"^[A-Z_][A-Z0-9_]*=", word):
            key, val = word.split("=", 1)
            if key in MODEL_ENV:
                found.append(Found(val, Tok(val, tok.line, tok.col + len(key) + 1), default_kind or "tgi", key))
            elif key in REVISION_ENV and val:
                revision = val
        elif prev.upper() == "ENV" and word in MODEL_ENV and nxt is not None:   # Dockerfile `ENV MODEL_ID x`
            found.append(Found(nxt.text, nxt, default_kind or "tgi", word))
        elif prev.upper() == "ENV" and word in REVISION_ENV and nxt is not None:
            revision = nxt.text
    return found, revision


def ollama_tag(value: str) -> dict[str, Any]:
    m = re.match(r"^(?:https?://)?(?:www\.)?(?:hf\.co|huggingface\.co)/[^/\s]+/[^/:\s]+:(\S+)$", value.strip())
    return {"quant": m.group(1)} if m else {}


def resolve(found: Iterable[Found], revision: str | None, file: str, base: Path) -> list[Reference]:
    out = []
    for f in found:
        hit = hub_model_id(f.value, base)
        if hit is None:
            continue
        if f.kind == "ollama" or f.detail.startswith("ollama"):
            # Ollama names only Hub models behind hf.co/; a bare "llama3" is its own library.
            if not re.match(r"^(?:https?://)?(?:www\.)?(?:hf\.co|huggingface\.co)/", f.value.strip()):
                continue
        rid, rev = hit
        out.append(Reference(rid, rev or revision, file, f.tok.line, f.kind, f.tok.col, detail=f.detail,
                             extra=ollama_tag(f.value)))
    return out
