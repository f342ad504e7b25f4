"""The Hub source's metadata cache: what was seen at a commit, reused by repeated, `--locked` and
offline scans (huggingface_hub never caches model_info, and a commit sha is immutable).

It keeps the records a snapshot keeps (scanner/sources/snapshot.py: model_info, the files
manifest, the texts of the small files read) as one compact JSON record per repository, a row of
one SQLite database in the cache folder (`metadata.sqlite3`, with the marker file
`metadata-cache.json`):

    {"refs": {"main": "<sha>"}, "commits": {"<sha>": {"info": ..., "files": [...],
     "withheld_fields": [...], "provenance": {...}, "texts": {"LICENSE": "..."},
     "raw": {"<path>": "<base64, only where the bytes are not the UTF-8 of the text>"}}}}

Why a database and not a file per repository: on the machines measured, creating a file costs
0.25-0.5 ms of system CPU, a tenth of a cold gate's CPU per model; a row costs about 0.05 ms
(benchmarks/cpu_bench.py). SQLite (the standard library's) also makes a repository's
read-change-write one transaction, so two processes sharing the cache never lose each other's
commits, and readers never see half a record.

Every record is redacted before it is written (scanner.redact). A damaged record is a miss; a
damaged database file is moved aside (`metadata.sqlite3.damaged`) and a new one started; a locked or
unwritable one costs requests, never the scan (reads miss, writes raise OSError for the caller to
report). A repository keeps at most MAX_COMMITS commits: every commit a ref points at, then the
newest.
"""

from __future__ import annotations

import base64
import binascii
import json
import os
import stat
import threading
import weakref
from pathlib import Path
from typing import TYPE_CHECKING, Any, Callable, Mapping

from scanner.atomic import write_atomic
from scanner.evidence import MAX_FILE_BYTES, Evidence, FileEvidence
from scanner.redact import redact_bytes
from scanner.sources.files import ReadRefused, file_evidence, read_regular
from scanner.sources.shapes import finite, is_sha, load_json
from scanner.sources.snapshot import CorruptRecord, evidence_from_record, record_parts
from scanner.targets import validate_repo_id

if TYPE_CHECKING:
    import sqlite3

FORMAT = "modelscan-metadata-cache"
VERSION = 3                           # 2: one JSON file per repository (read as an empty cache)
DATABASE = "metadata.sqlite3"
MAX_COMMITS = 16
MAX_RECORD_BYTES = 64_000_000        # one repository's record (model_info lists every file)
BUSY_TIMEOUT_MS = 5000               # another process's write transaction is waited for this long

_SCHEMA = ("CREATE TABLE IF NOT EXISTS records (kind TEXT NOT NULL, repo TEXT NOT NULL, "
           "record BLOB NOT NULL, PRIMARY KEY (kind, repo))")


def _empty() -> dict[str, Any]:
    return {"refs": {}, "commits": {}}


class MetadataCache:
    """Read and write the metadata cache folder `root` (created when missing)."""

    def __init__(self, root: Path, create: bool = True):
        self.root = Path(root)
        self.database = self.root / DATABASE
        self._lock = threading.Lock()          # one connection, shared by a scan's workers
        marker = self.root / "metadata-cache.json"
        if create and not marker.is_file():
            write_atomic(marker, _dump({"format": FORMAT, "version": VERSION}))
        try:
            info, _ = load_json(read_regular(marker, 4096), marker.name)
        except (ReadRefused, ValueError) as exc:
            raise OSError(f"{marker}: not a metadata cache ({exc})") from None
        if not isinstance(info, dict) or info.get("format") != FORMAT or info.get("version") not in (2, VERSION):
            raise OSError(f"{marker}: unsupported metadata cache format")
        self._db = self._connect()
        if info.get("version") != VERSION:
            # The files of version 2 are left where they are, unread: each is one request again.
            write_atomic(marker, _dump({"format": FORMAT, "version": VERSION}))
        weakref.finalize(self, self._db.close)   # also at exit: the write-ahead log is folded in

    def _connect(self) -> sqlite3.Connection:
        import sqlite3                         # imported by the scans that use the cache, only

        def open_db() -> sqlite3.Connection:
            db = sqlite3.connect(self.database, timeout=BUSY_TIMEOUT_MS / 1000, isolation_level=None,
                                 check_same_thread=False)
            try:
                db.execute("PRAGMA journal_mode=WAL")       # readers do not wait for a writer
                db.execute("PRAGMA synchronous=NORMAL")     # a cache: no sync per transaction
                db.execute(_SCHEMA)
                db.execute("SELECT count(*) FROM records WHERE 0").fetchall()
            except BaseException:
                db.close()
                raise
            return db

        try:
            if os.path.lexists(self.database) and not stat.S_ISREG(os.lstat(self.database).st_mode):
                # a link or a folder in its place is not followed: the cache is not written through it
                raise sqlite3.DatabaseError("not a regular file")
            return open_db()
        except sqlite3.DatabaseError as exc:
            if isinstance(exc, sqlite3.OperationalError) and "locked" in str(exc):
                raise OSError(f"{self.database}: {exc}") from None
            damaged = self.database.with_name(DATABASE + ".damaged")
            try:                               # not a database (or a damaged one): start a new one
                if os.path.isdir(damaged) and not os.path.islink(damaged):
                    raise OSError(f"{damaged} is a folder")
                os.replace(self.database, damaged)
                for suffix in ("-wal", "-shm"):
                    Path(f"{self.database}{suffix}").unlink(missing_ok=True)
                return open_db()
            except (OSError, sqlite3.Error) as again:
                raise OSError(f"{self.database}: {again}") from None

    # -- one repository's record -------------------------------------------------------------
    @staticmethod
    def _key(repo_id: str, kind: str) -> tuple[str, str]:
        validate_repo_id(repo_id)
        return ("model" if kind == "model" else "dataset", repo_id)

    def _read(self, key: tuple[str, str]) -> dict[str, Any]:
        """The record, or an empty one when it is missing, unreadable or not of the documented shape."""
        import sqlite3

        try:
            with self._lock:
                row = self._db.execute("SELECT record FROM records WHERE kind = ? AND repo = ?", key).fetchone()
        except sqlite3.Error:
            return _empty()
        return _parse(row[0] if row else None)

    def _update(self, key: tuple[str, str], change: Callable[[dict[str, Any]], bool | None]) -> None:
        """Read, change and write one repository's record in one transaction (OSError when the
        database cannot be written)."""
        import sqlite3

        with self._lock:
            db = self._db
            try:
                db.execute("BEGIN IMMEDIATE")          # the write lock first: no lost update between processes
                try:
                    row = db.execute("SELECT record FROM records WHERE kind = ? AND repo = ?", key).fetchone()
                    data = _parse(row[0] if row else None)
                    if change(data) is False:
                        db.execute("ROLLBACK")
                        return
                    keep = set(data["refs"].values())
                    commits = data["commits"]
                    for sha in [s for s in commits if s not in keep][: max(0, len(commits) - MAX_COMMITS)]:
                        del commits[sha]
                    db.execute("INSERT OR REPLACE INTO records (kind, repo, record) VALUES (?, ?, ?)",
                               (*key, redact_bytes(_dump(data))))
                    db.execute("COMMIT")
                except BaseException:
                    if db.in_transaction:
                        db.execute("ROLLBACK")
                    raise
            except sqlite3.Error as exc:
                raise OSError(f"metadata cache {self.database}: {exc}") from None

    # -- the interface the Hub source uses ---------------------------------------------------
    def resolve(self, repo_id: str, revision: str | None, kind: str = "model") -> str | None:
        return _resolve(self._read(self._key(repo_id, kind)), revision)

    def has(self, repo_id: str, sha: str, kind: str = "model") -> bool:
        return sha in self._read(self._key(repo_id, kind))["commits"]

    def load(self, target: str, repo_id: str, revision: str | None, kind: str = "model") -> Evidence | None:
        """The cached Evidence, or None when the repo/revision is not cached; CorruptRecord when its
        entry does not have the documented shape."""
        data = self._read(self._key(repo_id, kind))
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
        key = self._key(repo_id, kind)
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

        self._update(key, change)

    def set_ref(self, repo_id: str, revision: str | None, sha: str, kind: str = "model") -> None:
        """Record that `revision` (default branch when None) pointed at commit `sha`."""
        def change(data: dict[str, Any]) -> bool:
            if data["refs"].get(revision or "main") == sha:
                return False
            data["refs"][revision or "main"] = sha
            return True

        self._update(self._key(repo_id, kind), change)


def _parse(blob: Any) -> dict[str, Any]:
    """A stored record of the documented shape, or an empty one (missing, damaged, too large)."""
    if not isinstance(blob, bytes) or len(blob) > MAX_RECORD_BYTES:
        return _empty()
    try:
        data, _ = load_json(blob, "metadata cache record")
    except ValueError:
        return _empty()
    if not isinstance(data, dict):
        return _empty()
    refs = data.get("refs")
    commits = data.get("commits")
    return {"refs": {k: v for k, v in refs.items() if isinstance(v, str) and is_sha(v)}
            if isinstance(refs, dict) else {},
            "commits": {k: v for k, v in commits.items() if is_sha(k) and isinstance(v, dict)}
            if isinstance(commits, dict) else {}}


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
