"""Python: string literals in `from_pretrained(...)`, `pipeline(model=...)`, vLLM's `LLM(model=...)`,
`snapshot_download(repo_id=...)` / `hf_hub_download(repo_id=...)` (kind python)."""

from __future__ import annotations

import ast
import re
from pathlib import Path

from scanner.gate.discover.ids import hub_model_id
from scanner.gate.discover.reference import FileProblem, Reference, note_problem


def matches(name: str) -> bool:
    return name.endswith(".py")


_PY_CALLS = {
    "from_pretrained": ("pretrained_model_name_or_path", 0),
    "pipeline": ("model", 1),
    "LLM": ("model", 0),
    "snapshot_download": ("repo_id", 0),
    "hf_hub_download": ("repo_id", 0),
}


def python_refs(text: str, file: str, base: Path) -> list[Reference]:
    try:
        tree = ast.parse(text)
    except (SyntaxError, ValueError):
        return _python_regex(text, file, base)
    except (RecursionError, MemoryError):
        # An expression nested past the parser's limits: read by pattern, and say that it was.
        note_problem(FileProblem(file, "Python nested too deeply to parse; model ids were looked for by pattern only",
                                 1, "python"))
        return _python_regex(text, file, base)
    refs: list[Reference] = []
    for node in ast.walk(tree):
        if not isinstance(node, ast.Call):
            continue
        fn = node.func
        name = fn.attr if isinstance(fn, ast.Attribute) else fn.id if isinstance(fn, ast.Name) else None
        if name not in _PY_CALLS:
            continue
        kwname, pos = _PY_CALLS[name]
        kw = {k.arg: k.value for k in node.keywords if k.arg}
        repo_type = kw.get("repo_type")
        if isinstance(repo_type, ast.Constant) and repo_type.value not in (None, "model"):
            continue
        arg = kw.get(kwname)
        if arg is None and len(node.args) > pos:
            arg = node.args[pos]
        if not (isinstance(arg, ast.Constant) and isinstance(arg.value, str)):
            continue
        rev_node = kw.get("revision")
        revision = rev_node.value if isinstance(rev_node, ast.Constant) and isinstance(rev_node.value, str) else None
        hit = hub_model_id(arg.value, base)
        if hit is None:
            continue
        refs.append(Reference(hit[0], hit[1] or revision, file, arg.lineno, "python", arg.col_offset + 2,
                              detail=name))
    refs.sort(key=lambda r: (r.line, r.column or 0))
    return refs


def _python_regex(text: str, file: str, base: Path) -> list[Reference]:
    refs = []
    for i, raw in enumerate(text.splitlines(), start=1):
        for m in re.finditer(r"""from_pretrained\(\s*(["'])([^"']+)\1""", raw):
            hit = hub_model_id(m.group(2), base)
            if hit:
                refs.append(Reference(hit[0], hit[1], file, i, "python", m.start(2) + 1, detail="from_pretrained"))
    return refs

