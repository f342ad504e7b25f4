"""Whether a value names a Hub model: `org/name` or a huggingface.co / hf.co URL of one."""

from __future__ import annotations

import re
from pathlib import Path

from scanner.targets import TargetError, validate_repo_id, validate_revision

_HF_HOSTS = ("huggingface.co", "hf.co", "www.huggingface.co")


def hub_model_id(value: str, base: Path | None = None) -> tuple[str, str | None] | None:
    """(repo id, revision or None) when `value` names a Hub model, else None.

    Accepts `org/name`, `https://huggingface.co/org/name[/tree/<rev>]`, `hf.co/org/name[:tag]`
    (the tag is an Ollama quantisation, not a revision). A one-part legacy name (`gpt2`) is too
    ambiguous outside a manifest; local paths (existing, absolute, ./, ~), other hosts, shell
    variables and templates are not model ids either."""
    v = value.strip().strip("\"'")
    if not v or any(c in v for c in "${}<>*?\\ \t") or v.startswith(("-", "#")):
        return None
    rev = None
    m = re.match(r"^(?:(https?)://)?([A-Za-z0-9.-]+)/(.*)$", v)
    if m and (m.group(1) or m.group(2).lower() in _HF_HOSTS):
        if m.group(2).lower() not in _HF_HOSTS:
            return None                                   # a URL (or host path) elsewhere
        rest = m.group(3).split("?")[0].split("#")[0].strip("/")
        parts = rest.split("/")
        if parts and parts[0] in ("datasets", "spaces", "api"):
            return None
        if len(parts) >= 4 and parts[2] in ("tree", "commit", "blob", "resolve"):
            rev = parts[3]
        if len(parts) < 2:
            return None
        v = f"{parts[0]}/{parts[1]}"
        if ":" in parts[1]:                              # hf.co/org/name:Q4_K_M
            v = v.split(":", 1)[0]
    elif "://" in v or v.startswith(("/", "./", "../", "~", "s3:", "gs:", "file:")) or re.match(r"^[A-Za-z]:", v):
        return None
    if v.count("/") != 1:
        return None
    if re.search(r"\.(gguf|bin|safetensors|pt|pth|onnx|ckpt|yaml|yml|json|txt|sh|py)$", v, re.I):
        return None
    try:
        validate_repo_id(v)
        if rev is not None:
            validate_revision(rev, value)
    except TargetError:
        return None
    for root in filter(None, (base, Path.cwd())):
        try:
            if (root / v).exists():                      # a relative local path that happens to exist
                return None
        except OSError:
            pass
    return v, rev
