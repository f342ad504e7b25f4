"""The metadata cache file (scanner/sources/metacache.py): one record per repository, read back
as the Evidence the Hub source saw; a damaged record is a miss, never a verdict from half a file."""

from __future__ import annotations

import json

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


def record(cache: MetadataCache, repo: str = "org/m") -> dict:
    return json.loads((cache.root / "models" / f"{repo}.json").read_text())


def test_a_commit_round_trips_as_one_file_per_repository(tmp_path):
    cache = MetadataCache(tmp_path / "c")
    cache.save("org/m", None, INFO, files())
    assert sorted(p.name for p in (tmp_path / "c" / "models" / "org").iterdir()) == ["m.json"]
    assert record(cache)["refs"] == {"main": SHA}
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
    text = (tmp_path / "c" / "models" / "org" / "m.json").read_text()
    assert "MIT License" not in text and "secret terms" not in text
    ev = cache.load("org/m", "org/m", None)
    assert ev.file("LICENSE").status == "omitted" and ev.file("LICENSE").sha256
    assert "extra_gated_prompt" in dict(ev.withheld_fields)


def test_a_damaged_record_is_a_miss_and_is_rewritten(tmp_path):
    cache = MetadataCache(tmp_path / "c")
    cache.save("org/m", None, INFO, files())
    path = tmp_path / "c" / "models" / "org" / "m.json"
    for damage in ("{not json", "[1, 2]", json.dumps({"refs": {"main": SHA}, "commits": {SHA: 5}})):
        path.write_text(damage)
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
    text = (tmp_path / "c" / "models" / "org" / "m.json").read_text()
    assert "NaN" not in text and "Infinity" not in text
    card = dict(cache.load("org/m", "org/m", None).card_data)
    assert card["score"] is None and list(card["eval"]) == [1.5, None] and card["license"] == "mit"
