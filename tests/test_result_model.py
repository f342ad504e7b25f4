"""The typed result model and what a run keeps: identification memoised per run (not per
process), license bytes kept only where a snapshot is recorded, and AI-BOM formats that describe
the knowledge base the report was decided with instead of loading one again."""

from __future__ import annotations

import datetime as dt
from typing import get_args

import pytest

from conftest import EXAMPLES, make_model_dir
from scanner import analyze as analyze_mod
from scanner import formats
from scanner import kb as kbmod
from scanner.findings import RULES, Finding
from scanner.identify import Identification, identify
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
