"""The verdicts issue 2 requires, through the real CLI on local folders and the shipped snapshot."""

from __future__ import annotations

import json

import pytest

from conftest import EXAMPLES, NOW, card, make_model_dir, run_cli


def check_json(*args: str, env: dict | None = None):
    proc = run_cli("check", *args, "--format", "json", "--now", NOW, env=env)
    assert proc.stdout, proc.stderr
    return proc.returncode, json.loads(proc.stdout), proc


def codes(result) -> set[str]:
    return {f["code"] for f in result["findings"]}


@pytest.mark.parametrize("front,code", [
    ({"license": "cc-by-nc-4.0"}, "non-commercial-use"),
    ({"license": "other", "license_name": "mnpl", "license_link": "https://mistral.ai/licenses/MNPL-0.1.md"},
     "non-commercial-use"),
    # research-only: a chat app is beyond research, whether commercial or not
    ({"license": "other", "license_name": "mrl", "license_link": "https://mistral.ai/licenses/MRL-0.1.md"},
     "use-beyond-research"),
])
def test_non_commercial_license_under_commercial_context_is_denied(tmp_path, front, code):
    d = make_model_dir(tmp_path, "nc-model", card(front))
    rc, report, _ = check_json(str(d))
    result = report["results"][0]
    assert rc == 1
    assert result["verdict"] == "deny"
    assert code in codes(result)
    # the same model in a non-commercial research context is not denied for it
    rc2, report2, _ = check_json(str(d), "--policy", "research")
    assert report2["results"][0]["verdict"] != "deny"
    assert code not in codes(report2["results"][0])


def test_mistral_7b_is_allowed_by_default():
    rc, report, _ = check_json("mistralai/Mistral-7B-v0.1", "--snapshot", str(EXAMPLES))
    result = report["results"][0]
    assert (rc, result["verdict"]) == (0, "allow"), result["findings"]
    assert [u["id"] for u in result["licenses"]["effective"]] == ["apache-2.0"]
    assert result["classification"]["openness"] == "open-weights"
    assert result["classification"]["license_freedom"] == "permissive"


@pytest.mark.parametrize("front", [
    {"license": "other", "license_name": "some-unheard-of-license"},
    {"license": "other"},
    None,
    {"tags": ["text-generation"]},
])
def test_unknown_license_is_never_allowed(tmp_path, front):
    d = make_model_dir(tmp_path, "unknown", card(front))
    for policy in ("default", "permissive-only", "research", "eu-commercial"):
        rc, report, _ = check_json(str(d), "--policy", policy)
        assert report["results"][0]["verdict"] in ("review", "deny"), (policy, report["results"][0])
        assert rc == 1


VISION = "meta-llama/Llama-3.2-11B-Vision-Instruct"


def test_llama32_vision_denied_for_eu_domicile():
    rc, report, _ = check_json(VISION, "--snapshot", str(EXAMPLES), "--context", "domicile=EU")
    result = report["results"][0]
    assert rc == 1 and result["verdict"] == "deny"
    territory = [f for f in result["findings"] if f["code"] == "territory-excluded"]
    assert territory, result["findings"]
    assert territory[0]["evidence"]["term"]["scope"] == "multimodal"
    assert "domicile" in territory[0]["message"]


def test_llama32_vision_with_us_domicile_and_eu_users_is_not_denied_by_that_term():
    rc, report, _ = check_json(VISION, "--snapshot", str(EXAMPLES), "--context", "domicile=US",
                               "--context", "user_regions=EU,US", "--context", "deployment_regions=US")
    result = report["results"][0]
    assert "territory-excluded" not in codes(result)
    assert result["verdict"] != "deny"


def test_llama32_text_only_with_eu_domicile_is_not_denied_by_that_term():
    rc, report, _ = check_json("meta-llama/Llama-3.2-1B-Instruct", "--snapshot", str(EXAMPLES),
                               "--context", "domicile=DE")
    result = report["results"][0]
    assert "territory-excluded" not in codes(result)
    assert result["verdict"] != "deny"
    assert result["classification"]["modalities"] == ["text"]


def test_llama3_above_700m_mau_is_denied():
    args = ("meta-llama/Meta-Llama-3-70B", "--snapshot", str(EXAMPLES))
    rc, report, _ = check_json(*args, "--context", "monthly_active_users=800000000")
    result = report["results"][0]
    assert rc == 1 and result["verdict"] == "deny"
    assert "user-threshold-exceeded" in codes(result)
    rc, report, _ = check_json(*args, "--context", "monthly_active_users=1000000")
    assert "user-threshold-exceeded" not in codes(report["results"][0])


def test_stability_community_above_revenue_threshold_is_denied():
    args = ("stabilityai/stable-diffusion-3-medium", "--snapshot", str(EXAMPLES))
    rc, report, _ = check_json(*args, "--context", "annual_revenue_usd=2000000")
    result = report["results"][0]
    assert result["verdict"] == "deny"
    assert "revenue-threshold-exceeded" in codes(result)
    rc, report, _ = check_json(*args, "--context", "annual_revenue_usd=500000")
    assert "revenue-threshold-exceeded" not in codes(report["results"][0])


def test_codestral_is_non_commercial_open_weights():
    rc, report, _ = check_json("mistralai/Codestral-22B-v0.1", "--snapshot", str(EXAMPLES))
    result = report["results"][0]
    assert result["verdict"] == "deny"
    assert result["classification"]["openness"] == "open-weights"
    assert result["classification"]["license_freedom"] == "non-commercial"


@pytest.mark.parametrize("repo,openness,freedom", [
    ("allenai/OLMo-2-1124-7B", "fully-open", "permissive"),
    ("bigscience/bloom", "fully-open", "restricted"),
    ("mistralai/Mistral-7B-v0.1", "open-weights", "permissive"),
    ("meta-llama/Meta-Llama-3-70B", "open-weights", "restricted"),
    ("mistralai/Codestral-22B-v0.1", "open-weights", "non-commercial"),
])
def test_classification_axes(repo, openness, freedom):
    _, report, _ = check_json(repo, "--snapshot", str(EXAMPLES))
    cls = report["results"][0]["classification"]
    assert (cls["openness"], cls["license_freedom"]) == (openness, freedom)
    assert cls["evidence"], "every label carries its evidence"


def test_obligations_of_llama3():
    _, report, _ = check_json("meta-llama/Meta-Llama-3-70B", "--snapshot", str(EXAMPLES))
    result = report["results"][0]
    terms = {o["term"] for o in result["obligations"]}
    assert {"display-notice", "derivative-naming", "acceptable-use-policy"} <= terms | {"attribution-notice"}
    texts = " ".join(o["text"] for o in result["obligations"])
    assert "Built with Meta Llama 3" in texts
    assert '"Llama 3"' in texts


def test_several_targets_give_a_summary_and_highest_exit_code_wins():
    proc = run_cli("check", "mistralai/Mistral-7B-v0.1", "meta-llama/Llama-3-70B", "mistralai/Codestral-22B-v0.1",
                   "--snapshot", str(EXAMPLES), "--now", NOW)
    assert proc.returncode == 2
    assert "summary" in proc.stdout
    assert "did you mean meta-llama/Meta-Llama-3-70B" in proc.stderr
    assert "Traceback" not in proc.stderr + proc.stdout


def test_fail_on_deny_lets_review_pass(tmp_path):
    d = make_model_dir(tmp_path, "gpl-model", card({"license": "gpl-3.0"}))
    rc, report, _ = check_json(str(d))
    assert report["results"][0]["verdict"] == "review" and rc == 1
    rc, report, _ = check_json(str(d), "--fail-on", "deny")
    assert rc == 0
