"""SPDX 2.3 (JSON) with spdx-tools.

Each target is a package (SPDXID sanitised, version = revision sha, purl external ref),
described by the document; its effective licenses are the concluded license, its card's
the declared one. A license SPDX has no id for is a `LicenseRef-` with extracted licensing
info that points at the license (never its text). Lineage ancestors are packages too, each
child DESCENDANT_OF its parent (VARIANT_OF for a quantisation). The verdict is a REVIEW
annotation by the tool.

Needs the `reports` extra; scanner.formats.get turns the ImportError into FormatUnavailable.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import io
import json
import re
import uuid
from typing import Any, Iterable

from spdx_tools.common.spdx_licensing import spdx_licensing
from spdx_tools.spdx.model import (Actor, ActorType, Annotation, AnnotationType, CreationInfo, Document,
                                   ExternalPackageRef, ExternalPackageRefCategory, ExtractedLicensingInfo, Package,
                                   Relationship, RelationshipType, SpdxNoAssertion)
from spdx_tools.spdx.writer.json.json_writer import write_document_to_stream

from scanner.formats import license_record, purl
from scanner.formats.interface import Format
from scanner.result import LicenseRef, LicenseUse, Report, Result

NAMESPACE_BASE = "https://spdx.org/spdxdocs/modelscan-"
_UNSAFE = re.compile(r"[^A-Za-z0-9.-]+")
_VARIANT_RELATIONS = {"quantized"}


def sanitise(text: str) -> str:
    """Characters SPDX allows in an SPDXID or a LicenseRef (letters, digits, '.', '-')."""
    return _UNSAFE.sub("-", text).strip("-") or "unknown"


def _known_spdx(spdx_id: str | None) -> bool:
    if not spdx_id or spdx_id == "NOASSERTION":
        return False
    try:
        return not spdx_licensing.unknown_license_keys(spdx_licensing.parse(spdx_id))
    except Exception:  # license_expression raises several exception types
        return False


class _Builder:
    def __init__(self, report: Report, kb: Any):
        self.report = report
        self.kb = kb
        self.ids: set[str] = {"SPDXRef-DOCUMENT"}
        self.refs: dict[str, ExtractedLicensingInfo] = {}   # LicenseRef id -> info
        self.ref_owner: dict[str, str] = {}                 # LicenseRef id -> record key or name it stands for
        self.packages: list[Package] = []
        self.relationships: list[Relationship] = []
        self.annotations: list[Annotation] = []
        self.by_node: dict[tuple[str, str | None], str] = {}   # (repo id, revision) -> SPDXID
        self.tool = Actor(ActorType.TOOL, f"{report.tool.get('name', 'modelscan')}-{report.tool.get('version', '')}"
                          .rstrip("-"))
        self.created = _datetime(report.evaluated_at)

    def spdx_id(self, base: str) -> str:
        ident, n = f"SPDXRef-{sanitise(base)}", 1
        while ident in self.ids:
            n += 1
            ident = f"SPDXRef-{sanitise(base)}-{n}"
        self.ids.add(ident)
        return ident

    def license_ref(self, wanted: str, owner: str, name: str, url: str | None, comment: str) -> str:
        base = "LicenseRef-" + sanitise(wanted[len("LicenseRef-"):] if wanted.startswith("LicenseRef-") else wanted)
        ref, n = base, 1
        while ref in self.ref_owner and self.ref_owner[ref] != owner:
            n += 1
            ref = f"{base}-{n}"
        if ref not in self.refs:
            self.ref_owner[ref] = owner
            statement = f"See {url}" if url else f"{name}: license text not included; no public URL is recorded."
            self.refs[ref] = ExtractedLicensingInfo(license_id=ref, extracted_text=statement, license_name=name,
                                                    cross_references=[url] if url else [], comment=comment)
        return ref

    def token(self, ref: LicenseUse | LicenseRef) -> str:
        rec = license_record(self.kb, ref)
        if rec is not None and _known_spdx(rec.spdx):
            return rec.spdx
        if rec is not None:
            wanted = rec.spdx_ref or (rec.spdx if rec.spdx and rec.spdx != "NOASSERTION" else rec.key)
            return self.license_ref(wanted, rec.key, rec.name, rec.url,
                                    f"modelscan knowledge base record {rec.key}")
        lid = ref.id or "unknown"
        name = ref.name or lid
        return self.license_ref(str(lid), f"name:{name}", str(name), None,
                                "A license name the modelscan knowledge base has no record for.")

    def expression(self, refs: Iterable[LicenseUse | LicenseRef]):
        tokens = list(dict.fromkeys(self.token(r) for r in refs))
        if not tokens:
            return SpdxNoAssertion()
        return spdx_licensing.parse(" AND ".join(tokens))

    def package(self, name: str, revision: str | None, repo_id: str | None, *, concluded, declared,
                summary: str | None = None, comment: str | None = None) -> str:
        ident = self.spdx_id(f"Model-{name}" + (f"-{revision[:12]}" if revision else ""))
        refs = []
        p = purl(repo_id, revision)
        if p:
            refs.append(ExternalPackageRef(ExternalPackageRefCategory.PACKAGE_MANAGER, "purl", p))
        self.packages.append(Package(
            spdx_id=ident, name=name, download_location=SpdxNoAssertion(), version=revision or None,
            files_analyzed=False, license_concluded=concluded, license_declared=declared,
            copyright_text=SpdxNoAssertion(), external_references=refs, summary=summary, comment=comment))
        return ident

    def result(self, r: Result) -> None:
        name = r.repo_id or r.target
        rev = r.sha or r.revision
        ident = self.package(
            name, rev, r.repo_id,
            concluded=self.expression(r.licenses.effective), declared=self.expression(r.licenses.declared),
            summary=r.classification.label if r.verdict != "error" else None,
            comment=f"machine-learning model; modelscan verdict: {r.verdict}")
        self.by_node.setdefault((name, r.sha), ident)
        self.relationships.append(Relationship("SPDXRef-DOCUMENT", RelationshipType.DESCRIBES, ident))
        lines = [f"modelscan verdict: {r.verdict} (policy {self.report.policy.name})"]
        if r.verdict != "error":
            lines.append(f"openness: {r.classification.openness}; license freedom: "
                         f"{r.classification.license_freedom}")
        lines += [f"reason: {reason}" for reason in r.reasons]
        lines += [f"obligation ({o.license}): {o.text}" for o in r.obligations]
        self.annotations.append(Annotation(ident, AnnotationType.REVIEW, self.tool, self.created, "\n".join(lines)))

    def lineage(self, r: Result) -> None:
        if not r.lineage:
            return
        me = r.repo_id or r.target
        node_ids: dict[str, str] = {me: self.by_node[(me, r.sha)]}
        for node in r.lineage.nodes:
            nid = node.id
            if nid == me:
                continue
            rev = node.revision
            key = (nid, rev)
            if key not in self.by_node:
                comment = "machine-learning model (base of a scanned model)"
                if node.error:
                    comment += f"; could not be read: {node.error}"
                self.by_node[key] = self.package(nid, rev, nid, concluded=self.expression(node.licenses),
                                                 declared=SpdxNoAssertion(),
                                                 comment=comment)
            node_ids[nid] = self.by_node[key]
        for edge in r.lineage.edges:
            child, parent = node_ids.get(edge.child), node_ids.get(edge.parent)
            if not child or not parent:
                continue
            kind = (RelationshipType.VARIANT_OF if edge.relation in _VARIANT_RELATIONS
                    else RelationshipType.DESCENDANT_OF)
            rel = Relationship(child, kind, parent, comment=f"base_model relation: {edge.relation}")
            if rel not in self.relationships:
                self.relationships.append(rel)


def _datetime(value: str) -> dt.datetime:
    try:
        parsed = dt.datetime.fromisoformat(value.replace("Z", "+00:00"))
    except ValueError:
        parsed = dt.datetime(1970, 1, 1, tzinfo=dt.timezone.utc)
    if parsed.tzinfo:
        parsed = parsed.astimezone(dt.timezone.utc).replace(tzinfo=None)
    return parsed.replace(microsecond=0)


def _namespace(report: Report) -> str:
    from scanner.formats.json import report_dict

    digest = hashlib.sha256(json.dumps(report_dict(report), sort_keys=True, default=str).encode()).hexdigest()
    return NAMESPACE_BASE + str(uuid.uuid5(uuid.NAMESPACE_URL, f"urn:modelscan:report:{digest}"))


def spdx_document(report: Report, kb: Any = None) -> Document:
    b = _Builder(report, kb if kb is not None else report.kb)
    for r in report.results:
        b.result(r)
    for r in report.results:
        b.lineage(r)
    info = CreationInfo(
        spdx_version="SPDX-2.3", spdx_id="SPDXRef-DOCUMENT", name=f"modelscan report (policy {report.policy.name})",
        document_namespace=_namespace(report), creators=[b.tool], created=b.created,
        creator_comment=f"Policy {report.policy.name} ({report.policy.hash}); knowledge base "
                        f"{report.knowledge_base.get('hash', '')}; evaluated at {report.evaluated_at}.")
    return Document(info, packages=b.packages, relationships=b.relationships, annotations=b.annotations,
                    extracted_licensing_info=list(b.refs.values()))


class SpdxFormat(Format):
    def __init__(self, kb: Any = None):
        self.kb = kb

    def render(self, report: Report) -> str:
        buf = io.StringIO()
        write_document_to_stream(spdx_document(report, self.kb), buf, validate=False)
        return buf.getvalue() + "\n"
