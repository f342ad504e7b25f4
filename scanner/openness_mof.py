"""Model Openness Framework class and OSI OSAID reading from a model's evidence. Pure: no I/O.

Each of the 17 MOF components (scanner/data/mof.yaml) is located in the evidence: a file in the
repository, the card itself, a library that implements the architecture, a dataset read on the Hub,
or only a link the card gives (a GitHub repository, an arXiv paper), which cannot be read here and is
therefore "claimed", never verified. A component counts toward a class when it is verified and
carries an open license of its type. The two-axis classification (scanner/classify.py) is a separate
reading: it asks whether data and code are public and how free the weight license is.
"""

from __future__ import annotations

import functools
import re
import weakref
from collections.abc import Iterable, Mapping
from typing import Any


from scanner.classify import WEIGHT_SUFFIXES
from scanner.evidence import Evidence
from scanner.kb import KnowledgeBase, data_file
from scanner.result import LicenseUse, MofComponent, Openness

CLASSES = ("III", "II", "I")            # from the base class up
_LEVEL = {"III": 3, "II": 2, "I": 1}

_GITHUB = re.compile(r"https?://(?:www\.)?github\.com/([A-Za-z0-9_.-]+)/([A-Za-z0-9_.-]+)")
_ARXIV = re.compile(r"arxiv\.org/(?:abs|pdf)/(\d{4}\.\d{4,5})", re.IGNORECASE)
_HEADING = re.compile(r"^\s{0,3}#{1,6}\s+(.+?)\s*#*\s*$", re.MULTILINE)

# keywords on the line of a link (or in a file name) -> the component it evidences
_CODE_KEYWORDS = (
    ("evaluation-code", ("eval", "benchmark", "harness")),
    ("preprocessing-code", ("preprocess", "data pipeline", "dedup", "filtering", "dolma toolkit", "datatrove")),
    ("inference-code", ("inference", "generate", "serving", "handler")),
    ("training-code", ("train", "pretrain", "fine-tun", "finetun")),
)
_SECTION_KEYWORDS = (
    ("data-card", ("training data", "dataset", "data card", "datasheet", "pretraining data")),
    ("evaluation-results", ("evaluation", "results", "benchmark", "performance")),
    ("sample-outputs", ("sample output", "example output", "examples of generation")),
)
_INTERMEDIATE = re.compile(r"intermediate checkpoint|\bstep\d{3,}|stage\d-step|revision=\"?step", re.IGNORECASE)


@functools.lru_cache(maxsize=1)
def _data() -> Mapping[str, Any]:
    return data_file("mof.yaml")


def source() -> str:
    return str(_data()["source"])


def is_open(record_id: str | None, ctype: str, kb: KnowledgeBase) -> bool | None:
    """Whether a license (record key) is an open license for a component type; None when unknown."""
    if not record_id:
        return None
    rec = kb.records.get(record_id)
    rule = _data()["open_licenses"][ctype]
    rid = rec.id if rec is not None else record_id
    if rid in (rule.get("ids") or ()):
        return True
    if rec is None or rec.is_placeholder:
        return None
    return bool(rule.get("osi_approved") and rec.osi_approved)


def _lines_with(body: str, pattern: re.Pattern[str]) -> list[tuple[re.Match[str], str]]:
    """(match, the line it is on, lower case) for each distinct match, in order."""
    out: list[tuple[re.Match[str], str]] = []
    seen: set[str] = set()
    for line in body.splitlines():
        for m in pattern.finditer(line):
            key = m.group(0).rstrip(".,)")
            if key not in seen:
                seen.add(key)
                out.append((m, line.lower()))
    return out


def _kind_of(text: str) -> list[str]:
    return [cid for cid, words in _CODE_KEYWORDS if any(w in text for w in words)]


def assess(ev: Evidence, card: Mapping[str, Any] | None, body: str, effective: Iterable[LicenseUse],
           datasets: Iterable[Mapping[str, Any]], kb: KnowledgeBase) -> Openness:
    card = card or {}
    body = body or ""
    repo_licenses: list[str | None] = [u.record or u.id for u in effective if u.kind != "use-policy"]
    found: dict[str, list[tuple[str, str, str | None]]] = {}   # cid -> [(status, where, license)]

    def add(cid: str, status: str, where: str, lic: str | None) -> None:
        found.setdefault(cid, []).append((status, where, lic))

    def add_repo(cid: str, where: str) -> None:
        for lic in repo_licenses or [None]:
            add(cid, "verified", where, lic)

    # files in the repository
    paths = [s.path for s in ev.siblings] or [f.path for f in ev.files]
    weights = [p for p in paths if p.lower().endswith(WEIGHT_SUFFIXES)]
    final = [p for p in weights if not re.search(r"(checkpoint|step)[-_]?\d+/", p, re.IGNORECASE)]
    inter = [p for p in weights if p not in final]
    if final:
        add_repo("parameters-final", f"file {final[0]}" + (f" (+{len(final) - 1})" if len(final) > 1 else ""))
    if inter:
        add_repo("parameters-intermediate", f"file {inter[0]}")
    for p in paths:
        low = p.lower()
        if low.endswith(".pdf") and any(w in low for w in ("report", "paper", "arxiv")):
            add_repo("technical-report", f"file {p}")
            add_repo("research-paper", f"file {p}")
        if not low.endswith(".py"):
            continue
        name = low.rsplit("/", 1)[-1]
        if name.startswith(("modeling", "configuration", "model")):
            add_repo("architecture", f"file {p}")
        for cid in _kind_of(name):
            add_repo(cid, f"file {p}")
    readme = ev.file("README.md")
    if readme is not None and readme.readable:
        add_repo("model-card", "file README.md")
        headings = [h.lower() for h in _HEADING.findall(body)]
        for cid, words in _SECTION_KEYWORDS:
            hit = next((h for h in headings if any(w in h for w in words)), None)
            if hit is not None:
                add_repo(cid, f"card section '{hit[:60]}'")
    if card.get("model-index"):
        add_repo("evaluation-results", "card model-index")
    config = ev.config or {}
    if config:
        add_repo("model-metadata", "file config.json")
    archs = config.get("architectures") if isinstance(config, Mapping) else None
    lib = ev.library_name or (card.get("library_name") if isinstance(card.get("library_name"), str) else None)
    libs = _data()["libraries"]
    if lib in libs and archs:
        add("architecture", "verified", f"library {lib} ({libs[lib]['url']})", libs[lib]["license"])
    if lib in libs:
        add("supporting-libraries", "verified", f"library {lib}", libs[lib]["license"])
    # links in the card: claimed, since a linked repository or paper is not read here
    for m, line in _lines_with(body, _GITHUB):
        owner, repo = m.group(1), m.group(2).removesuffix(".git").rstrip(".,)")
        where = f"repository github.com/{owner}/{repo}"
        kinds = _kind_of(line + " " + repo.lower())
        for cid in kinds:
            add(cid, "claimed", where, None)
        if not kinds:
            add("training-code", "claimed", where, None)
    papers = [m.group(1) for m, _ in _lines_with(body, _ARXIV)]
    papers += [t.split(":", 1)[1] for t in ev.tags if t.startswith("arxiv:")]
    for pid in dict.fromkeys(papers):
        add("technical-report", "claimed", f"arXiv {pid}", None)
        add("research-paper", "claimed", f"arXiv {pid}", None)
    if _INTERMEDIATE.search(body):
        add("parameters-intermediate", "claimed", "card mentions intermediate checkpoints", None)
    # datasets the card lists: read on the Hub (verified, with their licenses) or not
    for d in datasets:
        did = str(d.get("id"))
        lics: list[str | None] = [u.record or u.id for u in d.get("licenses") or ()]
        status = "claimed" if d.get("error") else "verified"
        for lic in lics or [None]:
            add("datasets", status, f"dataset {did} on the Hub", lic)
    for did in _eval_datasets(card):
        add("evaluation-data", "claimed", f"dataset {did} (model-index)", None)

    key = tuple((cid, tuple(hits)) for cid, hits in found.items())
    memo = _CONCLUSIONS.get(kb)
    if memo is None:
        memo = _CONCLUSIONS[kb] = {}
    hit = memo.get(key)
    if hit is None:
        if len(memo) >= 4096:
            memo.clear()
        hit = memo[key] = _conclude(key, kb)
    return hit


# knowledge base -> what was found -> the assessment (a fleet's models mostly find the same things)
_CONCLUSIONS: weakref.WeakKeyDictionary[KnowledgeBase, dict[Any, Openness]] = weakref.WeakKeyDictionary()


def _conclude(found: tuple[tuple[str, tuple[tuple[str, str, str | None], ...]], ...],
              kb: KnowledgeBase) -> Openness:
    """The assessment from what was found, per component: a pure function of it and the knowledge
    base (the Openness is frozen; its osaid mapping is never changed)."""
    by_id = dict(found)
    comps = tuple(_component(c, list(by_id.get(c["id"], ())), kb) for c in _data()["components"])
    verified = _reached(comps, claims=False)
    claimed = _reached(comps, claims=True)
    nxt = None if verified == "I" else CLASSES[CLASSES.index(verified) + 1] if verified != "none" else "III"
    missing = tuple(f"{c.name}: {c.reason}" for c in comps
                    if nxt and not c.optional and _LEVEL[c.mof_class] >= _LEVEL[nxt] and not _counts(c, False, comps))
    osaid, reasons = _osaid(comps)
    return Openness(verified, claimed, nxt, missing, comps, osaid, reasons)


def _eval_datasets(card: Mapping[str, Any]) -> list[str]:
    out: list[str] = []
    index = card.get("model-index")
    for entry in index if isinstance(index, (list, tuple)) else ():
        results = entry.get("results") if isinstance(entry, Mapping) else None
        for res in results if isinstance(results, (list, tuple)) else ():
            ds = res.get("dataset") if isinstance(res, Mapping) else None
            name = ds.get("type") or ds.get("name") if isinstance(ds, Mapping) else None
            if isinstance(name, str) and name not in out:
                out.append(name)
    return out


def _component(spec: Mapping[str, Any], hits: list[tuple[str, str, str | None]], kb: KnowledgeBase) -> MofComponent:
    ctype = spec["type"]
    if not hits:
        return _missing(spec["id"], spec["name"], spec["class"], ctype, bool(spec.get("optional")))
    base: dict[str, Any] = {"id": spec["id"], "name": spec["name"], "mof_class": spec["class"], "type": ctype,
                            "optional": bool(spec.get("optional"))}
    verified = [h for h in hits if h[0] == "verified"]
    use = verified or hits
    where = tuple(dict.fromkeys(h[1] for h in use))
    lics = [h[2] for h in use]
    opens = [is_open(lic, ctype, kb) for lic in lics]
    if verified:
        bad = [lic for lic, o in zip(lics, opens, strict=True) if o is False]
        unknown = [lic for lic, o in zip(lics, opens, strict=True) if o is None]
        lic_label = ", ".join(dict.fromkeys(str(lic) for lic in lics if lic)) or None
        if bad:
            return MofComponent(**base, status="verified", where=where, license=lic_label, open_license=False,
                                reason=f"{_names(bad)} not an open {ctype} license")
        if unknown:
            return MofComponent(**base, status="verified", where=where, license=lic_label, open_license=None,
                                reason="no license identified for it")
        return MofComponent(**base, status="verified", where=where, license=lic_label, open_license=True)
    return MofComponent(**base, status="claimed", where=where, license=None, open_license=None,
                        reason="claimed by the card only (a link that was not read; license unknown)")


@functools.lru_cache(maxsize=256)
def _missing(cid: str, name: str, mof_class: str, ctype: str, optional: bool) -> MofComponent:
    """A component not found: the same (frozen) object for every model that lacks it."""
    return MofComponent(cid, name, mof_class, ctype, optional, status="missing",
                        reason="not found in the repository or the card")


def _names(ids: list[str | None]) -> str:
    names = list(dict.fromkeys(str(i) for i in ids))
    return ", ".join(names) + (" is" if len(names) == 1 else " are")


def _counts(c: MofComponent, claims: bool, comps: tuple[MofComponent, ...] = ()) -> bool:
    if c.id == "technical-report":     # MOF: a research paper may stand in for the technical report
        paper = next((p for p in comps if p.id == "research-paper"), None)
        if paper is not None and _counts(paper, claims):
            return True
    if c.status == "verified":
        return c.open_license is True
    return claims and c.status == "claimed" and c.open_license is not False


def _reached(comps: tuple[MofComponent, ...], claims: bool) -> str:
    reached = "none"
    for cls in CLASSES:
        need = [c for c in comps if not c.optional and _LEVEL[c.mof_class] >= _LEVEL[cls]]
        if all(_counts(c, claims, comps) for c in need):
            reached = cls
        else:
            break
    return reached


def _osaid(comps: tuple[MofComponent, ...]) -> tuple[dict[str, str], tuple[str, ...]]:
    """OSAID 1.0: data information (at least one of data card, technical report, research paper, datasets),
    the complete code under OSI-approved licenses, the parameters under OSI-approved terms."""
    by = {c.id: c for c in comps}
    reasons: list[str] = []

    def state(ids: list[str], any_of: bool, label: str) -> str:
        cs = [by[i] for i in ids]
        met = [c for c in cs if c.status == "verified" and c.open_license is True]
        claimed = [c for c in cs if c.status == "claimed" or (c.status == "verified" and c.open_license is None)]
        if (any_of and met) or (not any_of and len(met) == len(cs)):
            return "met"
        if (any_of and claimed) or (not any_of and len(met) + len(claimed) == len(cs)):
            reasons.append(f"{label}: only claimed by the card or license unknown")
            return "claimed"
        unmet = (c for c in cs if c not in met and c not in claimed)
        reasons.append(f"{label}: " + "; ".join(f"{c.name} {c.reason}" for c in unmet))
        return "unmet"

    out = {
        "data_information": state(["data-card", "technical-report", "research-paper", "datasets"], True,
                                  "data information"),
        "code": state(["architecture", "training-code", "inference-code", "evaluation-code", "preprocessing-code"],
                      False, "code"),
        "parameters": state(["parameters-final"], False, "parameters"),
    }
    vals = set(out.values())
    out["overall"] = "unmet" if "unmet" in vals else "claimed" if "claimed" in vals else "met"
    return out, tuple(reasons)
