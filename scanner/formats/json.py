"""The JSON report (docs/architecture.md §2; scanner/schemas/report.schema.json describes it)."""

from __future__ import annotations

import json
import math
from json.encoder import encode_basestring  # type: ignore[attr-defined]
from dataclasses import asdict
from typing import Any, Callable, TypeVar

from scanner.evidence import thaw
from scanner.formats.interface import Format
from scanner.result import Classification, LicenseRef, LicenseUse, Licenses, LineageGraph, Location, MofComponent, \
    Obligation, Openness, Report, Result, SmokeOutcome


K = TypeVar("K")
MEMO_SIZE = 8192          # built sections kept per kind (a fleet repeats far fewer)


class Shared(dict):  # type: ignore[type-arg]
    """A dict that several results share: one license use, obligation or openness component seen in
    many models is built once (`shared`), and `dumps_indented` writes its text once per indent and
    copies it after. Nothing changes a report's dicts once built; this one must not be changed."""

    __slots__ = ()


class SharedList(list):  # type: ignore[type-arg]
    """A list that several results share (a model's obligations), as `Shared` is a dict."""

    __slots__ = ()


def shared(build: Callable[[K], Any], key: Callable[[K], Any] | None = None) -> Callable[[K], Any]:
    """`build`, memoised by `key(argument)` (by default the frozen, hashable argument itself); an
    unhashable key is built each time. A dict built is returned as a `Shared`, a list as a
    `SharedList`. Equal keys must write equal JSON: the fields built from are strings, None, booleans
    and floats (a confidence is always a float, so no 1 meets a 1.0), and a key holds every field
    the build reads, in the order it writes them."""
    memo: dict[Any, Any] = {}

    def get(obj: K) -> Any:
        try:
            k = obj if key is None else key(obj)
            hit = memo.get(k)
        except TypeError:                   # a field that cannot be hashed (a plain dict)
            return build(obj)
        if hit is None:
            built = build(obj)
            hit = Shared(built) if isinstance(built, dict) else SharedList(built)
            if len(memo) >= MEMO_SIZE:
                memo.clear()
            memo[k] = hit
        return hit
    return get


def _license(u: LicenseUse) -> dict[str, Any]:
    out = {**u.ref(), "record": u.record, "kind": u.kind, "category": u.category,
           "found_in": [{"kind": o.kind, "where": o.where, "method": o.method, "confidence": o.confidence,
                         **({"detail": o.detail} if o.detail else {})} for o in u.origins]}
    if u.via:
        out["via"] = list(u.via)
    return out


_license_shared = shared(_license)


def _obligation(o: Obligation) -> dict[str, Any]:
    return {"term": o.term, "license": _ref(o.license_ref or LicenseRef(o.license, None, o.license)),
            "text": o.text, **({"source": o.source} if o.source else {})}


def _component(c: MofComponent) -> dict[str, Any]:
    return {"id": c.id, "name": c.name, "mof_class": c.mof_class, "type": c.type, "optional": c.optional,
            "status": c.status, "where": list(c.where), "license": c.license, "open_license": c.open_license,
            **({"reason": c.reason} if c.reason else {})}


_obligation_shared = shared(_obligation)
_component_shared = shared(_component)


def _licenses(ls: Licenses) -> dict[str, Any]:
    return {"declared": [_license_shared(u) for u in ls.declared],
            "detected": [_license_shared(u) for u in ls.detected],
            "effective": [_license_shared(u) for u in ls.effective]}


def _classification(c: Classification) -> dict[str, Any]:
    return {"openness": c.openness, "license_freedom": c.license_freedom, "label": c.label,
            "evidence": list(c.evidence), "modalities": list(c.modalities)}


def _obligations(obligations: tuple[Obligation, ...]) -> list[Any]:
    return [_obligation_shared(o) for o in obligations]


# Whole sections too: a fleet's models mostly share their licenses, obligations and openness.
_licenses_shared = shared(_licenses)
_classification_shared = shared(_classification)
_obligations_shared = shared(_obligations)


def result_dict(r: Result) -> dict[str, Any]:
    return {
        "target": r.target, "repo_id": r.repo_id, "revision": r.revision, "sha": r.sha, "source": r.source,
        "verdict": r.verdict, "reasons": list(r.reasons),
        "licenses": _licenses_shared(r.licenses),
        "classification": _classification_shared(r.classification),
        "findings": [{"code": f.code, "severity": f.severity, "message": f.message, "evidence": thaw(dict(f.evidence)),
                      "effect": f.effect} for f in r.findings],
        "obligations": _obligations_shared(tuple(r.obligations)),
        "files": [{"path": f.path, "status": f.status, "size": f.size, "sha256": f.sha256,
                   "matches": [thaw(dict(m)) for m in f.matches]} for f in r.files],
        "lineage": lineage_dict(r.lineage) if r.lineage else None,
        "locations": [location_dict(loc) for loc in r.locations],
        "smoke": smoke_dict(r.smoke) if r.smoke else None,
        "provenance": thaw(r.provenance) if r.provenance else None,
        "openness": _openness_shared(r.openness) if r.openness is not None else None,
    }


def _ref(ref: LicenseRef) -> dict[str, Any]:
    return {"id": ref.id, "version": ref.version, "name": ref.name}


def lineage_dict(g: LineageGraph) -> dict[str, Any]:
    nodes = [{"id": n.id, "revision": n.revision, "licenses": [_ref(x) for x in n.licenses],
              **({"error": n.error} if n.error else {})} for n in g.nodes]
    edges = [{"child": e.child, "parent": e.parent, "relation": e.relation,
              **({"inferred": True, "evidence": e.evidence} if e.inferred else {})} for e in g.edges]
    datasets = [{"id": d.id, "licenses": [_ref(x) for x in d.licenses], **({"error": d.error} if d.error else {})}
                for d in g.datasets]
    return {"nodes": nodes, "edges": edges, "roots": list(g.roots), "datasets": datasets}


def location_dict(loc: Location) -> dict[str, Any]:
    """A location as the report writes it: the keys that are set, in this order, then its extras."""
    out: dict[str, Any] = {"file": loc.file}
    for key in ("line", "kind"):
        if getattr(loc, key) is not None:
            out[key] = getattr(loc, key)
    for key in ("column", "deployment", "match", "revision"):
        if getattr(loc, key):
            out[key] = getattr(loc, key)
    out.update(thaw(dict(loc.extra)))
    return out


def smoke_dict(s: SmokeOutcome) -> dict[str, Any]:
    """The smoke outcome as the report writes it (also the junit format's `smoke:` lines): what
    was scanned, the status, why, and a passed run's figures flattened in."""
    out: dict[str, Any] = {}
    if s.source is not None:
        out.update(revision=s.revision, source=s.source)
    if s.download_seconds is not None:
        out["download_seconds"] = s.download_seconds
    out["status"] = s.status
    if s.status == "passed":
        out["files"] = list(s.files)
    for key in ("code", "stage"):
        if getattr(s, key) is not None:
            out[key] = getattr(s, key)
    if s.message:
        out["message"] = s.message
    if s.status == "refused":
        out.update(reasons=list(s.reasons), finding_codes=list(s.finding_codes))
    if s.out_of_memory:
        out["out_of_memory"] = True
    if s.figures is not None:
        out.update(asdict(s.figures))
    return out


def _openness(o: Openness) -> dict[str, Any]:
    return {"mof_class": o.mof_class, "mof_class_if_claims_hold": o.mof_class_if_claims_hold,
            "next_class": o.next_class, "missing_for_next": list(o.missing_for_next),
            "components": [_component_shared(c) for c in o.components],
            "osaid": dict(o.osaid), "osaid_reasons": list(o.osaid_reasons)}


def _openness_key(o: Openness) -> tuple[Any, ...]:
    # every field _openness reads, in its order (osaid is a mapping: its items, in order)
    return (o.mof_class, o.mof_class_if_claims_hold, o.next_class, o.missing_for_next, o.components,
            tuple(o.osaid.items()), o.osaid_reasons)


_openness_shared = shared(_openness, _openness_key)


def report_dict(report: Report) -> dict[str, Any]:
    return {
        "schema_version": report.schema_version,
        "tool": dict(report.tool),
        "knowledge_base": dict(report.knowledge_base),
        "policy": {"path": report.policy.path, "name": report.policy.name, "hash": report.policy.hash},
        "evaluated_at": report.evaluated_at,
        "context": thaw(dict(report.context)),
        "results": [result_dict(r) for r in report.results],
        "summary": report.summary,
        "fail_on": report.fail_on,
        "configuration": thaw(dict(report.configuration)) if report.configuration is not None else None,
    }


class JsonFormat(Format):
    def render(self, report: Report) -> str:
        return dumps_indented(report_dict(report)) + "\n"


class _Unusual(Exception):
    """A value dumps_indented leaves to json.dumps."""


def dumps_indented(data: Any) -> str:
    """`json.dumps(data, indent=2, ensure_ascii=False, default=str, allow_nan=False)`, byte for byte,
    about 2.4 times faster: with an indent the standard library encodes in Python through nested
    generators, and a gate's report is some 12 KB per model. Plain dicts with string keys, lists,
    tuples, strings, ints, finite floats, booleans and None are written here (strings by json's
    own C escaper); anything else hands the whole document to json.dumps. A `Shared` dict or
    `SharedList` met again at the same indent is copied from the text written the first time."""
    out: list[str] = []
    app = out.append
    memo: dict[tuple[int, str], str] = {}     # (id of a Shared dict or list, indent) -> its text

    def enc(o: Any, ind: str) -> None:
        t = type(o)
        key = None
        if t is str:
            app(encode_basestring(o))
        elif o is None:
            app("null")
        elif o is True:
            app("true")
        elif o is False:
            app("false")
        elif t is int:
            app(int.__repr__(o))
        elif t is float and math.isfinite(o):
            app(float.__repr__(o))
        elif not o and (t is dict or t is Shared):
            app("{}")
        elif not o and (t is list or t is tuple or t is SharedList):
            app("[]")
        else:
            if t is Shared or t is SharedList:
                key = (id(o), ind)        # every container of the document is alive: ids are unique
                text = memo.get(key)
                if text is not None:
                    app(text)
                    return
                start = len(out)
            inner = ind + "  "
            sep = ",\n" + inner
            first = True
            if t is dict or t is Shared:
                app("{\n" + inner)
                for k, v in o.items():
                    if type(k) is not str:
                        raise _Unusual
                    if not first:
                        app(sep)
                    first = False
                    app(encode_basestring(k))
                    app(": ")
                    enc(v, inner)
                app("\n" + ind + "}")
            elif t is list or t is tuple or t is SharedList:
                app("[\n" + inner)
                for v in o:
                    if not first:
                        app(sep)
                    first = False
                    enc(v, inner)
                app("\n" + ind + "]")
            else:
                raise _Unusual
            if key is not None:
                text = memo[key] = "".join(out[start:])
                del out[start:]
                app(text)

    try:
        enc(data, "")
    except _Unusual:
        return json.dumps(data, indent=2, ensure_ascii=False, default=str, allow_nan=False)
    return "".join(out)
