"""The extension points are registries: a format or a discovery kind registered in one place is
offered by the CLI and used by discovery, with no other change. Each test registers a dummy into
a temporary copy of the registry, so the shipped registries stay as they are."""

from __future__ import annotations

import json
import sys
import textwrap
from pathlib import Path

import pytest
from click.testing import CliRunner

from conftest import EXAMPLES, NOW
from scanner import formats
from scanner.cli import cli
from scanner.gate import discover as discovery
from scanner.gate.discover import registry as kinds_registry

DUMMY_FORMAT = textwrap.dedent('''
    from scanner.formats.interface import Format


    class CountFormat(Format):
        def render(self, report):
            return "".join(f"{r.target} {r.verdict}\\n" for r in report.results)
''')


@pytest.fixture
def dummy_format(tmp_path, monkeypatch):
    (tmp_path / "dummy_count_format.py").write_text(DUMMY_FORMAT, encoding="utf-8")
    monkeypatch.syspath_prepend(str(tmp_path))
    registry = formats.REGISTRY.copy()
    registry.register(formats.FormatEntry("count", "dummy_count_format", "CountFormat"))
    monkeypatch.setattr(formats, "REGISTRY", registry)
    yield
    sys.modules.pop("dummy_count_format", None)


def test_a_registered_format_is_offered_and_rendered_by_check(dummy_format):
    runner = CliRunner()
    help_text = runner.invoke(cli, ["check", "--help"]).output
    assert "count" in help_text and "spdx" in help_text
    out = runner.invoke(cli, ["check", "mistralai/Mistral-7B-v0.1", "--snapshot", str(EXAMPLES),
                              "--format", "count", "--now", NOW])
    assert out.exception is None or isinstance(out.exception, SystemExit), out.exception
    assert out.stdout.splitlines() == ["mistralai/Mistral-7B-v0.1 allow"]


def test_an_unregistered_format_is_refused():
    out = CliRunner().invoke(cli, ["check", "mistralai/Mistral-7B-v0.1", "--snapshot", str(EXAMPLES),
                                   "--format", "count", "--now", NOW])
    assert out.exit_code == 2
    assert "'count' is not one of" in out.output
    with pytest.raises(KeyError):
        formats.get("count")


def test_a_format_cannot_be_registered_twice():
    with pytest.raises(ValueError, match="registered already"):
        formats.REGISTRY.copy().register(formats.FormatEntry("json", "x", "Y"))


# ------------------------------------------------------------------------------ discovery kinds

def _lines_parser(text: str, file: str, base: Path) -> list[discovery.Reference]:
    """A dummy kind: a `models.txt` lists one Hub id a line."""
    refs = []
    for i, line in enumerate(text.splitlines(), start=1):
        hit = discovery.hub_model_id(line, base)
        if hit:
            refs.append(discovery.Reference(hit[0], hit[1], file, i, "manifest", column=1, detail="models.txt"))
    return refs


@pytest.fixture
def models_txt_kind(monkeypatch):
    registry = kinds_registry.REGISTRY.copy()
    registry.register(discovery.DiscoveryKind("models-txt", lambda name: name == "models.txt", _lines_parser),
                      before="shell")
    monkeypatch.setattr(kinds_registry, "REGISTRY", registry)
    return registry


def test_a_registered_discovery_kind_reads_its_files(tmp_path, monkeypatch, models_txt_kind):
    (tmp_path / "models.txt").write_text("# what we serve\nmistralai/Mistral-7B-v0.1\n", encoding="utf-8")
    (tmp_path / "serve.sh").write_text("vllm serve Qwen/Qwen2.5-72B-Instruct\n", encoding="utf-8")
    monkeypatch.chdir(tmp_path)
    got = [(r.repo_id, r.file, r.line, r.detail) for r in discovery.discover(["."])]
    assert got == [("mistralai/Mistral-7B-v0.1", "models.txt", 2, "models.txt"),
                   ("Qwen/Qwen2.5-72B-Instruct", "serve.sh", 1, "vllm serve")]
    assert models_txt_kind.names() == ("manifest", "yaml", "python", "modelfile", "models-txt", "shell")


def test_without_the_kind_its_files_are_not_read(tmp_path, monkeypatch):
    (tmp_path / "models.txt").write_text("mistralai/Mistral-7B-v0.1\n", encoding="utf-8")
    monkeypatch.chdir(tmp_path)
    assert discovery.discover(["."]) == []
    assert kinds_registry.REGISTRY.names() == ("manifest", "yaml", "python", "modelfile", "shell")


def test_the_gate_uses_a_registered_discovery_kind(tmp_path, monkeypatch, models_txt_kind):
    (tmp_path / "models.txt").write_text("mistralai/Mistral-7B-v0.1\n", encoding="utf-8")
    monkeypatch.chdir(tmp_path)
    out = CliRunner().invoke(cli, ["gate", ".", "--snapshot", str(EXAMPLES), "--format", "json", "--now", NOW])
    report = json.loads(out.stdout)
    [result] = report["results"]
    assert result["repo_id"] == "mistralai/Mistral-7B-v0.1"
    assert [(loc["file"], loc["line"], loc["match"]) for loc in result["locations"]] == [("models.txt", 1, "models.txt")]


def test_a_discovery_kind_cannot_be_registered_twice():
    with pytest.raises(ValueError, match="registered already"):
        kinds_registry.REGISTRY.copy().register(discovery.DiscoveryKind("shell", lambda n: False, _lines_parser))
