"""`modelscan lock` and `modelscan gate --locked`: approvals pinned in modelscan.lock, no Hub
request for a pinned model with a warm cache, license drift, moved revisions, and approvals a
changed policy or knowledge base no longer honours."""

from __future__ import annotations

import copy
import datetime as dt
import json
from dataclasses import replace

import pytest


import gate_fixtures as gf  # noqa: E402
from conftest import reference_text  # noqa: E402
from hubserver import FakeHub  # noqa: E402

from scanner.gate.lock import load_lock, lock_bytes, write_lock  # noqa: E402
from scanner.result import Location  # noqa: E402

pytestmark = [pytest.mark.timeout(120),
              pytest.mark.skipif(not gf.cf.DEFAULT_CORPUS_DIR.is_dir(), reason="shared corpus not found")]


def manifest(models: list[str | dict]) -> str:
    lines = ["version: 1", "deployments:", "  - name: prod", "    models:"]
    for m in models:
        if isinstance(m, str):
            lines.append(f"      - {m}")
        else:
            lines.append(f"      - id: {m['id']}")
            lines.append(f"        revision: {m['revision']}")
    return "\n".join(lines) + "\n"


@pytest.fixture
def served(tmp_path):
    specs = gf.corpus_specs((gf.PHI2, gf.QWEN, gf.ZEPHYR, gf.MISTRAL))
    with FakeHub() as hub:
        shas = gf.serve(hub, specs)
        repo = gf.write_tree(tmp_path / "repo", {"modelscan.yaml": manifest([gf.PHI2, gf.QWEN, gf.ZEPHYR])})
        yield hub, shas, specs, repo, tmp_path / "home"


def test_lock_records_the_approvals_deterministically(served):
    hub, shas, _, repo, home = served
    proc, _ = gf.modelscan(hub.url, home, "lock", cwd=repo)
    assert proc.returncode == 0, proc.stdout + proc.stderr
    assert "3 model(s) locked" in proc.stdout
    first = (repo / "modelscan.lock").read_bytes()
    lock = load_lock(repo / "modelscan.lock")
    phi = lock.get(gf.PHI2)
    assert phi is not None and lock.get(gf.PHI2.upper()) is phi
    assert (phi.repo_id, phi.revision, phi.verdict, phi.approved_at) == (gf.PHI2, shas[gf.PHI2], "allow", gf.NOW)
    assert [x["id"] for x in phi.licenses] == ["mit"]
    lic = phi.license_files["LICENSE"]
    assert len(lic["sha256"]) == 64 and len(lic["normalized_sha256"]) == 64
    assert phi.policy_hash.startswith("sha256:") and phi.kb_hash.startswith("sha256:")
    zephyr = lock.get(gf.ZEPHYR)
    # the base model is pinned too; the datasets its card lists, which this Hub lacks, are pinned as unreadable
    assert zephyr.parents == {gf.MISTRAL: shas[gf.MISTRAL], "dataset:HuggingFaceH4/ultrachat_200k": None,
                              "dataset:HuggingFaceH4/ultrafeedback_binarized": None}
    assert sorted(x["id"] for x in zephyr.licenses) == ["apache-2.0", "mit"]
    assert lock.get("org/unknown") is None

    # a re-lock of an unchanged deployment, later, rewrites the same bytes (approved_at kept)
    proc, _ = gf.modelscan(hub.url, home, "lock", "--now", "2027-01-01", cwd=repo)
    assert proc.returncode == 0 and (repo / "modelscan.lock").read_bytes() == first
    data = json.loads(first)
    assert data["format"] == "modelscan-lock" and data["version"] == 2 and "bundle" not in data
    assert list(data["models"]) == sorted(data["models"])
    import jsonschema

    from scanner.kb import load_schema
    jsonschema.Draft202012Validator(load_schema("lock.schema.json")).validate(data)


def test_pinned_and_locked_with_a_warm_cache_makes_no_request(served):
    hub, shas, _, repo, home = served
    assert gf.modelscan(hub.url, home, "lock", cwd=repo)[0].returncode == 0
    (repo / "modelscan.yaml").write_text(manifest([{"id": rid, "revision": shas[rid]}
                                                   for rid in (gf.PHI2, gf.QWEN, gf.ZEPHYR)]))
    hub.reset_log()
    proc, secs = gf.modelscan(hub.url, home, "gate", "--locked", "-f", "json", cwd=repo)
    assert proc.returncode == 0, proc.stdout + proc.stderr
    assert hub.requests == [], [r.path for r in hub.requests]
    results = gf.report(proc)["results"]
    assert [r["verdict"] for r in results] == ["allow"] * 3
    assert not {"license-drift", "revision-moved", "approval-missing", "approval-stale"} & {
        c for r in results for c in gf.codes(r)}

    # unpinned, nothing moved: one model_info each (base model included: pinned by the lock), no file
    (repo / "modelscan.yaml").write_text(manifest([gf.PHI2, gf.QWEN, gf.ZEPHYR]))
    hub.reset_log()
    proc, _ = gf.modelscan(hub.url, home, "gate", "--locked", cwd=repo)
    assert proc.returncode == 0, proc.stdout + proc.stderr
    assert hub.count() == 3 and hub.count("GET", "/resolve/") == 0
    assert gf.model_info_requests(hub, gf.MISTRAL) == 0


def test_license_drift_fails_the_gate_and_the_pinned_revision_still_passes(served):
    hub, shas, specs, repo, home = served
    assert gf.modelscan(hub.url, home, "lock", cwd=repo)[0].returncode == 0
    # phi-2 is relicensed in a new commit: main moves to it
    info = copy.deepcopy(specs[gf.PHI2].model_info)
    info["cardData"]["license"] = "cc-by-nc-4.0"
    info["cardData"].pop("license_link", None)
    info["tags"] = [t for t in info["tags"] if t != "license:mit"] + ["license:cc-by-nc-4.0"]
    new_sha = hub.add_repo(gf.PHI2, info,
                           {**specs[gf.PHI2].files, "LICENSE": reference_text("cc-by-nc-4.0.LICENSE.txt")})
    assert new_sha != shas[gf.PHI2]

    proc, _ = gf.modelscan(hub.url, home, "gate", "--locked", "-f", "json", cwd=repo)
    assert proc.returncode == 1, proc.stdout + proc.stderr
    phi = next(r for r in gf.report(proc)["results"] if r["repo_id"] == gf.PHI2)
    assert phi["verdict"] == "deny" and phi["revision"] is None and phi["sha"] == new_sha
    drift = next(f for f in phi["findings"] if f["code"] == "license-drift")
    assert drift["effect"] == "deny" and drift["severity"] == "high"
    assert "were mit" in drift["message"] and "now cc-by-nc-4.0" in drift["message"] and "LICENSE" in drift["message"]
    ev = drift["evidence"]
    assert [x["id"] for x in ev["approved"]["licenses"]] == ["mit"]
    assert [x["id"] for x in ev["current"]["licenses"]] == ["cc-by-nc-4.0"]
    assert ev["files"]["changed"] == ["LICENSE"] and ev["approved"]["revision"] == shas[gf.PHI2]
    moved = next(f for f in phi["findings"] if f["code"] == "revision-moved")
    assert moved["severity"] == "low" and moved["evidence"] == {
        "approved": shas[gf.PHI2], "current": new_sha, "requested": None}
    assert any("license drift" in reason for reason in phi["reasons"])

    # the deployment pinned to the approved commit: unchanged, passes, and asks the Hub nothing
    (repo / "modelscan.yaml").write_text(manifest([{"id": gf.PHI2, "revision": shas[gf.PHI2]}]))
    hub.reset_log()
    proc, _ = gf.modelscan(hub.url, home, "gate", "--locked", "-f", "json", cwd=repo)
    assert proc.returncode == 0, proc.stdout + proc.stderr
    assert hub.requests == []
    [phi] = gf.report(proc)["results"]
    assert phi["verdict"] == "allow" and [x["id"] for x in phi["licenses"]["effective"]] == ["mit"]


def test_moved_revision_without_license_change_is_reported_not_failed(served):
    hub, shas, specs, repo, home = served
    assert gf.modelscan(hub.url, home, "lock", cwd=repo)[0].returncode == 0
    info = copy.deepcopy(specs[gf.QWEN].model_info)
    info["tags"] = info["tags"] + ["new-tag"]
    new_sha = hub.add_repo(gf.QWEN, info, specs[gf.QWEN].files)
    proc, _ = gf.modelscan(hub.url, home, "gate", "--locked", "-f", "json", cwd=repo)
    assert proc.returncode == 0, proc.stdout + proc.stderr
    qwen = next(r for r in gf.report(proc)["results"] if r["repo_id"] == gf.QWEN)
    assert qwen["verdict"] == "allow" and qwen["sha"] == new_sha
    assert "revision-moved" in gf.codes(qwen) and "license-drift" not in gf.codes(qwen)


def test_changed_policy_voids_approvals_and_unknown_models_fail_closed(served):
    hub, shas, _, repo, home = served
    assert gf.modelscan(hub.url, home, "lock", cwd=repo)[0].returncode == 0
    proc, _ = gf.modelscan(hub.url, home, "gate", "--locked", "-f", "json", "--context", "commercial=false", cwd=repo)
    assert proc.returncode == 1, proc.stdout + proc.stderr
    for r in gf.report(proc)["results"]:
        stale = next(f for f in r["findings"] if f["code"] == "approval-stale")
        assert r["verdict"] == "review" and stale["effect"] == "review" and "policy changed" in stale["message"]
        assert stale["evidence"]["policy_hash"]["approved"] != stale["evidence"]["policy_hash"]["current"]

    (repo / "modelscan.yaml").write_text(manifest([gf.PHI2, gf.MISTRAL]))
    proc, _ = gf.modelscan(hub.url, home, "gate", "--locked", "-f", "json", cwd=repo)
    assert proc.returncode == 1
    results = {r["repo_id"]: r for r in gf.report(proc)["results"]}
    assert results[gf.PHI2]["verdict"] == "allow"
    assert results[gf.MISTRAL]["verdict"] == "review" and "approval-missing" in gf.codes(results[gf.MISTRAL])

    proc, _ = gf.modelscan(hub.url, home, "gate", "--locked", "--lock-file", "nope.lock", cwd=repo)
    assert proc.returncode == 2 and "no lockfile" in proc.stderr
    (repo / "bad.lock").write_text("{}")
    proc, _ = gf.modelscan(hub.url, home, "gate", "--locked", "--lock-file", "bad.lock", cwd=repo)
    assert proc.returncode == 2 and "not a modelscan lockfile" in proc.stderr


def test_changed_knowledge_base_voids_approvals(tmp_path, kb, default_policy):
    """In process: an approval whose kb_hash is not the loaded knowledge base's is re-decided."""
    from scanner.gate.discover import Reference
    from scanner.gate.lock import Lock
    from scanner.gate.runner import Gate, plan
    from scanner.scan import Scanner
    from scanner.sources.hub import HubSource

    specs = gf.corpus_specs((gf.PHI2,))
    with FakeHub() as hub:
        shas = gf.serve(hub, specs)
        source = HubSource(cache_dir=tmp_path / "cache", token=False, endpoint=hub.url)
        now = dt.datetime(2026, 11, 28, tzinfo=dt.timezone.utc)
        items = plan([Reference(gf.PHI2, None, "serve.sh", 1, "vllm")])
        [d] = Gate(Scanner(source, kb, default_policy, now)).run(items)
        approved = d.approval
        assert approved is not None and approved.kb_hash == kb.digest
        old_kb = replace(approved, kb_hash="sha256:" + "0" * 64)
        write_lock(tmp_path / "modelscan.lock", [old_kb])
        lock = load_lock(tmp_path / "modelscan.lock")
        assert lock.get(gf.PHI2) == old_kb
        [d] = Gate(Scanner(source, kb, default_policy, now), lock, locked=True).run(items)
        r = d.result
        assert r.verdict == "review" and r.sha == shas[gf.PHI2]
        stale = next(f for f in r.findings if f.code == "approval-stale")
        assert "the knowledge base changed" in stale.message and "policy" not in stale.message
        assert r.locations == (Location("serve.sh", 1, "vllm"),)
    assert lock_bytes([old_kb]) == (tmp_path / "modelscan.lock").read_bytes()
    assert isinstance(lock, Lock)
