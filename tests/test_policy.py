"""Policy files: schema validation with file/line/key errors, context overrides, waivers."""

from __future__ import annotations

import json

import pytest

from conftest import NOW, card, make_model_dir, run_cli
from scanner.policy.model import PolicyError, load_policy, parse_context_overrides, shipped_policies


def test_shipped_policies_validate():
    assert {"default", "permissive-only", "eu-commercial", "research"} <= set(shipped_policies())
    for name in shipped_policies():
        p = load_policy(name)
        assert p.name and p.hash.startswith("sha256:")
    proc = run_cli("policy", "validate", "policies/default.yaml", "policies/eu-commercial.yaml",
                   "policies/permissive-only.yaml", "policies/research.yaml")
    assert proc.returncode == 0, proc.stderr
    assert proc.stdout.count("ok:") == 4


def test_extends_overrides_context():
    eu = load_policy("eu-commercial")
    assert eu.context["domicile"] == "EU"
    assert eu.terms["mau-threshold"] == "enforce"      # inherited from default


@pytest.mark.parametrize("text,line,key", [
    ("version: 1\nname: x\ncontext:\n  domicile: Germany\n", 4, "context.domicile"),
    ("version: 1\nname: x\nlicenses:\n  allow: [mit]\n  unknown: allow\n", 5, "licenses.unknown"),
    ("version: 2\nname: x\n", 1, "version"),
    ("version: 1\nname: x\nterms:\n  mau-threshold: maybe\n", 4, "terms.mau-threshold"),
    ("version: 1\nname: x\nwaivers:\n  - model: a/b\n    verdict: allow\n    reason: ok ok\n    owner: me\n"
     "    expires: 2027-01-01\n", 4, "waivers.0"),
    ("version: 1\nname: x\ncontext:\n  use_cases: [chat, mind-control]\n", 4, "context.use_cases.1"),
])
def test_invalid_policy_names_file_line_and_key(tmp_path, text, line, key):
    p = tmp_path / "bad.yaml"
    p.write_text(text)
    with pytest.raises(PolicyError) as err:
        load_policy(str(p))
    msg = str(err.value)
    assert msg.startswith(f"{p}:{line}: {key}:"), msg
    proc = run_cli("policy", "validate", str(p))
    assert proc.returncode == 2
    assert len(proc.stderr.strip().splitlines()) == 1 and f"{p}:{line}" in proc.stderr
    proc = run_cli("check", "--policy", str(p), "mistralai/Mistral-7B-v0.1", "--snapshot", "examples/hub")
    assert proc.returncode == 2 and "Traceback" not in proc.stderr


def test_broken_yaml_policy(tmp_path):
    p = tmp_path / "broken.yaml"
    p.write_text("version: 1\nname: [unclosed\n")
    proc = run_cli("check", "--policy", str(p), "x/y", "--snapshot", "examples/hub")
    assert proc.returncode == 2
    assert "invalid YAML" in proc.stderr and len(proc.stderr.strip().splitlines()) == 1


def test_missing_policy_file():
    proc = run_cli("check", "--policy", "no/such/policy.yaml", "x/y", "--snapshot", "examples/hub")
    assert proc.returncode == 2 and "not found" in proc.stderr


def test_context_overrides_are_typed():
    out = parse_context_overrides(["domicile=de", "monthly_active_users=800_000_000", "commercial=false",
                                   "user_regions=eu,us", "annual_revenue_usd=2e6"])
    assert out == {"domicile": "DE", "monthly_active_users": 800000000, "commercial": False,
                   "user_regions": ["EU", "US"], "annual_revenue_usd": 2000000.0}
    with pytest.raises(PolicyError):
        parse_context_overrides(["users=5"])
    with pytest.raises(PolicyError):
        parse_context_overrides(["monthly_active_users=many"])
    with pytest.raises(PolicyError):
        load_policy("default").with_context(parse_context_overrides(["domicile=Europe"]))
    proc = run_cli("check", "x/y", "--context", "nonsense", "--snapshot", "examples/hub")
    assert proc.returncode == 2 and "KEY=VALUE" in proc.stderr


def _waiver_policy(tmp_path, waiver: dict) -> str:
    import yaml
    p = tmp_path / "waived.yaml"
    p.write_text(yaml.safe_dump({"version": 1, "name": "waived", "extends": "default", "waivers": [waiver]}))
    return str(p)


def test_license_waiver_allows_until_expiry_then_verdict_returns(tmp_path):
    d = make_model_dir(tmp_path, "gpl", card({"license": "gpl-3.0"}))
    pol = _waiver_policy(tmp_path, {"license": "gpl-3.0", "verdict": "allow", "reason": "legal approved LEGAL-7",
                                    "owner": "legal@example.com", "expires": "2027-01-31"})
    before = run_cli("check", str(d), "--policy", pol, "--format", "json", "--now", "2027-01-31T12:00:00Z")
    res = json.loads(before.stdout)["results"][0]
    assert before.returncode == 0 and res["verdict"] == "allow"
    assert "waiver-applied" in {f["code"] for f in res["findings"]}
    after = run_cli("check", str(d), "--policy", pol, "--format", "json", "--now", "2027-02-01T00:00:00Z")
    res = json.loads(after.stdout)["results"][0]
    assert after.returncode == 1 and res["verdict"] == "review"
    expired = [f for f in res["findings"] if f["code"] == "waiver-expired"]
    assert expired and "2027-01-31" in expired[0]["message"]


def test_model_waiver_is_pinned_to_its_revision(tmp_path):
    from conftest import EXAMPLES
    refs = json.loads((EXAMPLES / "models/mistralai/Codestral-22B-v0.1/refs.json").read_text())
    sha = refs["main"]
    waiver = {"model": "mistralai/Codestral-22B-v0.1", "revision": sha, "verdict": "allow",
              "reason": "commercial agreement signed with Mistral AI", "owner": "procurement", "expires": "2030-01-01"}
    pol = _waiver_policy(tmp_path, waiver)
    proc = run_cli("check", "mistralai/Codestral-22B-v0.1", "--snapshot", str(EXAMPLES), "--policy", pol,
                   "--format", "json", "--now", NOW)
    assert json.loads(proc.stdout)["results"][0]["verdict"] == "allow"
    pol2 = _waiver_policy(tmp_path, {**waiver, "revision": "0" * 40})
    proc = run_cli("check", "mistralai/Codestral-22B-v0.1", "--snapshot", str(EXAMPLES), "--policy", pol2,
                   "--format", "json", "--now", NOW)
    assert json.loads(proc.stdout)["results"][0]["verdict"] == "deny"


def test_model_deny_list(tmp_path):
    import yaml
    from conftest import EXAMPLES
    p = tmp_path / "deny.yaml"
    p.write_text(yaml.safe_dump({"version": 1, "name": "d", "extends": "default",
                                 "models": {"deny": ["mistralai/*"]}}))
    proc = run_cli("check", "mistralai/Mistral-7B-v0.1", "--snapshot", str(EXAMPLES), "--policy", str(p),
                   "--format", "json")
    res = json.loads(proc.stdout)["results"][0]
    assert res["verdict"] == "deny" and "model-denied" in {f["code"] for f in res["findings"]}


def test_permissive_only_denies_restricted():
    from conftest import EXAMPLES
    proc = run_cli("check", "meta-llama/Meta-Llama-3-70B", "--snapshot", str(EXAMPLES), "--policy",
                   "permissive-only", "--format", "json")
    res = json.loads(proc.stdout)["results"][0]
    assert res["verdict"] == "deny" and "license-denied" in {f["code"] for f in res["findings"]}
