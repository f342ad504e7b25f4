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

`digest` is one hash over the files (what modelscan.lock records); `changes` and `model_changes`
say what differs between two bundles (what `gate --locked` reports for a stale one).
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
from scanner.redact import redact_bytes
from scanner.result import Result

BUNDLE_VERSION = "1.0.0"
VERSION_KEY = "bundle_version"      # obligations.json names it: how a folder is known to hold a bundle
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
# the names a bundle owns in its folder (a writer replaces them; the digest covers them and nothing else)
OWNED = ("NOTICE", "OBLIGATIONS.md", "obligations.json", "licenses")


@dataclass(frozen=True)
class BundleInput:
    result: Result
    chain: tuple[Evidence, ...]     # the model's own evidence first, then the bases that could be read
    # the deployment's figures for this model (a gate item's context); None: the context given to build
    context: Mapping[str, Any] | None = None


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
                figures = item.context if item.context is not None else context
                row["deployment_figure"] = {"key": _FIGURES[o.term], "value": figures.get(_FIGURES[o.term])}
            if row not in entry["checklist"][section]:
                entry["checklist"][section].append(row)
        if block:
            notice += [f"== {name} ==", *block, ""]
        models.append(entry)
    # by model, then by content: the same set of inputs gives the same bytes in any order
    models.sort(key=lambda m: (m["model"], json.dumps(m, sort_keys=True, ensure_ascii=False)))
    doc = {VERSION_KEY: BUNDLE_VERSION, "models": models, "summary": counts}
    files["obligations.json"] = (json.dumps(doc, indent=2, sort_keys=True, ensure_ascii=False) + "\n").encode()
    files["OBLIGATIONS.md"] = _markdown(models, counts).encode()
    files["NOTICE"] = ("\n".join(notice).rstrip() + "\n" if notice else "").encode()
    # redacted here, as every file the tool writes is (scanner.atomic): the digest is over what is written
    return {path: redact_bytes(files[path]) for path in sorted(files)}


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


def file_hashes(files: Mapping[str, bytes]) -> dict[str, str]:
    """Relative path -> SHA-256 (hex) of its bytes, sorted by path."""
    return {path: hashlib.sha256(files[path]).hexdigest() for path in sorted(files)}


def digest(files: Mapping[str, bytes]) -> str:
    """One hash over the bundle's paths and bytes (what modelscan.lock records): SHA-256 over, for
    each relative path in sorted order, the UTF-8 path, a NUL byte and the 32-byte SHA-256 of the
    file's bytes."""
    return digest_of(file_hashes(files))


def digest_of(hashes: Mapping[str, str]) -> str:
    """`digest` from the per-file SHA-256s alone (as a lockfile records them)."""
    h = hashlib.sha256()
    for path in sorted(hashes):
        h.update(path.encode() + b"\0" + bytes.fromhex(hashes[path]))
    return "sha256:" + h.hexdigest()


def changes(old: Mapping[str, str], new: Mapping[str, str]) -> dict[str, list[str]]:
    """Paths added, removed and changed from the per-file hashes `old` to `new`."""
    return {"added": sorted(p for p in new if p not in old),
            "removed": sorted(p for p in old if p not in new),
            "changed": sorted(p for p in new if p in old and old[p] != new[p])}


def model_changes(old: bytes | None, new: bytes | None) -> dict[str, list[str]]:
    """Models added, removed and changed between two obligations.json (empty lists when either
    cannot be read as one): a model is named by id, with its revision where it has one; a changed
    one also says what changed (another revision, the verdict, or which parts of its entry)."""
    def entries(data: bytes | None) -> dict[str, list[dict[str, Any]]] | None:
        try:
            doc = json.loads(data) if data is not None else None
        except ValueError:
            return None
        if not isinstance(doc, dict) or not isinstance(doc.get("models"), list):
            return None
        out: dict[str, list[dict[str, Any]]] = {}
        for m in doc["models"]:
            if isinstance(m, dict):
                out.setdefault(str(m.get("model")), []).append(m)
        return out

    def named(name: str, rows: list[dict[str, Any]]) -> str:
        revs = sorted({str(r["revision"])[:12] for r in rows if r.get("revision")})
        return f"{name}@{','.join(revs)}" if revs else name

    def changed(name: str, was: list[dict[str, Any]], now: list[dict[str, Any]]) -> str:
        before, after = named(name, was), named(name, now)
        if before != after:
            return f"{before} -> {after}"
        keys = sorted({k for x in was + now for k in x}
                      - {k for k in {k for x in was + now for k in x}
                         if [x.get(k) for x in was] == [y.get(k) for y in now]})
        if keys == ["verdict"]:
            return f"{after} (verdict {', '.join(str(x.get('verdict')) for x in was)} -> " \
                   f"{', '.join(str(y.get('verdict')) for y in now)})"
        return f"{after} ({', '.join(keys) or 'entries'})"

    a, b = entries(old), entries(new)
    if a is None or b is None:
        return {"added": [], "removed": [], "changed": []}

    def key(rows: list[dict[str, Any]]) -> list[str]:
        return sorted(json.dumps(r, sort_keys=True) for r in rows)

    return {"added": sorted(named(n, b[n]) for n in b if n not in a),
            "removed": sorted(named(n, a[n]) for n in a if n not in b),
            "changed": sorted(changed(n, a[n], b[n]) for n in b if n in a and key(a[n]) != key(b[n]))}
