"""Keeping credentials out of everything the tool prints, logs, reports or writes.

Redaction goes by shape, not by one variable:

* the userinfo of any URL (`scheme://user:password@host` -> `scheme://***@host`);
* every token this process holds: the ones it was given (`register`), HF_TOKEN and its older
  names, and the token file huggingface_hub reads (`held_tokens`);
* anything shaped like a Hugging Face token (`hf_` + 30 or more letters and digits), and the
  value of a bearer Authorization, wherever they come from (a server that echoes a token back
  into card data or an error message is caught by both).

`redact(text)` is applied to stderr lines, to every rendered report before it is written,
and to every file written through `scanner.atomic.write_atomic` (snapshots, the metadata cache,
lockfiles, reports).
"""

from __future__ import annotations

import os
import re
import threading

MASK = "***"
_USERINFO = re.compile(r"(?i)\b([a-z][a-z0-9+.-]*://)[^/\s@?#]+@")
_BEARER = re.compile(r"(?i)(bearer\s+)[A-Za-z0-9_\-.~+/=]+")
_HF_TOKEN = re.compile(r"\bhf_[A-Za-z0-9]{30,}\b")
_TOKEN_ENV = ("HF_TOKEN", "HUGGING_FACE_HUB_TOKEN", "HUGGINGFACE_HUB_TOKEN", "HF_API_TOKEN")
_MIN_SECRET = 6        # shorter strings are not treated as secrets (they would mask ordinary words)

_lock = threading.Lock()
_registered: set[str] = set()


def register(secret: str | None) -> None:
    """Remember a secret this process holds, so that every later redact() masks it."""
    if secret and len(secret) >= _MIN_SECRET:
        with _lock:
            _registered.add(secret)


def held_tokens() -> tuple[str, ...]:
    """The secrets known to this process: registered ones, the token variables, the token file,
    and the userinfo of HF_ENDPOINT."""
    out = set(_registered)
    for var in _TOKEN_ENV:
        value = (os.environ.get(var) or "").strip()
        if len(value) >= _MIN_SECRET:
            out.add(value)
    endpoint = os.environ.get("HF_ENDPOINT") or ""
    m = re.match(r"(?i)[a-z][a-z0-9+.-]*://([^/\s@?#]+)@", endpoint)
    if m:
        for part in [m.group(1)] + m.group(1).split(":"):
            if len(part) >= _MIN_SECRET:
                out.add(part)
    return tuple(sorted(out, key=len, reverse=True))


def redact(text: str, *secrets: str | None) -> str:
    """`text` with URL userinfo, held and given tokens, token-shaped words and bearer values masked.

    Each shape is looked for only where it can occur, with the same patterns: a URL userinfo
    ends at an `@` and lies within one line (neither part may hold whitespace), a token starts
    with `hf_`, a bearer value follows the word "bearer". A 12 MB report with no `@` and no
    `hf_` is scanned by `in` tests in C instead of three regular expressions over every byte."""
    if not text:
        return text
    for secret in tuple(s for s in secrets if s and len(s) >= _MIN_SECRET) + held_tokens():
        if secret in text:
            text = text.replace(secret, MASK)
    if "@" in text and "://" in text:
        text = _sub_userinfo(text)
    if "hf_" in text:
        text = _HF_TOKEN.sub(MASK, text)
    if "bearer" in text.lower():        # (a case-insensitive search is several times slower)
        text = _BEARER.sub(lambda m: m.group(1) + MASK, text)
    return text


def _sub_userinfo(text: str) -> str:
    """_USERINFO applied to the lines that hold an `@` (a match cannot span lines, and a line
    start is a word boundary as it is in the whole text)."""
    spans: list[tuple[int, int]] = []
    at = text.find("@")
    while at != -1:
        start = text.rfind("\n", 0, at) + 1
        end = text.find("\n", at)
        end = len(text) if end == -1 else end
        spans.append((start, end))
        at = text.find("@", end)
    out, pos = [], 0
    for start, end in spans:
        line = text[start:end]
        if "://" in line:
            out.append(text[pos:start])
            out.append(_USERINFO.sub(lambda m: m.group(1) + MASK + "@", line))
            pos = end
    if not out:
        return text
    out.append(text[pos:])
    return "".join(out)


def redact_bytes(data: bytes) -> bytes:
    """The same for bytes written to a file (UTF-8 text; other bytes are left as they are)."""
    try:
        text = data.decode("utf-8")
    except UnicodeDecodeError:
        out = data
        for secret in held_tokens():
            out = out.replace(secret.encode("utf-8", "surrogatepass"), MASK.encode())
        return out
    cleaned = redact(text)
    return data if cleaned == text else cleaned.encode("utf-8", "surrogatepass")
