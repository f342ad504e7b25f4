"""Turning raw bytes into FileEvidence (shared by every source)."""

from __future__ import annotations

import errno
import hashlib
import os
import stat
from pathlib import Path

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


class ReadRefused(Exception):
    """A path that is not read: a link out of its folder, not a regular file, over its budget,
    or unreadable. str() is the one-line reason; `status` is too-large or error."""

    def __init__(self, message: str, status: str = "error", size: int | None = None):
        super().__init__(message)
        self.status = status
        self.size = size


def read_regular(path: str | os.PathLike[str], limit: int, root: str | os.PathLike[str] | None = None) -> bytes:
    """The bytes of a regular file, at most `limit` (ReadRefused otherwise).

    The path is resolved first; when `root` is given it must resolve inside it (a link that points
    out of the folder is not followed). The resolved path is opened with O_NOFOLLOW | O_NONBLOCK and
    checked with fstat on that descriptor, so a FIFO, a device (/dev/zero), a socket or a file
    swapped for a link in between is never read, and opening never blocks."""
    p = Path(path)
    try:
        real = p.resolve()
        if root is not None and not real.is_relative_to(Path(root).resolve()):
            raise ReadRefused("a link that points outside the folder; not read")
        fd = os.open(real, os.O_RDONLY | getattr(os, "O_NOFOLLOW", 0) | getattr(os, "O_NONBLOCK", 0)
                     | getattr(os, "O_CLOEXEC", 0))
    except ReadRefused:
        raise
    except (OSError, RuntimeError, ValueError) as exc:
        if isinstance(exc, OSError) and exc.errno == errno.ELOOP:
            raise ReadRefused("a symbolic link loop or a link swapped in; not read") from None
        raise ReadRefused(f"{type(exc).__name__}: {getattr(exc, 'strerror', None) or exc}") from None
    try:
        st = os.fstat(fd)
        if not stat.S_ISREG(st.st_mode):
            kind = ("a FIFO" if stat.S_ISFIFO(st.st_mode) else "a device" if stat.S_ISCHR(st.st_mode) or
                    stat.S_ISBLK(st.st_mode) else "a socket" if stat.S_ISSOCK(st.st_mode) else "a folder"
                    if stat.S_ISDIR(st.st_mode) else "not a regular file")
            raise ReadRefused(f"{kind}, not a regular file; not read")
        if st.st_size > limit:
            raise ReadRefused(f"over the {limit}-byte limit", "too-large", st.st_size)
        chunks, total = [], 0
        while total <= limit:
            chunk = os.read(fd, min(1 << 20, limit + 1 - total))
            if not chunk:
                break
            chunks.append(chunk)
            total += len(chunk)
        if total > limit:
            raise ReadRefused(f"over the {limit}-byte limit", "too-large", total)
        return b"".join(chunks)
    except OSError as exc:
        raise ReadRefused(f"{type(exc).__name__}: {exc.strerror or exc}") from None
    finally:
        os.close(fd)


def read_file_evidence(path: Path, rel: str, limit: int = MAX_FILE_BYTES, root: Path | None = None) -> FileEvidence:
    """FileEvidence for a file on disk, read with read_regular (refusals become its status)."""
    try:
        data = read_regular(path, limit, root)
    except ReadRefused as exc:
        return FileEvidence(rel, exc.status, size=exc.size, error=str(exc))
    return file_evidence(rel, data, limit)
