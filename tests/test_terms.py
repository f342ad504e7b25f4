"""The term-type registry (scanner/terms.py): one entry per type, and everything generated from it."""

from __future__ import annotations

import json
import subprocess
import sys

import pytest
from conftest import ROOT
from jsonschema import Draft202012Validator

from scanner import schemagen, terms
from scanner.findings import RULES, Finding
from scanner.kb import KnowledgeBase, LicenseRecord, Term
from scanner.policy import engine
from scanner.policy.model import DEFAULT_TERMS, load_policy
from scanner.result import Classification, LicenseUse

DUTY_ONLY = ("attribution-notice", "display-notice", "publication-statement", "ai-content-disclosure",
             "notice-file", "license-copy", "modification-notice", "export-control", "termination-on-breach",
             "patent-retaliation", "unilateral-update", "use-restrictions-passdown", "acceptable-use-policy",
             "derivative-naming", "remote-restriction", "share-alike", "no-derivatives")


def test_committed_schemas_are_current():
    assert schemagen.stale() == [], "run: python scripts/gen_schemas.py"


def test_gen_schemas_script_check_mode_passes():
    proc = subprocess.run([sys.executable, str(ROOT / "scripts" / "gen_schemas.py"), "--check"],
                          capture_output=True, text=True, cwd=ROOT)
    assert proc.returncode == 0, proc.stdout + proc.stderr


def test_stale_schema_is_detected():
    built = schemagen.build()
    current = {name: json.loads(schemagen.render(s)) for name, s in built.items()}
    current["policy.schema.json"]["properties"]["terms"]["propertyNames"]["enum"].pop()
    rebuilt = schemagen.build(current=current)
    assert rebuilt["policy.schema.json"] == built["policy.schema.json"]
    assert current["policy.schema.json"] != built["policy.schema.json"]


@pytest.mark.parametrize("name", [t.name for t in terms.REGISTRY])
def test_every_type_is_one_consistent_entry(name):
    t = terms.REGISTRY.get(name)
    assert t is not None
    assert DEFAULT_TERMS[name] == t.mode
    keys = {c.name for c in terms.REGISTRY.context_keys}
    assert set(t.context) <= keys
    if t.check is not None:
        assert engine.checks()[name] == (t.check, t.finding.code)
        assert t.finding.code in RULES
    else:
        assert name not in engine.checks()


@pytest.mark.parametrize("name", DUTY_ONLY)
def test_duty_only_types_default_to_obligation(name):
    t = terms.REGISTRY.get(name)
    assert t is not None and t.check is None and t.mode == "obligation"


def test_agreed_vocabulary_is_registered():
    for name in ("research-only", "evaluation-only", "non-production", "no-hosted-service",
                 "publication-statement", "ai-content-disclosure", "unilateral-update"):
        assert name in terms.REGISTRY
    params = terms.REGISTRY.get("field-of-use").params
    assert {"use_cases", "conditional_use_cases", "condition"} <= set(params)
    for case in ("law-enforcement", "immigration", "justice", "transportation", "housing", "insurance",
                 "employment", "hr", "tracking"):
        assert case in terms.USE_CASES
    assert {"production", "third_party_access"} <= {c.name for c in terms.REGISTRY.context_keys}


def _validator(schema):
    return Draft202012Validator(schema)


@pytest.mark.parametrize("term,ok", [
    ({"type": "field-of-use", "use_cases": ["military"], "conditional_use_cases": ["employment"],
      "condition": "automated decisions", "source": "x", "section": "2.a"}, True),
    ({"type": "field-of-use", "condition": "without consent", "source": "x"}, False),      # no use case at all
    ({"type": "field-of-use", "use_cases": ["medical-advice"], "source": "x"}, False),     # not a use case
    ({"type": "publication-statement", "text": "Built with X", "source": "x"}, True),
    ({"type": "publication-statement", "source": "x"}, False),                             # text required
    ({"type": "non-production", "users": 5, "source": "x"}, False),                        # not its parameter
    ({"type": "territory-exclusion", "regions": ["UK"], "basis": ["users"], "source": "x"}, False),
    ({"type": "territory-exclusion", "regions": ["GB", "EU"], "basis": ["users"], "source": "x"}, True),
])
def test_license_schema_checks_params_per_type(term, ok):
    schema = json.loads((ROOT / "scanner" / "schemas" / "license.schema.json").read_text())
    sub = {"$defs": schema["$defs"], "$ref": "#/$defs/term"}
    assert (not list(_validator(sub).iter_errors(term))) is ok


# --- a new term type added in one place appears everywhere ------------------------------------------

def _always_review(term, ctx, cls):
    return ("review" if ctx.get("commercial") else "ok"), "the test term needs judging"


NEW = terms.TermType(
    "test-only-term", "A type that exists only in this test.", "enforce", _always_review,
    terms.FindingSpec("test-only-finding", "Test-only finding", "low", "Raised by the test-only term."),
    ("commercial",), {"level": {"type": "integer"}}, ("level",))


@pytest.fixture
def extended(monkeypatch):
    reg = terms.REGISTRY.with_type(NEW)
    monkeypatch.setattr(terms, "REGISTRY", reg)
    return reg


def test_new_type_appears_in_the_schemas(extended):
    built = schemagen.build(extended)
    lic, pol, rep = (built[n] for n in ("license.schema.json", "policy.schema.json", "report.schema.json"))
    assert "test-only-term" in lic["$defs"]["term"]["properties"]["type"]["enum"]
    assert lic["$defs"]["term"]["properties"]["level"] == {"type": "integer"}
    sub = {"$defs": lic["$defs"], "$ref": "#/$defs/term"}
    assert not list(_validator(sub).iter_errors({"type": "test-only-term", "level": 2, "source": "x"}))
    assert list(_validator(sub).iter_errors({"type": "test-only-term", "source": "x"}))     # level required
    assert "test-only-term" in pol["properties"]["terms"]["propertyNames"]["enum"]
    policy = {"version": 1, "name": "p", "terms": {"test-only-term": "review"}}
    assert not list(_validator(pol).iter_errors(policy))
    committed = json.loads((ROOT / "scanner" / "schemas" / "policy.schema.json").read_text())
    assert list(_validator(committed).iter_errors(policy))                                 # not in the real one
    assert "test-only-finding" in rep["$defs"]["finding"]["properties"]["code"]["enum"]
    assert "test-only-term" in rep["$defs"]["obligation"]["properties"]["term"]["enum"]


def test_new_type_reaches_the_engine_and_the_finding_registry(extended):
    assert "test-only-finding" in RULES
    Finding("test-only-finding", "constructible now")
    rec = LicenseRecord(key="t", id="t", version=None, name="Test License", kind="model-license",
                        category="restricted", verified=True,
                        terms=(Term("test-only-term", {"level": 1, "source": "s"}, "t"),))
    kb = KnowledgeBase({"t": rec}, "sha256:0", "mem", {"t": "t"})
    use = LicenseUse("t", "t", None, "Test License")
    policy = load_policy("default")
    assert policy.term_mode("test-only-term") == "enforce"
    found, obligations = engine.evaluate_terms([use], kb, policy, Classification())
    assert [(f.code, f.effect) for f in found] == [("test-only-finding", "review")]
    research = load_policy("research")
    found, obligations = engine.evaluate_terms([use], kb, research, Classification())
    assert not found and [o.term for o in obligations] == ["test-only-term"]


def test_without_the_new_type_the_code_is_unknown():
    assert "test-only-finding" not in RULES
    with pytest.raises(KeyError):
        Finding("test-only-finding", "x")


def test_registry_refuses_inconsistent_entries():
    reg = terms.REGISTRY.copy()
    with pytest.raises(ValueError):
        reg.register(terms.REGISTRY.get("mau-threshold"))
    with pytest.raises(ValueError):
        reg.register(terms.TermType("x-term", "x", context=("no_such_key",)))
    with pytest.raises(ValueError):
        reg.register(terms.TermType("y-term", "y", "enforce", _always_review))          # check without a code
    with pytest.raises(ValueError):
        reg.register(terms.TermType("z-term", "z", mode="sometimes"))


def test_region_codes_are_iso_3166_alpha_2_plus_groups():
    from scanner import regions
    assert len(regions.ISO_3166_1) == len(set(regions.ISO_3166_1)) == 249
    assert all(len(c) == 2 and c.isupper() for c in regions.ISO_3166_1)
    assert "GB" in regions.REGIONS and "UK" not in regions.REGIONS and "EL" not in regions.REGIONS
    assert set(regions.EEA) - set(regions.EU) == {"IS", "LI", "NO"}
    assert regions.did_you_mean("uk") == "GB" and regions.did_you_mean("XX") is None
