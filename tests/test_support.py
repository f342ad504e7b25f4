"""The test helpers themselves: scripts and benchmarks are loaded by path, and no test module
changes `sys.path`."""

from __future__ import annotations

import ast
import sys
from pathlib import Path

import pytest

from support.modules import load_module
from support.paths import ROOT

TESTS = Path(__file__).parent


def _path_mutations(source: str) -> list[int]:
    """Lines that call sys.path.insert/append/extend or assign to sys.path (code, not strings)."""
    out = []
    for node in ast.walk(ast.parse(source)):
        target = None
        if isinstance(node, ast.Call) and isinstance(node.func, ast.Attribute):
            target = node.func.value
        elif isinstance(node, (ast.Assign, ast.AugAssign)):
            targets = node.targets if isinstance(node, ast.Assign) else [node.target]
            target = next((t.value if isinstance(t, ast.Subscript) else t for t in targets), None)
        if isinstance(target, ast.Attribute) and target.attr == "path" and \
                isinstance(target.value, ast.Name) and target.value.id == "sys":
            out.append(node.lineno)
    return sorted(out)


def test_the_checker_sees_a_path_mutation():
    assert _path_mutations("import sys\nsys.path.insert(0, 'x')\nsys.path[:] = []\nsys.path += ['y']\n") == [2, 3, 4]
    assert _path_mutations("code = 'sys.path.insert(0, x)'\nprint(sys.path)\n") == []


@pytest.mark.parametrize("path", sorted(p.relative_to(TESTS).as_posix() for p in TESTS.rglob("*.py")))
def test_no_test_module_changes_sys_path(path):
    assert _path_mutations((TESTS / path).read_text(encoding="utf-8")) == []


def test_a_script_is_loaded_once_under_its_name():
    cf = load_module("scripts/corpus_facts.py")
    assert load_module("scripts/corpus_facts.py") is cf is sys.modules["corpus_facts"]
    assert Path(cf.__file__).resolve() == (ROOT / "scripts" / "corpus_facts.py").resolve()
    # a script that imports its sibling by name gets the module the tests hold
    build_examples = load_module("scripts/build_examples.py")
    assert build_examples.cf is cf


def test_a_name_taken_by_another_file_is_an_error(tmp_path, monkeypatch):
    fake = tmp_path / "corpus_facts.py"
    fake.write_text("X = 1\n")
    monkeypatch.setitem(sys.modules, "corpus_facts", load_module("scripts/corpus_facts.py"))
    monkeypatch.setattr("support.modules.ROOT", tmp_path)
    with pytest.raises(ImportError, match="loaded already"):
        load_module("corpus_facts.py")
