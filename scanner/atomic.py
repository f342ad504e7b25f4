"""Writing a file so that a reader never sees half of it (reports, snapshots, the metadata cache,
lockfiles): the bytes go to a temporary file in the same folder, which then replaces the target.
A failure at any point leaves the previous file as it was. Every write is redacted first
(scanner.redact): no credential reaches a file the tool writes."""

from __future__ import annotations

import os
import tempfile
from pathlib import Path

from scanner.redact import redact_bytes


def write_atomic(path: Path, data: bytes) -> None:
    path = Path(path)
    data = redact_bytes(data)
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=".tmp-")
    try:
        with os.fdopen(fd, "wb") as fh:
            fh.write(data)
        if path.exists():
            try:
                os.chmod(tmp, path.stat().st_mode & 0o777)
            except OSError:
                pass
        os.replace(tmp, path)
    except BaseException:
        try:
            os.unlink(tmp)
        except OSError:
            pass
        raise
