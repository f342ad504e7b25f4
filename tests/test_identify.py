"""Issue 3: identify licenses from their texts, tell versions apart, and catch cards that disagree.

Reference texts are read from ../shared/corpus/license-texts at run time (skipped when absent);
the variants of them are made here, in memory, by the benchmark's own generators.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import json
import time

import pytest

from conftest import NOW, ROOT, TEXTS, card, make_model_dir, reference_text, run_cli

from support.modules import load_module

bench = load_module("benchmarks/identify_bench.py")

from scanner.evidence import Evidence  # noqa: E402
from scanner.sources.files import file_evidence  # noqa: E402
from scanner.textid import identify_hash, identify_text, words  # noqa: E402
from scanner.textnorm import normalized_sha256  # noqa: E402

CORPUS = sorted(p.name for p in TEXTS.glob("*.*") if p.name != "SOURCES.md") if TEXTS.is_dir() else ["(absent)"]
# every text in every variant kind; a use policy is appended to the licenses whose policy the corpus holds
VARIANTS = [(n, k) for n in CORPUS for k in bench.VARIANT_KINDS if k != "aup-appended" or n in bench.AUP_OF]


def records(matches) -> list[str]:
    return [m.record for m in matches]


# --- every reference text, as it is and in every variant kind ------------------------------------

@pytest.fixture(scope="module")
def cases(kb):
    if not TEXTS.is_dir():
        pytest.skip(f"reference corpus not present: {TEXTS}")
    return {(c.name, c.kind): c for c in bench.positive_cases(TEXTS, kb)}


@pytest.mark.parametrize("name,kind", VARIANTS)
def test_reference_text_identified_with_its_version(cases, kb, name, kind):
    c = cases[(name, kind)]
    matches = identify_text(c.text, kb)
    assert bench.judge(c, tuple(records(matches))), (c.expected, [(m.record, m.detail) for m in matches])
    for m in matches:
        assert m.confidence >= (0.8 if kind == "truncated" else 0.9) and m.method in ("exact", "near")
        assert m.reference and 0 < m.candidate_coverage <= 1 and 0 < m.reference_coverage <= 1
    if kind == "canonical":
        assert all(m.method == "exact" and m.confidence == 1.0 for m in matches)
    if kind in ("quotes", "header", "aup-appended") and name.startswith("llama") and "LICENSE" in name:
        assert not any(m.modified for m in matches), [m.detail for m in matches]
    if kind == "truncated" and len(c.expected) == 1 and matches[0].reference_coverage < 0.98:
        assert matches[0].modified and "missing" in matches[0].detail


def test_identify_hash_alone_still_identifies(kb):
    text = reference_text("llama3.2.LICENSE.txt")
    assert records(identify_hash(normalized_sha256(text), kb)) == ["llama3.2"]
    assert identify_hash("0" * 64, kb) == [] and identify_hash(None, kb) == []
    both = identify_hash(normalized_sha256(reference_text("llama3.LICENSE.txt")), kb)
    assert records(both) == ["llama3", "llama3-aup"]
    assert 0.5 < both[0].candidate_coverage < 0.8 and both[0].reference == "llama3.LICENSE.txt#1"


# --- one file, two texts ---------------------------------------------------------------------------

def test_license_with_its_use_policy_appended_yields_both(kb):
    text = bench.HEADER + reference_text("llama3.LICENSE.txt")        # not byte-identical: near matching
    matches = identify_text(text, kb)
    assert records(matches) == ["llama3", "llama3-aup"]
    lic, aup = matches
    assert lic.method == aup.method == "near" and not lic.modified and not aup.modified
    assert lic.reference == "llama3.LICENSE.txt#1" and aup.reference_coverage == 1.0
    assert 0.55 < lic.candidate_coverage < 0.75 and 0.25 < aup.candidate_coverage < 0.45
    # and the pair Meta ships separately, concatenated
    joined = reference_text("llama3.2.LICENSE.txt") + "\n\n" + reference_text("llama3.2.USE_POLICY.md")
    assert records(identify_text(joined, kb)) == ["llama3.2", "llama3.2-aup"]


# --- a modified copy -------------------------------------------------------------------------------

CLAUSE = ("Additional restriction. Licensee shall not deploy the Llama Materials in any system that "
          "targets weapons or surveils journalists.")


def test_modified_copy_is_based_on_its_reference_with_the_added_passages(kb):
    paras = reference_text("llama3.1.LICENSE.txt").split("\n\n")
    mid = len(paras) // 2
    text = "\n\n".join(paras[:mid] + [CLAUSE] + paras[mid:]).replace("Meta", "Acme")
    (m,) = identify_text(text, kb)
    assert m.record == "llama3.1" and m.method == "near" and m.modified
    assert m.reference == "llama3.1.LICENSE.txt" and 0.8 < m.reference_coverage < 0.98
    assert any("shall not deploy the llama materials" in p for p in m.added)
    assert any(p.split()[0] == "acme" for p in m.added)
    assert "based on llama3.1.LICENSE.txt" in m.detail and "modified" in m.detail
    assert m.confidence < 0.95


def test_clause_appended_at_the_end_is_a_modification(kb):
    text = reference_text("llama3.1.LICENSE.txt") + "\n\n" + CLAUSE + "\n"
    (m,) = identify_text(text, kb)
    assert m.record == "llama3.1" and m.modified and any("surveils journalists" in p for p in m.added)


def test_header_before_the_license_is_not_a_modification(kb):
    (m,) = identify_text(bench.HEADER + reference_text("apache-2.0.LICENSE.txt"), kb)
    assert m.record == "apache-2.0" and m.method == "near" and not m.modified and m.added == ()
    assert m.reference_coverage == 1.0 and m.candidate_coverage < 1.0


# --- versions: markers decide, shared boilerplate never does ---------------------------------------

@pytest.mark.parametrize("name,expected,never", [
    ("llama3.LICENSE.txt", "llama3", {"llama3.1", "llama2", "databricks-open-model-license"}),
    ("llama3.1.LICENSE.txt", "llama3.1", {"llama3", "llama3.2", "llama3.3", "llama4"}),
    ("llama3.2.LICENSE.txt", "llama3.2", {"llama3.1", "llama3.3", "llama4"}),
    ("llama3.3.LICENSE.txt", "llama3.3", {"llama3.2", "llama4"}),
    ("llama4.LICENSE.txt", "llama4", {"llama3.2", "llama3.3"}),
    ("llama2.USE_POLICY.md", "llama2-aup", {"llama3-aup"}),
    ("llama3.USE_POLICY.md", "llama3-aup", {"llama2-aup", "llama3.1-aup"}),
    ("llama3.2.USE_POLICY.md", "llama3.2-aup", {"llama3.3-aup", "llama4-aup"}),
    ("gemma-2024-04-01.LICENSE.txt", "gemma@2024-04-01", {"gemma@2025-03-24", "gemma@2026-04-01"}),
    ("gemma-2025-03-24.LICENSE.txt", "gemma@2025-03-24", {"gemma@2024-04-01", "gemma@2026-04-01"}),
    ("tongyi-qianwen.LICENSE.txt", "tongyi-qianwen", {"qwen", "tongyi-qianwen-research"}),
    ("qwen.LICENSE.txt", "qwen", {"tongyi-qianwen", "qwen-research"}),
    ("creativeml-openrail-m.LICENSE.txt", "creativeml-openrail-m", {"openrail++", "bigscience-openrail-m"}),
    ("openrail++.LICENSE.txt", "openrail++", {"creativeml-openrail-m"}),
    ("bigscience-openrail-m.LICENSE.txt", "bigscience-openrail-m", {"bigscience-bloom-rail-1.0"}),
    ("bigscience-bloom-rail-1.0.LICENSE.txt", "bigscience-bloom-rail-1.0", {"bigscience-openrail-m"}),
    ("deepseek.LICENSE.txt", "deepseek", {"openrail++", "creativeml-openrail-m", "bigscience-openrail-m"}),
    ("tencent-hunyuan-v1.LICENSE.txt", "tencent-license@v1", {"tencent-license@v2"}),
    ("tencent-hunyuan-v2.LICENSE.txt", "tencent-license@v2", {"tencent-license@v1"}),
    ("databricks-open-model.LICENSE.txt", "databricks-open-model-license", {"llama2", "llama3", "llama3.1"}),
])
def test_families_are_never_confused(kb, name, expected, never):
    text = reference_text(name)
    for form in (bench.HEADER + text, bench.rewrapped(text), bench.truncated(text)):
        got = records(identify_text(form, kb))
        assert got[0] == expected and not (set(got) & never), got


def test_markers_name_a_version_whose_text_is_not_a_reference(kb):
    gemma = reference_text("gemma-2025-03-24.LICENSE.txt").replace("March 24, 2025", "April 1, 2026")
    (m,) = identify_text(gemma, kb)
    assert m.record == "gemma@2026-04-01" and "markers" in m.detail and m.reference == "gemma-2025-03-24.LICENSE.txt"
    research = reference_text("qwen.LICENSE.txt").replace("Qwen LICENSE AGREEMENT", "Qwen RESEARCH LICENSE AGREEMENT")
    assert records(identify_text(research, kb)) == ["qwen-research"]


def test_shared_boilerplate_alone_does_not_decide_the_version(kb):
    # every mention of the version gone: title, dates line, notice, URLs
    text = reference_text("llama3.1.LICENSE.txt").replace(" 3.1", "").replace("llama3_1", "llama")
    (m,) = identify_text(text, kb)
    assert m.record in ("llama3.1", "llama3.2", "llama3.3", "llama4")
    assert m.confidence <= 0.6 and "version uncertain" in m.detail


def test_marker_fallback_for_a_license_without_reference_text(kb):
    # An MRL-like text (no reference ships): its own markers in a text written like a license.
    body = " ".join(["The Licensee shall comply with this Agreement and any warranty disclaimer herein;"
                     " liability is limited and the Licensor may terminate on breach."] * 8)
    text = ("Mistral AI Research License\n\n" + body + "\n\nLicensed by Mistral AI under the Mistral AI "
            "Research License. You shall use the models solely for (a) personal, scientific or academic research.")
    (m,) = identify_text(text, kb)
    assert m.record == "mrl" and m.method == "marker" and len(m.markers) >= 2
    # the same markers in a README-like mention are not a license
    mention = "This model is released under the Mistral AI Research License (MRL). See the license file."
    assert identify_text(mention, kb) == []


# --- negatives -------------------------------------------------------------------------------------

@pytest.mark.parametrize("case", bench.negative_cases(), ids=lambda c: c.name)
def test_negatives_produce_no_match(kb, case):
    assert identify_text(case.text, kb) == []


def test_readme_notice_or_mention_is_no_match(kb):
    text = ("# Model\n\n## License\n\nLlama 3.1 is licensed under the Llama 3.1 Community License, Copyright "
            "\u00a9 Meta Platforms, Inc. All Rights Reserved. Built with Llama.\n")
    assert identify_text(text, kb) == []


# --- hostile input ---------------------------------------------------------------------------------

def test_empty_binary_huge_and_latin1_text_never_crash(kb):
    assert identify_text("", kb) == [] and identify_text(" \n\t ", kb) == []
    assert identify_text("\x00\x01\x02" * 1000, kb) == []
    t0 = time.perf_counter()
    assert identify_text("lorem ipsum dolor " * 3_000_000, kb) == []          # ~54 MB of text
    assert time.perf_counter() - t0 < 10
    latin = reference_text("mit.LICENSE.txt").encode("utf-8").decode("latin-1")
    assert records(identify_text(latin, kb)) == ["mit"]
    # a copy saved as Windows-1252 (curly quotes and all) reads and identifies like the original
    fe = file_evidence("LICENSE", reference_text("llama3.2.LICENSE.txt").encode("cp1252"))
    assert fe.readable and records(identify_text(fe.text, kb)) == ["llama3.2"]


@pytest.mark.parametrize("content,status,words_", [
    (b"", "ok", "empty"),
    (bytes(range(256)) * 40, "binary", "binary"),
    ("Licence fran\u00e7aise: ceci n'est pas une licence.\n".encode("latin-1"), "ok", "unidentified"),
    (None, "too-large", "too-large"),
])
def test_cli_identify_reports_unreadable_files_clearly(tmp_path, content, status, words_):
    path = tmp_path / "LICENSE"
    if content is None:                                       # 50 MB, written sparsely
        with path.open("wb") as fh:
            fh.truncate(50 * 1024 * 1024)
    else:
        path.write_bytes(content)
    t0 = time.perf_counter()
    proc = run_cli("identify", str(path))
    assert time.perf_counter() - t0 < 20
    assert proc.returncode == 1 and "Traceback" not in proc.stderr
    assert words_ in proc.stdout, proc.stdout
    data = json.loads(run_cli("identify", str(path), "--format", "json").stdout)
    assert data[0]["status"] == status and data[0]["matches"] == []


def test_cli_identify_prints_version_coverage_and_added_passages(tmp_path):
    paras = reference_text("llama3.1.LICENSE.txt").split("\n\n")
    (tmp_path / "LICENSE").write_text("\n\n".join(paras[:5] + [CLAUSE] + paras[5:]), encoding="utf-8")
    (tmp_path / "FULL").write_text(reference_text("llama3.LICENSE.txt"), encoding="utf-8")
    proc = run_cli("identify", str(tmp_path / "LICENSE"), str(tmp_path / "FULL"))
    assert proc.returncode == 0, proc.stderr
    out = proc.stdout
    assert "llama3.1 [version 3.1]" in out and "modified" in out and "covers" in out
    assert "+ additional restriction licensee shall not deploy" in out
    assert "llama3 [version 3]" in out and "llama3-aup [version 3]" in out
    data = json.loads(run_cli("identify", str(tmp_path / "LICENSE"), "--format", "json").stdout)
    (m,) = data[0]["matches"]
    assert m["record"] == "llama3.1" and m["modified"] is True and m["added"]
    assert 0 < m["reference_coverage"] < 1 and 0 < m["candidate_coverage"] < 1


# --- reconciliation through the CLI and the core ---------------------------------------------------

def check(d, *extra):
    proc = run_cli("check", str(d), "--format", "json", "--now", NOW, *extra)
    assert proc.stdout and "Traceback" not in proc.stderr, proc.stderr
    return json.loads(proc.stdout)["results"][0]


def ids(uses) -> list[str]:
    return [u["id"] for u in uses]


def test_apache_label_on_llama3_text_is_a_mismatch_and_llama3_binds(tmp_path):
    d = make_model_dir(tmp_path, "relabeled", card({"license": "apache-2.0"}),
                       {"LICENSE": reference_text("llama3.LICENSE.txt")})
    r = check(d)
    assert ids(r["licenses"]["declared"]) == ["apache-2.0"]
    assert "llama3" in ids(r["licenses"]["effective"]) and "apache-2.0" not in ids(r["licenses"]["effective"])
    assert "llama3-aup" in ids(r["licenses"]["effective"])
    (mm,) = [f for f in r["findings"] if f["code"] == "license-mismatch"]
    assert "Apache" in mm["message"] and "Llama 3" in mm["message"]
    assert mm["evidence"]["declared"]["id"] == "apache-2.0" and mm["evidence"]["declared"]["where"]
    detected = mm["evidence"]["detected"]
    assert [x["id"] for x in detected] == ["llama3"] and detected[0]["where"] == ["LICENSE"]
    # the policy sees llama3's terms
    terms = {(o["term"], o["license"]["id"]) for o in r["obligations"]}
    assert ("mau-threshold", "llama3") in terms and ("derivative-naming", "llama3") in terms
    # and the report shows the per-file matches with their coverage
    (lic,) = [f for f in r["files"] if f["path"] == "LICENSE"]
    assert [m["record"] for m in lic["matches"]] == ["llama3", "llama3-aup"]
    assert all({"candidate_coverage", "reference_coverage", "modified", "added"} <= set(m) for m in lic["matches"])


def test_no_license_key_but_a_gate_prompt_with_llama2_gets_llama2(tmp_path):
    d = make_model_dir(tmp_path, "gated", card({"extra_gated_prompt": reference_text("llama2.LICENSE.txt")}))
    r = check(d)
    assert ids(r["licenses"]["declared"]) == []
    assert ids(r["licenses"]["effective"])[:1] == ["llama2"]
    codes = {f["code"] for f in r["findings"]}
    assert {"card-no-license", "license-from-gate-prompt"} <= codes
    (gate,) = [f for f in r["files"] if f["path"] == "cardData.extra_gated_prompt"]
    assert gate["matches"][0]["record"] == "llama2"


def test_card_without_front_matter_and_a_gate_prompt_through_the_core(kb, default_policy):
    from scanner.analyze import analyze

    prompt = "Please read the terms below before you request access.\n\n" + reference_text("llama2.LICENSE.txt")
    readme = file_evidence("README.md", b"# A model\n\nNo front matter here.\n")
    ev = Evidence(target="org/model", source="hub", repo_id="org/model", sha="a" * 40,
                  card_data={"extra_gated_prompt": prompt}, files=(readme,))
    r = analyze(ev, {}, kb, default_policy, dt.datetime(2026, 11, 28, tzinfo=dt.timezone.utc))
    assert [u.id for u in r.licenses.declared] == []
    assert [u.id for u in r.licenses.effective][:1] == ["llama2"]
    origin = r.licenses.effective[0].origins[0]
    assert origin.kind == "gate-prompt" and origin.method == "near" and origin.where == "cardData.extra_gated_prompt"
    assert any(f.code == "card-no-license" and "llama" in f.message.lower() for f in r.findings)


def test_no_license_key_and_a_license_file_gets_that_license(tmp_path):
    d = make_model_dir(tmp_path, "nokey", card({"language": "en"}), {"LICENSE": reference_text("qwen.LICENSE.txt")})
    r = check(d)
    assert ids(r["licenses"]["effective"]) == ["qwen"]
    (f,) = [f for f in r["findings"] if f["code"] == "card-no-license"]
    assert "LICENSE" in f["message"]


def test_unidentified_license_file_is_reported_never_guessed(tmp_path):
    text = ("Example Labs Model License\n\nYou may use these weights for anything except selling "
            "sandwiches. The authors give no warranty. This license ends if you sue us.\n")
    d = make_model_dir(tmp_path, "custom", card({"license": "mit"}), {"LICENSE": text})
    r = check(d)
    (f,) = [f for f in r["findings"] if f["code"] == "license-file-unidentified"]
    assert f["evidence"]["file"] == "LICENSE" and "read it" in f["message"]
    assert ids(r["licenses"]["detected"]) == [] and ids(r["licenses"]["effective"]) == ["mit"]
    assert r["verdict"] != "allow"


@pytest.mark.parametrize("name,content,code", [
    ("empty", b"", "license-file-unidentified"),
    ("binary", bytes(range(256)) * 40, "file-binary"),
    ("latin1", "Licence fran\u00e7aise, rien de plus.\n".encode("latin-1"), "license-file-unidentified"),
])
def test_check_with_hostile_license_files_gives_a_finding(tmp_path, name, content, code):
    d = make_model_dir(tmp_path, name, card({"license": "apache-2.0"}), {"LICENSE": content})
    r = check(d)
    assert code in {f["code"] for f in r["findings"]} and r["verdict"] != "allow"


def test_check_with_a_50_mb_license_file_is_bounded(tmp_path):
    d = make_model_dir(tmp_path, "huge", card({"license": "apache-2.0"}))
    with (d / "LICENSE").open("wb") as fh:
        fh.truncate(50 * 1024 * 1024)
    t0 = time.perf_counter()
    r = check(d)
    assert time.perf_counter() - t0 < 30
    assert "file-too-large" in {f["code"] for f in r["findings"]} and r["verdict"] != "allow"


def test_readme_license_section_with_a_full_text_is_detected(tmp_path):
    body = ("# Model\n\nIntro.\n\n## Usage\n\nRun it.\n\n## License\n\n" + reference_text("mit.LICENSE.txt")
            + "\n\n## Citation\n\nCite us.\n")
    d = make_model_dir(tmp_path, "readme-mit", card({"license": "apache-2.0"}, body))
    r = check(d)
    assert "mit" in ids(r["licenses"]["detected"])
    (sec,) = [f for f in r["files"] if f["path"] == "README.md#license"]
    assert sec["matches"][0]["record"] == "mit"
    assert "license-mismatch" in {f["code"] for f in r["findings"]}
    # a section that only names the license is a mention, not a text
    d2 = make_model_dir(tmp_path, "readme-mention",
                        card({"license": "mit"}, "# M\n\n## License\n\nMIT, see LICENSE.\n"))
    r2 = check(d2)
    assert ids(r2["licenses"]["detected"]) == [] and not [f for f in r2["files"] if f["path"].startswith("README")]


def test_license_sections_follow_headings():
    from scanner.identify import license_sections

    body = ("# Title\n\nintro\n\n## License\n\nalpha\n\n### 1. Definitions\n\nbravo\n\n## 2. Grant\n\n"
            "charlie\n\n## Usage\n\ndelta\n\n# LLAMA 3.1 COMMUNITY LICENSE AGREEMENT\n\necho\n")
    sec = license_sections(body)
    assert all(w in sec for w in ("alpha", "bravo", "charlie", "echo"))
    assert "delta" not in sec and "intro" not in sec


# --- speed, loosely (benchmarks/identify_bench.py measures it) -------------------------------------

def test_fingerprint_words_skip_numbering_but_keep_versions():
    assert words("1. grant (a) of rights ii. to llama 2 and llama 3.1.") == \
        ["grant", "of", "rights", "to", "llama", "2", "and", "llama", "3.1"]
    assert words("see https://www.llama.com/x https://llama.com/x now") == ["see", "llama.com/x", "now"]


def test_reference_data_ships_no_text():
    data = json.loads((ROOT / "scanner" / "data" / "reference.json").read_text())
    assert data["version"] >= 2 and data["index"]["hashes"]
    for entry in data["texts"]:
        assert set(entry) <= {"label", "records", "normalized_sha256", "sha256", "words", "segments"}
        for seg in entry["segments"]:
            assert set(seg) <= {"label", "record", "normalized_sha256", "words", "shingles", "index"}
    digest = hashlib.sha256(b"").hexdigest()
    assert all(e["normalized_sha256"] != digest for e in data["texts"])
