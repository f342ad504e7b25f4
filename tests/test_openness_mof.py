"""MOF class and OSAID reading from evidence (scanner/openness_mof.py, docs/openness.md)."""

from __future__ import annotations

import dataclasses
import datetime as dt

import pytest
from conftest import ROOT

from scanner.evidence import Evidence, FileEvidence, Sibling
from scanner.openness_mof import assess
from scanner.result import LicenseUse

EXAMPLES = ROOT / "examples" / "hub"
NOW = dt.datetime(2026, 11, 28, tzinfo=dt.timezone.utc)
APACHE = LicenseUse(record="apache-2.0", id="apache-2.0", version=None, name="Apache License 2.0")
ODC_BY = LicenseUse(record="odc-by", id="odc-by", version=None, name="ODC-BY")

# An OLMo 2 style card, written for this test: what the model ships, where its code, paper and data are.
OLMO_CARD = """---
license: apache-2.0
datasets: [allenai/olmo-mix-1124, allenai/dolmino-mix-1124]
---
# OLMo 2 7B

## Model sources
- Training and inference code: https://github.com/allenai/OLMo
- Evaluation code: https://github.com/allenai/OLMo-Eval
- Data preprocessing toolkit (dedup, filtering): https://github.com/allenai/dolma
- Paper: https://arxiv.org/abs/2501.00656

## Training data
Pretrained on the OLMo mix, then annealed on the Dolmino mix.

## Evaluation
| task | score |
|---|---|

Intermediate checkpoints are published as revisions named stage1-step1000-tokens5B and so on.
"""


def olmo_evidence(extra: tuple[str, ...] = ()) -> Evidence:
    files = ("config.json", "README.md", "LICENSE", "model-00001-of-00003.safetensors") + extra
    return Evidence(target="allenai/OLMo-2-1124-7B", source="snapshot", repo_id="allenai/OLMo-2-1124-7B",
                    sha="a" * 40, card_data={"license": "apache-2.0"}, library_name="transformers",
                    config={"architectures": ["Olmo2ForCausalLM"], "model_type": "olmo2"},
                    siblings=tuple(Sibling(p) for p in files),
                    files=(FileEvidence("README.md", "ok", text=OLMO_CARD),),
                    tags=("arxiv:2501.00656",))


MODEL_INDEX = [{"name": "OLMo-2-1124-7B", "results": [{"task": {"type": "text-generation"},
                                                      "dataset": {"type": "allenai/ai2_arc", "name": "ARC"}}]}]


def by_id(o):
    return {c.id: c for c in o.components}


def test_olmo2_every_component_located_and_claims_reach_class_one(kb):
    body = OLMO_CARD.split("---", 2)[2]
    datasets = ({"id": "allenai/olmo-mix-1124", "licenses": [ODC_BY]},
                {"id": "allenai/dolmino-mix-1124", "licenses": [ODC_BY]})
    o = assess(olmo_evidence(), {"license": "apache-2.0", "model-index": MODEL_INDEX}, body, (APACHE,), datasets, kb)
    comps = by_id(o)
    required = [c for c in o.components if not c.optional]
    assert all(c.status != "missing" for c in required), [c.id for c in required if c.status == "missing"]
    assert comps["parameters-final"].status == "verified" and comps["parameters-final"].license == "apache-2.0"
    assert comps["architecture"].where[0].startswith("library transformers")
    assert comps["datasets"].status == "verified" and comps["datasets"].license == "odc-by"
    assert comps["data-card"].where == ("card section 'training data'",)
    assert comps["evaluation-results"].where == ("card section 'evaluation'", "card model-index")
    assert comps["evaluation-data"].status == "claimed"
    assert comps["evaluation-data"].where == ("dataset allenai/ai2_arc (model-index)",)
    assert "repository github.com/allenai/OLMo-Eval" in comps["evaluation-code"].where
    assert "repository github.com/allenai/dolma" in comps["preprocessing-code"].where
    assert comps["technical-report"].status == "claimed" and comps["technical-report"].where == ("arXiv 2501.00656",)
    # the paper is only a link: the verified class stops below III, the claims would reach I
    assert o.mof_class == "none" and o.mof_class_if_claims_hold == "I"
    assert o.next_class == "III"
    claimed = "Technical report: claimed by the card only (a link that was not read; license unknown)"
    assert o.missing_for_next == (claimed,)
    assert o.osaid["parameters"] == "met" and o.osaid["data_information"] == "met"
    assert o.osaid["code"] == "claimed" and o.osaid["overall"] == "claimed"


def test_olmo2_with_the_report_in_the_repo_reaches_three(kb):
    body = OLMO_CARD.split("---", 2)[2]
    o = assess(olmo_evidence(("olmo2-technical-report.pdf",)), {}, body, (APACHE,), (), kb)
    assert o.mof_class == "III"
    assert by_id(o)["technical-report"].where == ("file olmo2-technical-report.pdf",)
    # class II needs the training, inference and evaluation code verified, not only linked
    assert o.next_class == "II"
    assert {m.split(":")[0] for m in o.missing_for_next} == {"Training code", "Inference code", "Evaluation code",
                                                             "Evaluation data"}


def test_no_license_means_not_open(kb):
    body = OLMO_CARD.split("---", 2)[2]
    o = assess(olmo_evidence(("olmo2-technical-report.pdf",)), {}, body, (), (), kb)
    assert o.mof_class == "none"
    assert "Model parameters (final): no license identified for it" in o.missing_for_next


@pytest.fixture(scope="module")
def examples(kb, default_policy):
    from scanner.scan import Scanner
    from scanner.sources.snapshot import SnapshotSource

    scanner = Scanner(SnapshotSource(EXAMPLES), kb, default_policy, NOW)
    report = scanner.scan(["bigscience/bloom", "meta-llama/Meta-Llama-3-70B", "allenai/OLMo-2-1124-7B"])
    return {r.target: r for r in report.results}


@pytest.mark.parametrize("target, lic", [("bigscience/bloom", "bigscience-bloom-rail-1.0"),
                                         ("meta-llama/Meta-Llama-3-70B", "llama3")])
def test_bloom_and_llama3_reach_no_class_and_say_why(examples, target, lic):
    r = examples[target]
    o = r.openness
    assert o is not None and o.mof_class == "none" and o.mof_class_if_claims_hold == "none"
    weights = by_id(o)["parameters-final"]
    assert weights.status == "verified" and weights.open_license is False
    assert weights.license == lic     # the use policy is not a license of the weights
    assert f"Model parameters (final): {lic} is not an open data license" in o.missing_for_next
    assert f"Model card: {lic} is not an open document license" in o.missing_for_next
    assert o.osaid["parameters"] == "unmet"


def test_bloom_stays_fully_open_restricted_on_the_two_axis_class(examples):
    r = examples["bigscience/bloom"]
    assert r.classification.openness == "fully-open" and r.classification.license_freedom == "restricted"
    assert r.openness is not None and r.openness.mof_class == "none"


def test_policy_min_mof_class(kb, default_policy, examples):
    from scanner.policy.engine import openness_findings
    from scanner.policy.model import Policy

    o = examples["allenai/OLMo-2-1124-7B"].openness
    assert openness_findings(o, default_policy) == []
    deny = dataclasses.replace(default_policy, raw={**default_policy.raw,
                                                    "openness": {"min_mof_class": "II", "mode": "deny"}})
    [f] = openness_findings(o, deny)
    assert f.code == "openness-below-minimum" and f.effect == "deny"
    assert f.evidence["min_mof_class"] == "II" and f.evidence["missing_for_next"]
    review = dataclasses.replace(default_policy, raw={**default_policy.raw, "openness": {"min_mof_class": "III"}})
    assert [f.effect for f in openness_findings(o, review)] == ["review"]
    assert isinstance(deny, Policy)


def test_policy_openness_end_to_end(tmp_path):
    from conftest import run_cli

    pol = tmp_path / "p.yaml"
    pol.write_text("version: 1\nname: open-only\nextends: default\nlicenses:\n  allow: ['*']\nopenness:\n  min_mof_class: III\n  mode: deny\n")
    proc = run_cli("check", "allenai/OLMo-2-1124-7B", "--snapshot", "examples/hub", "--policy", str(pol),
                   "--format", "json")
    assert proc.returncode == 1, proc.stderr
    import json
    r = json.loads(proc.stdout)["results"][0]
    assert r["verdict"] == "deny"
    assert any(f["code"] == "openness-below-minimum" for f in r["findings"])
    assert r["openness"]["mof_class"] == "none"
    bad = tmp_path / "bad.yaml"
    bad.write_text("version: 1\nname: x\nopenness:\n  min_mof_class: IV\n")
    proc = run_cli("check", "allenai/OLMo-2-1124-7B", "--snapshot", "examples/hub", "--policy", str(bad))
    assert proc.returncode == 2 and "openness" in proc.stderr


@pytest.mark.parametrize("index", [5, "text", [{"results": 3}], [{"results": [{"dataset": "x"}]}], None])
def test_odd_model_index_is_ignored_not_a_crash(kb, index):
    o = assess(olmo_evidence(), {"model-index": index, "library_name": ["x"]}, "", (APACHE,), (), kb)
    assert by_id(o)["evaluation-data"].status == "missing"


def test_known_releases_match_as_fnmatch_matches_them():
    # scanner.classify joins each known release's globs into one compiled pattern; it must choose
    # exactly the repos fnmatch chooses, whatever the case.
    import fnmatch

    from scanner.classify import _known_releases, _release_patterns

    patterns = dict((id(entry), pattern) for pattern, entry in _release_patterns())
    globs = [str(g) for entry in _known_releases() for g in entry.get("match") or ()]
    names = globs + [g.replace("*", "x") for g in globs] + [g.replace("*", "") for g in globs] + [
        g.upper().replace("*", "-7B") for g in globs] + ["allenai/OLMo-2-1124-7B", "mistralai/Mistral-7B-v0.1",
                                                          "org/name", "", "a/b/c"]
    for entry in _known_releases():
        for name in names:
            want = any(fnmatch.fnmatch(name.lower(), str(p).lower()) for p in entry.get("match") or ())
            got = id(entry) in patterns and patterns[id(entry)].match(name.lower()) is not None
            assert got == want, (entry.get("match"), name)


def test_a_missing_component_is_one_shared_object():
    from scanner.openness_mof import _missing

    a = _missing("training-code", "Training code", "II", "code", False)
    assert a is _missing("training-code", "Training code", "II", "code", False)
    assert a.status == "missing" and a.reason == "not found in the repository or the card"


def test_an_assessment_worked_out_once_is_what_each_model_alone_gets(kb):
    # assess() concludes from what it found, per component, once for each distinct finding set:
    # every variant gives what a cold assessment gives, and equal findings give one shared object.
    from scanner.openness_mof import _CONCLUSIONS

    body = OLMO_CARD.split("---", 2)[2]
    variants = [(olmo_evidence(extra), lic, card)
                for extra in ((), ("olmo2-technical-report.pdf",), ("train.py", "modeling_olmo.py"))
                for lic in ((APACHE,), (), (APACHE, ODC_BY))
                for card in ({}, {"model-index": MODEL_INDEX})]

    def fields(o):
        return [getattr(o, f.name) for f in dataclasses.fields(o)]

    cold = []
    for ev, lic, card in variants:
        _CONCLUSIONS.clear()
        cold.append(fields(assess(ev, card, body, lic, (), kb)))
    warm = [assess(ev, card, body, lic, (), kb) for ev, lic, card in variants]
    assert [fields(o) for o in warm] == cold
    assert len({tuple(map(repr, c)) for c in cold}) > 6              # the variants do differ
    renamed = dataclasses.replace(variants[0][0], repo_id="someone/else", target="someone/else")
    assert assess(renamed, {}, body, (APACHE,), (), kb) is warm[0]
