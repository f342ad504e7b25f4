"""The generated parts of the JSON Schemas, from the term registry and the finding registry.

`scripts/gen_schemas.py` writes them into scanner/schemas/ (`--check` only compares), and a
test keeps the committed schemas current. Everything else in those files is written by hand
and kept as it is: this module replaces only
  license.schema.json   $defs.term, $defs.region
  policy.schema.json    properties.terms (its keys and modes), $defs.context, $defs.region
  report.schema.json    properties.context, $defs.region, the finding code enum, the obligation term enum
and writes docs/terms.md, the registry as a table, and scanner/data/compiled.json, what the
shipped data files parse to (scanner/compiled.py).
"""

from __future__ import annotations

import copy
import json
from typing import Any

from scanner import compiled, terms
from scanner.findings import rules_for
from scanner.kb import SCHEMA_DIR

GENERATED = ("license.schema.json", "policy.schema.json", "report.schema.json")


def _load(name: str) -> dict[str, Any]:
    return json.loads((SCHEMA_DIR / name).read_text(encoding="utf-8"))


def build(reg: terms.TermRegistry | None = None, current: dict[str, dict[str, Any]] | None = None
          ) -> dict[str, dict[str, Any]]:
    """The three schemas with their generated parts from `reg` (default: the registry in use)."""
    reg = reg or terms.registry()
    current = current or {name: _load(name) for name in GENERATED}
    out = {name: copy.deepcopy(schema) for name, schema in current.items()}

    lic = out["license.schema.json"]
    lic.setdefault("$defs", {})
    lic["$defs"]["term"] = terms.term_schema(reg)
    lic["$defs"]["region"] = terms.region_schema()

    pol = out["policy.schema.json"]
    pol["properties"]["terms"] = {
        "type": "object",
        "description": "How each license term type is treated: enforce (check against the context: deny when "
                       "violated, review when the context lacks a value or the term needs judging), deny, review, "
                       "obligation (list it), ignore. A type the policy does not name gets its default mode "
                       "(scanner/terms.py).",
        "propertyNames": {"enum": list(reg.names)},
        "additionalProperties": {"enum": list(terms.MODES)},
    }
    pol["$defs"]["context"] = terms.context_schema(reg)
    pol["$defs"]["region"] = terms.region_schema()

    rep = out["report.schema.json"]
    ctx = terms.context_schema(reg)
    ctx["description"] = ("The deployment context the license terms were checked against (the policy's context "
                          "after --context overrides).")
    rep["properties"]["context"] = ctx
    rep["$defs"]["region"] = terms.region_schema()
    rep["$defs"]["finding"]["properties"]["code"]["enum"] = list(rules_for(reg))
    term = rep["$defs"]["obligation"]["properties"]["term"]
    term.pop("type", None)
    term["enum"] = list(reg.names)
    return out


def render(schema: dict[str, Any]) -> str:
    return json.dumps(schema, indent=2, ensure_ascii=False) + "\n"


def _outputs() -> dict[Any, str]:
    built = build()
    out: dict[Any, str] = {SCHEMA_DIR / name: render(built[name]) for name in GENERATED}
    if doc_path().parent.is_dir():          # docs/ is in the repository, not in the wheel
        out[doc_path()] = terms_doc()
    out[compiled.PATH] = compiled.build()
    return out


def _current(path: Any) -> str | None:
    try:
        return path.read_text(encoding="utf-8")
    except FileNotFoundError:
        return None


def stale() -> list[str]:
    """The generated files (schemas, docs/terms.md) that differ from what the registries generate."""
    return [path.name for path, text in _outputs().items() if _current(path) != text]


def write() -> list[str]:
    changed = []
    for path, text in _outputs().items():
        if _current(path) != text and path != compiled.PATH:
            path.write_text(text, encoding="utf-8")
            changed.append(path.name)
    # compiled.json last: its policy keys hash the policy schema just written
    text = compiled.build()
    if _current(compiled.PATH) != text:
        compiled.PATH.write_text(text, encoding="utf-8")
        changed.append(compiled.PATH.name)
    return changed


# ---- docs/terms.md: the same registry as a table -------------------------------------------------

DOC = "terms.md"


def terms_doc(reg: terms.TermRegistry | None = None) -> str:
    reg = reg or terms.registry()
    lines = [
        "# Term types and deployment-context keys",
        "",
        "Generated from `scanner/terms.py` by `python scripts/gen_schemas.py`; do not edit by hand.",
        "",
        "A license record lists typed terms; a policy says per type how it is treated (`terms:`), and a",
        "type it does not name gets the default mode below. `enforce` runs the type's check against the",
        "deployment context: `deny` when the text bans outright what the context states, `review` when",
        "the text is narrower than the context value (a condition to judge) or the context lacks the key,",
        "otherwise an obligation. Duty-only types (no check) are listed as obligations and never change",
        "the verdict on their own.",
        "",
        "| Type | Default mode | Check | Finding | Context keys | Parameters | Meaning |",
        "|---|---|---|---|---|---|---|",
    ]
    for t in reg:
        params = [f"`{p}`" + ("*" if p in t.required else "") for p in t.params]
        lines.append(f"| `{t.name}` | {t.mode} | {'yes' if t.check else 'duty only'} | "
                     f"{f'`{t.finding.code}`' if t.finding else ''} | {', '.join(f'`{c}`' for c in t.context)} | "
                     f"{', '.join(params)} | {t.description} |")
    lines += ["", "`*` required. Every term may also carry `note`, `source` and `section`.", "",
              "## Context keys", "", "| Key | Values | Meaning |", "|---|---|---|"]
    for c in reg.context_keys:
        schema = c.schema
        if schema.get("$ref") or schema.get("items", {}).get("$ref"):
            values = "ISO 3166-1 alpha-2 code, EU or EEA" + (" (a list)" if schema.get("type") == "array" else "")
        elif schema.get("items", {}).get("enum"):
            values = "list of: " + ", ".join(f"`{v}`" for v in schema["items"]["enum"])
        else:
            values = schema.get("type", "")
        lines.append(f"| `{c.name}` | {values} | {c.description} |")
    return "\n".join(lines) + "\n"


def doc_path():
    return SCHEMA_DIR.parent.parent / "docs" / DOC
