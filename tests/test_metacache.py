"""The metadata cache (scanner/sources/metacache.py): one record per repository in one SQLite
database, read back as the Evidence the Hub source saw; a damaged record or database is a miss,
never a verdict from half a file, and two writers never lose each other's commits."""

from __future__ import annotations

import dataclasses
import json
import sqlite3
import subprocess
import sys
import threading

import pytest

from scanner.evidence import FileEvidence
from scanner.sources.files import file_evidence
from scanner.sources.metacache import MAX_COMMITS, MetadataCache

SHA = "a" * 40
INFO = {"id": "org/m", "sha": SHA, "cardData": {"license": "mit", "extra_gated_prompt": "secret terms"},
        "tags": ["license:mit"], "siblings": [{"rfilename": "LICENSE"}, {"rfilename": "README.md"}]}


def files(license_bytes: bytes = b"MIT License\n") -> list[FileEvidence]:
    return [file_evidence("LICENSE", license_bytes, keep_raw=True),
            file_evidence("README.md", b"---\nlicense: mit\n---\n# m\n", keep_raw=True),
            FileEvidence("NOTICE", "gated", error="gated")]


def rows(cache: MetadataCache) -> dict[tuple[str, str], bytes]:
    """What the database holds once the cache has flushed, read with sqlite3 itself."""
    cache.flush()
    with sqlite3.connect(cache.database) as db:
        return {(k, r): bytes(b) for k, r, b in db.execute("SELECT kind, repo, record FROM records")}


def record(cache: MetadataCache, repo: str = "org/m") -> dict:
    return json.loads(rows(cache)[("model", repo)])


def damage(cache: MetadataCache, blob: bytes, repo: str = "org/m") -> None:
    with sqlite3.connect(cache.database) as db:
        db.execute("UPDATE records SET record = ? WHERE kind = 'model' AND repo = ?", (blob, repo))


def test_a_commit_round_trips_as_one_record_per_repository(tmp_path):
    cache = MetadataCache(tmp_path / "c")
    cache.save("org/m", None, INFO, files())
    cache.save("org/m", "v1", INFO, files())
    assert list(rows(cache)) == [("model", "org/m")]
    assert sorted(p.name for p in (tmp_path / "c").iterdir() if not p.name.startswith("metadata.sqlite3-")) \
        == ["metadata-cache.json", "metadata.sqlite3"]
    assert record(cache)["refs"] == {"main": SHA, "v1": SHA}
    assert cache.has("org/m", SHA) and not cache.has("org/m", "b" * 40)
    ev = cache.load("org/m", "org/m", None)
    assert ev is not None and ev.sha == SHA and dict(ev.card_data)["license"] == "mit"
    want = {f.path: (f.status, f.sha256, f.text) for f in files()}
    assert {f.path: (f.status, f.sha256, f.text) for f in ev.files} == want
    assert cache.load("org/m", "org/m", SHA[:9]).sha == SHA          # a short sha resolves
    assert cache.load("org/m", "org/m", "dev") is None               # an unknown ref is a miss


def test_bytes_that_are_not_the_text_keep_their_hash(tmp_path):
    latin1 = "Licence: libre d'usage, \xe9t\xe9\n".encode("latin-1")      # not UTF-8: decoded with a fallback
    cache = MetadataCache(tmp_path / "c")
    cache.save("org/m", None, INFO, files(latin1))
    ev = cache.load("org/m", "org/m", None)
    assert ev.file("LICENSE").sha256 == file_evidence("LICENSE", latin1).sha256
    assert "LICENSE" in record(cache)["commits"][SHA]["raw"]


def test_withheld_fields_and_files_keep_only_their_hashes(tmp_path):
    cache = MetadataCache(tmp_path / "c")
    cache.save("org/m", None, INFO, files(), withhold=frozenset({"LICENSE", "extra_gated_prompt"}))
    text = b"".join(p.read_bytes() for p in (tmp_path / "c").iterdir())      # the database and its log
    assert b"MIT License" not in text and b"secret terms" not in text
    ev = cache.load("org/m", "org/m", None)
    assert ev.file("LICENSE").status == "omitted" and ev.file("LICENSE").sha256
    assert "extra_gated_prompt" in dict(ev.withheld_fields)


def test_a_damaged_record_is_a_miss_and_is_rewritten(tmp_path):
    cache = MetadataCache(tmp_path / "c")
    cache.save("org/m", None, INFO, files())
    cache.flush()
    for bad in (b"{not json", b"[1, 2]", json.dumps({"refs": {"main": SHA}, "commits": {SHA: 5}}).encode(),
                b"\xff\xfe\x00", b""):
        damage(cache, bad)
        assert cache.load("org/m", "org/m", None) is None and not cache.has("org/m", SHA)
    cache.save("org/m", None, INFO, files())
    assert cache.load("org/m", "org/m", None).sha == SHA


def test_old_commits_are_dropped_but_those_a_ref_points_at_are_kept(tmp_path):
    cache = MetadataCache(tmp_path / "c")
    shas = [f"{i:040x}" for i in range(MAX_COMMITS + 5)]
    cache.save("org/m", "v1", {**INFO, "sha": shas[0]}, files())
    for sha in shas[1:]:
        cache.save("org/m", None, {**INFO, "sha": sha}, files())
    kept = record(cache)["commits"]
    assert len(kept) == MAX_COMMITS and shas[0] in kept and shas[-1] in kept and shas[1] not in kept
    assert cache.load("org/m", "org/m", "v1").sha == shas[0]


def test_a_folder_that_is_not_a_metadata_cache_is_refused(tmp_path):
    (tmp_path / "c").mkdir()
    (tmp_path / "c" / "metadata-cache.json").write_text('{"format": "something-else", "version": 2}')
    try:
        MetadataCache(tmp_path / "c")
    except OSError as exc:
        assert "unsupported" in str(exc)
    else:
        raise AssertionError("a foreign folder was used as the cache")


def test_a_nan_or_infinity_from_the_hub_is_cached_as_null(tmp_path):
    # Python's json reads NaN and Infinity; the cache is strict JSON, so they are written as null.
    cache = MetadataCache(tmp_path / "c")
    info = {**INFO, "cardData": {**INFO["cardData"], "score": float("nan"), "eval": [1.5, float("inf")]}}
    cache.save("org/m", None, info, files())
    text = rows(cache)[("model", "org/m")].decode()
    assert "NaN" not in text and "Infinity" not in text and json.loads(text)
    card = dict(cache.load("org/m", "org/m", None).card_data)
    assert card["score"] is None and list(card["eval"]) == [1.5, None] and card["license"] == "mit"


def test_a_file_that_is_not_a_database_is_moved_aside_and_the_cache_starts_anew(tmp_path):
    cache = MetadataCache(tmp_path / "c")
    cache.save("org/m", None, INFO, files())
    del cache
    (tmp_path / "c" / "metadata.sqlite3").write_bytes(b"this is not a database" * 200)
    for suffix in ("-wal", "-shm"):
        (tmp_path / "c" / f"metadata.sqlite3{suffix}").unlink(missing_ok=True)
    cache = MetadataCache(tmp_path / "c")
    assert cache.load("org/m", "org/m", None) is None                  # a miss, not a crash
    assert (tmp_path / "c" / "metadata.sqlite3.damaged").read_bytes().startswith(b"this is not")
    cache.save("org/m", None, INFO, files())
    assert cache.load("org/m", "org/m", None).sha == SHA


def test_a_version_2_folder_is_taken_over_and_its_files_are_not_read(tmp_path):
    old = tmp_path / "c" / "models" / "org"
    old.mkdir(parents=True)
    (old / "m.json").write_text(json.dumps({"refs": {"main": SHA}, "commits": {SHA: {"info": INFO}}}))
    (tmp_path / "c" / "metadata-cache.json").write_text('{"format": "modelscan-metadata-cache", "version": 2}')
    cache = MetadataCache(tmp_path / "c")
    assert cache.load("org/m", "org/m", None) is None
    assert json.loads((tmp_path / "c" / "metadata-cache.json").read_text())["version"] == 3


def test_a_models_and_a_datasets_record_of_the_same_name_are_apart(tmp_path):
    cache = MetadataCache(tmp_path / "c")
    cache.save("org/m", None, INFO, files())
    assert cache.load("org/m", "org/m", None, kind="dataset") is None
    cache.save("org/m", None, {**INFO, "sha": "b" * 40}, files(), kind="dataset")
    assert cache.load("org/m", "org/m", None).sha == SHA
    assert cache.load("org/m", "org/m", None, kind="dataset").sha == "b" * 40


def test_threads_sharing_one_cache_keep_every_commit(tmp_path):
    cache = MetadataCache(tmp_path / "c")
    shas = [f"{i:040x}" for i in range(MAX_COMMITS)]

    def save(i: int) -> None:
        cache.save("org/m", f"r{i}", {**INFO, "sha": shas[i]}, files())

    threads = [threading.Thread(target=save, args=(i,)) for i in range(len(shas))]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert set(record(cache)["commits"]) == set(shas)
    assert all(cache.load("org/m", "org/m", f"r{i}").sha == shas[i] for i in range(len(shas)))


WRITER = """
import sys
sys.path.insert(0, sys.argv[3])
from test_metacache import INFO, files
from scanner.sources.metacache import MetadataCache
cache = MetadataCache(sys.argv[1])
for i in range(8):
    cache.save("org/m", f"{sys.argv[2]}{i}", {**INFO, "sha": f"{sys.argv[2]}{i:039x}"}, files())
"""


def test_two_processes_writing_one_repository_lose_no_commit(tmp_path):
    # Each save is one transaction holding the write lock from its read to its write.
    root = tmp_path / "c"
    MetadataCache(root)
    here = str(__import__("pathlib").Path(__file__).parent)
    procs = [subprocess.Popen([sys.executable, "-c", WRITER, str(root), tag, here]) for tag in ("a", "b")]
    assert [p.wait(timeout=60) for p in procs] == [0, 0]
    commits = record(MetadataCache(root))["commits"]
    assert len(commits) == 16 and {s[0] for s in commits} == {"a", "b"}


def test_a_database_another_process_holds_locked_is_read_and_its_write_is_reported(tmp_path, monkeypatch, capsys):
    import scanner.sources.metacache as mc

    monkeypatch.setattr(mc, "BUSY_TIMEOUT_MS", 50)
    cache = MetadataCache(tmp_path / "c")
    cache.save("org/m", None, INFO, files())
    cache.flush()
    blocker = sqlite3.connect(cache.database, isolation_level=None)
    blocker.execute("BEGIN IMMEDIATE")
    blocker.execute("DELETE FROM records")                 # not committed: readers still see the record
    try:
        assert cache.load("org/m", "org/m", None).sha == SHA
        cache.save("org/m", "v2", {**INFO, "sha": "c" * 40}, files())
        assert cache.load("org/m", "org/m", "v2").sha == "c" * 40     # pending: seen at once
        cache.flush()
        err = capsys.readouterr().err
        assert "1 entries not written" in err and "locked" in err
    finally:
        blocker.execute("ROLLBACK")
        blocker.close()
    assert cache.load("org/m", "org/m", "v2") is None                  # dropped, not half-written
    assert cache.load("org/m", "org/m", None).sha == SHA


def test_a_link_in_place_of_the_database_is_not_followed(tmp_path):
    elsewhere = tmp_path / "elsewhere.sqlite3"
    MetadataCache(tmp_path / "other").save("org/m", None, INFO, files())
    (tmp_path / "other" / "metadata.sqlite3").rename(elsewhere)
    before = elsewhere.read_bytes()
    (tmp_path / "c").mkdir()
    (tmp_path / "c" / "metadata.sqlite3").symlink_to(elsewhere)
    cache = MetadataCache(tmp_path / "c")
    assert cache.load("org/m", "org/m", None) is None            # the linked database is not read
    cache.save("org/x", None, INFO, files())
    assert elsewhere.read_bytes() == before and not (tmp_path / "c" / "metadata.sqlite3").is_symlink()


def test_writes_are_behind_seen_at_once_in_the_process_and_written_at_exit(tmp_path):
    # Written in one transaction at exit (or at FLUSH_AT, or on flush()), never one call a model.
    root = tmp_path / "c"
    script = f"""
import sys
sys.path.insert(0, {str(__import__("pathlib").Path(__file__).parent)!r})
from test_metacache import INFO, files
from scanner.sources.metacache import MetadataCache
a = MetadataCache({str(root)!r})
a.save("org/m", None, INFO, files())
b = MetadataCache({str(root)!r})                # another reader of the folder in the process
assert b.load("org/m", "org/m", None).sha == INFO["sha"]
import sqlite3
with sqlite3.connect(a.database) as db:
    assert db.execute("SELECT count(*) FROM records").fetchone()[0] == 0   # not yet written
"""
    proc = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, timeout=60)
    assert proc.returncode == 0, proc.stderr
    with sqlite3.connect(root / "metadata.sqlite3") as db:
        assert [r for (r,) in db.execute("SELECT repo FROM records")] == ["org/m"]


def test_a_pending_write_reads_back_as_a_later_process_would_read_it(tmp_path):
    cache = MetadataCache(tmp_path / "c")
    info = {**INFO, "cardData": {**INFO["cardData"], "score": float("nan")}, "tags": ("license:mit",)}
    cache.save("org/m", None, info, files())
    pending = cache.load("org/m", "org/m", None)
    cache.flush()
    del cache
    import gc
    gc.collect()
    written = MetadataCache(tmp_path / "c").load("org/m", "org/m", None)
    def fields(ev):                                   # Evidence compares by identity
        return [getattr(ev, f.name) for f in dataclasses.fields(ev)]

    assert fields(pending) == fields(written) and dict(written.card_data)["score"] is None


def test_many_repositories_are_written_once_flush_at_are_pending(tmp_path, monkeypatch):
    import scanner.sources.metacache as mc

    monkeypatch.setattr(mc, "FLUSH_AT", 5)
    cache = MetadataCache(tmp_path / "c")
    for i in range(4):
        cache.save(f"org/m{i}", None, INFO, files())
    with sqlite3.connect(cache.database) as db:
        assert db.execute("SELECT count(*) FROM records").fetchone()[0] == 0
    cache.save("org/m4", None, INFO, files())
    with sqlite3.connect(cache.database) as db:
        assert db.execute("SELECT count(*) FROM records").fetchone()[0] == 5


def test_pending_texts_past_flush_bytes_are_written(tmp_path, monkeypatch):
    import scanner.sources.metacache as mc

    monkeypatch.setattr(mc, "FLUSH_BYTES", 50_000)
    cache = MetadataCache(tmp_path / "c")
    cache.save("org/small", None, INFO, files())
    with sqlite3.connect(cache.database) as db:
        assert db.execute("SELECT count(*) FROM records").fetchone()[0] == 0
    cache.save("org/big", None, INFO, files(b"MIT License\n" + b"x" * 60_000))
    with sqlite3.connect(cache.database) as db:
        assert db.execute("SELECT count(*) FROM records").fetchone()[0] == 2


def test_a_database_that_cannot_be_opened_is_unavailable_not_moved_aside(tmp_path, monkeypatch):
    # Locked, read-only or unopenable (sqlite3.OperationalError): the run goes without the cache and
    # the database is left as it is; only a file that is not a database is moved aside.
    cache = MetadataCache(tmp_path / "c")
    cache.save("org/m", None, INFO, files())
    cache.flush()
    del cache
    import gc
    gc.collect()
    before = (tmp_path / "c" / "metadata.sqlite3").read_bytes()

    def refuse(*args, **kwargs):
        raise sqlite3.OperationalError("attempt to write a readonly database")

    monkeypatch.setattr(sqlite3, "connect", refuse)
    with pytest.raises(OSError, match="readonly"):
        MetadataCache(tmp_path / "c")
    monkeypatch.undo()
    assert (tmp_path / "c" / "metadata.sqlite3").read_bytes() == before
    assert not (tmp_path / "c" / "metadata.sqlite3.damaged").exists()
    assert MetadataCache(tmp_path / "c").load("org/m", "org/m", None).sha == SHA


def test_a_forked_child_that_exits_does_not_write_its_parents_pending_changes(tmp_path):
    import os

    import scanner.sources.metacache as mc

    cache = MetadataCache(tmp_path / "c")
    cache.save("org/m", None, INFO, files())
    s = cache._store
    pid = os.fork()
    if pid == 0:              # the child: what its exit would run (only that: no other finalizer)
        try:
            mc._close(s.db, s.lock, s.pending, s.known, s.database, s.pid)
        finally:
            os._exit(0)
    os.waitpid(pid, 0)
    with sqlite3.connect(cache.database) as db:
        assert db.execute("SELECT count(*) FROM records").fetchone()[0] == 0
    assert list(rows(cache)) == [("model", "org/m")]          # the parent's flush still writes it


def test_a_python_without_sqlite3_scans_without_the_cache(tmp_path, monkeypatch):
    from scanner.sources.hub import HubSource

    monkeypatch.setitem(sys.modules, "sqlite3", None)            # `import sqlite3` raises ImportError
    with pytest.raises(OSError, match="no sqlite3"):
        MetadataCache(tmp_path / "c")
    src = HubSource(cache_dir=tmp_path / "c2", token=False, endpoint="http://127.0.0.1:9")
    assert src.cache is None and "no sqlite3" in (src.cache_problem or "")
