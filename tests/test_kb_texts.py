"""Records against their primary texts: the verification rule, the hashes, the clauses each text states
(table-driven over every record that has a text), and texts that differ from a record's."""

from __future__ import annotations

import hashlib
import json
import re
import subprocess
import sys

import pytest
import yaml
from conftest import ROOT, TEXTS, card, make_model_dir, run_cli

from scanner.textnorm import normalize

RECORDS = {}
for _p in sorted((ROOT / "licenses").glob("*.yaml")):
    _d = yaml.safe_load(_p.read_text(encoding="utf-8"))
    RECORDS[_d.get("record") or _d["id"]] = _d
GOVERNED = {k: d for k, d in RECORDS.items() if d["kind"] in ("model-license", "use-policy")}
WITH_TEXT = {k: d for k, d in RECORDS.items() if d.get("text")}


def corpus_text(name: str) -> str:
    path = TEXTS / name
    if not path.is_file():
        pytest.skip(f"reference corpus not present: {path}")
    return path.read_text(encoding="utf-8", errors="replace")


@pytest.mark.parametrize("key", sorted(GOVERNED))
def test_verified_only_with_a_primary_text_and_sections(key):
    d = GOVERNED[key]
    cited = bool(d.get("text")) and all(t.get("section") for t in d.get("terms") or ())
    assert d["verified"] == cited, (key, ("verified must be true exactly when the record stores its text's hash "
                                         "and every term cites a section"))


@pytest.mark.parametrize("key", sorted(WITH_TEXT))
def test_stored_hash_is_the_corpus_text(key):
    text = WITH_TEXT[key]["text"]
    path = TEXTS / text["file"]
    if not path.is_file():
        pytest.skip(f"reference corpus not present: {path}")
    assert hashlib.sha256(path.read_bytes()).hexdigest() == text["sha256"], key


def test_every_model_text_in_the_corpus_has_its_record():
    if not TEXTS.is_dir():
        pytest.skip("reference corpus not present")
    stored = {d["text"]["file"] for d in WITH_TEXT.values()}
    reference = json.loads((ROOT / "scanner" / "data" / "reference.json").read_text())
    labels = {t["label"] for t in reference["texts"]}
    assert labels <= stored, sorted(labels - stored)
    assert not reference["problems"]


@pytest.mark.parametrize("key,verified", [
    ("qwen", True), ("llama1", True), ("falcon-2-11b-tii-license-1.0", True), ("tencent-license@hunyuan3d-2.0", True),
    ("stabilityai-nc-research-community", True), ("nvidia-open-model-license@2025-04-28", True),
    ("mnpl", False), ("mrl", False), ("falcon-180b-aup", False), ("gemma@2026-04-01", False),
    ("nvidia-open-model-license@other", False), ("stabilityai-aup", False), ("c4ai-aup", False),
    ("databricks-open-model-aup", False), ("nvidia-trustworthy-ai-terms", False), ("qwen-research", False),
])
def test_named_records_follow_the_rule(key, verified):
    assert RECORDS[key]["verified"] is verified


# A clause a text states -> the term its record must type. (pattern on the normalised text, predicate on
# the record's terms, why). Every record with a primary text is checked, not just the ones the issue names.
def _has(kind, case=None):
    def pred(terms):
        for t in terms:
            if t["type"] != kind:
                continue
            if case is None or case in (t.get("use_cases") or ()) or case in (t.get("conditional_use_cases") or ()):
                return True
        return False
    return pred


CLAUSES = [
    ("export", r"export control|trade compliance|trade control laws|export, import", _has("export-control")),
    ("patent-or-ip-suit", (r"(institute|commence|file|participates? in)[^.;]{0,60}(litigation|lawsuit|legal proceeding)"
                          r"[^.]{0,300}(terminat|revoked)"), _has("patent-retaliation")),
    ("military", r"\bmilitary\b", _has("field-of-use", "military")),
    ("critical-infrastructure", r"critical[- ]infrastructure", _has("field-of-use", "critical-infrastructure")),
    ("medical-advice", r"medical advice|medical diagnosis", _has("field-of-use", "medical")),
    ("justice", r"administration of justice|law enforcement, immigration", _has("field-of-use", "justice")),
    ("machine-generated", r"machine generated|human-generated|human generated|created by a human",
     _has("ai-content-disclosure")),
    ("mau", r"monthly active users", lambda ts: _has("mau-threshold")(ts) or _has("display-notice")(ts)),
    ("research-only", (r"solely for research purposes|exclusively for research purposes|research or evaluation purposes only"
                      r"|non-commercial research purposes"), _has("research-only")),
    ("hosted-service-ban", r"enable third parties to use the software products or derivative works as part of your hosted",
     _has("no-hosted-service")),
    ("publication", r"in any public statement regarding a derivative work", _has("publication-statement")),
]
# Where a clause pattern matches but the record rightly has no such term, and why.
NOT_A_TERM = {
    ("llama3", "military"): "the Llama 3 file appends its use policy; the ban is typed in llama3-aup",
    ("llama3", "critical-infrastructure"): "the Llama 3 file appends its use policy; typed in llama3-aup",
    ("llama3", "machine-generated"): "the Llama 3 file appends its use policy; typed in llama3-aup",
}


@pytest.mark.parametrize("key", sorted(k for k in WITH_TEXT if RECORDS[k]["kind"] in ("model-license", "use-policy")))
def test_each_clause_the_text_states_is_typed(key):
    d = RECORDS[key]
    norm = normalize(corpus_text(d["text"]["file"]))
    missing = []
    for name, pattern, pred in CLAUSES:
        if re.search(pattern, norm) and not pred(d.get("terms") or []) and (key, name) not in NOT_A_TERM:
            missing.append(name)
    assert not missing, f"{key}: the text states {missing} but the record has no such term"


STORAGE_WORDS = re.compile(r"\b(record|knowledge base|yaml|stored|stores|schema|field)\b", re.IGNORECASE)


@pytest.mark.parametrize("key", sorted(GOVERNED))
def test_term_notes_speak_to_the_deployer(key):
    for t in GOVERNED[key].get("terms") or ():
        for text in (t.get("note") or "", t.get("text") or "", t.get("condition") or ""):
            assert not STORAGE_WORDS.search(text), (key, t["type"], text)


@pytest.mark.parametrize("key", sorted(GOVERNED))
def test_required_statements_are_short(key):
    for t in GOVERNED[key].get("terms") or ():
        if t.get("text"):
            assert len(t["text"].split()) <= 15, (key, t["type"])


def test_hunyuan3d_text_is_its_own_record_not_v2(kb):
    from scanner.textid import identify_text
    matches = identify_text(corpus_text("tencent-hunyuan-3d-2.0.LICENSE.txt"), kb)
    assert [m.record for m in matches] == ["tencent-license@hunyuan3d-2.0"]
    assert kb.get("tencent-license@hunyuan3d-2.0").terms[1].get("users") == 1_000_000
    assert "3D" not in (kb.get("tencent-license@v2").summary or "").replace("Hunyuan 3D 2.0 has its own", "")


# Another version or variant of a text: one clause changed. It is matched as a modified copy of the
# record (and so reviewed), never taken for the record itself.
VARIANTS = [
    ("tencent-hunyuan-v2.LICENSE.txt", "greater than 100 million monthly active users", "greater than 1 million monthly active users"),
    ("qwen.LICENSE.txt", "more than 100 million monthly active users", "more than 10 million monthly active users"),
    ("llama3.1.LICENSE.txt", "greater than 700 million monthly active users", "greater than 70 million monthly active users"),
    ("nvidia-open-model.LICENSE.txt", "your rights under this Agreement will automatically terminate",
     "your rights under this Agreement will automatically terminate unless you put in place a substantially similar guardrail"),
    ("bigscience-openrail-m.LICENSE.txt", "To provide medical advice and medical results interpretation",
     "To provide medical advice and medical results interpretation for human patients without review by a physician"),
    ("stabilityai-nc-research-community.LICENSE.txt", "for Non-Commercial Uses only", "for Non-Commercial Uses and commercial evaluation"),
]


@pytest.mark.parametrize("name,old,new", VARIANTS, ids=[v[0] for v in VARIANTS])
def test_a_text_changed_in_a_clause_is_modified_not_the_record(kb, tmp_path, name, old, new):
    from scanner.textid import identify_text
    text = corpus_text(name)
    assert old in text
    variant = text.replace(old, new, 1)
    matches = identify_text(variant, kb)
    assert matches and all(m.method != "exact" for m in matches)
    assert any(m.modified for m in matches)
    d = make_model_dir(tmp_path, "variant", card({"license": "other", "license_name": "custom"}), {"LICENSE": variant})
    proc = run_cli("check", str(d), "--format", "json", "--now", "2026-11-28T00:00:00Z",
                   "--context", "monthly_active_users=1000")
    result = json.loads(proc.stdout)["results"][0]
    assert "license-text-modified" in {f["code"] for f in result["findings"]}, result["findings"]
    assert result["verdict"] != "allow"


def test_docs_table_is_current():
    proc = subprocess.run([sys.executable, str(ROOT / "scripts" / "gen_license_table.py"), "--check"],
                          check=False, capture_output=True, text=True, cwd=ROOT)
    assert proc.returncode == 0, proc.stdout + proc.stderr
