"""The Hub source's metadata cache: what was seen at a commit, reused by repeated, `--locked` and
offline scans (huggingface_hub never caches model_info, and a commit sha is immutable).

It keeps the records a snapshot keeps (scanner/sources/snapshot.py: model_info, the files
manifest, the texts of the small files read) but in one compact JSON file per repository,
`models/<org>/<name>.json`:

    {"refs": {"main": "<sha>"}, "commits": {"<sha>": {"info": ..., "files": [...],
     "withheld_fields": [...], "provenance": {...}, "texts": {"LICENSE": "..."},
     "raw": {"<path>": "<base64, only where the bytes are not the UTF-8 of the text>"}}}}

A cold gate writes one file per model instead of three folders and four files (on the machines
measured, creating a folder or a file costs about 0.3 ms of system CPU each; benchmarks/cpu_bench.py).
Writes are atomic and redacted (scanner.atomic.write_atomic); a repository's record is read,
changed and replaced under a per-repository lock shared by a scan's workers. Two processes that
write the same repository at once may lose one commit's entry, which costs a request next time.
A damaged or unreadable file is a miss. A repository keeps at most MAX_COMMITS commits: every
commit a ref points at, then the newest.
"""

from __future__ import annotations

import base64
import binascii
import json
import os
import threading
from pathlib import Path
from typing import Any, Mapping

from scanner.atomic import write_atomic
from scanner.evidence import MAX_FILE_BYTES, Evidence, FileEvidence
from scanner.sources.files import ReadRefused, file_evidence, read_regular
from scanner.sources.shapes import finite, is_sha, load_json
from scanner.sources.snapshot import CorruptRecord, evidence_from_record, record_parts
from scanner.targets import validate_repo_id

FORMAT = "modelscan-metadata-cache"
VERSION = 2
MAX_COMMITS = 16
MAX_RECORD_BYTES = 64_000_000        # one repository's record (model_info lists every file)


class MetadataCache:
    """Read and write the metadata cache folder `root` (created when missing)."""

    def __init__(self, root: Path, create: bool = True):
        self.root = Path(root)
        self._lock = threading.Lock()
        self._repo_locks: dict[Path, threading.Lock] = {}
        self._made: set[Path] = set()
        marker = self.root / "metadata-cache.json"
        if create and not marker.is_file():
            write_atomic(marker, _dump({"format": FORMAT, "version": VERSION}))
        try:
            info, _ = load_json(read_regular(marker, 4096), marker.name)
        except (ReadRefused, ValueError) as exc:
            raise OSError(f"{marker}: not a metadata cache ({exc})") from None
        if not isinstance(info, dict) or info.get("format") != FORMAT or info.get("version") != VERSION:
            raise OSError(f"{marker}: unsupported metadata cache format")

    # -- one repository's record -------------------------------------------------------------
    def _path(self, repo_id: str, kind: str) -> Path:
        validate_repo_id(repo_id)
        return self.root / ("models" if kind == "model" else "datasets") / f"{repo_id}.json"

    def _read(self, path: Path) -> dict[str, Any]:
        """The record, or an empty one when it is missing, unreadable or not of the documented shape."""
        if not os.path.lexists(path):          # one stat for a repository not seen yet (a cold gate)
            return {"refs": {}, "commits": {}}
        try:
            data, _ = load_json(read_regular(path, MAX_RECORD_BYTES), path.name)
        except (ReadRefused, OSError, ValueError):
            return {"refs": {}, "commits": {}}
        if not isinstance(data, dict):
            return {"refs": {}, "commits": {}}
        refs = data.get("refs")
        commits = data.get("commits")
        return {"refs": {k: v for k, v in refs.items() if isinstance(v, str) and is_sha(v)}
                if isinstance(refs, dict) else {},
                "commits": {k: v for k, v in commits.items() if is_sha(k) and isinstance(v, dict)}
                if isinstance(commits, dict) else {}}

    def _update(self, repo_id: str, kind: str, change: Any) -> None:
        path = self._path(repo_id, kind)
        with self._lock:
            lock = self._repo_locks.setdefault(path, threading.Lock())
        with lock:
            data = self._read(path)
            if change(data) is False:
                return
            keep = set(data["refs"].values())
            commits = data["commits"]
            for sha in [s for s in commits if s not in keep][: max(0, len(commits) - MAX_COMMITS)]:
                del commits[sha]
            if path.parent not in self._made:
                path.parent.mkdir(parents=True, exist_ok=True)
                self._made.add(path.parent)
            write_atomic(path, _dump(data), parent_exists=True)

    # -- the interface the Hub source uses ---------------------------------------------------
    def resolve(self, repo_id: str, revision: str | None, kind: str = "model") -> str | None:
        return _resolve(self._read(self._path(repo_id, kind)), revision)

    def has(self, repo_id: str, sha: str, kind: str = "model") -> bool:
        return sha in self._read(self._path(repo_id, kind))["commits"]

    def load(self, target: str, repo_id: str, revision: str | None, kind: str = "model") -> Evidence | None:
        """The cached Evidence, or None when the repo/revision is not cached; CorruptRecord when its
        entry does not have the documented shape."""
        data = self._read(self._path(repo_id, kind))
        sha = _resolve(data, revision)
        if sha is None:
            return None
        entry = data["commits"][sha]
        try:
            return evidence_from_record(target, repo_id, revision, kind, entry.get("info"),
                                        {k: entry.get(k) for k in ("files", "withheld_fields", "provenance")
                                         if k in entry}, [], lambda e: _file(entry, e))
        except (KeyError, TypeError, ValueError, AttributeError) as exc:
            raise CorruptRecord(f"{kind} {repo_id}: the cached record in {self.root} is damaged "
                                f"({type(exc).__name__}: {str(exc)[:120]})") from None

    def save(self, repo_id: str, revision: str | None, info: Mapping[str, Any], files: list[FileEvidence],
             kind: str = "model", withhold: frozenset[str] = frozenset(),
             provenance: Mapping[str, Any] | None = None) -> None:
        sha = info["sha"]
        if not is_sha(sha):
            raise ValueError(f"{repo_id}: commit id {str(sha)[:60]!r} is not 40 hex digits; not cached")
        info, entries, withheld_fields, kept = record_parts(info, files, withhold)
        entry: dict[str, Any] = {"info": info, "files": entries, "withheld_fields": withheld_fields,
                                 "provenance": dict(provenance or {}), "texts": {}, "raw": {}}
        for f in kept:
            text = f.text or ""
            entry["texts"][f.path] = text
            if f.raw is not None and f.raw != text.encode("utf-8", "surrogatepass"):
                entry["raw"][f.path] = base64.b64encode(f.raw).decode("ascii")

        def change(data: dict[str, Any]) -> None:
            data["commits"].pop(sha, None)        # re-inserted last: the newest is kept longest
            data["commits"][sha] = entry
            data["refs"][revision or "main"] = sha

        self._update(repo_id, kind, change)

    def set_ref(self, repo_id: str, revision: str | None, sha: str, kind: str = "model") -> None:
        """Record that `revision` (default branch when None) pointed at commit `sha`."""
        def change(data: dict[str, Any]) -> bool:
            if data["refs"].get(revision or "main") == sha:
                return False
            data["refs"][revision or "main"] = sha
            return True

        self._update(repo_id, kind, change)


def _resolve(data: Mapping[str, Any], revision: str | None) -> str | None:
    rev = revision or "main"
    if rev in data["refs"] and data["refs"][rev] in data["commits"]:
        return str(data["refs"][rev])
    if is_sha(rev) and rev in data["commits"]:
        return rev
    if 7 <= len(rev) < 40 and all(c in "0123456789abcdef" for c in rev):
        found = [s for s in data["commits"] if s.startswith(rev)]
        if len(found) == 1:
            return str(found[0])
    return None


def _file(entry: Mapping[str, Any], item: Mapping[str, Any]) -> FileEvidence:
    """The FileEvidence of one manifest entry, its bytes taken from the record."""
    path = item["path"]
    status = item.get("status", "ok")
    if item.get("omitted"):
        status = "omitted" if status == "ok" else status
    if status != "ok":
        return FileEvidence(path, status, item.get("size"), item.get("sha256"), item.get("git_oid"),
                            item.get("normalized_sha256"), None, item.get("error"))
    if not isinstance(path, str) or not path:
        return FileEvidence(str(path)[:200], "error", error="recorded file name is not a path in the repository")
    raw, texts = entry.get("raw") or {}, entry.get("texts") or {}
    if isinstance(raw.get(path), str):
        try:
            data = base64.b64decode(raw[path], validate=True)
        except (binascii.Error, ValueError):
            return FileEvidence(path, "error", item.get("size"), error="cached file damaged")
    elif isinstance(texts.get(path), str):
        data = texts[path].encode("utf-8", "surrogatepass")
    else:
        return FileEvidence(path, "error", item.get("size"), error="recorded file missing")
    return file_evidence(path, data, MAX_FILE_BYTES)


def _dump(obj: Any) -> bytes:
    # one line, written by json's C encoder; a NaN or an infinity (rare: the Hub's JSON may carry
    # them) is written as null, the record walked for them only then
    try:
        text = json.dumps(obj, ensure_ascii=False, allow_nan=False, separators=(",", ":"))
    except ValueError:
        text = json.dumps(finite(obj), ensure_ascii=False, allow_nan=False, separators=(",", ":"))
    return (text + "\n").encode("utf-8", "surrogatepass")
