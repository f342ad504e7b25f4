"""Turning raw bytes into FileEvidence (shared by every source)."""

from __future__ import annotations

import hashlib

from scanner.evidence import FileEvidence, MAX_FILE_BYTES
from scanner.textnorm import decode_text, git_blob_oid, normalize


def file_evidence(path: str, data: bytes, limit: int = MAX_FILE_BYTES, keep_raw: bool = False) -> FileEvidence:
    """The file's hashes and text; its bytes too with `keep_raw`, for a source that records them
    into a snapshot (every other reader needs only the text and the hashes)."""
    if len(data) > limit:
        return FileEvidence(path, "too-large", size=len(data), error=f"over the {limit}-byte limit")
    text = decode_text(data)
    sha = hashlib.sha256(data).hexdigest()
    oid = git_blob_oid(data)
    if text is None:
        return FileEvidence(path, "binary", size=len(data), sha256=sha, git_oid=oid, error="not text")
    norm = hashlib.sha256(normalize(text).encode("utf-8")).hexdigest()
    return FileEvidence(path, "ok", size=len(data), sha256=sha, git_oid=oid, normalized_sha256=norm, text=text,
                        raw=data if keep_raw else None)
