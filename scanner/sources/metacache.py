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

Writes are behind (MetadataCache): what a scan saves is seen at once by this process and written
in one transaction when many repositories are pending and at exit.

Every record is redacted before it is written (scanner.redact). A damaged record is a miss; a
damaged database file is moved aside (`metadata.sqlite3.damaged`) and a new one started; a locked or
unwritable one costs requests, never the scan (reads miss; writes that fail are dropped, with one
line on stderr). A repository keeps at most MAX_COMMITS commits: every commit a ref points at, then the
newest.
"""

from __future__ import annotations

import base64
import binascii
import json
import os
import stat
import sys
import threading
import weakref
from pathlib import Path
from typing import TYPE_CHECKING, Any, Callable, Mapping

from scanner.atomic import write_atomic
from scanner.evidence import MAX_FILE_BYTES, Evidence, FileEvidence
from scanner.redact import redact, redact_bytes
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
FLUSH_AT = 1000                      # repositories with pending changes that make a write
FLUSH_BYTES = 32_000_000             # or this many bytes of pending file texts (about)

_SCHEMA = ("CREATE TABLE IF NOT EXISTS records (kind TEXT NOT NULL, repo TEXT NOT NULL, "
           "record BLOB NOT NULL, PRIMARY KEY (kind, repo))")


def _empty() -> dict[str, Any]:
    return {"refs": {}, "commits": {}}


class _Store:
    """One cache folder's database as this process uses it, shared by every MetadataCache of the
    folder in the process: the connection, the keys the database held when it was opened, and the
    changes not yet written (write-behind, see MetadataCache)."""

    def __init__(self, database: Path):
        import sqlite3                         # imported by the scans that use the cache, only

        self.database = database
        self.lock = threading.Lock()
        self.db = _connect(database)
        try:
            self.known: set[tuple[str, str]] = set(self.db.execute("SELECT kind, repo FROM records"))
        except sqlite3.Error:
            self.known = set()
        self.pending: dict[tuple[str, str], list[Change]] = {}
        self.pending_bytes = 0
        self.pid = os.getpid()
        # At exit (or when the last MetadataCache of the folder is gone): write what is pending.
        weakref.finalize(self, _close, self.db, self.lock, self.pending, self.known, database, self.pid)


Change = Callable[[dict[str, Any]], "bool | None"]
_STORES: weakref.WeakValueDictionary[str, _Store] = weakref.WeakValueDictionary()
_STORES_LOCK = threading.Lock()


def _store(database: Path) -> _Store:
    key = os.path.realpath(database)
    with _STORES_LOCK:
        store = _STORES.get(key)
        if store is None:
            store = _STORES[key] = _Store(database)
        return store


def _connect(database: Path) -> sqlite3.Connection:
    import sqlite3

    def open_db() -> sqlite3.Connection:
        db = sqlite3.connect(database, timeout=BUSY_TIMEOUT_MS / 1000, isolation_level=None,
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
        if os.path.lexists(database) and not stat.S_ISREG(os.lstat(database).st_mode):
            # a link or a folder in its place is not followed: the cache is not written through it
            raise sqlite3.DatabaseError("not a regular file")
        return open_db()
    except sqlite3.OperationalError as exc:
        # locked, read-only, unopenable: the cache is unavailable to this run; nothing is moved
        raise OSError(f"{database}: {exc}") from None
    except sqlite3.DatabaseError:
        damaged = database.with_name(DATABASE + ".damaged")
        try:                               # not a database (or a damaged one): start a new one
            if os.path.isdir(damaged) and not os.path.islink(damaged):
                raise OSError(f"{damaged} is a folder")
            os.replace(database, damaged)
            for suffix in ("-wal", "-shm"):
                Path(f"{database}{suffix}").unlink(missing_ok=True)
            return open_db()
        except (OSError, sqlite3.Error) as again:
            raise OSError(f"{database}: {again}") from None


def _flush(db: sqlite3.Connection, pending: dict[tuple[str, str], list[Change]],
           known: set[tuple[str, str]]) -> None:
    """Write the pending changes in one transaction, each applied to the record as the database
    holds it now (another process may have written it since): no commit of theirs is lost.
    sqlite3.Error when the database cannot be written; nothing is written then."""
    if not pending:
        return
    keys = list(pending)
    db.execute("BEGIN IMMEDIATE")          # the write lock first: no lost update between processes
    try:
        stored: dict[tuple[str, str], bytes] = {}
        for kind in {k for k, _ in keys}:
            names = [r for k, r in keys if k == kind]
            for i in range(0, len(names), 500):
                chunk = names[i:i + 500]
                stored.update(((kind, r), b) for r, b in db.execute(
                    f"SELECT repo, record FROM records WHERE kind = ? AND repo IN ({','.join('?' * len(chunk))})",
                    (kind, *chunk)))
        rows = []
        for key in keys:
            data = _parse(stored.get(key))
            if _apply(data, pending[key]) or key not in stored:
                rows.append((*key, redact_bytes(_dump(data))))
        db.executemany("INSERT OR REPLACE INTO records (kind, repo, record) VALUES (?, ?, ?)", rows)
        db.execute("COMMIT")
    except BaseException:
        if db.in_transaction:
            db.execute("ROLLBACK")
        raise
    known.update(keys)
    pending.clear()


def _close(db: sqlite3.Connection, lock: threading.Lock, pending: dict[tuple[str, str], list[Change]],
           known: set[tuple[str, str]], database: Path, pid: int) -> None:
    if os.getpid() != pid:
        return          # a forked child leaving: the connection and the pending writes are its parent's
    with lock:
        try:
            _write_pending(db, pending, known, database)
        finally:
            db.close()


def _write_pending(db: sqlite3.Connection, pending: dict[tuple[str, str], list[Change]],
                   known: set[tuple[str, str]], database: Path) -> None:
    """_flush, with a failure said on stderr and the pending changes dropped (the caller holds the lock)."""
    import sqlite3

    try:
        _flush(db, pending, known)
    except sqlite3.Error as exc:
        _say(f"metadata cache {database}: {len(pending)} entries not written ({exc})")
        pending.clear()


def _apply(data: dict[str, Any], changes: list[Change]) -> bool:
    """Apply `changes` to a record in order, then keep at most MAX_COMMITS commits; whether any
    change changed it."""
    changed = False
    for change in changes:
        changed |= change(data) is not False
    keep = set(data["refs"].values())
    commits = data["commits"]
    for sha in [s for s in commits if s not in keep][: max(0, len(commits) - MAX_COMMITS)]:
        del commits[sha]
    return changed


def _say(message: str) -> None:
    try:
        sys.stderr.write(redact(message) + "\n")
        sys.stderr.flush()
    except (OSError, ValueError):
        pass


class MetadataCache:
    """Read and write the metadata cache folder `root` (created when missing).

    Writes are behind: `save` and `set_ref` record a change that reads in this process see at once
    (every MetadataCache of the folder shares them), and the changes are written in one transaction
    when FLUSH_AT repositories or FLUSH_BYTES of texts are pending, on `flush()`, and at exit (or when the last
    MetadataCache of the folder is gone). Each database call releases Python's GIL, and in a gate
    of many worker threads each release cost two or three thread switches: five calls a model were
    a fifth of a cold gate's CPU (benchmarks/cpu_bench.py). A process killed before it flushes
    loses its pending entries, which costs requests next time, never a wrong answer. Where the
    database cannot be written, one line on stderr says so; a cache never changes a verdict."""

    def __init__(self, root: Path, create: bool = True):
        self.root = Path(root)
        self.database = self.root / DATABASE
        marker = self.root / "metadata-cache.json"
        if create and not marker.is_file():
            write_atomic(marker, _dump({"format": FORMAT, "version": VERSION}))
        try:
            info, _ = load_json(read_regular(marker, 4096), marker.name)
        except (ReadRefused, ValueError) as exc:
            raise OSError(f"{marker}: not a metadata cache ({exc})") from None
        if not isinstance(info, dict) or info.get("format") != FORMAT or info.get("version") not in (2, VERSION):
            raise OSError(f"{marker}: unsupported metadata cache format")
        try:
            self._store = _store(self.database)
        except ImportError as exc:            # a Python built without sqlite3: scans go without the cache
            raise OSError(f"this Python has no sqlite3 module ({exc})") from None
        if info.get("version") != VERSION:
            # The files of version 2 are left where they are, unread: each is one request again.
            write_atomic(marker, _dump({"format": FORMAT, "version": VERSION}))

    # -- one repository's record -------------------------------------------------------------
    @staticmethod
    def _key(repo_id: str, kind: str) -> tuple[str, str]:
        validate_repo_id(repo_id)
        return ("model" if kind == "model" else "dataset", repo_id)

    def _read(self, key: tuple[str, str]) -> dict[str, Any]:
        """The record with this process's pending changes applied, or an empty one when it is
        missing, unreadable or not of the documented shape."""
        import sqlite3

        store = self._store
        blob = None
        with store.lock:
            changes = list(store.pending.get(key, ()))
            if key in store.known:              # no database call for a repository it did not hold
                try:
                    row = store.db.execute("SELECT record FROM records WHERE kind = ? AND repo = ?",
                                           key).fetchone()
                    blob = row[0] if row else None
                except sqlite3.Error:
                    pass
        data = _parse(blob)
        if changes:
            # As a later process would read it: through the bytes the flush will write.
            _apply(data, changes)
            data = _parse(redact_bytes(_dump(data)))
        return data

    def _update(self, key: tuple[str, str], change: Change, size: int = 0) -> None:
        store = self._store
        with store.lock:
            store.pending.setdefault(key, []).append(change)
            store.pending_bytes += size
            if len(store.pending) < FLUSH_AT and store.pending_bytes < FLUSH_BYTES:
                return
        self.flush()

    def flush(self) -> None:
        """Write the pending changes now (a line on stderr when they cannot be written)."""
        store = self._store
        with store.lock:
            _write_pending(store.db, store.pending, store.known, store.database)
            store.pending_bytes = 0

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

        self._update(key, change, 1000 + sum(map(len, entry["texts"].values())) + sum(map(len, entry["raw"].values())))

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
