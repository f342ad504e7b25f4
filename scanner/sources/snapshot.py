"""Recorded snapshots (docs/snapshot.md): read them with no network, write them from Hub scans.

The Hub source's metadata cache (scanner/sources/metacache.py) keeps the same records in one
file per repository instead of a folder per commit.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import json
import re
import threading
from pathlib import Path
from typing import Any, Callable, Mapping

from scanner import TOOL_NAME, __version__
from scanner.atomic import write_atomic
from scanner.evidence import CONFIG_FILE, Evidence, FileEvidence, Sibling, freeze, thaw
from scanner.sources.files import ReadRefused, read_file_evidence, read_regular
from scanner.sources.interface import Source
from scanner.sources.shapes import finite, hub_info, is_sha, load_json
from scanner.targets import Target, TargetError, validate_repo_id
from scanner.textnorm import normalize

FORMAT = "modelscan-snapshot"
VERSION = 1
_SHA = re.compile(r"^[0-9a-f]{40}$")


MAX_JSON_BYTES = 32_000_000      # one recorded JSON file (model_info with every file's metadata)


def _dump(obj: Any) -> bytes:
    # indented: recorded snapshots are read by people (the metadata cache writes its own, compact)
    text = json.dumps(finite(obj), indent=1, sort_keys=True, ensure_ascii=False, allow_nan=False) + "\n"
    return text.encode("utf-8", "surrogatepass")


def _write(path: Path, data: bytes) -> None:
    """write_atomic for a folder known to exist."""
    write_atomic(path, data, parent_exists=True)


def _read_json(path: Path, what: str | None = None) -> tuple[Any, list[str]]:
    """A recorded JSON file, read within its budget (regular files only); OSError when it cannot be
    read, ValueError when it is not JSON."""
    try:
        data = read_regular(path, MAX_JSON_BYTES)
    except ReadRefused as exc:
        raise OSError(str(exc)) from None
    return load_json(data, what or path.name)


class CorruptRecord(TargetError):
    """A snapshot or cache entry that exists but cannot be read back."""


def record_parts(info: Mapping[str, Any], files: list[FileEvidence], withhold: frozenset[str]
                 ) -> tuple[dict[str, Any], list[dict[str, Any]], list[dict[str, Any]], list[FileEvidence]]:
    """What a snapshot or the metadata cache records of one commit: model_info (withheld card
    fields taken out), the files manifest, the withheld fields' hashes, and the files whose text
    is kept."""
    info = dict(thaw(info))
    withheld_fields: list[dict[str, Any]] = []
    card = info.get("cardData")
    if isinstance(card, dict):
        for fld in sorted(f for f in withhold if f in card and isinstance(card[f], str)):
            text = card.pop(fld)
            raw = text.encode("utf-8")
            withheld_fields.append({"field": fld, "size": len(raw), "sha256": hashlib.sha256(raw).hexdigest(),
                                    "normalized_sha256": hashlib.sha256(normalize(text).encode()).hexdigest(),
                                    "omitted": True})
    entries: list[dict[str, Any]] = []
    kept: list[FileEvidence] = []
    for f in files:
        omitted = f.path in withhold or f.status == "omitted"
        entries.append({"path": f.path, "status": "ok" if f.status == "omitted" else f.status, "size": f.size,
                        "sha256": f.sha256, "git_oid": f.git_oid, "normalized_sha256": f.normalized_sha256,
                        "omitted": omitted, "error": f.error})
        if f.status == "ok" and f.text is not None and not omitted:
            kept.append(f)
    return info, entries, withheld_fields, kept


class SnapshotStore:
    """Read and write one snapshot directory."""


    def __init__(self, root: Path, create: bool = False):
        self.root = Path(root)
        self._lock = threading.Lock()
        self._repo_locks: dict[Path, threading.Lock] = {}
        meta = self.root / "snapshot.json"
        if create:
            if not meta.is_file():
                now = dt.datetime.now(dt.timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ")
                write_atomic(meta, _dump({"format": FORMAT, "version": VERSION, "recorded_at": now,
                                           "tool": {"name": TOOL_NAME, "version": __version__}}))
        if not meta.is_file():
            raise TargetError(f"{self.root} is not a snapshot (no snapshot.json)")
        try:
            info, _ = _read_json(meta)
        except (OSError, ValueError) as exc:
            raise TargetError(f"{meta}: unreadable snapshot metadata: {exc}") from None
        if not isinstance(info, dict) or info.get("format") != FORMAT or info.get("version") != VERSION:
            info = info if isinstance(info, dict) else {}
            raise TargetError(f"{meta}: unsupported snapshot format {info.get('format')!r} version "
                              f"{info.get('version')!r}")
        self.info = info

    # -- paths -----------------------------------------------------------------------------------
    def repo_dir(self, repo_id: str, kind: str = "model") -> Path:
        validate_repo_id(repo_id)
        return self.root / ("models" if kind == "model" else "datasets") / repo_id

    def resolve(self, repo_id: str, revision: str | None, kind: str = "model") -> str | None:
        rdir = self.repo_dir(repo_id, kind)
        refs = self._refs(rdir)
        rev = revision or "main"
        if rev in refs:
            return refs[rev]
        if is_sha(rev) and (rdir / rev).is_dir():
            return rev
        if re.match(r"^[0-9a-f]{7,39}$", rev):
            found = [p.name for p in rdir.glob(rev + "*") if p.is_dir()] if rdir.is_dir() else []
            if len(found) == 1:
                return found[0]
        return None

    def _refs(self, rdir: Path) -> dict[str, str]:
        try:
            refs, _ = _read_json(rdir / "refs.json")
        except (OSError, ValueError):
            return {}
        return {k: v for k, v in refs.items() if isinstance(v, str) and _SHA.match(v)} if isinstance(refs, dict) else {}

    def missing(self, repo_id: str, kind: str = "model") -> Mapping[str, Any] | None:
        try:
            data, _ = _read_json(self.root / "missing.json")
            entry = data.get("models" if kind == "model" else "datasets", {}).get(repo_id)
        except (OSError, ValueError, AttributeError):
            return None
        return entry if isinstance(entry, dict) else None

    # -- read ------------------------------------------------------------------------------------
    def load(self, target: str, repo_id: str, revision: str | None, kind: str = "model") -> Evidence | None:
        """The recorded Evidence, or None when the repo/revision is not recorded; CorruptRecord when
        it is recorded but its files do not have the documented shape."""
        try:
            return self._load(target, repo_id, revision, kind)
        except (KeyError, TypeError, ValueError, AttributeError) as exc:
            raise CorruptRecord(f"{kind} {repo_id}: the recorded files in {self.root} are damaged "
                                f"({type(exc).__name__}: {str(exc)[:120]})") from None

    def _load(self, target: str, repo_id: str, revision: str | None, kind: str) -> Evidence | None:
        sha = self.resolve(repo_id, revision, kind)
        if sha is None:
            return None
        cdir = self.repo_dir(repo_id, kind) / sha
        try:
            raw_info, problems = _read_json(cdir / f"{kind}_info.json", f"recorded {kind} info")
            manifest, more = _read_json(cdir / "files.json", "recorded files.json")
        except (OSError, ValueError):
            return None
        return evidence_from_record(target, repo_id, revision, kind, raw_info, manifest, problems + more,
                                    lambda entry: self._file(cdir, entry))

    def _file(self, cdir: Path, entry: Mapping[str, Any]) -> FileEvidence:
        path = entry["path"]
        status = entry.get("status", "ok")
        if entry.get("omitted"):
            status = "omitted" if status == "ok" else status
        text = None
        if status == "ok":
            if not isinstance(path, str) or not path or ".." in path.split("/") or path.startswith("/"):
                return FileEvidence(str(path)[:200], "error",
                                    error="recorded file name is not a path in the repository")
            fe = read_file_evidence(cdir / "files" / path, path, root=cdir)
            if fe.status == "error" and not (cdir / "files" / path).exists():
                return FileEvidence(path, "error", entry.get("size"), error="recorded file missing")
            return fe
        return FileEvidence(path, status, entry.get("size"), entry.get("sha256"), entry.get("git_oid"),
                            entry.get("normalized_sha256"), text, entry.get("error"))

    # -- write -----------------------------------------------------------------------------------
    def has(self, repo_id: str, sha: str, kind: str = "model") -> bool:
        return (self.repo_dir(repo_id, kind) / sha / "files.json").is_file()

    def save(self, repo_id: str, revision: str | None, info: Mapping[str, Any], files: list[FileEvidence],
             kind: str = "model", withhold: frozenset[str] = frozenset(), provenance: Mapping[str, Any] | None = None
             ) -> None:
        sha = info["sha"]
        if not is_sha(sha):
            raise ValueError(f"{repo_id}: commit id {str(sha)[:60]!r} is not 40 hex digits; not used as a path")
        cdir = self.repo_dir(repo_id, kind) / sha
        info, entries, withheld_fields, kept = record_parts(info, files, withhold)
        for f in kept:
            write_atomic(cdir / "files" / f.path, f.raw if f.raw is not None else (f.text or "").encode("utf-8"))
        cdir.mkdir(parents=True, exist_ok=True)
        _write(cdir / f"{kind}_info.json", _dump(info))
        _write(cdir / "files.json", _dump({"files": entries, "withheld_fields": withheld_fields,
                                            "provenance": dict(provenance or {})}))
        self.set_ref(repo_id, revision, sha, kind)

    def set_ref(self, repo_id: str, revision: str | None, sha: str, kind: str = "model") -> None:
        """Record that `revision` (default branch when None) pointed at commit `sha`."""
        rdir = self.repo_dir(repo_id, kind)
        with self._lock:
            lock = self._repo_locks.setdefault(rdir, threading.Lock())
        with lock:                  # read-modify-write of one repo's refs: workers of a scan share the store
            refs = self._refs(rdir)
            if refs.get(revision or "main") == sha:
                return
            refs[revision or "main"] = sha
            try:
                _write(rdir / "refs.json", _dump(refs))
            except FileNotFoundError:         # a ref recorded before its commit
                rdir.mkdir(parents=True, exist_ok=True)
                _write(rdir / "refs.json", _dump(refs))

    def save_missing(self, repo_id: str, kind: str, error: str, suggestions: tuple[str, ...]) -> None:
        path = self.root / "missing.json"
        try:
            data, _ = _read_json(path)
            if not isinstance(data, dict):
                raise ValueError
        except (OSError, ValueError):
            data = {"models": {}, "datasets": {}}
        data.setdefault("models" if kind == "model" else "datasets", {})[repo_id] = {
            "error": error, "suggestions": list(suggestions)}
        write_atomic(path, _dump(data))


def evidence_from_info(target: str, source: str, kind: str, revision: str | None, info: Mapping[str, Any],
                       files: tuple[FileEvidence, ...], config: Mapping[str, Any] | None,
                       withheld: Mapping[str, FileEvidence], provenance: Mapping[str, Any]) -> Evidence:
    """Evidence from Hub-shaped model_info JSON (what the Hub source saw, live or recorded)."""
    if not isinstance(info, dict) or not isinstance(info.get("id", ""), str):
        raise ValueError("model info is not a mapping with a string id")
    siblings = []
    raw_siblings = info.get("siblings")
    for s in raw_siblings if isinstance(raw_siblings, list) else ():
        if isinstance(s, dict) and isinstance(s.get("rfilename"), str):
            lfs = s.get("lfs")
            lfs = lfs if isinstance(lfs, dict) else {}
            siblings.append(Sibling(s["rfilename"], s.get("size"), s.get("blobId"), lfs.get("sha256")))
    card = info.get("cardData")
    cfg = config if config is not None else (info.get("config") if isinstance(info.get("config"), dict) else None)
    raw_tags = info.get("tags")
    tags = tuple(t for t in raw_tags if isinstance(t, str)) if isinstance(raw_tags, list) else ()
    return Evidence(
        target=target, source=source, kind=kind, repo_id=info.get("id"), revision=revision, sha=_str(info.get("sha")),
        card_data=freeze(card) if isinstance(card, dict) else None, tags=tags, gated=info.get("gated") or False,
        private=bool(info.get("private")), pipeline_tag=_str(info.get("pipeline_tag")),
        library_name=_str(info.get("library_name")), config=freeze(cfg) if cfg else None, siblings=tuple(siblings),
        files=files, withheld_fields=freeze(dict(withheld)), provenance=freeze(dict(provenance)),
        last_modified=info.get("lastModified"))


def evidence_from_record(target: str, repo_id: str, revision: str | None, kind: str, raw_info: Any,
                         manifest: Any, problems: list[str], read_file: Callable[[Mapping[str, Any]], FileEvidence]
                         ) -> Evidence:
    """Evidence from a recorded model_info and files manifest (a snapshot's or the metadata
    cache's); `read_file` gives the FileEvidence of one manifest entry."""
    info, shape_problems = hub_info(raw_info, repo_id, kind)
    problems = problems + shape_problems
    if not isinstance(manifest, dict) or not isinstance(manifest.get("files", []), list):
        raise TypeError("files.json is not an object with a list of files")
    files = []
    config = None
    for entry in manifest.get("files", []):
        fe = read_file(entry)
        if entry["path"] == CONFIG_FILE:
            if fe.readable:
                try:
                    loaded, cfg_problems = load_json(fe.text or "", "recorded config.json")
                    config = loaded if isinstance(loaded, dict) else None
                    problems += cfg_problems
                except ValueError:
                    pass
            continue
        files.append(fe)
    withheld = {w["field"]: FileEvidence(w["field"], "omitted", w.get("size"), w.get("sha256"), None,
                                         w.get("normalized_sha256"))
                for w in manifest.get("withheld_fields", [])}
    provenance = manifest.get("provenance") if isinstance(manifest.get("provenance"), dict) else {}
    ev = evidence_from_info(target, "snapshot", kind, revision, info, tuple(files), config, withheld,
                            finite(provenance))
    if problems:
        from dataclasses import replace
        from scanner.evidence import SourceIssue
        ev = replace(ev, issues=ev.issues + tuple(SourceIssue("field-malformed", p) for p in problems))
    return ev


def _str(value: Any) -> str | None:
    return value if isinstance(value, str) else None


class SnapshotSource(Source):
    name = "snapshot"

    def __init__(self, root: Path):
        self.store = SnapshotStore(root)

    def fetch(self, target: Target) -> Evidence:
        return self._fetch(target.raw, target.repo_id or "", target.revision, "model")

    def fetch_dataset(self, repo_id: str, revision: str | None = None) -> Evidence:
        return self._fetch(repo_id, repo_id, revision, "dataset")

    def _fetch(self, raw: str, repo_id: str, revision: str | None, kind: str) -> Evidence:
        ev = self.store.load(raw, repo_id, revision, kind)
        if ev is not None:
            return ev
        missing = self.store.missing(repo_id, kind)
        if missing is not None:
            raise TargetError(f"{kind} {repo_id} not found on the Hub (recorded in the snapshot)",
                              tuple(missing.get("suggestions") or ()))
        where = f"@{revision}" if revision else ""
        raise TargetError(f"{kind} {repo_id}{where} is not in the snapshot {self.store.root}",
                          _close_names(repo_id, self.store.root / ("models" if kind == "model" else "datasets")))


def _close_names(repo_id: str, base: Path) -> tuple[str, ...]:
    import difflib

    if not base.is_dir():
        return ()
    names = [f"{o.name}/{n.name}" for o in base.iterdir() if o.is_dir() for n in o.iterdir() if n.is_dir()]
    return tuple(difflib.get_close_matches(repo_id, names, n=3, cutoff=0.6))
