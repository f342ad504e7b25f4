"""`modelscan check` / `modelscan record` end to end: the CLI as a subprocess, pointed at the fake
Hub through HF_ENDPOINT (read at import, docs/architecture.md §4), with its own HF_HOME and
MODELSCAN_CACHE. Repos come from the corpus fact records (scripts/corpus_facts.py)."""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
import time
from pathlib import Path

import pytest

from support.modules import load_module
from support.paths import ROOT

cf = load_module("scripts/corpus_facts.py")
from hubserver import FakeHub  # noqa: E402

pytestmark = [pytest.mark.timeout(60),
              pytest.mark.skipif(not cf.DEFAULT_CORPUS_DIR.is_dir(), reason="shared corpus not found")]

SECRET = "hf_SECRETtoken123"
PHI2 = "microsoft/phi-2"                           # public, mit, LICENSE
QWEN = "Qwen/Qwen2.5-7B-Instruct"                  # public, apache-2.0, LICENSE
LLAMA3 = "meta-llama/Meta-Llama-3-8B-Instruct"     # gated manual, llama3, LICENSE
LLAMA3_70B = "meta-llama/Meta-Llama-3-70B"         # assembled from the Llama 3 family record
FAST = ("--timeout", "1", "--deadline", "5")


@pytest.fixture(scope="module")
def specs():
    records = cf.load_records()
    out = {rid: cf.repo_spec(records[rid]) for rid in (PHI2, QWEN, LLAMA3)}
    out[LLAMA3_70B] = cf.repo_spec(cf.assembled_records(records)[LLAMA3_70B])
    return out


@pytest.fixture
def hub(specs):
    with FakeHub() as h:
        for spec in specs.values():
            h.add_repo(spec.repo_id, spec.model_info, spec.files, gated=spec.model_info.get("gated") or False)
        yield h


def modelscan(url: str, home: Path, *args: str, token: str | None = None, offline: bool = False,
              timeout: float = 30) -> tuple[subprocess.CompletedProcess, float]:
    env = {k: v for k, v in os.environ.items()
           if not k.startswith(("HF_", "HUGGING_FACE_", "MODELSCAN_"))}
    env.update(HF_ENDPOINT=url, HF_HOME=str(home), MODELSCAN_CACHE=str(home / "cache"),
               HF_HUB_DISABLE_TELEMETRY="1", HF_HUB_DISABLE_XET="1", HF_HUB_DISABLE_PROGRESS_BARS="1",
               MODELSCAN_NOW="2026-11-28T00:00:00Z")
    if token:
        env["HF_TOKEN"] = token
    if offline:
        env["HF_HUB_OFFLINE"] = "1"
    t0 = time.monotonic()
    proc = subprocess.run([sys.executable, "-m", "scanner", *args], cwd=ROOT, env=env, capture_output=True,
                          text=True, timeout=timeout)
    return proc, time.monotonic() - t0


def one_result(proc) -> dict:
    report = json.loads(proc.stdout)
    assert len(report["results"]) == 1
    return report["results"][0]


def codes(result: dict) -> list[str]:
    return [f["code"] for f in result["findings"]]


def file_status(result: dict, path: str) -> str | None:
    return next((f["status"] for f in result.get("files") or () if f["path"] == path), None)


def no_traceback(proc) -> None:
    assert "Traceback" not in proc.stderr and "Traceback" not in proc.stdout


# ---------------------------------------------------------------------------------- public / cache / offline
def test_public_repo_then_pinned_rescan_without_requests_then_offline(hub, tmp_path):
    proc, _ = modelscan(hub.url, tmp_path, "check", PHI2, "-f", "json", *FAST)
    assert proc.returncode == 0, proc.stderr
    first = one_result(proc)
    assert first["verdict"] == "allow" and [x["id"] for x in first["licenses"]["effective"]] == ["mit"]
    assert file_status(first, "LICENSE") == "ok"
    assert hub.count("HEAD") == 0 and hub.count("GET", r"/resolve/.*/README\.md$") == 0
    sha = first["revision"] if re.fullmatch(r"[0-9a-f]{40}", first.get("revision") or "") else \
        next(r.path.split("/")[4] for r in hub.requests if "/resolve/" in r.path)

    hub.reset_log()
    proc, _ = modelscan(hub.url, tmp_path, "check", f"{PHI2}@{sha}", "-f", "json", *FAST)
    assert proc.returncode == 0, proc.stderr
    assert hub.requests == []
    pinned = one_result(proc)
    assert pinned["verdict"] == "allow" and pinned["licenses"] == first["licenses"]

    # HF_HUB_OFFLINE (and --offline): from the metadata cache, never the network.
    proc, _ = modelscan(hub.url, tmp_path, "check", PHI2, "-f", "json", *FAST, offline=True)
    assert proc.returncode == 0, proc.stderr
    assert one_result(proc)["licenses"] == first["licenses"]
    proc, _ = modelscan(hub.url, tmp_path, "check", QWEN, "--offline", *FAST)   # on the Hub, never scanned
    assert proc.returncode == 2 and "not in the metadata cache" in proc.stderr
    assert len(proc.stderr.strip().splitlines()) == 1
    no_traceback(proc)
    assert hub.requests == []


# ---------------------------------------------------------------------------------- gated
def test_gated_license_file_is_a_finding_and_never_allow(hub, tmp_path):
    proc, _ = modelscan(hub.url, tmp_path, "check", LLAMA3, "-f", "json", *FAST)
    result = one_result(proc)
    assert result["verdict"] in ("review", "deny") and proc.returncode == 1, proc.stderr
    assert "file-gated" in codes(result) and file_status(result, "LICENSE") == "gated"
    assert "llama3" in [x["id"] for x in result["licenses"]["declared"]]   # card data from model_info

    hub.granted_tokens.add(SECRET)
    proc, _ = modelscan(hub.url, tmp_path, "check", LLAMA3, "-f", "json", *FAST, token=SECRET)
    result = one_result(proc)
    assert "file-gated" not in codes(result) and file_status(result, "LICENSE") == "ok"
    lic = next(f for f in result["files"] if f["path"] == "LICENSE")
    assert "llama3" in [m["id"] for m in lic["matches"]]
    assert any(r.auth_value == SECRET for r in hub.requests if r.path.endswith("/LICENSE"))


# ---------------------------------------------------------------------------------- unknown targets
def test_unknown_repo_exit_2_with_one_line_suggestion_even_if_search_stalls(hub, tmp_path):
    proc, baseline = modelscan(hub.url, tmp_path, "check", "meta-llama/Llama-3-70B", *FAST)
    assert proc.returncode == 2
    lines = proc.stderr.strip().splitlines()
    assert len(lines) == 1 and "did you mean" in lines[0] and LLAMA3_70B in lines[0], proc.stderr
    no_traceback(proc)

    hub.reset_log()
    hub.fail(r"^/api/models\?", "stall", times=-1, seconds=30)
    proc, took = modelscan(hub.url, tmp_path, "check", "meta-llama/Llama-3-70B", *FAST)
    assert proc.returncode == 2 and len(proc.stderr.strip().splitlines()) == 1
    assert "not found" in proc.stderr and "did you mean" not in proc.stderr
    no_traceback(proc)
    assert took < baseline + 2.5          # one search, bounded by --timeout 1, then no more
    assert hub.count("GET", r"^/api/models$") == 1


def test_unknown_revision_exit_2(hub, tmp_path):
    proc, _ = modelscan(hub.url, tmp_path, "check", f"{PHI2}@no-such-branch", *FAST)
    assert proc.returncode == 2 and "no-such-branch" in proc.stderr
    assert len(proc.stderr.strip().splitlines()) == 1
    no_traceback(proc)


def test_persistent_500_exit_2_in_bounded_time_and_token_not_leaked(hub, tmp_path):
    # The server even echoes the token in its error message: the tool must still not print it.
    hub.fail(rf"^/api/models/{re.escape(PHI2)}(\?|$)", "status", times=-1, code=500,
             message=f"upstream failed for Bearer {SECRET}")
    proc, took = modelscan(hub.url, tmp_path, "check", PHI2, "-f", "json", *FAST, token=SECRET)
    assert proc.returncode == 2 and "500" in proc.stderr
    assert len(proc.stderr.strip().splitlines()) == 1
    no_traceback(proc)
    assert took < 12.0
    assert 2 <= hub.count("GET", rf"^/api/models/{re.escape(PHI2)}$") <= 4
    assert json.loads(proc.stdout)["results"][0]["verdict"] == "error"
    assert SECRET not in proc.stdout + proc.stderr
    for path in tmp_path.rglob("*"):
        if path.is_file():
            assert SECRET.encode() not in path.read_bytes(), path


# ---------------------------------------------------------------------------------- tokens
def test_token_never_printed_nor_written(hub, tmp_path):
    report = tmp_path / "out" / "report.json"
    runs = [modelscan(hub.url, tmp_path, "check", LLAMA3, "-f", "json", "-o", str(report), *FAST, token=SECRET)]
    hub.fail(rf"^/api/models/{re.escape(QWEN)}(\?|$)", "status", times=2, code=500)    # a burst that ends
    runs.append(modelscan(hub.url, tmp_path, "check", QWEN, "-f", "json", *FAST, token=SECRET))
    runs.append(modelscan(hub.url, tmp_path, "check", "meta-llama/Llama-3-70B", *FAST, token=SECRET))
    runs.append(modelscan(hub.url, tmp_path, "record", LLAMA3, "--out", str(tmp_path / "snap"), *FAST,
                          token=SECRET))
    assert [p.returncode for p, _ in runs] == [1, 0, 2, 0], [p.stderr for p, _ in runs]
    assert report.is_file() and "file-gated" in report.read_text()
    for proc, _ in runs:
        assert SECRET not in proc.stdout and SECRET not in proc.stderr
    files = [p for p in tmp_path.rglob("*") if p.is_file()]
    assert any("models" in p.parts for p in files)          # the cache was written
    for path in files:
        assert SECRET.encode() not in path.read_bytes(), path
    assert any(r.auth_value == SECRET for r in hub.requests)   # ... yet it was sent to the Hub


def test_invalid_token_on_public_repo_scans_anonymously(hub, tmp_path):
    hub.valid_tokens = {"hf_the_only_valid_one"}
    proc, _ = modelscan(hub.url, tmp_path, "check", PHI2, "-f", "json", *FAST, token=SECRET)
    assert proc.returncode == 0, proc.stderr
    result = one_result(proc)
    assert result["verdict"] == "allow" and file_status(result, "LICENSE") == "ok"
    assert SECRET not in proc.stdout + proc.stderr


# ---------------------------------------------------------------------------------- record / snapshot
def test_record_then_check_from_snapshot_with_no_server(hub, specs, tmp_path):
    """`record` (plain, and --withhold-known) then `check --snapshot` with the server stopped."""
    plain, withheld = tmp_path / "snap", tmp_path / "snap-withheld"
    targets = (PHI2, QWEN, LLAMA3)
    hub.granted_tokens.add(SECRET)
    proc, _ = modelscan(hub.url, tmp_path, "record", *targets, "--out", str(plain), *FAST, token=SECRET)
    assert proc.returncode == 0, proc.stderr
    proc, _ = modelscan(hub.url, tmp_path, "record", PHI2, QWEN, "--withhold-known", "--out", str(withheld), *FAST)
    assert proc.returncode == 0, proc.stderr
    live, _ = modelscan(hub.url, tmp_path / "live", "check", *targets, "-f", "json", *FAST, token=SECRET)
    url = hub.url
    hub.stop()

    offline, _ = modelscan(url, tmp_path / "off", "check", *targets, "--snapshot", str(plain), "-f", "json")
    assert offline.returncode == live.returncode, offline.stderr
    want = json.loads(live.stdout)["results"]
    got = json.loads(offline.stdout)["results"]
    assert [(r["verdict"], r["licenses"], sorted(codes(r))) for r in got] == \
        [(r["verdict"], r["licenses"], sorted(codes(r))) for r in want]
    assert [file_status(r, "LICENSE") for r in got] == ["ok", "ok", "ok"]
    for repo_id in targets:     # the plain snapshot keeps the text itself
        (commit,) = [d for d in (plain / "models" / repo_id).iterdir() if d.is_dir()]
        assert (commit / "files" / "LICENSE").read_text() == specs[repo_id].files["LICENSE"]

    # --withhold-known: a reference license text is kept only as hashes, and still identified.
    for repo_id in (PHI2, QWEN):
        (commit,) = [d for d in (withheld / "models" / repo_id).iterdir() if d.is_dir()]
        manifest = json.loads((commit / "files.json").read_text())
        entry = next(e for e in manifest["files"] if e["path"] == "LICENSE")
        assert entry["omitted"] is True and entry["sha256"] and entry["normalized_sha256"]
        assert not (commit / "files" / "LICENSE").exists()
        text = specs[repo_id].files["LICENSE"]
        for path in withheld.rglob("*"):          # no copy of the reference text anywhere
            if path.is_file():
                assert text.strip()[:200] not in path.read_text(errors="replace"), path
    offline, _ = modelscan(url, tmp_path / "off2", "check", PHI2, QWEN, "--snapshot", str(withheld), "-f", "json")
    assert offline.returncode == 0, offline.stderr
    got = json.loads(offline.stdout)["results"]
    assert [(r["verdict"], r["licenses"]) for r in got] == [(r["verdict"], r["licenses"]) for r in want[:2]]
    for r, lid in zip(got, ("mit", "apache-2.0"), strict=True):
        lic = next(f for f in r["files"] if f["path"] == "LICENSE")
        assert lic["status"] == "omitted" and lid in [m["id"] for m in lic["matches"]]
