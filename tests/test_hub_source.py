"""The Hub source (scanner/sources/hub.py) through the real huggingface_hub client, against the
fake Hub on 127.0.0.1 (tests/hubserver.py), with repos rebuilt from the corpus fact records.

What is checked: the requests made (one model_info, one GET per license file, nothing cached
twice), the Evidence built, the metadata cache (pinned and offline scans), gated files, unknown
repos and revisions, retries / timeouts / deadlines, size caps and binary files, and tokens.
"""

from __future__ import annotations

import hashlib
import os
import re
import tempfile
import time
from pathlib import Path

# Read by huggingface_hub at import (docs/architecture.md §4): no side request, no shared cache.
os.environ.setdefault("HF_HUB_DISABLE_TELEMETRY", "1")
os.environ.setdefault("HF_HUB_DISABLE_XET", "1")
os.environ.setdefault("HF_HUB_DISABLE_PROGRESS_BARS", "1")
os.environ.setdefault("HF_HOME", tempfile.mkdtemp(prefix="modelscan-hub-test-"))

import pytest  # noqa: E402

from support.modules import load_module  # noqa: E402

cf = load_module("scripts/corpus_facts.py")
from hubserver import FakeHub, git_blob_sha1  # noqa: E402

from scanner.sources.hub import HubSettings, HubSource  # noqa: E402
from scanner.targets import TargetError, parse_target  # noqa: E402

pytestmark = [pytest.mark.timeout(30),
              pytest.mark.skipif(not cf.DEFAULT_CORPUS_DIR.is_dir(), reason="shared corpus not found")]

# Small numbers so that every failure path ends in about a second.
FAST = dict(connect_timeout=1.0, read_timeout=1.0, attempts=3, backoff=0.05, max_retry_after=1.0,
            deadline=5.0, suggest_deadline=1.0)
SECRET = "hf_SECRETtoken123"
PHI2 = "microsoft/phi-2"                           # public, license: mit, LICENSE = the MIT text
QWEN = "Qwen/Qwen2.5-7B-Instruct"                  # public, license: apache-2.0, LICENSE = Apache 2.0
LLAMA3 = "meta-llama/Meta-Llama-3-8B-Instruct"     # gated manual, license: llama3, LICENSE
LLAMA3_70B = "meta-llama/Meta-Llama-3-70B"         # assembled from the Llama 3 family record
NO_LICENSE_CARD = "tiiuae/falcon-rw-1b"            # front matter without a license key
NO_FRONT_MATTER = "WizardLM/WizardLM-13B-V1.1"      # README without front matter: no cardData


@pytest.fixture(scope="module")
def specs():
    records = cf.load_records()
    wanted = [PHI2, QWEN, LLAMA3, NO_LICENSE_CARD, NO_FRONT_MATTER]
    out = {rid: cf.repo_spec(records[rid]) for rid in wanted}
    out[LLAMA3_70B] = cf.repo_spec(cf.assembled_records(records)[LLAMA3_70B])
    return out


@pytest.fixture(autouse=True)
def _hf_env(monkeypatch, tmp_path):
    from huggingface_hub import constants

    # huggingface_hub may have been imported before this module: patch the frozen constants too.
    monkeypatch.setattr(constants, "HF_HUB_DISABLE_TELEMETRY", True)
    monkeypatch.setattr(constants, "HF_HUB_DISABLE_XET", True, raising=False)
    monkeypatch.setenv("HF_HOME", str(tmp_path / "hf"))
    for var in ("HF_TOKEN", "HUGGING_FACE_HUB_TOKEN", "HF_HUB_OFFLINE", "MODELSCAN_CACHE"):
        monkeypatch.delenv(var, raising=False)


class InstrumentedHub(FakeHub):
    """The fake Hub, plus bodies sent in chunks: `dribble[path_regex] = (chunk_bytes, pause_s)`.
    `written[path]` counts the body bytes the client accepted; `done` holds finished paths."""

    def __init__(self):
        super().__init__()
        self.dribble: dict[str, tuple[int, float]] = {}
        self.written: dict[str, int] = {}
        self.done: set[str] = set()

    def _send(self, h, req, status, hdrs, body, head=False, truncate=None):
        rule = next((v for k, v in self.dribble.items() if re.search(k, req.path)), None)
        if rule is None or head or truncate is not None:
            return super()._send(h, req, status, hdrs, body, head=head, truncate=truncate)
        size, pause = rule
        h.send_response(status)
        for k, v in hdrs.items():
            h.send_header(k, v)
        if "Content-Length" not in hdrs:
            h.send_header("Content-Length", str(len(body)))
        h.end_headers()
        req.status = status
        self.written[req.path] = 0
        try:
            for i in range(0, len(body), size):
                if pause and self._stop.wait(pause):
                    break
                h.wfile.write(body[i:i + size])
                h.wfile.flush()
                self.written[req.path] += len(body[i:i + size])
        finally:
            h.close_connection = True
            self.done.add(req.path)


@pytest.fixture
def hub():
    with InstrumentedHub() as h:
        yield h


def serve(hub: FakeHub, spec, files: dict | None = None) -> str:
    """Put a corpus repo on the fake Hub (optionally with some files replaced); returns its sha."""
    return hub.add_repo(spec.repo_id, spec.model_info, {**spec.files, **(files or {})},
                        gated=spec.model_info.get("gated") or False)


def source(hub: FakeHub, tmp_path: Path, token=False, cache: str = "cache", **settings) -> HubSource:
    return HubSource(HubSettings(**{**FAST, **settings}), cache_dir=tmp_path / cache, token=token,
                     endpoint=hub.url)


def fetch(src: HubSource, raw: str):
    return src.fetch(parse_target(raw))


def hub_requests(hub: FakeHub) -> list[tuple[str, str]]:
    return [(r.method, r.path) for r in hub.requests if r.path != "/api/agent-harnesses"]


def info_path(repo_id: str) -> str:
    """A fault pattern for model_info (faults match the path plus its query)."""
    return rf"^/api/models/{re.escape(repo_id)}(\?|$)"


def license_path(sha: str, path: str = "LICENSE") -> str:
    return rf"/resolve/{sha}/{re.escape(path)}$"


# ---------------------------------------------------------------------------------- public repos
@pytest.mark.parametrize("repo_id", [PHI2, QWEN])
def test_public_repo_one_info_request_and_one_get_per_license_file(hub, specs, tmp_path, repo_id):
    spec = specs[repo_id]
    sha = serve(hub, spec)
    ev = fetch(source(hub, tmp_path), repo_id)

    # Requests: one model_info with blobs, one GET for LICENSE at the commit, no HEAD, no README
    # (cardData already names the license), no auth header on an anonymous scan.
    assert hub_requests(hub) == [("GET", f"/api/models/{repo_id}"), ("GET", f"/{repo_id}/resolve/{sha}/LICENSE")]
    assert hub.requests[0].query.get("blobs") == ["true"]
    assert hub.count("HEAD") == 0 and not any(r.has_auth for r in hub.requests)

    # Evidence: what model_info said, and the file with its hashes.
    data = spec.files["LICENSE"].encode("utf-8")
    assert ev.source == "hub" and ev.repo_id == repo_id and ev.sha == sha and ev.revision is None
    assert dict(ev.card_data)["license"] == spec.model_info["cardData"]["license"]
    assert f"license:{spec.model_info['cardData']['license']}" in ev.tags
    assert set(ev.tags) >= set(spec.model_info["tags"])
    assert {s.path for s in ev.siblings} == set(spec.files)
    for s in ev.siblings:
        raw = spec.files[s.path].encode("utf-8")
        assert (s.size, s.blob_id) == (len(raw), git_blob_sha1(raw))
    assert [f.path for f in ev.files] == ["LICENSE"]
    lic = ev.file("LICENSE")
    assert lic.status == "ok" and lic.text == spec.files["LICENSE"] and lic.size == len(data)
    assert lic.sha256 == hashlib.sha256(data).hexdigest() and lic.git_oid == git_blob_sha1(data)
    assert lic.normalized_sha256


@pytest.mark.parametrize("repo_id", [NO_LICENSE_CARD, NO_FRONT_MATTER])
def test_readme_fetched_when_card_data_names_no_license(hub, specs, tmp_path, repo_id):
    sha = serve(hub, specs[repo_id])
    ev = fetch(source(hub, tmp_path), repo_id)
    assert hub_requests(hub) == [("GET", f"/api/models/{repo_id}"), ("GET", f"/{repo_id}/resolve/{sha}/README.md")]
    readme = ev.file("README.md")
    assert readme.status == "ok" and readme.text == specs[repo_id].files["README.md"]


def test_pinned_sha_is_served_from_the_metadata_cache_with_zero_requests(hub, specs, tmp_path):
    sha = serve(hub, specs[PHI2])
    first = fetch(source(hub, tmp_path), f"{PHI2}@{sha}")
    assert hub.count("GET", r"/api/models/") == 1 and hub.count("GET", r"/resolve/") == 1
    hub.reset_log()

    # A new source over the same cache directory (what a second `modelscan check` is).
    again = fetch(source(hub, tmp_path), f"{PHI2}@{sha}")
    assert hub.requests == []
    assert (again.sha, again.revision, again.repo_id) == (sha, sha, PHI2)
    assert dict(again.card_data) == dict(first.card_data) and again.tags == first.tags
    assert [(f.path, f.status, f.sha256, f.text) for f in again.files] == \
        [(f.path, f.status, f.sha256, f.text) for f in first.files]
    assert again.siblings == first.siblings

    # Unpinned: model_info is asked (main may have moved), the files are not fetched again.
    unpinned = fetch(source(hub, tmp_path), PHI2)
    assert hub_requests(hub) == [("GET", f"/api/models/{PHI2}")]
    assert unpinned.sha == sha and unpinned.file("LICENSE").sha256 == first.file("LICENSE").sha256


def test_new_commit_on_main_is_fetched_not_served_stale(hub, specs, tmp_path):
    spec = specs[PHI2]
    old = serve(hub, spec)
    fetch(source(hub, tmp_path), PHI2)
    new = hub.add_repo(PHI2, {**spec.model_info, "cardData": {**spec.model_info["cardData"], "license": "apache-2.0"}},
                       {**spec.files, "LICENSE": cf.reference_text("apache-2.0.LICENSE.txt")})
    assert new != old
    ev = fetch(source(hub, tmp_path), PHI2)
    assert ev.sha == new and dict(ev.card_data)["license"] == "apache-2.0"
    assert "Apache License" in ev.file("LICENSE").text
    # ... and the old commit is still served from the cache when pinned.
    hub.reset_log()
    assert dict(fetch(source(hub, tmp_path), f"{PHI2}@{old}").card_data)["license"] == "mit"
    assert hub.requests == []


def test_offline_scans_come_from_the_cache_or_fail_with_target_error(hub, specs, tmp_path, monkeypatch):
    sha = serve(hub, specs[PHI2])
    serve(hub, specs[QWEN])
    online = fetch(source(hub, tmp_path), PHI2)
    hub.reset_log()

    monkeypatch.setenv("HF_HUB_OFFLINE", "1")
    src = source(hub, tmp_path)            # offline=None: decided by HF_HUB_OFFLINE
    assert src.offline is True
    for raw in (PHI2, f"{PHI2}@{sha}"):
        ev = fetch(src, raw)
        assert ev.sha == sha and ev.file("LICENSE").text == online.file("LICENSE").text
        assert dict(ev.card_data) == dict(online.card_data)
    with pytest.raises(TargetError, match="HF_HUB_OFFLINE"):
        fetch(src, QWEN)                   # on the Hub, but never scanned: not in the cache
    assert hub.requests == []

    monkeypatch.delenv("HF_HUB_OFFLINE")
    src = HubSource(HubSettings(**FAST), cache_dir=tmp_path / "cache", token=False, endpoint=hub.url, offline=True)
    assert fetch(src, PHI2).sha == sha
    with pytest.raises(TargetError, match="not in the metadata cache"):
        fetch(src, f"{PHI2}@{'0' * 40}")
    assert hub.requests == []


def test_record_of_a_pinned_sha_then_of_main_resolves_main_offline(hub, specs, tmp_path):
    """A cache hit after model_info must still remember which ref pointed at the commit."""
    sha = serve(hub, specs[PHI2])
    fetch(source(hub, tmp_path), f"{PHI2}@{sha}")
    fetch(source(hub, tmp_path), PHI2)                # main -> the same sha, served from the cache
    hub.reset_log()
    ev = fetch(HubSource(HubSettings(**FAST), cache_dir=tmp_path / "cache", token=False, endpoint=hub.url,
                         offline=True), PHI2)
    assert ev.sha == sha and hub.requests == []


# ---------------------------------------------------------------------------------- gated repos
def test_gated_repo_card_from_model_info_license_file_gated(hub, specs, tmp_path):
    spec = specs[LLAMA3]
    sha = serve(hub, spec)
    ev = fetch(source(hub, tmp_path), LLAMA3)
    assert ev.gated == "manual" and ev.sha == sha
    card = dict(ev.card_data)
    assert card["license"] == "llama3"
    assert card["extra_gated_prompt"] == spec.model_info["cardData"]["extra_gated_prompt"]
    lic = ev.file("LICENSE")
    assert lic.status == "gated" and lic.text is None and lic.size == len(spec.files["LICENSE"].encode())
    assert hub.count("GET", license_path(sha)) == 1 and hub.count("HEAD") == 0

    # A token without access: 403, still gated.
    ev = fetch(source(hub, tmp_path, token="hf_notgranted"), LLAMA3)
    assert ev.file("LICENSE").status == "gated"


def test_gated_file_is_read_with_a_granted_token_and_not_served_gated_from_cache(hub, specs, tmp_path, monkeypatch):
    spec = specs[LLAMA3]
    sha = serve(hub, spec)
    hub.granted_tokens.add(SECRET)
    assert fetch(source(hub, tmp_path), f"{LLAMA3}@{sha}").file("LICENSE").status == "gated"
    hub.reset_log()

    monkeypatch.setenv("HF_TOKEN", SECRET)
    ev = fetch(source(hub, tmp_path, token=None), f"{LLAMA3}@{sha}")   # token=None: HF_TOKEN, as the CLI
    lic = ev.file("LICENSE")
    assert lic.status == "ok" and lic.text == spec.files["LICENSE"]
    assert lic.sha256 == hashlib.sha256(spec.files["LICENSE"].encode()).hexdigest()
    gets = [r for r in hub.requests if r.path.endswith("/LICENSE")]
    assert len(gets) == 1 and gets[0].auth_value == SECRET
    assert SECRET not in repr(ev)


# ---------------------------------------------------------------------------------- unknown targets
def test_unknown_repo_suggests_the_close_name(hub, specs, tmp_path):
    serve(hub, specs[LLAMA3_70B])
    serve(hub, specs[PHI2])
    with pytest.raises(TargetError) as err:
        fetch(source(hub, tmp_path), "meta-llama/Llama-3-70B")
    assert "not found" in str(err.value)
    assert err.value.suggestions[0] == LLAMA3_70B and PHI2 not in err.value.suggestions
    assert hub.count("GET", r"^/api/models$") >= 1


@pytest.mark.parametrize("suggest_deadline, read_timeout", [(0.6, 5.0), (5.0, 0.6)])
def test_suggestion_search_is_bounded_even_if_search_stalls(hub, specs, tmp_path, suggest_deadline, read_timeout):
    serve(hub, specs[LLAMA3_70B])
    hub.fail(r"^/api/models\?", "stall", times=-1, seconds=30)
    t0 = time.monotonic()
    with pytest.raises(TargetError) as err:
        fetch(source(hub, tmp_path, suggest_deadline=suggest_deadline, read_timeout=read_timeout),
              "meta-llama/Llama-3-70B")
    assert time.monotonic() - t0 < 1.5
    assert err.value.suggestions == ()
    assert hub.count("GET", r"^/api/models$") == 1      # a stalled search is not asked again


def test_suggestion_search_stays_within_the_target_deadline(hub, specs, tmp_path):
    serve(hub, specs[LLAMA3_70B])
    hub.fail(r"^/api/models/meta-llama/Llama-3-70B", "stall", times=1, seconds=0.8)
    hub.fail(r"^/api/models\?", "stall", times=-1, seconds=30)
    t0 = time.monotonic()
    with pytest.raises(TargetError):
        fetch(source(hub, tmp_path, deadline=1.2, suggest_deadline=5.0, read_timeout=5.0), "meta-llama/Llama-3-70B")
    assert time.monotonic() - t0 < 1.8


def test_unknown_revision_is_a_target_error(hub, specs, tmp_path):
    serve(hub, specs[PHI2])
    with pytest.raises(TargetError, match="revision 'v9.9' not found"):
        fetch(source(hub, tmp_path), f"{PHI2}@v9.9")
    with pytest.raises(TargetError, match="not found"):
        fetch(source(hub, tmp_path), f"{PHI2}@{'e' * 40}")


# ---------------------------------------------------------------------------------- retries, timeouts
def test_429_with_retry_after_is_waited_then_the_result_comes(hub, specs, tmp_path):
    sha = serve(hub, specs[PHI2])
    hub.fail(info_path(PHI2), "status", times=1, code=429, retry_after=1)
    t0 = time.monotonic()
    ev = fetch(source(hub, tmp_path, max_retry_after=2.0), PHI2)
    took = time.monotonic() - t0
    assert ev.sha == sha and ev.file("LICENSE").status == "ok"
    assert hub.count("GET", rf"^/api/models/{PHI2}$") == 2
    assert 0.9 <= took < 2.5


def test_retry_after_is_capped(hub, specs, tmp_path):
    sha = serve(hub, specs[PHI2])
    hub.fail(license_path(sha), "status", times=1, code=429, retry_after=3600)
    t0 = time.monotonic()
    ev = fetch(source(hub, tmp_path, max_retry_after=0.3, backoff=0.01), PHI2)
    took = time.monotonic() - t0
    assert ev.file("LICENSE").status == "ok" and hub.count("GET", license_path(sha)) == 2
    assert 0.25 <= took < 1.5


def test_a_burst_of_500s_that_ends_gives_the_result(hub, specs, tmp_path):
    sha = serve(hub, specs[PHI2])
    hub.fail(info_path(PHI2), "status", times=2, code=500)
    hub.fail(license_path(sha), "status", times=2, code=503)
    ev = fetch(source(hub, tmp_path, attempts=3), PHI2)
    assert ev.sha == sha and ev.file("LICENSE").status == "ok"
    assert hub.count("GET", rf"^/api/models/{PHI2}$") == 3 and hub.count("GET", license_path(sha)) == 3


def test_persistent_500_is_a_target_error_after_the_bounded_attempts(hub, specs, tmp_path):
    serve(hub, specs[PHI2])
    hub.fail(info_path(PHI2), "status", times=-1, code=500)
    t0 = time.monotonic()
    with pytest.raises(TargetError, match="HTTP 500"):
        fetch(source(hub, tmp_path, attempts=3, backoff=0.05), PHI2)
    assert time.monotonic() - t0 < 2.0
    assert hub.count("GET", rf"^/api/models/{PHI2}$") == 3


def test_persistent_500_stops_at_the_deadline(hub, specs, tmp_path):
    serve(hub, specs[PHI2])
    hub.fail(info_path(PHI2), "status", times=-1, code=503, retry_after=1)
    t0 = time.monotonic()
    with pytest.raises(TargetError):
        fetch(source(hub, tmp_path, attempts=50, backoff=0.2, max_retry_after=1.0, deadline=2.0), PHI2)
    assert time.monotonic() - t0 < 2.5
    assert hub.count("GET", rf"^/api/models/{PHI2}$") <= 3


def test_stalled_model_info_times_out_within_the_read_timeout(hub, specs, tmp_path):
    serve(hub, specs[PHI2])
    hub.fail(info_path(PHI2), "stall", times=-1, seconds=30)
    t0 = time.monotonic()
    with pytest.raises(TargetError, match="(?i)timeout|timed out"):
        fetch(source(hub, tmp_path, read_timeout=0.5, attempts=1), PHI2)
    assert time.monotonic() - t0 < 1.5
    # With retries, the target's deadline bounds the whole.
    t0 = time.monotonic()
    with pytest.raises(TargetError):
        fetch(source(hub, tmp_path, read_timeout=0.5, attempts=10, backoff=0.01, deadline=1.2), PHI2)
    assert time.monotonic() - t0 < 2.0


@pytest.mark.parametrize("fault", [dict(kind="stall", seconds=30), dict(kind="truncate"), dict(kind="reset")])
def test_failed_license_get_becomes_an_error_file_in_bounded_time(hub, specs, tmp_path, fault):
    sha = serve(hub, specs[PHI2])
    hub.fail(license_path(sha), times=-1, **fault)
    t0 = time.monotonic()
    ev = fetch(source(hub, tmp_path, read_timeout=0.5, attempts=2, backoff=0.01), PHI2)
    assert time.monotonic() - t0 < 2.0
    lic = ev.file("LICENSE")
    assert lic.status == "error" and lic.text is None and lic.error
    assert ev.sha == sha and dict(ev.card_data)["license"] == "mit"   # the rest of the evidence stands
    assert hub.count("GET", license_path(sha)) == 2
    # An error is not cached as the file's final state: the next scan tries again and reads it.
    hub.clear_faults()
    assert fetch(source(hub, tmp_path), f"{PHI2}@{sha}").file("LICENSE").status == "ok"


def test_truncated_license_once_is_retried(hub, specs, tmp_path):
    sha = serve(hub, specs[PHI2])
    hub.fail(license_path(sha), "truncate", times=1)
    lic = fetch(source(hub, tmp_path), PHI2).file("LICENSE")
    assert lic.status == "ok" and lic.text == specs[PHI2].files["LICENSE"]
    assert hub.count("GET", license_path(sha)) == 2


def test_a_trickling_license_get_is_cut_at_the_deadline(hub, specs, tmp_path):
    sha = serve(hub, specs[PHI2])
    hub.dribble[license_path(sha)] = (8, 0.05)          # 1 KiB at 160 B/s: ~6 s, each read well in time
    t0 = time.monotonic()
    ev = fetch(source(hub, tmp_path, read_timeout=1.0, deadline=1.5), PHI2)
    assert time.monotonic() - t0 < 2.5
    assert ev.file("LICENSE").status == "error" and "deadline" in ev.file("LICENSE").error


def test_unreachable_hub_is_a_target_error_after_bounded_attempts(tmp_path):
    with FakeHub() as gone:
        url = gone.url                       # a port nobody listens on any more
    src = HubSource(HubSettings(**FAST), cache_dir=tmp_path / "cache", token=False, endpoint=url)
    t0 = time.monotonic()
    with pytest.raises(TargetError, match="unreachable"):
        fetch(src, PHI2)
    assert time.monotonic() - t0 < 1.5
    assert src.requests == FAST["attempts"]


# ---------------------------------------------------------------------------------- sizes and content
def test_oversized_license_is_too_large_without_downloading_it(hub, specs, tmp_path):
    big = (specs[PHI2].files["LICENSE"] * (50_000_000 // 1024 + 1)).encode()
    sha = serve(hub, specs[PHI2], {"LICENSE": big})
    ev = fetch(source(hub, tmp_path), PHI2)
    lic = ev.file("LICENSE")
    assert lic.status == "too-large" and lic.size == len(big) and lic.text is None
    assert hub.count(path_regex=license_path(sha)) == 0


def test_license_larger_than_listed_is_read_only_to_the_cap(hub, specs, tmp_path):
    sha = serve(hub, specs[PHI2])
    cap = 100_000
    body = b"MIT License\n" + b"x" * (64 * 1024 * 1024)
    hub.fail(license_path(sha), "status", times=-1, code=200, body=body)    # siblings say 1024 bytes
    hub.dribble[license_path(sha)] = (64 * 1024, 0)
    t0 = time.monotonic()
    lic = fetch(source(hub, tmp_path, max_file_bytes=cap), PHI2).file("LICENSE")
    assert time.monotonic() - t0 < 3.0
    assert lic.status == "too-large" and lic.text is None and "reading stopped" in lic.error
    assert lic.size is not None and lic.size > cap
    end = time.monotonic() + 3
    while f"/{PHI2}/resolve/{sha}/LICENSE" not in hub.done and time.monotonic() < end:
        time.sleep(0.02)
    assert hub.written[f"/{PHI2}/resolve/{sha}/LICENSE"] < len(body) // 4


def test_binary_license_is_binary(hub, specs, tmp_path):
    png = b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR" + bytes(range(256)) * 4
    serve(hub, specs[PHI2], {"LICENSE": png})
    lic = fetch(source(hub, tmp_path), PHI2).file("LICENSE")
    assert lic.status == "binary" and lic.text is None
    assert lic.sha256 == hashlib.sha256(png).hexdigest() and lic.git_oid == git_blob_sha1(png)


# ---------------------------------------------------------------------------------- tokens
def test_invalid_token_falls_back_to_anonymous_for_info_and_files(hub, specs, tmp_path):
    sha = serve(hub, specs[PHI2])
    serve(hub, specs[QWEN])
    hub.valid_tokens = {"hf_valid"}
    src = source(hub, tmp_path, token=SECRET)
    ev = fetch(src, PHI2)
    assert ev.sha == sha
    lic = ev.file("LICENSE")
    assert lic.status == "ok" and lic.text == specs[PHI2].files["LICENSE"]
    # The refused token is not sent again, for this repo's files nor for the next repo.
    assert fetch(src, QWEN).file("LICENSE").status == "ok"
    assert [r.status for r in hub.requests if r.has_auth] == [401]


def test_token_never_in_messages_or_cache(hub, specs, tmp_path):
    serve(hub, specs[LLAMA3])
    serve(hub, specs[QWEN])
    serve(hub, specs[LLAMA3_70B])
    src = source(hub, tmp_path, token=SECRET)
    messages = [repr(fetch(src, LLAMA3))]
    hub.fail(info_path(QWEN), "status", times=-1, code=500, message=f"echo Bearer {SECRET}")
    for raw in (QWEN, "meta-llama/Llama-3-70B"):
        with pytest.raises(TargetError) as err:
            fetch(src, raw)
        messages.append(str(err.value))
    assert "HTTP 500" in messages[1]
    assert all(SECRET not in m for m in messages)
    for path in (tmp_path / "cache").rglob("*"):
        if path.is_file():
            assert SECRET.encode() not in path.read_bytes(), path
