"""The typed result model and what a run keeps: identification memoised per run (not per
process), license bytes kept only where a snapshot is recorded, and AI-BOM formats that describe
the knowledge base the report was decided with instead of loading one again."""

from __future__ import annotations

import datetime as dt
import json
import typing
from pathlib import Path
from typing import get_args

import pytest

from conftest import EXAMPLES, make_model_dir
from scanner import analyze as analyze_mod
from scanner import formats
from scanner import kb as kbmod
from scanner.findings import RULES, Finding
from scanner.formats.json import location_dict, smoke_dict
from scanner.identify import Identification, identify
from scanner.result import LicenseRef, LineageEdge, LineageGraph, Location, Obligation, Result, SmokeOutcome
from scanner.scan import Scanner
from scanner.sources.files import file_evidence
from scanner.sources.local import LocalSource
from scanner.sources.snapshot import SnapshotSource
from scanner.targets import parse_target
from scanner.vocab import EFFECTS, RANK, SEVERITIES, VERDICTS, Verdict, verdict_from_rank

NOW = dt.datetime(2026, 11, 28, tzinfo=dt.timezone.utc)
TARGETS = ["mistralai/Mistral-7B-v0.1", "Qwen/Qwen2.5-72B-Instruct"]


def test_vocabularies_are_the_literal_types():
    assert VERDICTS == get_args(Verdict) == ("allow", "review", "deny", "error")
    assert EFFECTS == ("allow", "review", "deny")
    assert SEVERITIES == ("info", "low", "medium", "high", "critical")
    assert all(rule.severity in SEVERITIES for rule in RULES.values())
    assert [verdict_from_rank(RANK[e]) for e in EFFECTS] == list(EFFECTS)
    assert verdict_from_rank(RANK[None]) == "allow"


def test_identify_returns_an_identification(kb):
    ev = SnapshotSource(EXAMPLES).fetch(parse_target("mistralai/Mistral-7B-v0.1"))
    got = identify(ev, kb)
    assert isinstance(got, Identification)
    assert [u.id for u in got.licenses.effective] == ["apache-2.0"]
    assert all(isinstance(f, Finding) for f in got.findings)


def _counting_identify(monkeypatch):
    calls: list[object] = []
    real = analyze_mod.identify

    def counted(ev, kb):
        calls.append(ev)
        return real(ev, kb)
    monkeypatch.setattr(analyze_mod, "identify", counted)
    return calls


def test_each_evidence_is_identified_once_per_run_and_again_in_the_next(monkeypatch, kb, default_policy):
    calls = _counting_identify(monkeypatch)
    first = Scanner(SnapshotSource(EXAMPLES), kb, default_policy, NOW, jobs=1)
    report = first.scan(TARGETS + TARGETS)
    assert [r.verdict for r in report.results[:2]] == [r.verdict for r in report.results[2:]]
    per_run = len(calls)
    assert per_run == len({id(ev) for ev in calls})          # no Evidence identified twice in a run
    assert len(first.identified) == per_run
    second = Scanner(SnapshotSource(EXAMPLES), kb, default_policy, NOW, jobs=1)
    second.scan(TARGETS)
    assert len(calls) == 2 * per_run                         # a new run keeps nothing of the last one


def test_license_bytes_are_kept_only_on_request(tmp_path):
    data = "MIT License\n\nCopyright (c) 2026 Example\n".encode()
    assert file_evidence("LICENSE", data).raw is None
    assert file_evidence("LICENSE", data, keep_raw=True).raw == data
    folder = make_model_dir(tmp_path, "m", readme="---\nlicense: mit\n---\n# m\n", files={"LICENSE": data})
    ev = LocalSource().fetch(parse_target(str(folder)))
    assert ev.file("LICENSE").text and ev.file("LICENSE").raw is None


@pytest.mark.parametrize("fmt", ["cyclonedx", "spdx"])
def test_ai_bom_formats_use_the_reports_knowledge_base(monkeypatch, kb, default_policy, fmt):
    report = Scanner(SnapshotSource(EXAMPLES), kb, default_policy, NOW, jobs=1).scan(TARGETS)
    assert report.kb is kb
    expected = formats.get(fmt).render(report)

    def no_reload(*args, **kwargs):
        raise AssertionError("a format loaded the knowledge base again")
    monkeypatch.setattr(kbmod, "load", no_reload)
    assert formats.get(fmt).render(report) == expected
    assert "Apache-2.0" in expected


# -- the typed parts of a result: lineage, locations, the smoke outcome ---------------------------

def test_result_fields_are_dataclasses_not_mappings():
    hints = typing.get_type_hints(Result)
    assert hints["lineage"] == LineageGraph | None
    assert hints["locations"] == tuple[Location, ...]
    assert hints["smoke"] == SmokeOutcome | None
    assert typing.get_type_hints(Obligation)["license_ref"] == LicenseRef | None


def test_a_derivative_carries_a_typed_lineage_that_the_json_format_writes(kb, default_policy):
    report = Scanner(SnapshotSource(EXAMPLES), kb, default_policy, NOW, jobs=1).scan(["watt-ai/watt-tool-70B"])
    r = report.results[0]
    assert isinstance(r.lineage, LineageGraph)
    assert [n.id for n in r.lineage.nodes] == ["watt-ai/watt-tool-70B", "meta-llama/Llama-3.3-70B-Instruct"]
    assert r.lineage.edges == (LineageEdge("watt-ai/watt-tool-70B", "meta-llama/Llama-3.3-70B-Instruct", "finetune"),)
    base = r.lineage.nodes[1]
    assert all(isinstance(x, LicenseRef) for x in base.licenses) and "llama3.3" in {x.id for x in base.licenses}
    written = json.loads(formats.get("json").render(report))["results"][0]["lineage"]
    assert written["edges"] == [{"child": "watt-ai/watt-tool-70B", "parent": "meta-llama/Llama-3.3-70B-Instruct",
                                 "relation": "finetune"}]
    assert written["nodes"][1] == {"id": base.id, "revision": base.revision,
                                   "licenses": [{"id": x.id, "version": x.version, "name": x.name}
                                                for x in base.licenses]}
    assert written["roots"] == list(r.lineage.roots) and written["datasets"] == []


def test_locations_are_written_with_the_keys_that_are_set():
    from scanner.gate.discover.reference import Reference

    ref = Reference("org/m", "abc", "deploy/Modelfile", 3, "ollama", 6, detail="FROM", extra={"quant": "Q4_K_M"})
    assert location_dict(ref.location()) == {"file": "deploy/Modelfile", "line": 3, "kind": "ollama", "column": 6,
                                             "match": "FROM", "revision": "abc", "quant": "Q4_K_M"}
    assert location_dict(Location("models/ft", kind="local")) == {"file": "models/ft", "kind": "local"}
    assert location_dict(Location("m.yaml", 7, deployment="chat")) == {"file": "m.yaml", "line": 7,
                                                                       "deployment": "chat"}


def test_smoke_outcomes_are_written_in_one_shape_per_status():
    from scanner.smoke.runtime import SmokeFigures

    not_run = SmokeOutcome("not-run", "not scanned: gone", stage="scan")
    assert smoke_dict(not_run) == {"status": "not-run", "stage": "scan", "message": "not scanned: gone"}
    refused = SmokeOutcome("refused", "no", code="policy-deny", revision="abc", source="hub", reasons=("denied",),
                           finding_codes=("license-denied",))
    assert smoke_dict(refused) == {"revision": "abc", "source": "hub", "status": "refused", "code": "policy-deny",
                                   "message": "no", "reasons": ["denied"], "finding_codes": ["license-denied"]}
    failed = SmokeOutcome("failed", "load: out of memory", stage="load", revision=None, source="local",
                          out_of_memory=True)
    assert smoke_dict(failed) == {"revision": None, "source": "local", "status": "failed", "stage": "load",
                                  "message": "load: out of memory", "out_of_memory": True}
    figures = SmokeFigures("causal-lm", "causal", "LlamaForCausalLM", None, "llama", "cpu", "float32", 10,
                           "safetensors", 40, 0.1, 0.01, None, None, None, "process-rss", True, 3, None)
    passed = SmokeOutcome("passed", revision="abc", source="hub", download_seconds=1.5, files=("config.json",),
                          figures=figures)
    written = smoke_dict(passed)
    assert list(written)[:5] == ["revision", "source", "download_seconds", "status", "files"]
    assert written["model_class"] == "LlamaForCausalLM" and written["parameters"] == 10 and "message" not in written


def test_only_the_json_format_turns_the_result_into_dicts():
    """The other formats read the typed model; the dict shape lives in formats/json.py alone."""
    import ast

    folder = Path(formats.__file__).parent
    for path in sorted(folder.glob("*.py")):
        if path.name == "json.py":
            continue
        tree = ast.parse(path.read_text(encoding="utf-8"))
        names = {n.id for n in ast.walk(tree) if isinstance(n, ast.Name)} | \
            {a.name for n in ast.walk(tree) if isinstance(n, ast.ImportFrom) for a in n.names}
        assert not names & {"asdict", "thaw", "freeze"}, path.name
        for node in ast.walk(tree):             # r.lineage.get(...), loc.get(...), smoke.get(...)
            if isinstance(node, ast.Attribute) and node.attr == "get" and isinstance(node.value, ast.Attribute):
                assert node.value.attr not in ("lineage", "smoke", "locations"), path.name
