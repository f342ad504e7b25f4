"""CycloneDX 1.6 ML-BOM (JSON) with cyclonedx-python-lib.

One component of type machine-learning-model per target (version = the revision sha,
purl pkg:huggingface/<org>/<name>@<sha>), its effective licenses (SPDX ids where the
record has one, else one expression with the records' LicenseRef- ids, else names), its
lineage as pedigree ancestors. The library has no model-card model yet, so a CycloneDX 1.6
`modelCard` object is added to each component after serialising.

Needs the `reports` extra; scanner.formats.get turns the ImportError into FormatUnavailable.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import json
import uuid
import warnings
from typing import Any, Iterable

from cyclonedx.model import Property, XsUri
from cyclonedx.model.bom import Bom, BomMetaData
from cyclonedx.model.component import Component, ComponentType, Pedigree
from cyclonedx.model.license import DisjunctiveLicense, LicenseAcknowledgement, LicenseExpression
from cyclonedx.model.tool import ToolRepository
from cyclonedx.output.json import JsonV1Dot6
from cyclonedx.spdx import is_supported_id
from packageurl import PackageURL

from scanner.formats import license_record, purl
from scanner.formats.interface import Format
from scanner.result import LicenseRef, LicenseUse, LineageGraph, Report, Result

NS = "modelscan"
_MODEL = ComponentType.MACHINE_LEARNING_MODEL


def _sanitise_ref(ref: str) -> str:
    body = "".join(c if c.isalnum() or c in ".-" else "-" for c in ref[len("LicenseRef-"):])
    return "LicenseRef-" + (body.strip("-") or "unknown")


def _token(kb: Any, ref: LicenseUse | LicenseRef, fallback_name: str) -> tuple[str, str, Any]:
    """("id" | "ref" | "name", value, record) for one license."""
    rec = license_record(kb, ref)
    if rec is not None and rec.spdx and rec.spdx != "NOASSERTION" and is_supported_id(rec.spdx):
        return "id", rec.spdx, rec
    if rec is not None and rec.spdx_ref:
        return "ref", _sanitise_ref(rec.spdx_ref), rec
    return "name", (rec.name if rec is not None else fallback_name), rec


def _url(rec: Any) -> XsUri | None:
    return XsUri(rec.url) if rec is not None and rec.url else None


def _tokens(kb: Any, refs: Iterable[LicenseUse | LicenseRef]) -> list[tuple[str, str, Any]]:
    tokens: list[tuple[str, str, Any]] = []
    for ref in refs:
        tok = _token(kb, ref, ref.name or ref.id or "unknown")
        if tok[:2] not in [t[:2] for t in tokens]:
            tokens.append(tok)
    return tokens


def licenses_for(kb: Any, refs: Iterable[LicenseUse | LicenseRef], ack: LicenseAcknowledgement | None) -> list[Any]:
    """CycloneDX licenses for licenses that all bind at once."""
    tokens = _tokens(kb, refs)
    if not tokens:
        return []
    kinds = {t[0] for t in tokens}
    if kinds == {"id"}:
        return [DisjunctiveLicense(id=value, url=_url(rec), acknowledgement=ack) for _, value, rec in tokens]
    if "name" not in kinds:
        return [LicenseExpression(" AND ".join(value for _, value, _ in tokens), acknowledgement=ack)]
    return [DisjunctiveLicense(id=value, url=_url(rec), acknowledgement=ack) if kind == "id"
            else DisjunctiveLicense(name=(rec.name if rec is not None else value), url=_url(rec), acknowledgement=ack)
            for kind, value, rec in tokens]


def _purl(repo_id: str | None, sha: str | None) -> PackageURL | None:
    text = purl(repo_id, sha)
    return PackageURL.from_string(text) if text else None


def _props(pairs: Iterable[tuple[str, Any]]) -> list[Property]:
    return [Property(name=f"{NS}:{k}", value=str(v)) for k, v in pairs if v not in (None, "")]


class _Refs:
    def __init__(self) -> None:
        self.used: set[str] = set()

    def make(self, base: str) -> str:
        ref, n = base, 1
        while ref in self.used:
            n += 1
            ref = f"{base}#{n}"
        self.used.add(ref)
        return ref


def _ancestors(kb: Any, r: Result, own_ref: str, refs: _Refs) -> list[Component]:
    lineage = r.lineage or LineageGraph()
    me = r.repo_id or r.target
    out = []
    for node in lineage.nodes:
        node_id = node.id
        if node_id == me:
            continue
        rev = node.revision
        children = [f"{e.child} ({e.relation})" for e in lineage.edges if e.parent == node_id]
        props = [("lineage:parent-of", c) for c in children]
        if node.error:
            props.append(("lineage:error", node.error))
        out.append(Component(
            type=_MODEL, name=node_id, version=rev or None, purl=_purl(node_id, rev),
            bom_ref=refs.make(f"{own_ref}/ancestor/{node_id}@{rev or 'unknown'}"),
            licenses=licenses_for(kb, node.licenses, None), properties=_props(props)))
    return out


def _component(kb: Any, r: Result, refs: _Refs) -> Component:
    name = r.repo_id or r.target
    version = r.sha or r.revision
    p = _purl(r.repo_id, r.sha)
    ref = refs.make(str(p) if p else f"model:{name}@{version or 'unknown'}")
    ancestors = _ancestors(kb, r, ref, refs)
    props = [("verdict", r.verdict), ("target", r.target), ("source", r.source),
             ("revision", r.revision)]
    props += [("license-ref", f"{value}: {rec.name}" + (f" <{rec.url}>" if rec.url else ""))
              for kind, value, rec in _tokens(kb, r.licenses.effective) if kind == "ref"]
    props += [("declared-license", u.id + (f"@{u.version}" if u.version and u.version not in u.id else ""))
              for u in r.licenses.declared]
    return Component(
        type=_MODEL, name=name, version=version or None, purl=p, bom_ref=ref,
        licenses=licenses_for(kb, r.licenses.effective, LicenseAcknowledgement.CONCLUDED),
        pedigree=Pedigree(ancestors=ancestors) if ancestors else None, properties=_props(props))


def model_card(r: Result) -> dict[str, Any]:
    """A CycloneDX 1.6 modelCard for one result."""
    params: dict[str, Any] = {}
    if r.classification.modalities:
        params["inputs"] = [{"format": m} for m in r.classification.modalities]
    datasets = [d for d in r.lineage.datasets if d.id] if r.lineage else []
    if datasets:
        params["datasets"] = [{"type": "dataset", "name": d.id} for d in datasets]
    card: dict[str, Any] = {"modelParameters": params}
    # Obligations are license terms the deployer must meet, not ethical considerations of the
    # model: they go into properties (one per obligation, with its term type and license).
    props = [("verdict", r.verdict), ("openness", r.classification.openness),
             ("license-freedom", r.classification.license_freedom), ("classification", r.classification.label)]
    if r.openness is not None:
        o = r.openness
        props += [("mof-class", o.mof_class), ("mof-class-if-claims-hold", o.mof_class_if_claims_hold),
                  ("osaid", str(o.osaid.get("overall") or "unknown"))]
        props += [(f"mof-component:{c.id}", f"{c.status}; {', '.join(c.where) or '-'}; license {c.license or '-'}"
                   + (f"; {c.reason}" if c.reason else "")) for c in o.components]
    props += [("reason", reason) for reason in r.reasons]
    props += [("obligation", f"{o.term} ({o.license}): {o.text}") for o in r.obligations]
    card["properties"] = [{"name": f"{NS}:{k}", "value": str(v)} for k, v in props if v not in (None, "")]
    return card


def _timestamp(value: str) -> dt.datetime | None:
    try:
        parsed = dt.datetime.fromisoformat(value.replace("Z", "+00:00"))
    except ValueError:
        return None
    return parsed if parsed.tzinfo else parsed.replace(tzinfo=dt.timezone.utc)


def _serial(report: Report) -> uuid.UUID:
    from scanner.formats.json import report_dict

    digest = hashlib.sha256(json.dumps(report_dict(report), sort_keys=True, default=str).encode()).hexdigest()
    return uuid.uuid5(uuid.NAMESPACE_URL, f"urn:modelscan:report:{digest}")


def bom_dict(report: Report, kb: Any = None) -> dict[str, Any]:
    kb = kb if kb is not None else report.kb
    refs = _Refs()
    components = [_component(kb, r, refs) for r in report.results]
    tool = Component(type=ComponentType.APPLICATION, name=str(report.tool.get("name", "modelscan")),
                     version=str(report.tool.get("version", "")) or None, bom_ref=refs.make("tool:modelscan"))
    s = report.summary
    meta_props = _props([("policy", report.policy.name), ("policy-hash", report.policy.hash),
                         ("knowledge-base", report.knowledge_base.get("hash")),
                         ("evaluated-at", report.evaluated_at)] +
                        [(f"summary:{k}", s[k]) for k in ("allow", "review", "deny", "error", "total")])
    metadata = BomMetaData(tools=ToolRepository(components=[tool]), properties=meta_props,
                           timestamp=_timestamp(report.evaluated_at))
    bom = Bom(components=components, metadata=metadata, serial_number=_serial(report))
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")   # "no dependencies" and similar advice for software BOMs
        data = json.loads(JsonV1Dot6(bom).output_as_string())
    order = {str(c.bom_ref.value): i for i, c in enumerate(components)}
    cards = {str(c.bom_ref.value): model_card(r) for c, r in zip(components, report.results, strict=True)}
    data["components"] = sorted(data.get("components") or [], key=lambda c: order.get(c.get("bom-ref"), len(order)))
    for comp in data["components"]:
        if comp.get("bom-ref") in cards:
            comp["modelCard"] = cards[comp["bom-ref"]]
    return data


class CycloneDxFormat(Format):
    def __init__(self, kb: Any = None):
        self.kb = kb

    def render(self, report: Report) -> str:
        return json.dumps(bom_dict(report, self.kb), indent=2, ensure_ascii=False) + "\n"
