"""Writing a file so that a reader never sees half of it (reports, snapshots, the metadata cache,
lockfiles): the bytes go to a temporary file in the same folder, which then replaces the target.
A failure at any point leaves the previous file as it was. Every write is redacted first
(scanner.redact): no credential reaches a file the tool writes."""

from __future__ import annotations

import os
import threading
from pathlib import Path

from scanner.redact import redact_bytes


def write_atomic(path: Path, data: bytes, *, parent_exists: bool = False) -> None:
    """`parent_exists`: the folder is known to be there (the metadata cache writes three files a
    model into a folder it made once), so no mkdir is tried."""
    path = Path(path)
    data = redact_bytes(data)
    if not parent_exists:
        path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(f".tmp-{path.name}-{os.getpid()}-{threading.get_ident()}")
    try:
        with open(tmp, "wb") as fh:
            fh.write(data)
        try:
            os.chmod(tmp, os.stat(path).st_mode & 0o777)
        except OSError:
            pass                     # a new file: the default mode
        os.replace(tmp, path)
    except BaseException:
        try:
            os.unlink(tmp)
        except OSError:
            pass
        raise
