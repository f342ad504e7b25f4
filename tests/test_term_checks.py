"""Every class of term, table-driven over every record in the knowledge base that carries it.

Each record's term is evaluated alone (a one-record knowledge base) against small contexts, so a
wrong check or a wrong record shows up as the record's name in the failing parameter.
"""

from __future__ import annotations

import dataclasses
import re

import pytest
import yaml

from scanner import kb as kbmod
from scanner import terms
from scanner.kb import KnowledgeBase
from scanner.policy.engine import _obligation_text, evaluate, evaluate_terms
from scanner.policy.model import load_policy
from scanner.result import Classification, LicenseUse

KB = kbmod.load()
DUTY_ONLY = [t.name for t in terms.REGISTRY if t.check is None]


def with_term(type_name: str):
    """(record key, term index) for every term of that type in the knowledge base."""
    return [pytest.param(rec.key, i, id=f"{rec.key}#{i}")
            for rec in KB for i, t in enumerate(rec.terms) if t.type == type_name]


def policy_with(tmp_path, context: dict, terms_: dict | None = None):
    path = tmp_path / "p.yaml"
    path.write_text(yaml.safe_dump({"version": 1, "name": "t", "context": context, "terms": terms_ or {}}))
    return load_policy(str(path))


def run_term(tmp_path, key: str, index: int, context: dict, modalities=("text",)):
    rec = KB.get(key)
    one = dataclasses.replace(rec, terms=(rec.terms[index],))
    kb = KnowledgeBase({key: one}, "sha256:0", "mem", {key: key})
    use = LicenseUse(key, rec.id, rec.version, rec.name, rec.kind, rec.category)
    return evaluate_terms([use], kb, policy_with(tmp_path, context), Classification(modalities=tuple(modalities)))


def effects(findings) -> list[tuple[str, str]]:
    return [(f.code, f.effect) for f in findings]


# --- use bans: outright (deny) and conditional (review) ------------------------------------------

def _field_cases(kind: str):
    out = []
    for p in with_term("field-of-use"):
        key, i = p.values
        term = KB.get(key).terms[i]
        for case in term.get(kind) or ():
            out.append(pytest.param(key, i, case, id=f"{key}#{i}-{case}"))
    return out


@pytest.mark.parametrize("key,index,case", _field_cases("use_cases"))
def test_outright_use_ban_stated_by_the_context_is_denied(tmp_path, key, index, case):
    found, obligations = run_term(tmp_path, key, index, {"use_cases": [case]})
    assert effects(found) == [("field-of-use-restricted", "deny")]
    assert case in found[0].message


@pytest.mark.parametrize("key,index,case", _field_cases("conditional_use_cases"))
def test_conditional_use_ban_is_reviewed_not_denied(tmp_path, key, index, case):
    found, _ = run_term(tmp_path, key, index, {"use_cases": [case]})
    term = KB.get(key).terms[index]
    if case in (term.get("use_cases") or ()):
        pytest.skip("banned outright by the same term")
    assert effects(found) == [("field-of-use-restricted", "review")]
    if term.get("condition"):
        assert term.get("condition") in found[0].message


@pytest.mark.parametrize("key,index", with_term("field-of-use") + with_term("output-use-restriction"))
def test_use_ban_without_use_cases_is_review_and_unrelated_use_passes(tmp_path, key, index):
    found, _ = run_term(tmp_path, key, index, {})
    assert effects(found) == [("term-needs-review", "review")]
    found, obligations = run_term(tmp_path, key, index, {"use_cases": ["translation"]})
    assert found == [] and len(obligations) == 1


# --- research-only, evaluation-only --------------------------------------------------------------

@pytest.mark.parametrize("key,index", with_term("research-only"))
@pytest.mark.parametrize("context,expected", [
    ({"commercial": False, "use_cases": ["chat"]}, [("use-beyond-research", "deny")]),      # a free public app
    ({"commercial": False, "use_cases": ["research", "chat"]}, [("use-beyond-research", "deny")]),
    ({"commercial": False}, [("term-needs-review", "review")]),                               # nothing said
    ({"commercial": True, "use_cases": ["research", "evaluation"]}, []),                      # whatever commercial says
])
def test_research_only_holds_only_within_research_and_evaluation(tmp_path, key, index, context, expected):
    found, _ = run_term(tmp_path, key, index, context)
    assert effects(found) == expected


@pytest.mark.parametrize("key,index", with_term("evaluation-only"))
@pytest.mark.parametrize("cases,expected", [
    (["chat"], [("use-beyond-research", "deny")]),
    (["research"], [("use-beyond-research", "review")]),
    (["evaluation"], []),
])
def test_evaluation_only(tmp_path, key, index, cases, expected):
    found, _ = run_term(tmp_path, key, index, {"use_cases": cases})
    assert effects(found) == expected


# --- non-production, hosted services ------------------------------------------------------------

@pytest.mark.parametrize("key,index", with_term("non-production"))
@pytest.mark.parametrize("context,expected", [
    ({"commercial": False, "production": True, "use_cases": ["chat"]}, [("production-use", "deny")]),
    ({"commercial": False, "use_cases": ["chat"]}, [("term-needs-review", "review")]),
    ({"production": False, "use_cases": ["chat"]}, []),
    ({"use_cases": ["research", "evaluation"]}, []),
])
def test_non_production(tmp_path, key, index, context, expected):
    found, _ = run_term(tmp_path, key, index, context)
    assert effects(found) == expected


@pytest.mark.parametrize("key,index", with_term("no-hosted-service"))
@pytest.mark.parametrize("context,expected", [
    ({"commercial": False, "use_cases": ["hosting"]}, [("hosted-service-restricted", "deny")]),
    ({"use_cases": ["chat"], "third_party_access": True}, [("hosted-service-restricted", "review")]),
    ({}, [("term-needs-review", "review")]),
    ({"use_cases": ["research"], "third_party_access": False}, []),
])
def test_no_hosted_service(tmp_path, key, index, context, expected):
    found, _ = run_term(tmp_path, key, index, context)
    assert effects(found) == expected


# --- duties never change the verdict, and say what to do ------------------------------------------

_STORAGE = re.compile(r"\b(KB|knowledge base|stored|stores|split|record)\b", re.IGNORECASE)


def _all_duties():
    return [p for name in DUTY_ONLY for p in with_term(name)]


@pytest.mark.parametrize("key,index", _all_duties())
def test_duty_only_terms_are_obligations_that_never_change_the_verdict(tmp_path, key, index):
    found, obligations = run_term(tmp_path, key, index, {"commercial": True, "use_cases": ["chat"],
                                                          "production": True, "third_party_access": True})
    term = KB.get(key).terms[index]
    if term.type in ("registration-required", "royalty"):
        assert effects(found) == [("term-needs-review", "review")]
        return
    assert found == [] and [o.term for o in obligations] == [term.type]
    text = obligations[0].text
    assert text and not _STORAGE.search(text), text


@pytest.mark.parametrize("key,index", [p for t in ("publication-statement", "display-notice", "notice-file")
                                       for p in with_term(t)])
def test_required_statements_are_printed_word_for_word(tmp_path, key, index):
    rec = KB.get(key)
    term = rec.terms[index]
    text = _obligation_text(term, rec)
    if term.get("text"):
        assert f'"{term.get("text")}"' in text
    elif term.type == "notice-file" and term.get("section"):
        assert term.get("section") in text and "Notice" in text
    kinds = {"publication-statement": "publications", "display-notice": "display", "notice-file": "notice"}
    assert kinds[term.type] in text.lower()


def test_notice_line_read_from_the_shipped_text_or_else_section_and_url():
    from scanner.kb import Term
    rec = KB.get("llama3")
    term = Term("notice-file", {"section": "1.b.ii", "source": "s"}, rec.key)
    without = _obligation_text(term, rec)
    assert "section 1.b.ii" in without and (rec.url or "") in without and 'containing: "' not in without
    got = _obligation_text(term, rec, {rec.key: "Example Model is licensed under the Example License"})
    assert got.endswith('containing: "Example Model is licensed under the Example License"')


# --- unverified use policies are reviewed ---------------------------------------------------------

@pytest.mark.parametrize("key", [r.key for r in KB if r.kind == "use-policy" and not r.verified])
def test_unverified_use_policy_is_reviewed(key):
    import datetime as dt
    rec = KB.get(key)
    use = LicenseUse(key, rec.id, rec.version, rec.name, "use-policy", rec.category)
    mit = KB.get("mit")
    base = LicenseUse("mit", "mit", None, mit.name, mit.kind, mit.category)
    policy = load_policy("default")
    verdict, _, findings, _ = evaluate(None, None, (base, use), Classification(), (), KB, policy,
                                       dt.datetime(2026, 11, 28, tzinfo=dt.timezone.utc))
    assert verdict != "allow"
    assert any(f.code == "license-unverified" and f.license == key and f.effect == "review" for f in findings)


def test_there_are_unverified_use_policies_to_check():
    assert [r.key for r in KB if r.kind == "use-policy" and not r.verified]


# --- a license named without its version ------------------------------------------------------------

from scanner.result import Origin
from scanner.versions import expand_versions

MULTI = sorted({r.id for r in KB if len(KB.versions(r.id)) > 1})
ALL_MODALITIES = ("text", "image", "audio", "video", "3d")


def _label_use(rec, kind="card", method="metadata"):
    return LicenseUse(rec.key, rec.id, rec.version, rec.name, rec.kind, rec.category,
                      origins=(Origin(kind, "cardData.license", method, 1.0, rec.id),))


@pytest.mark.parametrize("license_id", MULTI)
def test_label_without_version_is_held_to_every_version_with_a_text_here(license_id):
    default = KB.resolve(license_id)
    expanded, findings = expand_versions((_label_use(default),), KB, ALL_MODALITIES)
    keys = {u.record for u in expanded}
    with_text = {r.key for r in KB.versions(license_id) if r.primary_text is not None}
    assert with_text | {default.key} <= keys
    without = {r.key for r in KB.versions(license_id) if r.primary_text is None and r.key != default.key}
    assert not (without & keys)
    finding, = findings
    assert finding.code == "license-version-unspecified" and finding.effect is None
    mentioned = {f"{r['id']}@{r['version']}" for r in finding.evidence["not_candidates"]}
    assert {KB.get(k).id + "@" + KB.get(k).version for k in without} == mentioned
    # a repository dated after a dated version without a text points to it
    later, _ = expand_versions((_label_use(default),), KB, ALL_MODALITIES, date="2099-01-01T00:00:00Z")
    dated = {r.key for r in KB.versions(license_id) if r.primary_text is None and re.match(r"\d{4}-\d\d-\d\d$", r.version or "")}
    assert dated <= {u.record for u in later}


@pytest.mark.parametrize("license_id", MULTI)
def test_a_text_or_a_link_fixes_the_version(license_id):
    default = KB.resolve(license_id)
    for kind, method in (("file", "exact"), ("card-license-link", "metadata")):
        expanded, findings = expand_versions((_label_use(default, kind, method),), KB, ALL_MODALITIES)
        assert [u.record for u in expanded] == [default.key] and findings == ()


def test_a_version_for_other_modalities_is_not_a_candidate():
    scoped = [r for r in KB if r.covers_modalities]
    assert scoped
    for rec in scoped:
        default = KB.resolve(rec.id)
        other = [m for m in ALL_MODALITIES if m not in rec.covers_modalities]
        expanded, _ = expand_versions((_label_use(default),), KB, other)
        assert rec.key not in {u.record for u in expanded}
        expanded, _ = expand_versions((_label_use(default),), KB, rec.covers_modalities)
        assert rec.key in {u.record for u in expanded}


# --- modality-scoped territory clauses, and modalities through lineage ------------------------------

def _scoped_territories():
    return [p for p in with_term("territory-exclusion") if KB.get(p.values[0]).terms[p.values[1]].get("modalities")]


@pytest.mark.parametrize("key,index", _scoped_territories())
def test_modality_scoped_territory_clause_turns_on_the_modalities(tmp_path, key, index):
    term = KB.get(key).terms[index]
    region = sorted(term.get("regions"))[0]
    region = "DE" if region in ("EU", "EEA") else region
    ctx = {"domicile": region, "deployment_regions": [region], "user_regions": [region]}
    scoped = list(term.get("modalities"))
    found, _ = run_term(tmp_path, key, index, ctx, modalities=["text", *scoped])
    assert effects(found) == [("territory-excluded", "deny")]
    others = [m for m in ("text", "audio") if m not in scoped]
    found, obligations = run_term(tmp_path, key, index, ctx, modalities=others)
    assert found == [] and obligations


def test_scoped_territory_clauses_exist():
    assert _scoped_territories()


@pytest.mark.parametrize("name,expected", [
    ("bartowski/Llama-3.2-11B-Vision-Instruct-GGUF", ("image", "text")),
    ("Qwen/Qwen2-VL-7B-Instruct", ("image", "text")),
    ("TheBloke/Llama-2-7B-GGUF", ()),
    ("someone/revision-model", ()),          # 'vision' inside a word is not the token
])
def test_name_modalities(name, expected):
    from scanner.classify import name_modalities
    assert name_modalities(name) == expected


def test_classification_includes_inherited_modalities():
    from scanner.classify import classify
    from scanner.evidence import Evidence
    ev = Evidence(target="x/y", source="local", repo_id="x/y")
    cls = classify(ev, ev, (), {}, {"image", "text"})
    assert cls.modalities == ("image", "text")
    assert any("inherited" in e for e in cls.evidence)
    assert classify(ev, ev, (), {}).modalities == ("text",)
