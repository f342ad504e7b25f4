"""Repository approvals (modelscan-approvals.yaml beside modelscan.lock), through the CLI against
the fake Hub: an approved reviewed model passes `gate --locked` until the approval expires;
`lock` records the approval; approvals count only where the policy honours them and never lift
a deny; a central waiver added later does not void the lock; the report names where its policy
and approvals came from."""

from __future__ import annotations

import json

import pytest


import gate_fixtures as gf
from hubserver import FakeHub

from scanner.gate.lock import load_lock

pytestmark = [pytest.mark.timeout(180),
              pytest.mark.skipif(not gf.cf.DEFAULT_CORPUS_DIR.is_dir(), reason="shared corpus not found")]

# phi-2 is MIT: this policy sends MIT to review, so a person has to approve phi-2; Qwen (apache) is allowed
POLICY = """version: 1
name: org
extends: default
licenses:
  review: [mit]
repository:
  approvals: {approvals}
"""
MANIFEST = f"version: 1\ndeployments:\n  - name: prod\n    models:\n      - {gf.PHI2}\n      - {gf.QWEN}\n"


def approvals(sha: str, expires: str = "2027-01-31", accepts: str = "[license-needs-review]",
              model: str = gf.PHI2) -> str:
    return (f"version: 1\napprovals:\n  - model: {model}\n    revision: {sha}\n    owner: jane@example.com\n"
            f"    reason: MIT read by legal, LEGAL-42\n    expires: {expires}\n    accepts: {accepts}\n")


@pytest.fixture
def served(tmp_path):
    specs = gf.corpus_specs((gf.PHI2, gf.QWEN))
    with FakeHub() as hub:
        shas = gf.serve(hub, specs)
        repo = gf.write_tree(tmp_path / "repo", {"modelscan.yaml": MANIFEST,
                                                 "org.yaml": POLICY.format(approvals="true")})
        yield hub, shas, repo, tmp_path / "home"


def run(hub, home, repo, *args, env=None):
    return gf.modelscan(hub.url, home, *args, cwd=repo, env=env)[0]


def by_id(proc) -> dict:
    return {r["repo_id"]: r for r in gf.report(proc)["results"]}


def test_an_approved_reviewed_model_passes_gate_locked_until_it_expires(served):
    hub, shas, repo, home = served
    # without an approval phi-2 needs review: lock writes the file but fails
    proc = run(hub, home, repo, "lock", "--policy", "org.yaml")
    assert proc.returncode == 1, proc.stdout + proc.stderr
    (repo / "modelscan-approvals.yaml").write_text(approvals(shas[gf.PHI2]))
    proc = run(hub, home, repo, "lock", "--policy", "org.yaml")
    assert proc.returncode == 0, proc.stdout + proc.stderr
    entry = load_lock(repo / "modelscan.lock").get(gf.PHI2)
    assert entry.verdict == "allow"
    assert entry.approval == {"model": gf.PHI2, "revision": shas[gf.PHI2], "owner": "jane@example.com",
                              "reason": "MIT read by legal, LEGAL-42", "expires": "2027-01-31",
                              "accepts": ["license-needs-review"]}
    assert load_lock(repo / "modelscan.lock").get(gf.QWEN).approval is None

    proc = run(hub, home, repo, "gate", "--locked", "--policy", "org.yaml", "-f", "json")
    assert proc.returncode == 0, proc.stdout + proc.stderr
    report = gf.report(proc)
    phi = by_id(proc)[gf.PHI2]
    assert phi["verdict"] == "allow"
    applied = next(f for f in phi["findings"] if f["code"] == "approval-applied")
    assert "jane@example.com" in applied["message"] and applied["effect"] is None
    review = next(f for f in phi["findings"] if f["code"] == "license-needs-review")
    assert review["effect"] is None and review["evidence"]["approved_by"] == "jane@example.com"
    conf = report["configuration"]
    assert conf["policy"] == {"value": "org.yaml", "source": "cli", "where": "--policy"}
    assert conf["repository"] == {"configuration": True, "approvals": True}
    assert conf["approvals"]["honoured"] is True and conf["approvals"]["count"] == 1
    assert conf["approvals"]["file"].endswith("modelscan-approvals.yaml") and len(conf["approvals"]["sha256"]) == 64

    # after the expiry date the approval no longer counts
    proc = run(hub, home, repo, "gate", "--locked", "--policy", "org.yaml", "-f", "json",
               env={"MODELSCAN_NOW": "2027-02-01T00:00:00Z"})
    assert proc.returncode == 1, proc.stdout + proc.stderr
    phi = by_id(proc)[gf.PHI2]
    assert phi["verdict"] == "review" and "approval-expired" in gf.codes(phi)


def test_approvals_need_the_policy_and_never_lift_a_deny(served):
    hub, shas, repo, home = served
    (repo / "modelscan-approvals.yaml").write_text(approvals(shas[gf.PHI2]))
    # a policy that does not say `repository: {approvals: true}` (the default) ignores the file
    (repo / "org.yaml").write_text(POLICY.replace("repository:\n  approvals: {approvals}\n", ""))
    proc = run(hub, home, repo, "gate", "--policy", "org.yaml", "-f", "json")
    assert proc.returncode == 1, proc.stdout + proc.stderr
    assert by_id(proc)[gf.PHI2]["verdict"] == "review"
    conf = gf.report(proc)["configuration"]
    assert conf["repository"]["approvals"] is False and conf["approvals"]["honoured"] is False

    # a deny stays a deny, whatever the approval accepts
    (repo / "org.yaml").write_text(POLICY.format(approvals="true") + f"models:\n  deny: [{gf.PHI2}]\n")
    (repo / "modelscan-approvals.yaml").write_text(
        approvals(shas[gf.PHI2], accepts="[license-needs-review, model-denied]"))
    proc = run(hub, home, repo, "gate", "--policy", "org.yaml", "-f", "json")
    assert proc.returncode == 1
    phi = by_id(proc)[gf.PHI2]
    assert phi["verdict"] == "deny"
    assert next(f for f in phi["findings"] if f["code"] == "model-denied")["effect"] == "deny"

    # another commit is not approved
    (repo / "org.yaml").write_text(POLICY.format(approvals="true"))
    (repo / "modelscan-approvals.yaml").write_text(approvals("ab" * 20))
    proc = run(hub, home, repo, "gate", "--policy", "org.yaml", "-f", "json")
    assert proc.returncode == 1 and by_id(proc)[gf.PHI2]["verdict"] == "review"


def test_invalid_approvals_file_exits_2_naming_file_line_and_key(served):
    hub, shas, repo, home = served
    no_owner = approvals(shas[gf.PHI2]).replace("    owner: jane@example.com\n", "")
    (repo / "modelscan-approvals.yaml").write_text(no_owner)
    proc = run(hub, home, repo, "gate", "--policy", "org.yaml")
    assert proc.returncode == 2
    line, = [x for x in proc.stderr.splitlines() if x.strip()]
    assert "modelscan-approvals.yaml:3: approvals.0:" in line and "'owner' is a required property" in line
    (repo / "modelscan-approvals.yaml").write_text(approvals(shas[gf.PHI2], accepts="[]"))
    proc = run(hub, home, repo, "gate", "--policy", "org.yaml")
    assert proc.returncode == 2 and "approvals.0.accepts" in proc.stderr
    # the schema ships with the package
    schema = json.loads((gf.ROOT / "scanner" / "schemas" / "approvals.schema.json").read_text())
    assert set(schema["$defs"]["approval"]["required"]) == {"model", "revision", "owner", "reason", "expires",
                                                            "accepts"}


def test_a_central_waiver_added_later_does_not_void_the_lock(served):
    hub, shas, repo, home = served
    (repo / "org.yaml").write_text(POLICY.format(approvals="false"))
    (repo / "modelscan.yaml").write_text(MANIFEST.replace(f"      - {gf.PHI2}\n", ""))    # Qwen only
    assert run(hub, home, repo, "lock", "--policy", "org.yaml").returncode == 0
    # a waiver for a license nobody here uses, added to the policy after the lock
    (repo / "org.yaml").write_text(POLICY.format(approvals="false") + (
        "waivers:\n  - license: cc-by-nc-4.0\n    verdict: allow\n    reason: research demo\n"
        "    owner: bob@example.com\n    expires: 2027-06-30\n"))
    proc = run(hub, home, repo, "gate", "--locked", "--policy", "org.yaml", "-f", "json")
    assert proc.returncode == 0, proc.stdout + proc.stderr
    qwen = by_id(proc)[gf.QWEN]
    assert qwen["verdict"] == "allow" and "approval-stale" not in gf.codes(qwen)
    # changing a rule of the policy (not a waiver) still voids it
    (repo / "org.yaml").write_text(POLICY.format(approvals="false") + "context:\n  commercial: false\n")
    proc = run(hub, home, repo, "gate", "--locked", "--policy", "org.yaml", "-f", "json")
    assert proc.returncode == 1 and "approval-stale" in gf.codes(by_id(proc)[gf.QWEN])
