"""Evidence: the immutable record of what a source saw for one target.

Every step after the source is a pure function of Evidence, the knowledge base and
the policy, so a scan can be reproduced from a snapshot and tested without a network.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from types import MappingProxyType
from collections.abc import Mapping
from typing import Any

# Files the scanner reads; everything else in a repo is only listed (name, size, blob id).
LICENSE_PREFIXES = ("license", "licence", "use_policy", "notice", "copying", "acceptable_use")
CARD_FILE = "README.md"
CONFIG_FILE = "config.json"
MAX_FILE_BYTES = 1_000_000


def is_license_file(path: str) -> bool:
    """LICENSE*, USE_POLICY*, NOTICE*, COPYING* at the top of the repo (any case, any extension)."""
    name = path.rsplit("/", 1)[-1].lower()
    return "/" not in path and name.startswith(LICENSE_PREFIXES)


def is_wanted_file(path: str) -> bool:
    return path in (CARD_FILE, CONFIG_FILE) or is_license_file(path)


def freeze(value: Any) -> Any:
    """Deep-freeze JSON-like data: dicts become read-only mappings, lists become tuples."""
    if isinstance(value, Mapping):
        return MappingProxyType({str(k): freeze(v) for k, v in value.items()})
    if isinstance(value, (list, tuple)):
        return tuple(freeze(v) for v in value)
    return value


def thaw(value: Any) -> Any:
    """The inverse of :func:`freeze`, for serialisation."""
    if isinstance(value, Mapping):
        return {k: thaw(v) for k, v in value.items()}
    if isinstance(value, tuple):
        return [thaw(v) for v in value]
    return value


@dataclass(frozen=True)
class FileEvidence:
    """One small file the source tried to read.

    status: ok | omitted (text withheld from a snapshot, hashes kept) | gated | too-large |
    missing | binary | error.
    """

    path: str
    status: str
    size: int | None = None
    sha256: str | None = None
    git_oid: str | None = None
    normalized_sha256: str | None = None
    text: str | None = None
    error: str | None = None
    raw: bytes | None = field(default=None, repr=False, compare=False)   # the bytes read, for recording

    @property
    def readable(self) -> bool:
        return self.status == "ok" and self.text is not None


@dataclass(frozen=True)
class Sibling:
    """One file the repository lists (model_info siblings), with its size and hashes where shown."""
    path: str
    size: int | None = None
    blob_id: str | None = None
    lfs_sha256: str | None = None


@dataclass(frozen=True)
class SourceIssue:
    """A problem the source met that the core turns into a finding (never a crash)."""

    code: str
    message: str
    evidence: Mapping[str, Any] = field(default_factory=lambda: MappingProxyType({}))


@dataclass(frozen=True, eq=False)   # identity equality: one object per fetched repo revision
class Evidence:
    """What a source saw of one repository revision: its metadata, files and the small files read."""
    target: str
    source: str                      # hub | snapshot | local
    kind: str = "model"              # model | dataset
    repo_id: str | None = None
    revision: str | None = None      # what was asked for (None = default branch)
    sha: str | None = None           # the commit that was read
    card_data: Mapping[str, Any] | None = None   # front matter as the Hub parsed it (model_info cardData)
    tags: tuple[str, ...] = ()
    gated: Any = False               # False | "auto" | "manual"
    private: bool = False
    pipeline_tag: str | None = None
    library_name: str | None = None
    config: Mapping[str, Any] | None = None
    siblings: tuple[Sibling, ...] = ()
    files: tuple[FileEvidence, ...] = ()
    # Long card fields a snapshot withheld: field name -> FileEvidence-like hashes (status "omitted").
    withheld_fields: Mapping[str, FileEvidence] = field(default_factory=lambda: MappingProxyType({}))
    issues: tuple[SourceIssue, ...] = ()
    provenance: Mapping[str, Any] = field(default_factory=lambda: MappingProxyType({}))
    last_modified: str | None = None

    def file(self, path: str) -> FileEvidence | None:
        for f in self.files:
            if f.path == path:
                return f
        return None

    @property
    def license_files(self) -> tuple[FileEvidence, ...]:
        return tuple(f for f in self.files if is_license_file(f.path))

    @property
    def display_name(self) -> str:
        return self.repo_id or self.target
