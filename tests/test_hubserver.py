"""The fake Hub (tests/hubserver.py) checked through the real huggingface_hub client and plain httpx2."""

from __future__ import annotations

import os
import tempfile
import threading
import time
from pathlib import Path

# Before huggingface_hub is imported: these are read once, at import (docs/architecture.md §4).
os.environ.setdefault("HF_HOME", tempfile.mkdtemp(prefix="hf_home_"))
os.environ["HF_HUB_DISABLE_TELEMETRY"] = "1"
os.environ["HF_HUB_DISABLE_XET"] = "1"
os.environ["HF_HUB_DISABLE_PROGRESS_BARS"] = "1"
os.environ.pop("HF_TOKEN", None)
os.environ.pop("HF_ENDPOINT", None)

import pytest

huggingface_hub = pytest.importorskip("huggingface_hub")
httpx2 = pytest.importorskip("httpx2")

from huggingface_hub import HfApi, hf_hub_download  # noqa: E402
from huggingface_hub.utils import (  # noqa: E402
    EntryNotFoundError,
    GatedRepoError,
    HfHubHTTPError,
    RepositoryNotFoundError,
    RevisionNotFoundError,
)

from hubserver import FakeHub, git_blob_sha1  # noqa: E402

pytestmark = pytest.mark.timeout(30)

GPT2_CARD = {"language": "en", "tags": ["exbert"], "license": "mit"}
LLAMA_CARD = {
    "language": ["en"],
    "pipeline_tag": "text-generation",
    "license": "llama3",
    "extra_gated_prompt": "### META LLAMA 3 COMMUNITY LICENSE AGREEMENT",
    "extra_gated_button_content": "Submit",
}


@pytest.fixture(autouse=True)
def _hf_env(monkeypatch):
    # huggingface_hub may have been imported earlier by another test module: patch the frozen constants too.
    from huggingface_hub import constants

    monkeypatch.setattr(constants, "HF_HUB_DISABLE_TELEMETRY", True)
    monkeypatch.setattr(constants, "HF_HUB_DISABLE_XET", True, raising=False)
    monkeypatch.delenv("HF_TOKEN", raising=False)


@pytest.fixture
def hub():
    with FakeHub() as h:
        yield h


@pytest.fixture
def api(hub):
    return HfApi(endpoint=hub.url)


def _gpt2(hub: FakeHub) -> str:
    return hub.add_repo(
        "openai-community/gpt2",
        {"cardData": GPT2_CARD, "library_name": "transformers", "pipeline_tag": "text-generation",
         "downloads": 11273421, "tags": ["transformers", "gpt2"]},
        {"config.json": '{"model_type": "gpt2"}', "model.safetensors": b"\0" * 64, "LICENSE": "MIT License\n"},
    )


def _llama(hub: FakeHub) -> str:
    return hub.add_repo(
        "meta-llama/Meta-Llama-3-8B",
        {"cardData": LLAMA_CARD, "downloads": 500},
        {"LICENSE": "META LLAMA 3 COMMUNITY LICENSE AGREEMENT\n", "config.json": "{}"},
        gated="manual",
    )


def test_model_info_public(hub, api):
    sha = _gpt2(hub)
    info = api.model_info("openai-community/gpt2", timeout=5, files_metadata=True, token=False)
    assert info.id == "openai-community/gpt2" and info.sha == sha and info.gated is False
    assert info.card_data.license == "mit"
    assert "license:mit" in info.tags and "transformers" in info.tags
    assert info.last_modified.tzinfo is not None
    sib = {s.rfilename: s for s in info.siblings}
    assert set(sib) == {"README.md", "config.json", "model.safetensors", "LICENSE"}  # README generated from cardData
    assert sib["config.json"].blob_id == git_blob_sha1(b'{"model_type": "gpt2"}')
    assert sib["config.json"].size == 22 and sib["config.json"].lfs is None
    assert sib["model.safetensors"].lfs.size == 64 and len(sib["model.safetensors"].lfs.sha256) == 64
    # Without blobs=true the siblings carry only rfilename; expand= returns only the asked keys.
    plain = api.model_info("openai-community/gpt2", timeout=5, token=False)
    assert plain.siblings[0].blob_id is None
    lean = api.model_info("openai-community/gpt2", timeout=5, token=False, expand=["cardData", "gated"])
    assert lean.card_data.license == "mit" and lean.sha is None and lean.siblings is None
    q = [r for r in hub.requests if r.path.startswith("/api/models/")]
    assert q[0].query["blobs"] == ["true"] and q[-1].query["expand"] == ["cardData", "gated"]


def test_gated_model_info_is_public_but_files_are_not(hub, api, tmp_path):
    _llama(hub)
    info = api.model_info("meta-llama/Meta-Llama-3-8B", timeout=5, files_metadata=True, token=False)
    assert info.gated == "manual"
    assert info.card_data.license == "llama3" and info.card_data.get("extra_gated_button_content") == "Submit"
    assert "LICENSE" in {s.rfilename for s in info.siblings}
    with pytest.raises(GatedRepoError) as anon:
        hf_hub_download("meta-llama/Meta-Llama-3-8B", "LICENSE", endpoint=hub.url, cache_dir=tmp_path, token=False)
    assert anon.value.response.status_code == 401
    with pytest.raises(GatedRepoError) as denied:
        hf_hub_download("meta-llama/Meta-Llama-3-8B", "LICENSE", endpoint=hub.url, cache_dir=tmp_path, token="hf_nope")
    assert denied.value.response.status_code == 403
    assert "hf_nope" not in str(denied.value)
    hub.granted_tokens.add("hf_granted")
    path = hf_hub_download("meta-llama/Meta-Llama-3-8B", "LICENSE", endpoint=hub.url, cache_dir=tmp_path,
                           token="hf_granted")
    assert Path(path).read_text().startswith("META LLAMA 3")
    last = hub.requests[-1]
    assert last.has_auth and last.auth_value == "hf_granted" and "hf_granted" not in repr(last)


def test_download_and_errors(hub, api, tmp_path):
    sha = _gpt2(hub)
    path = hf_hub_download("openai-community/gpt2", "config.json", endpoint=hub.url, cache_dir=tmp_path, token=False)
    assert Path(path).read_text() == '{"model_type": "gpt2"}' and sha in path
    lfs = hf_hub_download("openai-community/gpt2", "model.safetensors", endpoint=hub.url, cache_dir=tmp_path,
                          token=False)
    assert Path(lfs).read_bytes() == b"\0" * 64
    assert hub.count("HEAD", r"/resolve/main/config\.json$") == 1 and hub.count("GET", r"/resolve/") == 2
    head = [r for r in hub.requests if r.method == "HEAD"][0]
    assert not head.has_auth and head.headers["accept-encoding"] == "identity"

    with pytest.raises(RepositoryNotFoundError) as anon:
        api.model_info("nobody/nothing", timeout=5, token=False)
    assert anon.value.response.status_code == 401
    with pytest.raises(RepositoryNotFoundError) as with_token:
        api.model_info("nobody/nothing", timeout=5, token="hf_any")
    assert with_token.value.response.status_code == 404
    with pytest.raises(RevisionNotFoundError):
        api.model_info("openai-community/gpt2", revision="v9.9", timeout=5, token=False)
    with pytest.raises(EntryNotFoundError) as missing:
        hf_hub_download("openai-community/gpt2", "NOTICE", endpoint=hub.url, cache_dir=tmp_path, token=False)
    assert missing.value.response.headers["X-Repo-Commit"] == sha
    # Every error carries X-Error-Code, X-Error-Message and a JSON body.
    r = httpx2.get(f"{hub.url}/api/models/nobody/nothing", timeout=5)
    assert r.status_code == 401 and r.headers["X-Error-Code"] == "RepoNotFound"
    assert r.headers["X-Error-Message"] and r.json()["error"]


def test_private_repo_and_invalid_token(hub, api):
    hub.add_repo("acme/secret", {"cardData": {"license": "other"}}, kind="model", private=True)
    with pytest.raises(RepositoryNotFoundError):
        api.model_info("acme/secret", timeout=5, token=False)
    with pytest.raises(RepositoryNotFoundError):
        api.model_info("acme/secret", timeout=5, token="hf_stranger")
    hub.granted_tokens.add("hf_owner")
    assert api.model_info("acme/secret", timeout=5, token="hf_owner").private is True
    hub.valid_tokens = {"hf_owner"}
    hub.add_repo("acme/open", {})
    with pytest.raises(HfHubHTTPError) as bad:
        api.model_info("acme/open", timeout=5, token="hf_revoked")
    assert bad.value.response.status_code == 401 and not isinstance(bad.value, RepositoryNotFoundError)
    assert bad.value.response.headers["X-Error-Message"] == "Invalid credentials in Authorization header"


def test_rate_limit_fault_has_retry_after(hub, api):
    _gpt2(hub)
    hub.fail(r"^/api/models/openai-community/gpt2", "status", code=429, retry_after=7)
    with pytest.raises(HfHubHTTPError) as err:
        api.model_info("openai-community/gpt2", timeout=5, token=False)
    assert err.value.response.status_code == 429 and err.value.response.headers["Retry-After"] == "7"
    assert api.model_info("openai-community/gpt2", timeout=5, token=False).id  # times=1: next one passes


def test_stall_fault_trips_client_timeout(hub, api):
    _gpt2(hub)
    hub.fail(r"/api/models/", "stall", seconds=20)
    t0 = time.monotonic()
    with pytest.raises(httpx2.TimeoutException):
        api.model_info("openai-community/gpt2", timeout=1, token=False)
    assert time.monotonic() - t0 < 1.5
    t0 = time.monotonic()
    hub.stop()  # the stalled handler is woken, not waited for
    assert time.monotonic() - t0 < 1.5


def test_truncate_and_reset_faults(hub, tmp_path):
    _gpt2(hub)
    url = f"{hub.url}/openai-community/gpt2/resolve/main/LICENSE"
    hub.fail(r"/resolve/main/LICENSE$", "truncate")
    with pytest.raises(httpx2.RemoteProtocolError):
        httpx2.get(url, timeout=5)
    # The client retries an interrupted download. It resumes with Range: bytes=N- only from what it has
    # written, and it reads in 10 MB chunks, so a small truncated file is fetched again from byte 0.
    hub.fail(r"/resolve/main/LICENSE$", "truncate", nbytes=4)
    hub.reset_log()
    path = hf_hub_download("openai-community/gpt2", "LICENSE", endpoint=hub.url, cache_dir=tmp_path, token=False)
    assert Path(path).read_text() == "MIT License\n"
    ranges = [r.headers.get("range") for r in hub.requests if r.method == "GET"]
    assert ranges == [None, None]
    r = httpx2.get(url, headers={"Range": "bytes=4-"}, timeout=5)
    assert r.status_code == 206 and r.text == "License\n"
    hub.fail(r"/api/models/", "reset")
    with pytest.raises(httpx2.TransportError):
        httpx2.get(f"{hub.url}/api/models/openai-community/gpt2", timeout=5)
    assert httpx2.get(f"{hub.url}/api/models/openai-community/gpt2", timeout=5).status_code == 200


def test_new_commit_moves_main_old_sha_reachable(hub, api, tmp_path):
    old = hub.add_repo("acme/drifty", {"cardData": {"license": "apache-2.0"}}, {"LICENSE": "Apache\n"})
    new = hub.add_repo("acme/drifty", {"cardData": {"license": "cc-by-nc-4.0"}}, {"LICENSE": "CC BY-NC\n"},
                       sha="b" * 40)
    assert new == "b" * 40 and old != new
    assert api.model_info("acme/drifty", timeout=5, token=False).sha == new
    assert api.model_info("acme/drifty", timeout=5, token=False).card_data.license == "cc-by-nc-4.0"
    past = api.model_info("acme/drifty", revision=old, timeout=5, token=False)
    assert past.sha == old and past.card_data.license == "apache-2.0"
    assert api.model_info("acme/drifty", revision=old[:7], timeout=5, token=False).sha == old
    path = hf_hub_download("acme/drifty", "LICENSE", revision=old, endpoint=hub.url, cache_dir=tmp_path, token=False)
    assert Path(path).read_text() == "Apache\n"
    # A branch name with a slash is percent-encoded by the client and decoded by the server.
    pr = hub.add_repo("acme/drifty", {}, {"LICENSE": "PR\n"}, revision="refs/pr/1")
    assert api.model_info("acme/drifty", revision="refs/pr/1", timeout=5, token=False).sha == pr
    assert any(r.raw_path.endswith("refs%2Fpr%2F1") for r in hub.requests)
    assert api.model_info("acme/drifty", timeout=5, token=False).sha == new  # main did not move


def test_tree_and_dataset(hub, api):
    hub.add_repo("acme/tree", {}, {"a.txt": "a", "sub/b.txt": "b", "sub/deep/c.bin": b"c"})
    assert sorted(api.list_repo_files("acme/tree", token=False)) == ["a.txt", "sub/b.txt", "sub/deep/c.bin"]
    top = list(api.list_repo_tree("acme/tree", token=False))
    assert {(e.path, type(e).__name__) for e in top} == {("a.txt", "RepoFile"), ("sub", "RepoFolder")}
    deep = list(api.list_repo_tree("acme/tree", path_in_repo="sub/deep", token=False))
    assert deep[0].path == "sub/deep/c.bin" and deep[0].lfs.size == 1
    hub.add_repo("acme/corpus", {"cardData": {"license": "cc-by-4.0"}}, kind="dataset")
    ds = api.dataset_info("acme/corpus", timeout=5, token=False)
    assert ds.card_data.license == "cc-by-4.0" and "license:cc-by-4.0" in ds.tags
    with pytest.raises(RepositoryNotFoundError):
        api.model_info("acme/corpus", timeout=5, token=False)  # a dataset is not a model


def test_search(hub, api):
    _gpt2(hub)
    _llama(hub)
    hub.add_repo("meta-llama/Meta-Llama-3-70B", {"cardData": LLAMA_CARD, "downloads": 300}, gated="manual")
    r = httpx2.get(f"{hub.url}/api/models", params={"search": "llama-3", "limit": 5}, timeout=5)
    ids = [m["id"] for m in r.json()]
    assert set(ids) == {"meta-llama/Meta-Llama-3-8B", "meta-llama/Meta-Llama-3-70B"}
    assert r.json()[0]["downloads"] == 500 and "license:llama3" in r.json()[0]["tags"]
    typo = httpx2.get(f"{hub.url}/api/models", params={"search": "Meta-Lama-3-8B"}, timeout=5).json()
    assert typo[0]["id"] == "meta-llama/Meta-Llama-3-8B"
    by_author = [m.id for m in api.list_models(search="gpt", author="openai-community", limit=3, token=False)]
    assert by_author == ["openai-community/gpt2"]
    hub.search_results = {"anything": [{"id": "x/y", "downloads": 1}]}
    assert httpx2.get(f"{hub.url}/api/models?search=anything", timeout=5).json() == [{"id": "x/y", "downloads": 1}]


def test_request_log_and_concurrency(hub):
    hub.latency = 0.05
    hub.add_repo("acme/busy", {})
    out: list[int] = []
    with httpx2.Client(timeout=10, limits=httpx2.Limits(max_connections=300)) as client:

        def worker():
            out.append(client.get(f"{hub.url}/api/models/acme/busy", headers={"Authorization": "Bearer hf_t"})
                       .status_code)

        threads = [threading.Thread(target=worker) for _ in range(200)]
        t0 = time.monotonic()
        for t in threads:
            t.start()
        for t in threads:
            t.join()
    assert out == [200] * 200 and time.monotonic() - t0 < 5
    assert hub.count("GET", r"^/api/models/acme/busy$") == 200 and hub.count("HEAD") == 0
    assert all(r.has_auth and r.auth_value == "hf_t" and r.headers["authorization"] == "<redacted>"
               for r in hub.requests)
    assert hub.count(path_regex="agent-harnesses") == 0  # telemetry disabled: no side request
    assert httpx2.get(f"{hub.url}/api/agent-harnesses").json() == {"standardEnvVars": [], "harnesses": {}}
    hub.reset_log()
    assert hub.requests == [] and hub.count() == 0
