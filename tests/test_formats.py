"""Report formats (scanner/formats): each renders the one result model and validates against
its format's schema or validator.

Reports come from the real CLI on the shipped offline snapshot (an allowed, a reviewed, a
denied and an errored model, plus a derivative with lineage), and from in-process scans whose
results get deployment locations filled in, as the gate will fill them.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import json
import re
import subprocess
import sys
import xml.etree.ElementTree as ET
from pathlib import Path

import pytest

from conftest import EXAMPLES, NOW, ROOT, SHARED, run_cli
from scanner import formats
from scanner.findings import RULES, Finding
from scanner.formats.interface import Format
from scanner.result import Classification, LicenseUse, Licenses, LineageEdge, LineageGraph, LineageNode, Location, \
    Obligation, Report, Result

SARIF_SCHEMA = SHARED / "schemas" / "sarif-schema-2.1.0.json"

TARGETS = {
    "mistralai/Mistral-7B-v0.1": "allow",
    "watt-ai/watt-tool-70B": "review",            # apache-2.0 label over its Llama 3.3 base
    "mistralai/Codestral-22B-v0.1": "deny",
    "meta-llama/Llama-3-70B": "error",            # not on the Hub (the real one is Meta-Llama-3-70B)
    "QuantFactory/Meta-Llama-3-8B-Instruct-GGUF": "allow",   # quantized from meta-llama/Meta-Llama-3-8B-Instruct
}
GGUF = "QuantFactory/Meta-Llama-3-8B-Instruct-GGUF"
GGUF_BASE = "meta-llama/Meta-Llama-3-8B-Instruct"


# ---------------------------------------------------------------- reports

_CLI_CACHE: dict[str, subprocess.CompletedProcess] = {}


def cli(fmt: str) -> subprocess.CompletedProcess:
    """`modelscan check <TARGETS> --format fmt` on the snapshot (memoised per format)."""
    if fmt not in _CLI_CACHE:
        proc = run_cli("check", *TARGETS, "--snapshot", "examples/hub", "--format", fmt, "--now", NOW)
        assert proc.returncode == 2, proc.stderr       # one target errors: 2 wins
        assert proc.stdout, proc.stderr
        assert "Traceback" not in proc.stderr, proc.stderr
        _CLI_CACHE[fmt] = proc
    return _CLI_CACHE[fmt]


@pytest.fixture(scope="module")
def json_report() -> dict:
    return json.loads(cli("json").stdout)


@pytest.fixture(scope="module")
def scanned(kb, default_policy) -> Report:
    """The same targets scanned in-process."""
    from scanner.scan import Scanner
    from scanner.sources.local import LocalSource
    from scanner.sources.snapshot import SnapshotSource

    now = dt.datetime.fromisoformat(NOW.replace("Z", "+00:00"))
    scanner = Scanner(SnapshotSource(EXAMPLES), kb, default_policy, now, local=LocalSource())
    return scanner.scan(list(TARGETS))


DEPLOY_LOCATIONS = {
    # Codestral (deny) is referenced by two deployments; watt-tool (review) by one file without a deployment name
    "mistralai/Codestral-22B-v0.1": (
        Location("deploy/chat-prod/values.yaml", 12, "helm", column=9, deployment="chat-prod"),
        Location("deploy/batch/job.yaml", 40, "k8s", deployment="batch-summarise"),
    ),
    "watt-ai/watt-tool-70B": (Location("services/rag/model.toml", 3),),
    "mistralai/Mistral-7B-v0.1": (Location("deploy/chat-prod/values.yaml", 30, deployment="chat-prod"),),
}


@pytest.fixture(scope="module")
def located(scanned) -> Report:
    """The in-process report with Result.locations filled in."""
    results = tuple(dataclasses.replace(r, locations=DEPLOY_LOCATIONS.get(r.target, ())) for r in scanned.results)
    return dataclasses.replace(scanned, results=results)


NASTY = "evil | name *bold* [link](https://example.invalid) <img src=x> `code` _under_ # hash"


@pytest.fixture(scope="module")
def odd(scanned) -> Report:
    """Values with markup, a license no record knows, an odd local target and an unreadable parent."""
    base = next(r for r in scanned.results if r.target == "mistralai/Codestral-22B-v0.1")
    unknown = LicenseUse(record=None, id="acme-model-license", version=None, name="ACME | Model *License*")
    apache = LicenseUse(record="apache-2.0", id="apache-2.0", version=None, name="Apache License 2.0")
    weird = Result(
        target="./models/my fine tune (v2)", repo_id=None, revision=None, sha=None, source="local",
        verdict="review", reasons=(NASTY,),
        licenses=Licenses(declared=(apache,), detected=(unknown,), effective=(apache, unknown)),
        classification=Classification("open-weights", "unknown", "Open weights | unknown *license*"),
        findings=(Finding("license-unresolved", NASTY, effect="review", license=None),),
        obligations=(Obligation("attribution-notice", "apache-2.0", "Keep the NOTICE | file"),),
        lineage=LineageGraph(nodes=(LineageNode("./models/my fine tune (v2)", None),
                                    LineageNode("acme/base-model", None, error="gated")),
                             edges=(LineageEdge("./models/my fine tune (v2)", "acme/base-model", "finetune"),)),
        locations=(Location("infra/model registry.yaml", 7, deployment="team|alpha"),))
    return dataclasses.replace(scanned, results=(base, weird))


# ---------------------------------------------------------------- registry

def test_registry_lists_every_format():
    assert formats.FORMATS == ("table", "json", "sarif", "junit", "markdown", "cyclonedx", "spdx")
    for name in formats.FORMATS:
        assert isinstance(formats.get(name), Format)
    with pytest.raises(KeyError):
        formats.get("pdf")


def test_check_offers_every_format():
    proc = run_cli("check", "--help")
    assert proc.returncode == 0
    for name in formats.FORMATS:
        assert name in proc.stdout


def test_help_imports_no_format_library():
    code = ("import sys\nfrom scanner.cli import main\ntry:\n    main(['check', '--help'])\nexcept SystemExit:\n"
            "    pass\nprint(sorted(m for m in ('cyclonedx', 'spdx_tools', 'packageurl', 'license_expression', "
            "'rich') if m in sys.modules))")
    proc = subprocess.run([sys.executable, "-c", code], cwd=ROOT, capture_output=True, text=True, timeout=60)
    assert proc.returncode == 0, proc.stderr
    assert proc.stdout.strip().splitlines()[-1] == "[]"


@pytest.mark.parametrize("fmt, blocked", [("cyclonedx", "cyclonedx"), ("spdx", "spdx_tools")])
def test_missing_library_is_format_unavailable(monkeypatch, fmt, blocked):
    for name in [m for m in sys.modules if m == blocked or m.startswith(blocked + ".")] + [blocked]:
        monkeypatch.setitem(sys.modules, name, None)          # import of it now fails
    monkeypatch.delitem(sys.modules, f"scanner.formats.{fmt}", raising=False)
    with pytest.raises(formats.FormatUnavailable) as exc:
        formats.get(fmt)
    message = str(exc.value)
    assert "\n" not in message
    assert "pip install 'modelscan-compliance[reports]'" in message


def _cli_catches_format_unavailable() -> bool:
    return "FormatUnavailable" in (ROOT / "scanner" / "cli" / "common.py").read_text(encoding="utf-8")


@pytest.mark.skipif(not _cli_catches_format_unavailable(), reason="cli/common.render does not catch it yet")
def test_cli_without_reports_extra_says_what_to_install(tmp_path):
    (tmp_path / "sitecustomize.py").write_text("import sys\nsys.modules['cyclonedx'] = None\n", encoding="utf-8")
    proc = run_cli("check", "mistralai/Mistral-7B-v0.1", "--snapshot", "examples/hub", "--format", "cyclonedx",
                   "--now", NOW, env={"PYTHONPATH": str(tmp_path)})
    assert proc.returncode == 2
    assert "Traceback" not in proc.stderr
    lines = [line for line in proc.stderr.splitlines() if line.strip()]
    assert len(lines) == 1 and "pip install 'modelscan-compliance[reports]'" in lines[0]


# ---------------------------------------------------------------- SARIF

@pytest.fixture(scope="module")
def sarif_validator():
    if not SARIF_SCHEMA.is_file():
        pytest.skip(f"SARIF schema not present: {SARIF_SCHEMA}")
    from jsonschema import Draft4Validator

    schema = json.loads(SARIF_SCHEMA.read_text(encoding="utf-8"))
    Draft4Validator.check_schema(schema)
    return Draft4Validator(schema)


def sarif_errors(validator, doc) -> list[str]:
    return [f"{'/'.join(map(str, e.absolute_path))}: {e.message}" for e in validator.iter_errors(doc)]


def test_sarif_validates_and_generates_rules_from_the_registry(sarif_validator):
    doc = json.loads(cli("sarif").stdout)
    assert sarif_errors(sarif_validator, doc) == []
    assert doc["version"] == "2.1.0"
    run, = doc["runs"]
    rules = run["tool"]["driver"]["rules"]
    assert [r["id"] for r in rules] == list(RULES)
    level = {"critical": "error", "high": "error", "medium": "warning", "low": "note", "info": "note"}
    for r in rules:
        rule = RULES[r["id"]]
        assert r["shortDescription"]["text"] == rule.title
        assert r["fullDescription"]["text"] == rule.help == r["help"]["text"]
        assert r["defaultConfiguration"]["level"] == level[rule.severity]
        assert r["name"] and " " not in r["name"]


def test_sarif_results_carry_verdicts_and_levels(json_report):
    doc = json.loads(cli("sarif").stdout)
    run, = doc["runs"]
    rules = run["tool"]["driver"]["rules"]
    expected = [(r["repo_id"], f["code"]) for r in json_report["results"] for f in r["findings"]]
    got = [(res["properties"]["repo_id"], res["ruleId"]) for res in run["results"]]
    assert got == expected
    for res in run["results"]:
        assert rules[res["ruleIndex"]]["id"] == res["ruleId"]
        assert res["properties"]["verdict"] == TARGETS[res["properties"]["target"]]
        assert res["locations"][0]["logicalLocations"][0]["name"] == res["properties"]["repo_id"]
    by_code = {(res["properties"]["target"], res["ruleId"]): res for res in run["results"]}
    assert by_code[("mistralai/Codestral-22B-v0.1", "non-commercial-use")]["level"] == "error"     # deny
    assert by_code[("mistralai/Codestral-22B-v0.1", "license-needs-review")]["level"] == "warning"  # review
    assert by_code[("watt-ai/watt-tool-70B", "license-conflict-with-base")]["level"] == "warning"  # review: no errors
    # does not block on its own
    assert by_code[("watt-ai/watt-tool-70B", "derivative-duty-unmet")]["level"] == "note"
    assert by_code[("meta-llama/Llama-3-70B", "target-unavailable")]["level"] == "error"
    # levels from the verdict: an allowed model has notes only, a reviewed one no errors
    by_verdict: dict[str, set] = {}
    for res in run["results"]:
        by_verdict.setdefault(res["properties"]["verdict"], set()).add(res["level"])
        assert res["properties"]["security-severity"] == {"error": "8.0", "warning": "5.0", "note": "1.0"}[res["level"]]
    assert by_verdict["allow"] == {"note"}
    assert by_verdict["review"] <= {"warning", "note"} and "warning" in by_verdict["review"]
    assert "error" in by_verdict["deny"] and by_verdict["error"] == {"error"}
    # a rule's security-severity is its worst result's in this run (what GitHub sorts alerts by)
    sev = {r["id"]: r["properties"]["security-severity"] for r in rules}
    assert sev["non-commercial-use"] == "8.0" and sev["target-unavailable"] == "8.0"
    assert all(0 < float(v) <= 10 for v in sev.values())
    assert {res["properties"]["verdict"] for res in run["results"]} >= {"review", "deny", "error"}
    assert run["properties"]["summary"] == json_report["summary"]


def test_sarif_points_at_the_deployment_file_and_line(located, sarif_validator):
    doc = json.loads(formats.get("sarif").render(located))
    assert sarif_errors(sarif_validator, doc) == []
    results = doc["runs"][0]["results"]
    codestral = [r for r in results if r["properties"]["target"] == "mistralai/Codestral-22B-v0.1"]
    # one result per finding and per place that references the model
    n_findings = len(next(r for r in located.results if r.target == "mistralai/Codestral-22B-v0.1").findings)
    assert n_findings >= 2
    assert len(codestral) == n_findings * len(DEPLOY_LOCATIONS["mistralai/Codestral-22B-v0.1"])
    places = {(r["ruleId"], r["properties"]["deployment"]): r["locations"][0]["physicalLocation"] for r in codestral}
    prod = places[("non-commercial-use", "chat-prod")]
    assert prod["artifactLocation"] == {"uri": "deploy/chat-prod/values.yaml", "uriBaseId": "%SRCROOT%"}
    assert prod["region"] == {"startLine": 12, "startColumn": 9}
    batch = places[("non-commercial-use", "batch-summarise")]
    assert batch["artifactLocation"]["uri"] == "deploy/batch/job.yaml"
    assert batch["region"] == {"startLine": 40}
    reviewed = [r for r in results if r["properties"]["target"] == "watt-ai/watt-tool-70B"][0]
    assert reviewed["locations"][0]["physicalLocation"]["region"]["startLine"] == 3
    assert reviewed["locations"][0]["physicalLocation"]["artifactLocation"]["uri"] == "services/rag/model.toml"
    # fingerprints tell the places apart, and do not move with the line or a revision in the message
    assert len({r["partialFingerprints"]["modelscanFinding/v1"] for r in results}) == len(results)
    moved = tuple(dataclasses.replace(r, locations=tuple(dataclasses.replace(loc, line=(loc.line or 0) + 5)
                                                         for loc in r.locations)) for r in located.results)
    again = json.loads(formats.get("sarif").render(dataclasses.replace(located, results=moved)))
    assert [r["partialFingerprints"] for r in again["runs"][0]["results"]] == \
        [r["partialFingerprints"] for r in results]


def test_sarif_odd_values_stay_valid(odd, sarif_validator):
    doc = json.loads(formats.get("sarif").render(odd))
    assert sarif_errors(sarif_validator, doc) == []
    weird = [r for r in doc["runs"][0]["results"] if r["properties"]["target"].startswith("./")]
    assert weird[0]["locations"][0]["physicalLocation"]["artifactLocation"]["uri"] == "infra/model%20registry.yaml"


def test_sarif_without_locations_falls_back_to_a_relative_policy_file(scanned, sarif_validator):
    from scanner.result import PolicyRef

    report = dataclasses.replace(scanned, policy=PolicyRef(".modelscan/policy.yaml", "org", "sha256:0"))
    doc = json.loads(formats.get("sarif").render(report))
    assert sarif_errors(sarif_validator, doc) == []
    for res in doc["runs"][0]["results"]:
        loc, = res["locations"]
        assert loc["physicalLocation"]["artifactLocation"]["uri"] == ".modelscan/policy.yaml"
        assert "region" not in loc["physicalLocation"]
    # a shipped policy (an absolute path outside the repository) gives the model as a logical location only
    doc = json.loads(formats.get("sarif").render(scanned))
    assert all("physicalLocation" not in res["locations"][0] for res in doc["runs"][0]["results"])


# ---------------------------------------------------------------- JUnit

def test_junit_parses_with_counts(json_report):
    root = ET.fromstring(cli("junit").stdout)
    assert root.tag == "testsuites"
    suite, = root.findall("testsuite")
    cases = suite.findall("testcase")
    assert len(cases) == len(TARGETS)
    failures = [c for c in cases if c.find("failure") is not None]
    errors = [c for c in cases if c.find("error") is not None]
    for el in (root, suite):
        assert el.get("tests") == str(len(cases))
        assert el.get("failures") == str(len(failures)) == "2"
        assert el.get("errors") == str(len(errors)) == "1"
    by_name = {c.get("name").split("@")[0]: c for c in cases}
    assert set(by_name) == set(TARGETS)
    assert by_name["mistralai/Codestral-22B-v0.1"].find("failure").get("type") == "deny"
    assert by_name["watt-ai/watt-tool-70B"].find("failure").get("type") == "review"
    err = by_name["meta-llama/Llama-3-70B"].find("error")
    assert "not found" in err.get("message")
    for name in ("mistralai/Mistral-7B-v0.1", GGUF):
        assert by_name[name].find("failure") is None and by_name[name].find("error") is None
    codestral = next(r for r in json_report["results"] if r["target"] == "mistralai/Codestral-22B-v0.1")
    text = by_name["mistralai/Codestral-22B-v0.1"].find("failure").text
    for reason in codestral["reasons"]:
        assert reason in text
    assert "non-commercial-use" in text
    assert all(c.get("classname") == "modelscan" for c in cases)


def test_junit_testcase_per_deployment(located):
    root = ET.fromstring(formats.get("junit").render(located))
    cases = root.find("testsuite").findall("testcase")
    codestral = [c for c in cases if c.get("name").startswith("mistralai/Codestral-22B-v0.1@")]
    assert sorted(c.get("classname") for c in codestral) == ["batch-summarise", "chat-prod"]
    prod = next(c for c in codestral if c.get("classname") == "chat-prod")
    assert prod.get("status") == "deny"
    assert prod.find("failure").get("type") == "deny"
    assert "deploy/chat-prod/values.yaml:12:9" in prod.find("failure").text
    mistral = [c for c in cases if c.get("name").startswith("mistralai/Mistral-7B-v0.1@")]
    assert [c.get("classname") for c in mistral] == ["chat-prod"]
    reviewed = [c for c in cases if c.get("name").startswith("watt-ai/watt-tool-70B@")]
    assert [c.get("classname") for c in reviewed] == ["modelscan"]
    assert root.get("tests") == str(len(cases)) == "6"
    assert root.get("failures") == "3" and root.get("errors") == "1"


def junit_schema():
    xmlschema = pytest.importorskip("xmlschema")
    return xmlschema.XMLSchema(str(Path(__file__).parent / "schemas" / "junit-10.xsd"))


def test_junit_validates_against_the_junit_10_schema(located, odd):
    schema = junit_schema()
    for text in (cli("junit").stdout, formats.get("junit").render(located), formats.get("junit").render(odd)):
        schema.validate(text)
    root = ET.fromstring(cli("junit").stdout)
    assert set(root.attrib) <= {"name", "time", "tests", "failures", "errors"}
    # the schema itself rejects what the issue found: skipped on <testsuites>
    bad = cli("junit").stdout.replace('<testsuites name="modelscan"', '<testsuites skipped="0" name="modelscan"')
    assert not schema.is_valid(bad)


@pytest.mark.parametrize("fail_on,failures", [("review", 3), ("deny", 2), ("never", 0)])
def test_junit_passes_what_the_gate_passes(located, fail_on, failures):
    """Under --fail-on deny a reviewed model is a passing testcase (with its verdict in status)."""
    root = ET.fromstring(formats.get("junit").render(dataclasses.replace(located, fail_on=fail_on)))
    junit_schema().validate(ET.tostring(root, encoding="unicode"))
    assert root.get("failures") == str(failures) and root.get("errors") == "1"
    reviewed, = [c for c in root.iter("testcase") if c.get("name").startswith("watt-ai/watt-tool-70B@")]
    assert reviewed.get("status") == "review"
    assert (reviewed.find("failure") is not None) == (fail_on == "review")


def test_junit_escapes_odd_values(odd):
    root = ET.fromstring(formats.get("junit").render(odd))
    case = [c for c in root.iter("testcase") if c.get("classname") == "team|alpha"]
    assert len(case) == 1 and NASTY in case[0].find("failure").text


# ---------------------------------------------------------------- Markdown

def _table(text: str) -> list[str]:
    lines = text.splitlines()
    start = lines.index("| model | verdict | licenses | class |")
    rows = []
    for line in lines[start + 2:]:
        if not line.startswith("|"):
            break
        rows.append(line)
    return rows


def test_markdown_summary_and_blocked_details(json_report):
    text = cli("markdown").stdout
    rows = _table(text)
    assert len(rows) == len(TARGETS)
    for row, verdict in zip(rows, TARGETS.values(), strict=True):
        assert f"**{verdict.upper()}**" in row
        assert row.count("|") == 5
    assert "apache-2.0" in rows[0] and "Open weights, permissive license" in rows[0]
    details = text.split("## Blocked models", 1)[1]
    for target, verdict in TARGETS.items():
        heading = f"### **{verdict.upper()}** {target}"
        assert (heading in details) == (verdict in ("deny", "review", "error")), target
    codestral = next(r for r in json_report["results"] if r["target"] == "mistralai/Codestral-22B-v0.1")
    section = details.split("### **DENY** mistralai/Codestral-22B-v0.1", 1)[1].split("### ", 1)[0]
    assert "**Reasons**" in section and "**Findings**" in section and "**Obligations**" in section
    assert "non-commercial-use" in section
    assert codestral["reasons"][0].split(":")[0] in section
    assert not any(ord(ch) > 0x2FFF for ch in text)   # no emoji


def test_markdown_escapes_values(odd):
    text = formats.get("markdown").render(odd)
    rows = _table(text)
    assert len(rows) == 2
    weird = rows[1]
    # the pipes inside values are escaped: splitting on unescaped pipes gives the four cells
    cells = re.split(r"(?<!\\)\|", weird)[1:-1]
    assert len(cells) == 4
    assert r"Open weights \| unknown \*license\*" in cells[3]
    for raw in ("[link](", "<img", "`code`", "*bold*", "_under_"):
        assert not re.search(r"(?<!\\)" + re.escape(raw), text), raw     # only escaped forms remain
    # the URL is broken with a zero-width space so that GitHub does not autolink it
    assert (r"evil \| name \*bold\* \[link\](https:" + "\u200b" + r"//example.invalid) \<img src=x\> \`code\` "
            r"\_under\_ \# hash") in text
    assert "team\\|alpha" in text


# ---------------------------------------------------------------- CycloneDX

def cdx_validate(text: str):
    pytest.importorskip("cyclonedx")
    from cyclonedx.schema import SchemaVersion
    from cyclonedx.validation.json import JsonStrictValidator

    return JsonStrictValidator(SchemaVersion.V1_6).validate_str(text)


def test_cyclonedx_ml_bom_validates(json_report):
    pytest.importorskip("cyclonedx")
    text = cli("cyclonedx").stdout
    assert cdx_validate(text) is None
    bom = json.loads(text)
    assert bom["bomFormat"] == "CycloneDX" and bom["specVersion"] == "1.6"
    comps = bom["components"]
    assert [c["name"] for c in comps] == list(TARGETS)
    by = {c["name"]: c for c in comps}
    for r in json_report["results"]:
        c = by[r["target"]]
        assert c["type"] == "machine-learning-model"
        assert c["modelCard"]["properties"][0] == {"name": "modelscan:verdict", "value": r["verdict"]}
        if r["sha"]:
            assert c["version"] == r["sha"]
            assert c["purl"] == f"pkg:huggingface/{r['repo_id']}@{r['sha']}"
    mistral = by["mistralai/Mistral-7B-v0.1"]
    assert mistral["licenses"] == [{"license": {"id": "Apache-2.0", "acknowledgement": "concluded",
                                                "url": mistral["licenses"][0]["license"]["url"]}}]
    assert by["mistralai/Codestral-22B-v0.1"]["licenses"][0]["expression"] == "LicenseRef-MNPL-0.1"
    assert "LicenseRef-" in by["watt-ai/watt-tool-70B"]["licenses"][0]["expression"]
    llama_expr = by[GGUF]["licenses"][0]["expression"]
    assert llama_expr.startswith("LicenseRef-") and " AND " in llama_expr     # terms and use policy bind at once
    props = {(p["name"], p["value"]) for p in by["mistralai/Codestral-22B-v0.1"]["modelCard"]["properties"]}
    assert ("modelscan:openness", "open-weights") in props
    assert ("modelscan:license-freedom", "non-commercial") in props
    # obligations are license terms, not ethical considerations: properties with term and license
    for c in comps:
        assert "considerations" not in c.get("modelCard", {})
    codestral = next(r for r in json_report["results"] if r["target"] == "mistralai/Codestral-22B-v0.1")
    obligations = [v for n, v in props if n == "modelscan:obligation"]
    assert len(obligations) == len(codestral["obligations"]) > 0
    gguf = by[GGUF]
    ancestors = gguf["pedigree"]["ancestors"]
    assert [a["name"] for a in ancestors] == [GGUF_BASE]
    assert ancestors[0]["purl"].startswith(f"pkg:huggingface/{GGUF_BASE}@")
    assert ancestors[0]["type"] == "machine-learning-model"
    assert "modelCard" not in ancestors[0]
    assert "licenses" not in by["meta-llama/Llama-3-70B"]


def test_cyclonedx_odd_values_and_determinism(odd, located):
    pytest.importorskip("cyclonedx")
    fmt = formats.get("cyclonedx")
    text = fmt.render(odd)
    assert cdx_validate(text) is None
    weird = json.loads(text)["components"][1]
    assert "purl" not in weird and weird["name"] == "./models/my fine tune (v2)"
    # a license no record knows is named, so the choice is a list of licenses, not an expression
    assert any(x["license"].get("id") == "Apache-2.0" for x in weird["licenses"])
    assert any(x["license"].get("name") == "ACME | Model *License*" for x in weird["licenses"])
    assert weird["pedigree"]["ancestors"][0]["name"] == "acme/base-model"
    assert fmt.render(located) == fmt.render(located)     # serial number and timestamp come from the report
    assert cdx_validate(fmt.render(located)) is None


# ---------------------------------------------------------------- SPDX

def spdx_parse_and_validate(text: str, tmp_path: Path):
    pytest.importorskip("spdx_tools")
    from spdx_tools.spdx.parser.json.json_parser import parse_from_file
    from spdx_tools.spdx.validation.document_validator import validate_full_spdx_document

    path = tmp_path / "report.spdx.json"
    path.write_text(text, encoding="utf-8")
    doc = parse_from_file(str(path))
    return doc, [m.validation_message for m in validate_full_spdx_document(doc)]


def test_spdx_document_validates(json_report, kb, tmp_path):
    pytest.importorskip("spdx_tools")
    from spdx_tools.spdx.model import RelationshipType

    text = cli("spdx").stdout
    doc, problems = spdx_parse_and_validate(text, tmp_path)
    assert problems == []
    assert doc.creation_info.spdx_version == "SPDX-2.3"
    described = [r.related_spdx_element_id for r in doc.relationships
                 if r.relationship_type == RelationshipType.DESCRIBES and r.spdx_element_id == "SPDXRef-DOCUMENT"]
    packages = {p.spdx_id: p for p in doc.packages}
    assert [packages[i].name for i in described] == list(TARGETS)
    by_name = {packages[i].name: packages[i] for i in described}
    assert str(by_name["mistralai/Mistral-7B-v0.1"].license_concluded) == "Apache-2.0"
    assert str(by_name["mistralai/Codestral-22B-v0.1"].license_concluded) == "LicenseRef-MNPL-0.1"
    for p in by_name.values():
        purls = [ref.locator for ref in p.external_references if ref.reference_type == "purl"]
        if p.version:
            assert purls == [f"pkg:huggingface/{p.name}@{p.version}"]
    extracted = {e.license_id: e for e in doc.extracted_licensing_info}
    mnpl = extracted["LicenseRef-MNPL-0.1"]
    rec = kb.get("mnpl")
    assert mnpl.extracted_text == f"See {rec.url}" and mnpl.cross_references == [rec.url]
    assert mnpl.license_name == rec.name
    for e in extracted.values():
        assert len(e.extracted_text) < 300      # a pointer, never the license text
    # lineage: the quantisation is a variant of its base
    gguf = by_name[GGUF].spdx_id
    rel = [r for r in doc.relationships
           if r.spdx_element_id == gguf and r.relationship_type != RelationshipType.DESCRIBES]
    assert [(r.relationship_type, packages[r.related_spdx_element_id].name) for r in rel] == \
        [(RelationshipType.VARIANT_OF, GGUF_BASE)]
    verdicts = {a.spdx_id: a.annotation_comment.splitlines()[0] for a in doc.annotations}
    for r in json_report["results"]:
        assert verdicts[by_name[r["target"]].spdx_id].startswith(f"modelscan verdict: {r['verdict']}")


def test_spdx_odd_values(odd, tmp_path):
    pytest.importorskip("spdx_tools")
    from spdx_tools.spdx.model import RelationshipType

    text = formats.get("spdx").render(odd)
    doc, problems = spdx_parse_and_validate(text, tmp_path)
    assert problems == []
    weird = next(p for p in doc.packages if p.name == "./models/my fine tune (v2)")
    assert weird.spdx_id.startswith("SPDXRef-Model-") and " " not in weird.spdx_id
    assert "LicenseRef-acme-model-license" in str(weird.license_concluded)
    acme = next(e for e in doc.extracted_licensing_info if e.license_id == "LicenseRef-acme-model-license")
    assert acme.license_name == "ACME | Model *License*"
    base = next(p for p in doc.packages if p.name == "acme/base-model")
    assert any(r.spdx_element_id == weird.spdx_id and r.related_spdx_element_id == base.spdx_id
               and r.relationship_type == RelationshipType.DESCENDANT_OF for r in doc.relationships)
    assert formats.get("spdx").render(odd) == text


# ---------------------------------------------------------------- repository-relative locations

def test_locations_are_repository_relative_in_sarif(located, sarif_validator, tmp_path):
    from scanner.ci.locations import relocate, repository_root

    root = tmp_path / "repo"
    (root / ".git").mkdir(parents=True)
    (root / "services").mkdir()
    assert repository_root(root / "services") == root.resolve()
    # the gate ran in services/: discovery wrote paths relative to it
    moved = relocate(located, cwd=root / "services", root=root)
    doc = json.loads(formats.get("sarif").render(moved))
    assert sarif_errors(sarif_validator, doc) == []
    uris = {loc["physicalLocation"]["artifactLocation"]["uri"]
            for res in doc["runs"][0]["results"] for loc in res["locations"] if "physicalLocation" in loc}
    assert "services/deploy/chat-prod/values.yaml" in uris and "services/services/rag/model.toml" in uris
    assert doc["runs"][0]["originalUriBaseIds"]["%SRCROOT%"]
    # a file outside the repository is an absolute file URI without a base id
    outside = relocate(located, cwd=tmp_path / "elsewhere", root=root)
    doc = json.loads(formats.get("sarif").render(outside))
    art = doc["runs"][0]["results"][0]["locations"][0]["physicalLocation"]["artifactLocation"]
    assert art["uri"].startswith("file:///") and "uriBaseId" not in art
    assert sarif_errors(sarif_validator, doc) == []


# ---------------------------------------------------------------- several formats in one run

def test_every_format_in_one_run_validates_and_agrees_with_the_gate(tmp_path, sarif_validator):
    """`check` with every format at once and --fail-on deny, in a repository whose modelscan.yaml
    deploys two of the models: each report passes its own validator, and all agree with the
    verdicts and the exit code (a reviewed model passes under --fail-on deny)."""
    pytest.importorskip("cyclonedx")
    (tmp_path / "modelscan.yaml").write_text(
        "version: 1\ndeployments:\n  - name: chat\n    models:\n"
        "      - mistralai/Codestral-22B-v0.1\n      - watt-ai/watt-tool-70B\n")
    out = {fmt: tmp_path / "out" / name for fmt, name in (
        ("json", "r.json"), ("sarif", "r.sarif"), ("junit", "r.xml"), ("cyclonedx", "bom.json"),
        ("spdx", "r.spdx.json"), ("markdown", "r.md"))}
    args = [a for fmt, path in out.items() for a in ("--format", f"{fmt}={path}")]
    proc = run_cli("check", *TARGETS, "--snapshot", str(EXAMPLES), *args, "-f", "table", "--fail-on", "deny",
                   "--now", NOW, cwd=tmp_path, env={"PYTHONPATH": str(ROOT)})
    assert proc.returncode == 2, proc.stderr            # the unknown model: could not decide
    assert "Traceback" not in proc.stderr and "REVIEW" in proc.stdout     # the table went to stdout
    import jsonschema

    from scanner.kb import load_schema
    report = json.loads(out["json"].read_text())
    jsonschema.Draft202012Validator(load_schema("report.schema.json")).validate(report)
    verdicts = {r["target"]: r["verdict"] for r in report["results"]}
    assert verdicts == TARGETS and report["fail_on"] == "deny"

    sarif = json.loads(out["sarif"].read_text())
    assert sarif_errors(sarif_validator, sarif) == []
    run = sarif["runs"][0]
    assert {v["target"]: v["verdict"] for v in run["properties"]["verdicts"]} == verdicts
    assert run["properties"]["failOn"] == "deny"
    # check results are located at the model's reference in the repository's manifest
    for res in run["results"]:
        phys = res["locations"][0].get("physicalLocation")
        if res["properties"]["target"] in ("mistralai/Codestral-22B-v0.1", "watt-ai/watt-tool-70B"):
            assert phys["artifactLocation"] == {"uri": "modelscan.yaml", "uriBaseId": "%SRCROOT%"}
            assert phys["region"]["startLine"] in (5, 6)
        allowed_levels = {"allow": {"note"}, "review": {"warning", "note"}, "deny": {"error", "warning", "note"},
                          "error": {"error"}}[res["properties"]["verdict"]]
        assert res["level"] in allowed_levels

    junit_schema().validate(out["junit"].read_text())
    root = ET.fromstring(out["junit"].read_text())
    cases = {c.get("name").split("@")[0]: c for c in root.iter("testcase")}
    assert cases["watt-ai/watt-tool-70B"].find("failure") is None          # review passes under deny
    assert cases["mistralai/Codestral-22B-v0.1"].find("failure").get("type") == "deny"
    assert root.get("failures") == "1" and root.get("errors") == "1"
    assert {name: c.get("status") for name, c in cases.items()} == verdicts

    bom_text = out["cyclonedx"].read_text()
    assert cdx_validate(bom_text) is None
    bom = json.loads(bom_text)
    assert {c["name"]: next(p["value"] for p in c["modelCard"]["properties"] if p["name"] == "modelscan:verdict")
            for c in bom["components"]} == verdicts

    _, messages = spdx_parse_and_validate(out["spdx"].read_text(), tmp_path)
    assert messages == []
    assert out["markdown"].read_text().count("**DENY**") >= 1


def test_fail_on_never_is_report_only_but_still_fails_closed():
    ok = ["mistralai/Codestral-22B-v0.1", "watt-ai/watt-tool-70B"]
    proc = run_cli("check", *ok, "--snapshot", "examples/hub", "--fail-on", "never", "-f", "json", "--now", NOW)
    assert proc.returncode == 0, proc.stderr
    report = json.loads(proc.stdout)
    assert report["fail_on"] == "never" and {r["verdict"] for r in report["results"]} == {"deny", "review"}
    proc = run_cli("check", *ok, "meta-llama/Llama-3-70B", "--snapshot", "examples/hub", "--fail-on", "never",
                   "--now", NOW)
    assert proc.returncode == 2          # a model that could not be decided is never report-only


@pytest.mark.parametrize("args,needle", [
    (("-f", "sarif", "-f", "json"), "only one --format may go to standard output"),
    (("-f", "sarf=x.sarif"), "did you mean 'sarif'"),
    (("-f", "json=a.json", "-f", "sarif=a.json"), "same file"),
    (("-f", "json=a.json", "-o", "b.json"), "--output goes with a single --format"),
])
def test_bad_format_arguments_exit_2_before_scanning(args, needle, tmp_path):
    proc = run_cli("check", "mistralai/Mistral-7B-v0.1", "--snapshot", "examples/hub", *args, "--now", NOW)
    assert proc.returncode == 2 and needle in proc.stderr, proc.stderr
    assert len([x for x in proc.stderr.splitlines() if x.strip()]) == 1


def test_check_locates_its_results_in_a_large_manifest_and_ignores_a_broken_one(tmp_path):
    """`check` points a result at the manifest line that deploys the model without validating the
    whole manifest (a gate's business); one it cannot read as a manifest leaves results unlocated."""
    def located(manifest: str) -> list:
        (tmp_path / "modelscan.yaml").write_text(manifest)
        proc = run_cli("check", "mistralai/Codestral-22B-v0.1", "--snapshot", str(EXAMPLES), "-f", "json",
                       "--now", NOW, cwd=tmp_path, env={"PYTHONPATH": str(ROOT)})
        assert proc.returncode in (0, 1) and "Traceback" not in proc.stderr, proc.stderr
        return json.loads(proc.stdout)["results"][0]["locations"]

    many = "".join(f"      - org/model-{i:04d}\n" for i in range(2000))
    locs = located("version: 1\ndeployments:\n  - name: fleet\n    models:\n" + many
                   + "      - mistralai/Codestral-22B-v0.1\n")
    assert [(loc["file"], loc["line"]) for loc in locs] == [("modelscan.yaml", 2005)]
    assert located("version: 1\ndeployments: 5   # mistralai/Codestral-22B-v0.1\n") == []      # not a manifest
    assert located("version: 1\ndeployments:\n  - name: other\n    models: [org/x]\n") == []       # not named


def test_table_lists_each_missing_openness_component_on_its_own_line():
    proc = run_cli("check", "Qwen/Qwen2.5-72B-Instruct", "--snapshot", str(EXAMPLES), "-f", "table", "--now", NOW,
                   env={"NO_COLOR": "1", "COLUMNS": "120"})
    assert proc.returncode == 0, proc.stderr
    lines = [ln.strip("│ ").rstrip() for ln in proc.stdout.splitlines()]
    start = next(i for i, ln in enumerate(lines) if ln.startswith("Openness"))
    assert lines[start].endswith("MOF class none; OSI OSAID unmet")
    missing = [ln for ln in lines[start + 1:start + 9] if ln.startswith("• for III: ")]
    assert len(missing) == 5 and any("Data card: not found" in ln for ln in missing)
