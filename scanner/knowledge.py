"""Knowledge the card reader uses beside the license records, and its checks against them.

Where a fact is about one license it lives in that license's record (`links:` and `families:`
in licenses/*.yaml, see scanner/schemas/license.schema.json); facts that span licenses or that
predate the record format live in scanner/data/*.yaml. Every entry names a license that must
resolve to a record and gives its source; `problems(kb)` says which do not, and the tests and
`modelscan licenses validate` run it. Adding a license is one YAML file: its own link patterns
and family rules are read from it, after the shipped ones.
"""

from __future__ import annotations

import functools
import re
from pathlib import Path
from typing import Any, Mapping


from scanner.kb import PACKAGE_DIR, KnowledgeBase, data_file

DATA = PACKAGE_DIR / "data"


@functools.lru_cache(maxsize=8)
def _data(name: str) -> Any:
    return data_file(name)


def shipped_links() -> tuple[Mapping[str, Any], ...]:
    return tuple(_data("links.yaml") or ())


def shipped_families() -> tuple[Mapping[str, Any], ...]:
    return tuple(_data("families.yaml") or ())


def lineages() -> Mapping[str, Any]:
    return _data("lineages.yaml") or {}


def phrases() -> Mapping[str, Any]:
    return _data("card_phrases.yaml") or {}


@functools.lru_cache(maxsize=8)
def link_hints(kb: KnowledgeBase) -> tuple[tuple[re.Pattern[str], str], ...]:
    """(compiled pattern, license id) in the order they are tried: the shipped table, then each record's own."""
    out = [(re.compile(e["pattern"], re.I), e["license"]) for e in shipped_links()]
    for rec in sorted(kb, key=lambda r: r.key):
        out += [(re.compile(p, re.I), rec.key) for p in rec.links]
    return tuple(out)


@functools.lru_cache(maxsize=8)
def family_rules(kb: KnowledgeBase | None = None) -> tuple[Mapping[str, Any], ...]:
    """The family inference rules: the shipped table, then the rules license records carry (their
    `license` defaulting to the record), in record order."""
    out = list(shipped_families())
    if kb is not None:
        for rec in sorted(kb, key=lambda r: r.key):
            for rule in rec.families:
                out.append({"license": rec.key, "group": rule.get("family"), **dict(rule)})
    return tuple(out)


def _check_regex(where: str, pattern: Any, out: list[str]) -> None:
    try:
        re.compile(str(pattern))
    except re.error as exc:
        out.append(f"{where}: pattern {pattern!r} does not compile ({exc})")


def problems(kb: KnowledgeBase) -> list[str]:
    """Entries of the data files (and record-borne rules) that name no record, lack a source or
    carry a pattern that does not compile."""
    out: list[str] = []

    def lic(where: str, value: Any) -> None:
        if kb.resolve(str(value)) is None:
            out.append(f"{where}: license {value!r} is not a record")

    for i, e in enumerate(shipped_links()):
        lic(f"links.yaml[{i}]", e.get("license"))
        _check_regex(f"links.yaml[{i}]", e.get("pattern"), out)
        if not e.get("source"):
            out.append(f"links.yaml[{i}]: no source")
    for fam in family_rules(kb):
        where = f"family {fam.get('family')!r}"
        lic(where, fam.get("license"))
        if not fam.get("source"):
            out.append(f"{where}: no source")
        for key in ("name", "prose", "exclude", "tag_yields_to"):
            for p in fam.get(key) or ():
                _check_regex(where, p, out)
    data = lineages()
    for gen, spec in (data.get("generations") or {}).items():
        lic(f"lineages.yaml generation {gen!r}", spec.get("license"))
        for p in spec.get("markers") or ():
            _check_regex(f"lineages.yaml generation {gen!r}", p, out)
    gens = set(data.get("generations") or {})
    arch = data.get("architecture") or {}
    if not all(isinstance(w, int) for w in arch.get("widths") or ()):
        out.append("lineages.yaml architecture: widths must be whole numbers")
    for g, ps in (arch.get("sizes") or {}).items():
        if g not in gens:
            out.append(f"lineages.yaml architecture: generation {g!r} is not defined")
        for p in ps:
            _check_regex("lineages.yaml architecture", p, out)
    for e in data.get("lineages") or ():
        where = f"lineages.yaml {e.get('lineage')!r}"
        if not e.get("source"):
            out.append(f"{where}: no source")
        for g in e.get("generations") or ():
            if g not in gens:
                out.append(f"{where}: generation {g!r} is not defined")
        for lid in e.get("adds") or ():
            lic(where, lid)
        for p in [e.get("name")] + list(e.get("exclude") or ()) + [
                p for ps in (e.get("markers") or {}).values() for p in ps]:
            _check_regex(where, p, out)
    for i, e in enumerate(phrases().get("license_names") or ()):
        lic(f"card_phrases.yaml license_names[{i}]", e.get("license"))
        _check_regex(f"card_phrases.yaml license_names[{i}]", e.get("pattern"), out)
    return out


def data_files() -> list[Path]:
    return sorted(DATA.glob("*.yaml"))
