"""The JSON report against its schema (scanner/schemas/report.schema.json), through the real CLI.

conftest.run_cli runs [sys.executable, "-m", "scanner", ...] from the repo root with an isolated HF_HOME.
"""

from __future__ import annotations

import copy
import json

import pytest
from jsonschema import Draft202012Validator

from conftest import NOW, ROOT, run_cli
from scanner.findings import RULES

SCHEMA_PATH = ROOT / "scanner" / "schemas" / "report.schema.json"
LICENSE_SCHEMA_PATH = ROOT / "scanner" / "schemas" / "license.schema.json"

# One target per verdict under the default (commercial) policy, from the shipped snapshot, plus
# two that exercise lineage (an inherited license with `via`) and per-file matches.
TARGETS = {
    "mistralai/Mistral-7B-v0.1": "allow",
    "Qwen/Qwen2.5-72B-Instruct": "allow",
    "watt-ai/watt-tool-70B": "review",            # apache-2.0 label over its Llama 3.3 base
    "mistralai/Codestral-22B-v0.1": "deny",
    "meta-llama/Llama-3-70B": "error",            # not on the Hub: the real one is Meta-Llama-3-70B
    "QuantFactory/Meta-Llama-3-8B-Instruct-GGUF": "allow",
    "meta-llama/Meta-Llama-3-70B": "allow",
}


@pytest.fixture(scope="module")
def schema() -> dict:
    return json.loads(SCHEMA_PATH.read_text(encoding="utf-8"))


@pytest.fixture(scope="module")
def validator(schema) -> Draft202012Validator:
    Draft202012Validator.check_schema(schema)
    return Draft202012Validator(schema, format_checker=Draft202012Validator.FORMAT_CHECKER)


def check_args(*extra: str) -> list[str]:
    return ["check", *TARGETS, "--snapshot", "examples/hub", "--format", "json", "--now", NOW, *extra]


@pytest.fixture(scope="module")
def cli_run():
    proc = run_cli(*check_args())
    assert proc.stdout, proc.stderr
    return proc


@pytest.fixture(scope="module")
def report(cli_run) -> dict:
    return json.loads(cli_run.stdout)


def errors(validator: Draft202012Validator, instance) -> list[str]:
    return [f"{e.json_path}: {e.message}" for e in validator.iter_errors(instance)]


# --- the schema stays in sync with the registries it copies ------------------------------------

def test_finding_code_enum_matches_registry(schema):
    enum = schema["$defs"]["finding"]["properties"]["code"]["enum"]
    assert len(enum) == len(set(enum))
    assert set(enum) == set(RULES)


def test_license_kind_and_category_enums_match_license_schema(schema):
    lic = json.loads(LICENSE_SCHEMA_PATH.read_text(encoding="utf-8"))["properties"]
    props = schema["$defs"]["license"]["properties"]
    assert set(props["kind"]["enum"]) == set(lic["kind"]["enum"]) | {"unknown"}
    assert set(props["category"]["enum"]) == set(lic["category"]["enum"]) | {"unknown"}


def test_every_property_has_a_description(schema):
    missing = []

    def walk(node, path):
        if isinstance(node, dict):
            for name, sub in node.get("properties", {}).items():
                if "description" not in sub:
                    missing.append(f"{path}/{name}")
            for key, sub in node.items():
                walk(sub, f"{path}/{key}")
        elif isinstance(node, list):
            for i, sub in enumerate(node):
                walk(sub, f"{path}/{i}")

    walk({"properties": schema["properties"]}, "")
    walk(schema["$defs"], "/$defs")
    assert not missing


# --- the real CLI's output validates --------------------------------------------------------------

def test_cli_report_validates(report, validator):
    assert errors(validator, report) == []


def test_cli_report_header(report):
    from scanner.scan import SCHEMA_VERSION
    assert report["schema_version"] == SCHEMA_VERSION
    assert report["tool"]["name"] == "modelscan"
    assert report["evaluated_at"] == NOW
    assert report["policy"]["name"] == "default"


def test_errored_target_wins_the_exit_code(cli_run):
    assert cli_run.returncode == 2, cli_run.stderr


def test_results_in_input_order_with_expected_verdicts(report):
    assert [r["target"] for r in report["results"]] == list(TARGETS)
    assert {r["target"]: r["verdict"] for r in report["results"]} == TARGETS


def test_summary_counts_match_verdicts(report):
    verdicts = [r["verdict"] for r in report["results"]]
    summary = report["summary"]
    for v in ("allow", "review", "deny", "error"):
        assert summary[v] == verdicts.count(v), v
    assert summary["total"] == len(verdicts) == sum(summary[v] for v in ("allow", "review", "deny", "error"))


def test_report_exercises_optional_keys(report):
    """The fixture targets cover the keys the schema makes optional, so validation means something."""
    results = {r["target"]: r for r in report["results"]}
    gguf = results["QuantFactory/Meta-Llama-3-8B-Instruct-GGUF"]
    assert gguf["lineage"] is not None and gguf["lineage"]["edges"]
    assert any("via" in u for u in gguf["licenses"]["effective"])
    assert any("source" in o for o in gguf["obligations"])
    assert any(f["matches"] for f in results["meta-llama/Meta-Llama-3-70B"]["files"])
    errored = results["meta-llama/Llama-3-70B"]
    assert errored["source"] == "none" and errored["sha"] is None
    assert [f["code"] for f in errored["findings"]] == ["target-unavailable"]


def test_output_file_writes_the_same_json(tmp_path, report, validator):
    out = tmp_path / "report.json"
    proc = run_cli(*check_args("--output", str(out)))
    assert proc.returncode == 2, proc.stderr
    written = json.loads(out.read_text(encoding="utf-8"))
    assert written == report
    assert errors(validator, written) == []


# --- negative cases: the schema rejects what the contract forbids -------------------------------

@pytest.fixture()
def minimal_report() -> dict:
    """A report built by the renderer itself (no CLI): one errored target."""
    from scanner.analyze import error_result
    from scanner.formats.json import report_dict
    from scanner.result import PolicyRef, Report
    from scanner.scan import SCHEMA_VERSION
    r = error_result("org/missing", "model org/missing not found", ("org/present",), "org/missing")
    rep = Report(SCHEMA_VERSION, {"name": "modelscan", "version": "0.0.0"}, {"hash": "sha256:" + "0" * 64, "records": 0},
                 PolicyRef(None, "default", "sha256:" + "1" * 64), NOW, {"commercial": True}, (r,))
    return json.loads(json.dumps(report_dict(rep)))


def test_minimal_report_validates(minimal_report, validator):
    assert errors(validator, minimal_report) == []


@pytest.mark.parametrize("mutate, where", [
    (lambda d: d["results"][0].__setitem__("verdict", "maybe"), "verdict"),
    (lambda d: d.pop("results"), "results"),
    (lambda d: d.__setitem__("surprise", 1), "surprise"),
    (lambda d: d["results"][0].__setitem__("surprise", 1), "surprise"),
    (lambda d: d["results"][0]["findings"][0].__setitem__("code", "not-registered"), "code"),
    (lambda d: d["results"][0]["findings"][0].__setitem__("severity", "severe"), "severity"),
    (lambda d: d["results"][0].__setitem__("source", "ftp"), "source"),
    (lambda d: d["summary"].pop("total"), "total"),
    (lambda d: d.__setitem__("evaluated_at", "2026-11-28T00:00:00+01:00"), "evaluated_at"),
    (lambda d: d.__setitem__("schema_version", "1.0"), "schema_version"),
])
def test_schema_rejects(minimal_report, validator, mutate, where):
    bad = copy.deepcopy(minimal_report)
    mutate(bad)
    errs = errors(validator, bad)
    assert errs, f"mutation of {where} was accepted"
    assert any(where in e for e in errs), errs
