"""Issue 10's deployments, through the real CLI: what a careful reader of each license would not allow.

Local model folders (and the shipped snapshot for a base model), each with the context of the
deployment on the command line.
"""

from __future__ import annotations

import json

import pytest
from conftest import EXAMPLES, NOW, card, make_model_dir, run_cli


def check(target: str, *args: str):
    proc = run_cli("check", target, "--format", "json", "--now", NOW, *args)
    assert proc.stdout, proc.stderr
    return json.loads(proc.stdout)["results"][0]


def contexts(*pairs: str) -> list[str]:
    return [a for p in pairs for a in ("--context", p)]


def codes(result) -> dict[str, str | None]:
    return {f["code"]: f["effect"] for f in result["findings"]}


CASES = {
    # BLOOM RAIL, use restriction: medical advice and results
    "bloom-medical-advice": ({"license": "bigscience-bloom-rail-1.0"},
                             ["use_cases=medical,chat"], "field-of-use-restricted"),
    # Llama 3 AUP: operating critical infrastructure
    "llama3-plant-controller": ({"license": "llama3"},
                                ["use_cases=critical-infrastructure,agents"], "field-of-use-restricted"),
    # Gemma prohibited use policy: automated decisions in employment
    "gemma-hr-decisions": ({"license": "gemma"}, ["use_cases=hr,employment,classification"],
                           "field-of-use-restricted"),
    # Apple AMLR: research purposes only; a non-profit public app is not research
    "amlr-non-research-app": ({"license": "apple-amlr"},
                              ["commercial=false", "use_cases=chat", "production=true"], "use-beyond-research"),
    # Mistral non-production license: a free public app is production use
    "codestral-free-public-app": ({"license": "other", "license_name": "mnpl",
                                   "license_link": "https://mistral.ai/licenses/MNPL-0.1.md"},
                                  ["commercial=false", "use_cases=code-generation", "production=true",
                                   "third_party_access=true"], "production-use"),
    # Stability NC research community: no hosted service or API for third parties, even non-commercially
    "stability-nc-hosted-api": ({"license": "other", "license_name": "stabilityai-nc-research-community"},
                                ["commercial=false", "use_cases=hosting", "third_party_access=true"],
                                "hosted-service-restricted"),
}


@pytest.mark.parametrize("name", list(CASES))
def test_issue_deployments_are_not_allowed(tmp_path, name):
    front, ctx, expected = CASES[name]
    d = make_model_dir(tmp_path, name, card(front), files={"model.safetensors": b"\0" * 16})
    result = check(str(d), *contexts(*ctx))
    assert result["verdict"] != "allow", result["findings"]
    assert expected in codes(result), codes(result)
    assert codes(result)[expected] in ("review", "deny")


def test_llama32_vision_gguf_at_a_german_company_inherits_the_multimodal_clause(tmp_path):
    front = {"license": "llama3.2", "base_model": "meta-llama/Llama-3.2-11B-Vision-Instruct",
             "base_model_relation": "quantized", "tags": ["gguf"]}
    d = make_model_dir(tmp_path, "vision-q4", card(front, "# Quantized\n\nQ4_K_M files.\n"),
                       files={"model-Q4_K_M.gguf": b"GGUF" + b"\0" * 12})
    result = check(str(d), "--snapshot", str(EXAMPLES), *contexts("domicile=DE"))
    assert "image" in result["classification"]["modalities"]
    assert result["verdict"] == "deny"
    assert codes(result).get("territory-excluded") == "deny"
    # a US company with the same quantization is not denied by that clause
    us = check(str(d), "--snapshot", str(EXAMPLES), *contexts("domicile=US", "deployment_regions=US",
                                                               "user_regions=US"))
    assert "territory-excluded" not in codes(us)


def test_label_only_hunyuan_3d_card_at_5m_mau_is_held_to_the_strictest_version(tmp_path):
    front = {"license": "other", "license_name": "tencent-hunyuan-community",
             "pipeline_tag": "text-to-3d"}
    d = make_model_dir(tmp_path, "Hunyuan3D-2", card(front), files={"model.safetensors": b"\0" * 16})
    result = check(str(d), *contexts("monthly_active_users=5000000", "domicile=US", "deployment_regions=US",
                                     "user_regions=US"))
    assert result["verdict"] != "allow"
    assert "license-version-unspecified" in codes(result)
    version = next(f for f in result["findings"] if f["code"] == "license-version-unspecified")
    assert len(version["evidence"]["candidates"]) >= 2
    assert codes(result).get("user-threshold-exceeded") == "deny"


def test_qwen25_under_the_default_policy_is_allowed_with_its_obligations():
    result = check("Qwen/Qwen2.5-72B-Instruct", "--snapshot", str(EXAMPLES))
    assert result["verdict"] == "allow", result["findings"]
    texts = [o["text"] for o in result["obligations"]]
    assert any('"Built with Qwen"' in t for t in texts)
    assert any(t.startswith('ship a "Notice" text file') for t in texts)


@pytest.mark.parametrize("pair,message", [
    ("user_regions=UK", "--context user_regions: 'UK' is not an ISO 3166-1 alpha-2 country code (or EU, EEA); "
                        "did you mean GB?"),
    ("domicile=EL", "did you mean GR?"),
    ("deployment_regions=US,XX", "--context deployment_regions: 'XX' is not an ISO 3166-1 alpha-2"),
    ("use_cases=chat,medical-advice", "--context use_cases: 'medical-advice' is not one of: chat, assistant,"),
    ("modalities=smell", "--context modalities: 'smell' is not one of: text, image, audio, video, 3d"),
    ("production=maybe", "--context production='maybe': expected a boolean"),
])
def test_unknown_context_values_fail_with_one_line(tmp_path, pair, message):
    d = make_model_dir(tmp_path, "m", card({"license": "mit"}))
    proc = run_cli("check", str(d), "--context", pair)
    assert proc.returncode == 2
    lines = [ln for ln in proc.stderr.splitlines() if ln.strip()]
    assert len(lines) == 1, proc.stderr
    assert message in lines[0]
    assert "policies/" not in lines[0] and ".yaml" not in lines[0]
    if "use_cases" in pair:
        assert "tracking" in lines[0]                 # names every allowed value


def test_region_typos_in_a_policy_file_get_a_did_you_mean(tmp_path):
    pol = tmp_path / "p.yaml"
    pol.write_text("version: 1\nname: p\ncontext:\n  user_regions: [US, UK]\n")
    d = make_model_dir(tmp_path, "m", card({"license": "mit"}))
    proc = run_cli("check", str(d), "--policy", str(pol))
    assert proc.returncode == 2
    assert "p.yaml:4: context.user_regions.1: 'UK' is not an ISO 3166-1 alpha-2" in proc.stderr
    assert "did you mean GB?" in proc.stderr


@pytest.mark.parametrize("context,message", [
    ("{production: maybe}", "deployments.0.context.production: 'maybe' is not of type 'boolean'"),
    ("{third_party_access: true, user_regions: [UK]}", "did you mean GB?"),
    ("{use_cases: [tracking, employment, law-enforcement]}", None),
])
def test_manifest_takes_the_new_context_keys(context, message):
    from scanner.gate.discover.manifest import ManifestError, load_manifest
    text = f"version: 1\ndeployments:\n  - name: a\n    context: {context}\n    models: [org/x]\n"
    if message is None:
        data, _ = load_manifest(text, "modelscan.yaml")
        assert data["deployments"][0]["context"]
        return
    with pytest.raises(ManifestError) as err:
        load_manifest(text, "modelscan.yaml")
    assert str(err.value).startswith("modelscan.yaml:4: ") and message in str(err.value)
