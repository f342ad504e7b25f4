"""The compliance bundle: what a deployment ships and says, assembled from a scan. Pure: no I/O.

From each decided model (its Result) and the evidence of it and its bases, `build` returns the
files of a folder, path -> bytes, the same bytes for the same input:
  NOTICE             every notice line the binding licenses require (read by scanner.notices from
                     the license texts the repositories ship) and the NOTICE files they ship
  licenses/          the license and use-policy texts each repository ships, by model and file name
  OBLIGATIONS.md     a checklist per model (displays, naming, notices, use policy, disclosure,
  obligations.json   thresholds with the deployment's figures); the JSON follows
                     scanner/schemas/obligations.schema.json
A text a snapshot withheld (hash only) is listed with its hash and URL instead, counted apart.
"""

from __future__ import annotations

import hashlib
import json
import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Any

from scanner.evidence import Evidence, FileEvidence
from scanner.kb import KnowledgeBase
from scanner.notices import notice_line
from scanner.result import Result

BUNDLE_VERSION = "1.0.0"
HUB = "https://huggingface.co"

# obligation term -> checklist section (terms not listed go to "other")
SECTIONS = {
    "display-notice": "displays", "attribution-notice": "notices", "notice-file": "notices",
    "license-copy": "notices", "modification-notice": "notices", "derivative-naming": "naming",
    "acceptable-use-policy": "use-policy", "use-restrictions-passdown": "use-policy",
    "ai-content-disclosure": "disclosure", "mau-threshold": "thresholds", "revenue-threshold": "thresholds",
}
SECTION_ORDER = ("displays", "naming", "notices", "use-policy", "disclosure", "thresholds", "other")
_FIGURES = {"mau-threshold": "monthly_active_users", "revenue-threshold": "annual_revenue_usd"}


@dataclass(frozen=True)
class BundleInput:
    result: Result
    chain: tuple[Evidence, ...]     # the model's own evidence first, then the bases that could be read


def chain_of(result: Result, own: Evidence, graph: Mapping[str, Any]) -> tuple[Evidence, ...]:
    """The evidence of the model and of every base in its lineage that was read, in lineage order."""
    out = [own]
    for node in result.lineage.nodes if result.lineage else ():
        ev = graph.get(node.id)
        if isinstance(ev, Evidence) and ev is not own and ev not in out:
            out.append(ev)
    return tuple(out)


def _slug(name: str) -> str:
    return re.sub(r"[^A-Za-z0-9._-]+", "_", name).strip("_") or "model"


def _url(ev: Evidence, path: str) -> str:
    if ev.repo_id and ev.source in ("hub", "snapshot"):
        return f"{HUB}/{ev.repo_id}/blob/{ev.sha or 'main'}/{path}"
    return path


def _records_in(ev: Evidence, kb: KnowledgeBase) -> set[str]:
    """Record keys the readable license files of `ev` were identified as."""
    from scanner.identify import identify

    out: set[str] = set()
    for fm in identify(ev, kb).files:
        fe = ev.file(fm.path.split("#", 1)[0])
        if fe is not None and fe.readable:
            out.update(str(m["record"]) for m in fm.matches if m.get("record"))
    return out


def _texts(ev: Evidence) -> list[FileEvidence]:
    return sorted(ev.license_files, key=lambda f: f.path)


def build(items: Iterable[BundleInput], kb: KnowledgeBase, context: Mapping[str, Any]) -> dict[str, bytes]:
    files: dict[str, bytes] = {}
    notice: list[str] = []
    models: list[dict[str, Any]] = []
    counts = {"texts": 0, "withheld": 0, "published_only": 0, "notice_lines": 0, "notice_files": 0}
    for item in items:
        r = item.result
        if r.verdict == "error":
            continue
        name = r.repo_id or r.target
        entry: dict[str, Any] = {"model": name, "revision": r.sha, "verdict": r.verdict, "texts": [],
                                 "notice_lines": [], "checklist": {s: [] for s in SECTION_ORDER}}
        block: list[str] = []
        shipped_records: set[str] = set()
        for ev in item.chain:
            owner = ev.repo_id or ev.target
            for f in _texts(ev):
                rec = {"from": owner, "file": f.path, "sha256": f.sha256, "url": _url(ev, f.path)}
                if f.readable and f.text is not None:
                    path = f"licenses/{_slug(name)}/{_slug(owner)}__{_slug(f.path)}"
                    data = f.raw if f.raw is not None else f.text.encode("utf-8")
                    files[path] = data
                    rec.update(status="included", path=path, sha256=hashlib.sha256(data).hexdigest())
                    counts["texts"] += 1
                    line = notice_line(f.text)
                    if line and line not in entry["notice_lines"]:
                        entry["notice_lines"].append(line)
                        block.append(line)
                        counts["notice_lines"] += 1
                    if f.path.lower().startswith("notice"):
                        block.append(f"--- {f.path} of {owner} ---")
                        block.extend(f.text.strip().splitlines())
                        counts["notice_files"] += 1
                elif f.status == "omitted":
                    rec["status"] = "withheld"
                    counts["withheld"] += 1
                else:
                    rec["status"] = f.status
                entry["texts"].append(rec)
            if any(t.get("status") == "included" and t["from"] == owner for t in entry["texts"]):
                shipped_records.update(_records_in(ev, kb))
        for use in r.licenses.effective:
            rec_ = kb.records.get(use.record) if use.record else None
            if rec_ is None or use.record in shipped_records:
                continue
            entry["texts"].append({"from": None, "file": None, "license": use.id, "status": "published",
                                   "url": rec_.url, "sha256": None})
            counts["published_only"] += 1
        for o in r.obligations:
            section = SECTIONS.get(o.term, "other")
            row: dict[str, Any] = {"term": o.term, "license": o.license, "text": o.text}
            if o.source:
                row["source"] = o.source
            if o.term in _FIGURES:
                row["deployment_figure"] = {"key": _FIGURES[o.term], "value": context.get(_FIGURES[o.term])}
            if row not in entry["checklist"][section]:
                entry["checklist"][section].append(row)
        if block:
            notice += [f"== {name} ==", *block, ""]
        models.append(entry)
    models.sort(key=lambda m: m["model"])
    doc = {"bundle_version": BUNDLE_VERSION, "models": models, "summary": counts}
    files["obligations.json"] = (json.dumps(doc, indent=2, sort_keys=True, ensure_ascii=False) + "\n").encode()
    files["OBLIGATIONS.md"] = _markdown(models, counts).encode()
    files["NOTICE"] = ("\n".join(notice).rstrip() + "\n" if notice else "").encode()
    return dict(sorted(files.items()))


def _markdown(models: list[dict[str, Any]], counts: Mapping[str, int]) -> str:
    head = (f"{len(models)} model(s); {counts['texts']} license text(s) included, {counts['withheld']} withheld by "
            f"the snapshot (hash and URL below), {counts['published_only']} only published elsewhere.")
    out = ["# Obligations", "", head, ""]
    for m in models:
        out += [f"## {m['model']}" + (f" at {m['revision'][:12]}" if m.get("revision") else ""), ""]
        for section in SECTION_ORDER:
            rows = m["checklist"][section]
            if not rows:
                continue
            out += [f"### {section}", ""]
            for row in rows:
                fig = row.get("deployment_figure")
                extra = f" (deployment: {fig['key']} = {fig['value']})" if fig else ""
                out.append(f"- [ ] {row['license']}: {row['text']}{extra}")
            out.append("")
        if m["notice_lines"]:
            out += ["### notice lines (NOTICE)", ""] + [f"- {line}" for line in m["notice_lines"]] + [""]
        out += ["### license texts", ""]
        for t in m["texts"]:
            if t["status"] == "included":
                out.append(f"- {t['path']} ({t['from']} {t['file']}, sha256 {t['sha256']})")
            elif t["status"] == "published":
                out.append(f"- {t['license']}: not shipped by the repository; published at {t['url']}")
            else:
                out.append(f"- {t['from']} {t['file']}: {t['status']}; sha256 {t['sha256']}; {t['url']}")
        out.append("")
    return "\n".join(out).rstrip() + "\n"


def digest(files: Mapping[str, bytes]) -> str:
    """One hash over the bundle's paths and bytes (what a lockfile would record)."""
    h = hashlib.sha256()
    for path in sorted(files):
        h.update(path.encode() + b"\0" + hashlib.sha256(files[path]).digest())
    return "sha256:" + h.hexdigest()
