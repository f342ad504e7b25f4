"""Command-line targets: `org/name[@revision]`, a legacy `name`, or a local directory."""

from __future__ import annotations

import os
import re
from dataclasses import dataclass
from pathlib import Path

# The Hub's rules: letters, digits, '-', '_', '.'; no '--' or '..'; not starting or ending with '-' or '.'.
_PART = r"[A-Za-z0-9](?:[A-Za-z0-9._-]{0,94}[A-Za-z0-9])?"
_REPO_ID = re.compile(rf"^(?:{_PART}/)?{_PART}$")
_REVISION = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._/-]{0,254}$")


class TargetError(Exception):
    """The tool cannot decide for this target (exit 2); the message is one line."""

    def __init__(self, message: str, suggestions: tuple[str, ...] = (), not_found: bool = False):
        super().__init__(message)
        self.suggestions = suggestions
        self.not_found = not_found      # the Hub said the repo does not exist (not a failure to ask)


@dataclass(frozen=True)
class Target:
    """A model to scan as given on the command line: a Hub id (with a revision) or a folder."""
    raw: str
    kind: str                    # hub | local
    repo_id: str | None = None
    revision: str | None = None
    path: Path | None = None

    def __str__(self) -> str:
        return self.raw


def _printable(text: str) -> str:
    return text.encode("unicode_escape").decode("ascii")[:200]


def validate_repo_id(repo_id: str) -> str:
    if not _REPO_ID.match(repo_id) or "--" in repo_id or ".." in repo_id or repo_id.lower().endswith(".git"):
        raise TargetError(f"not a valid Hub repo id: '{_printable(repo_id)}' (expected org/name)")
    return repo_id


def validate_revision(rev: str, raw: str) -> str:
    if not _REVISION.match(rev) or ".." in rev or "//" in rev or rev.endswith("/"):
        raise TargetError(f"not a valid revision in '{_printable(raw)}': '{_printable(rev)}'")
    return rev


def looks_local(raw: str) -> bool:
    """An explicit path, or a single name that is a directory here. `org/name` is always a Hub id,
    whatever folders exist (write ./org/name for a local folder of that name)."""
    if raw.startswith(("./", "../", "/", "~", ".\\")) or raw in (".", ".."):
        return True
    return "/" not in raw and "@" not in raw and os.path.isdir(raw)


def parse_target(raw: str) -> Target:
    if not raw or any(ch in raw for ch in "\n\r\t\0") or raw != raw.strip():
        raise TargetError(f"not a valid target: '{_printable(raw)}' (control characters or surrounding spaces)")
    if looks_local(raw):
        path = Path(os.path.expanduser(raw))
        if not path.is_dir():
            raise TargetError(f"'{_printable(raw)}' is not a model directory")
        return Target(raw, "local", path=path.resolve())
    repo_id, _, rev = raw.partition("@")
    validate_repo_id(repo_id)
    if "@" in raw:
        validate_revision(rev, raw)
    return Target(raw, "hub", repo_id=repo_id, revision=rev or None)
