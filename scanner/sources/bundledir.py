"""A compliance bundle's folder on disk: read it back, check it may be written, write it.

The bundle owns four names in its folder (scanner.bundle.OWNED: NOTICE, OBLIGATIONS.md,
obligations.json, licenses/); anything else there is not part of it. Reading is bounded and
never follows a link: a link, a FIFO or a device where a bundle file should be is a problem
(the folder then differs from any bundle), not something read.
"""

from __future__ import annotations

import os
import shutil
import stat
from dataclasses import dataclass, field
from pathlib import Path

from scanner.atomic import write_atomic
from scanner.bundle import OWNED, VERSION_KEY
from scanner.sources.files import ReadRefused, read_regular

MAX_BUNDLE_FILE = 64_000_000        # bytes per file
MAX_BUNDLE_FILES = 20_000
MAX_BUNDLE_BYTES = 512_000_000      # bytes in all


class BundleDirError(Exception):
    """A folder a bundle may not be written to; one line naming it."""


@dataclass
class BundleRead:
    """What a bundle folder holds: relative path -> bytes, and what could not be read (path: why)."""

    exists: bool
    files: dict[str, bytes] = field(default_factory=dict)
    problems: list[str] = field(default_factory=list)


def _regular(path: Path) -> str | None:
    """None for a regular file (not a link), else why it is not one."""
    try:
        st = os.lstat(path)
    except OSError as exc:
        return exc.strerror or str(exc)
    if stat.S_ISLNK(st.st_mode):
        return "a symbolic link"
    if not stat.S_ISREG(st.st_mode):
        return "not a regular file"
    return None


def read_bundle(folder: str | os.PathLike[str]) -> BundleRead:
    """The bundle files in `folder` (missing folder: exists=False)."""
    root = Path(folder)
    try:
        st = os.lstat(root)
    except OSError:
        return BundleRead(False)
    if not stat.S_ISDIR(st.st_mode):
        return BundleRead(True, problems=[f"{root}: not a folder"])
    out = BundleRead(True)
    total = 0

    def take(rel: str, path: Path) -> None:
        nonlocal total
        why = _regular(path)
        if why is None:
            try:
                data = read_regular(path, MAX_BUNDLE_FILE)
            except ReadRefused as exc:
                why = str(exc)
            else:
                total += len(data)
                if total > MAX_BUNDLE_BYTES:
                    why = f"past the {MAX_BUNDLE_BYTES}-byte budget of a bundle"
                else:
                    out.files[rel] = data
                    return
        out.problems.append(f"{rel}: {why}")

    for name in OWNED:
        path = root / name
        if not os.path.lexists(path):
            continue
        if name != "licenses" or _regular(path) is None:
            take(name, path)
            continue
        if os.path.islink(path) or not path.is_dir():
            out.problems.append(f"{name}: {'a symbolic link' if os.path.islink(path) else 'not a folder'}")
            continue
        for dirpath, dirnames, filenames in os.walk(path, followlinks=False):
            dirnames.sort()
            base = Path(dirpath)
            for d in list(dirnames):
                if os.path.islink(base / d):          # a link to a folder: listed, not walked
                    dirnames.remove(d)
                    filenames.append(d)
            for fname in sorted(filenames):
                if len(out.files) + len(out.problems) >= MAX_BUNDLE_FILES:
                    out.problems.append(f"{name}/: more than {MAX_BUNDLE_FILES} files")
                    return out
                take((base / fname).relative_to(root).as_posix(), base / fname)
    return out


def check_writable(folder: str | os.PathLike[str]) -> None:
    """A bundle may go to a folder that does not exist, is empty, or holds a bundle already (its
    obligations.json names a bundle version); BundleDirError otherwise, so that no other folder
    is ever overwritten."""
    root = Path(folder)
    if not os.path.lexists(root):
        return
    if os.path.islink(root) or not root.is_dir():
        raise BundleDirError(f"{root}: not a folder")
    try:
        if not any(root.iterdir()):
            return
        data = read_regular(root / "obligations.json", MAX_BUNDLE_FILE)
    except (OSError, ReadRefused):
        data = b""
    if f'"{VERSION_KEY}"'.encode() not in data:
        raise BundleDirError(f"{root}: folder is not empty and holds no modelscan bundle (choose an empty folder)")


def write_bundle(folder: str | os.PathLike[str], files: dict[str, bytes]) -> None:
    """Replace the bundle in `folder` with `files` (the names it owns only; other files stay)."""
    root = Path(folder)
    root.mkdir(parents=True, exist_ok=True)
    for name in OWNED:
        p = root / name
        if p.is_dir() and not p.is_symlink():
            shutil.rmtree(p)
        elif os.path.lexists(p):
            p.unlink()
    for rel, data in files.items():
        path = root / rel
        path.parent.mkdir(parents=True, exist_ok=True)
        write_atomic(path, data)
