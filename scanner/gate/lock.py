"""modelscan.lock: the approved state of every model a deployment uses (docs/gate.md).

A lock entry pins what was decided: the commit, the licenses that bind it (with versions),
the hashes of its license files and access-gate prompt, the revisions of its base models and
datasets, the verdict, and the hashes of the policy and knowledge base it was decided under.
`modelscan gate --locked` compares the current state with it: a moved revision is reported,
changed licenses or license texts are drift (deny), and an approval made under another
policy or knowledge base no longer counts (review).

The file is JSON, written deterministically (sorted keys, entries by repo id, LF, no
timestamps but each entry's `approved_at`, which a re-lock keeps when nothing changed), so
it diffs well in code review.

    lock = load_lock("modelscan.lock")
    entry = lock.get("mistralai/Mistral-7B-Instruct-v0.3")
    entry.revision, entry.verdict, entry.licenses, entry.license_files
    lock.bundle          # LockedBundle | None: the compliance bundle recorded with the approvals

Format versions: 1 (the first); 2 adds the entries' `approval` (repository approvals) and the
top-level `bundle` (its folder, digest and per-file hashes). Both are read; 2 is written.
"""

from __future__ import annotations

import hashlib
import json
import re
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any, Iterable, Mapping

from scanner.atomic import write_atomic
from scanner.evidence import Evidence, is_license_file

LOCK_FORMAT = "modelscan-lock"
LOCK_VERSION = 2
READ_VERSIONS = (1, 2)              # a version-1 lockfile is read as it is (it records no bundle)
DEFAULT_LOCK = "modelscan.lock"
GATE_PROMPT = "extra_gated_prompt"


class LockError(Exception):
    """A lockfile that cannot be read; one line naming the file."""


@dataclass(frozen=True)
class LockEntry:
    repo_id: str
    revision: str                                   # the commit sha approved
    verdict: str                                    # allow | review | deny (errors are never locked)
    licenses: tuple[Mapping[str, Any], ...]         # effective licenses: {id, version, name}
    license_files: Mapping[str, Mapping[str, Any]]  # path (or "extra_gated_prompt") -> {sha256, normalized_sha256}
    policy_hash: str
    kb_hash: str
    approved_at: str
    requested: str | None = None                    # the revision the deployment asked for (None: default branch)
    # base model id (or "dataset:<id>") -> the sha read, or None: it could not be read then
    parents: Mapping[str, str | None] = field(default_factory=dict)
    # the repository approval (modelscan-approvals.yaml) the verdict was reached with, if any
    approval: Mapping[str, Any] | None = None

    def to_json(self) -> dict[str, Any]:
        return {"repo_id": self.repo_id, "revision": self.revision, "requested": self.requested,
                "verdict": self.verdict, "licenses": [dict(x) for x in self.licenses],
                "license_files": {k: dict(v) for k, v in self.license_files.items()},
                "parents": dict(self.parents), "policy_hash": self.policy_hash, "kb_hash": self.kb_hash,
                "approved_at": self.approved_at,
                **({"approval": dict(self.approval)} if self.approval else {})}

    @classmethod
    def from_json(cls, data: Mapping[str, Any]) -> "LockEntry":
        if data.get("requested") is not None and not isinstance(data.get("requested"), str):
            raise TypeError("requested: not a string")
        return cls(repo_id=str(data["repo_id"]), revision=str(data["revision"]), verdict=str(data["verdict"]),
                   licenses=tuple(dict(x) for x in data.get("licenses") or ()),
                   license_files={str(k): dict(v) for k, v in (data.get("license_files") or {}).items()},
                   policy_hash=str(data["policy_hash"]), kb_hash=str(data["kb_hash"]),
                   approved_at=str(data["approved_at"]), requested=data.get("requested"),
                   parents={str(k): (None if v is None else str(v)) for k, v in (data.get("parents") or {}).items()},
                   approval=dict(data["approval"]) if isinstance(data.get("approval"), dict) else None)

    def same_approval(self, other: "LockEntry") -> bool:
        """Everything but approved_at is equal (a re-lock then keeps the first approval time)."""
        return replace(self, approved_at="") == replace(other, approved_at="")


@dataclass(frozen=True)
class LockedBundle:
    """The compliance bundle written with the approvals (`modelscan lock --bundle DIR`)."""

    path: str                          # the folder, relative to the lockfile's folder, with '/'
    digest: str                        # scanner.bundle.digest of its files
    files: Mapping[str, str]           # relative path -> SHA-256 (hex) of its bytes

    def to_json(self) -> dict[str, Any]:
        return {"path": self.path, "digest": self.digest, "files": dict(sorted(self.files.items()))}

    @classmethod
    def from_json(cls, data: Any) -> "LockedBundle":
        if not isinstance(data, dict):
            raise TypeError("expected an object with path, digest and files")
        path, digest, files = data.get("path"), data.get("digest"), data.get("files")
        if not isinstance(path, str) or not path.strip() or "\0" in path:
            raise TypeError("path: expected a folder name")
        if not isinstance(digest, str) or not _DIGEST.match(digest):
            raise TypeError("digest: expected 'sha256:' and 64 hex digits")
        if not isinstance(files, dict) or not all(isinstance(k, str) and isinstance(v, str) and _HEX.match(v)
                                                  for k, v in files.items()):
            raise TypeError("files: expected an object of relative path -> SHA-256 hex")
        return cls(path, digest, dict(files))

    def folder(self, lock_path: str | Path) -> Path:
        """Where the bundle is: its path taken from the lockfile's folder."""
        return Path(lock_path).parent / self.path


_DIGEST = re.compile(r"^sha256:[0-9a-f]{64}$")
_HEX = re.compile(r"^[0-9a-f]{64}$")


@dataclass(frozen=True)
class Lock:
    path: str
    entries: Mapping[str, LockEntry]          # lower-case repo id -> entry
    tool: Mapping[str, Any] = field(default_factory=dict)
    bundle: LockedBundle | None = None
    version: int = LOCK_VERSION

    def get(self, repo_id: str) -> LockEntry | None:
        return self.entries.get(repo_id.lower())

    def __len__(self) -> int:
        return len(self.entries)

    def __iter__(self):
        return iter(sorted(self.entries.values(), key=lambda e: e.repo_id.lower()))


MAX_LOCK_BYTES = 64_000_000


def load_lock(path: str | Path) -> Lock:
    from scanner.sources.files import ReadRefused, read_regular
    from scanner.sources.shapes import DuplicateKey, load_json_strict

    p = Path(path)
    if not p.exists() and not p.is_symlink():
        raise LockError(f"{p}: no lockfile (run 'modelscan lock' to approve the models first)")
    try:
        # A regular file only, within its budget: never a link to /dev/zero or a FIFO.
        data = load_json_strict(read_regular(p, MAX_LOCK_BYTES).decode("utf-8"))
    except ReadRefused as exc:
        raise LockError(f"{p}: cannot read the lockfile: {exc}") from None
    except UnicodeDecodeError as exc:
        raise LockError(f"{p}: cannot read the lockfile: not UTF-8 text ({exc.reason})") from None
    except DuplicateKey as exc:
        raise LockError(f"{p}:{exc.line}: duplicate key '{exc.key[:80]}' (each key may appear once)") from None
    except ValueError as exc:
        raise LockError(f"{p}: not valid JSON: {str(exc).splitlines()[0][:200]}") from None
    if not isinstance(data, dict) or data.get("format") != LOCK_FORMAT:
        raise LockError(f"{p}: not a modelscan lockfile (no \"format\": \"{LOCK_FORMAT}\")")
    version = data.get("version")
    if isinstance(version, bool) or version not in READ_VERSIONS:
        shown = ", ".join(map(str, READ_VERSIONS))
        raise LockError(f"{p}: unsupported lockfile version {version!r} (this modelscan reads versions {shown})")
    entries: dict[str, LockEntry] = {}
    models = data.get("models") or {}
    if not isinstance(models, dict):
        raise LockError(f"{p}: models: expected an object keyed by model id, got {type(models).__name__}")
    for key, raw in models.items():
        try:
            entry = LockEntry.from_json(raw)
            entry.repo_id.lower()
        except (KeyError, TypeError, AttributeError, ValueError) as exc:
            raise LockError(f"{p}: models.{key}: malformed entry ({exc.__class__.__name__}: {exc})") from None
        entries[entry.repo_id.lower()] = entry
    bundle = None
    if data.get("bundle") is not None:
        if version < 2:
            raise LockError(f"{p}: bundle: a version-1 lockfile records no bundle (version 2 does)")
        try:
            bundle = LockedBundle.from_json(data["bundle"])
        except TypeError as exc:
            raise LockError(f"{p}: bundle: malformed ({exc})") from None
    return Lock(str(p), entries, data.get("tool") or {}, bundle, int(version))


def lock_bytes(entries: Iterable[LockEntry], tool: Mapping[str, Any] | None = None,
               bundle: LockedBundle | None = None) -> bytes:
    from scanner import TOOL_NAME

    models = {e.repo_id: e.to_json() for e in sorted(entries, key=lambda e: e.repo_id.lower())}
    doc: dict[str, Any] = {"format": LOCK_FORMAT, "version": LOCK_VERSION, "tool": dict(tool or {"name": TOOL_NAME}),
                           "models": models}
    if bundle is not None:
        doc["bundle"] = bundle.to_json()
    return (json.dumps(doc, indent=2, sort_keys=True, ensure_ascii=False) + "\n").encode("utf-8")


def write_lock(path: str | Path, entries: Iterable[LockEntry], tool: Mapping[str, Any] | None = None,
               bundle: LockedBundle | None = None) -> None:
    """Write the lockfile atomically (a reader never sees half of it)."""
    write_atomic(Path(path), lock_bytes(entries, tool, bundle))


# ---------------------------------------------------------------------------------- fingerprints
def license_files(ev: Evidence) -> dict[str, dict[str, Any]]:
    """Hashes of the license texts a repo carries: its LICENSE-like files and its access-gate
    prompt (also when a snapshot withheld the text and kept only the hashes)."""
    from scanner.textnorm import normalize

    out: dict[str, dict[str, Any]] = {}
    for f in ev.files:
        if not is_license_file(f.path):
            continue
        if f.sha256:
            out[f.path] = {"sha256": f.sha256, "normalized_sha256": f.normalized_sha256}
        else:
            out[f.path] = {"status": f.status}
    withheld = ev.withheld_fields.get(GATE_PROMPT) if ev.withheld_fields else None
    prompt = (ev.card_data or {}).get(GATE_PROMPT)
    if isinstance(prompt, str) and prompt.strip():
        out[GATE_PROMPT] = {"sha256": hashlib.sha256(prompt.encode("utf-8")).hexdigest(),
                            "normalized_sha256": hashlib.sha256(normalize(prompt).encode("utf-8")).hexdigest()}
    elif withheld is not None and withheld.sha256:
        out[GATE_PROMPT] = {"sha256": withheld.sha256, "normalized_sha256": withheld.normalized_sha256}
    return out


def license_refs(uses: Iterable[Any]) -> tuple[dict[str, Any], ...]:
    """Effective licenses as sorted, de-duplicated {id, version, name}."""
    seen: dict[tuple[str, str], dict[str, Any]] = {}
    for u in uses:
        ref = u.ref() if hasattr(u, "ref") else dict(u)
        seen.setdefault((str(ref.get("id")), str(ref.get("version") or "")), ref)
    return tuple(seen[k] for k in sorted(seen))


def _same_file(a: Mapping[str, Any], b: Mapping[str, Any]) -> bool:
    if a.get("normalized_sha256") and b.get("normalized_sha256"):
        return a["normalized_sha256"] == b["normalized_sha256"]
    if a.get("sha256") and b.get("sha256"):
        return a["sha256"] == b["sha256"]
    return a.get("status") == b.get("status")


def drift(entry: LockEntry, licenses: Iterable[Mapping[str, Any]], files: Mapping[str, Mapping[str, Any]]
          ) -> dict[str, Any] | None:
    """What changed in the licenses or license texts since `entry` was approved, or None."""
    def key(x: Mapping[str, Any]) -> tuple[str, str]:
        return str(x.get("id")), str(x.get("version") or "")

    old_l = {key(x) for x in entry.licenses}
    new = list(licenses)
    new_l = {key(x) for x in new}
    added = sorted(p for p in files if p not in entry.license_files)
    removed = sorted(p for p in entry.license_files if p not in files)
    changed = sorted(p for p in files if p in entry.license_files and not _same_file(files[p], entry.license_files[p]))
    if old_l == new_l and not (added or removed or changed):
        return None
    return {"licenses": {"approved": [dict(x) for x in entry.licenses], "current": [dict(x) for x in new]},
            "files": {"added": added, "removed": removed, "changed": changed}}


def label(licenses: Iterable[Mapping[str, Any]]) -> str:
    out = [str(x.get("id")) + (f"@{x['version']}" if x.get("version") and str(x["version"]) not in str(x.get("id"))
                               else "") for x in licenses]
    return ", ".join(out) or "none"
