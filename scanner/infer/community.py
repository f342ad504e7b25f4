"""Community lineages (scanner/data/lineages.yaml): a model named after a popular community base
of a known Llama generation ("MythoMax-L2-13b", "airoboros-33b", "vicuna-13b-v1.5")."""

from __future__ import annotations

import functools
import re
from dataclasses import dataclass

from scanner.infer import MAX_BODY, quote
from scanner.knowledge import lineages, phrases

MAX_PROSE_MATCHES = 20      # mentions of one lineage read per card


@dataclass(frozen=True)
class Candidate:
    """A Llama generation a community lineage points to, and the licenses it binds."""
    lineage: str
    generation: str
    license: str              # record id of the generation's license
    adds: tuple[str, ...]     # licenses the community base carries itself
    adds_unknown: tuple[str, ...]
    evidence: str             # why: the name and the marker (or that the name spans generations)
    source: str


@functools.lru_cache(maxsize=1024)
def _rx(pattern: str) -> re.Pattern[str]:
    """A lineage table pattern, compiled once (case-insensitive): they are tried for every model."""
    return re.compile(pattern, re.I)


def _any(patterns, text: str) -> str | None:
    for p in patterns or ():
        m = _rx(p).search(text)
        if m:
            return m.group(0)
    return None


def _choose(entry, gens, found: str, marker_text: str, what: str) -> list[Candidate] | None:
    """The candidates of a lineage `entry` matched as `found`, its generation told by the markers in
    `marker_text`; None when the lineage needs a marker and there is none."""
    spans = list(entry.get("generations") or ())
    marked: list[tuple[str, str]] = []
    for g in spans:
        hit = _any(list((entry.get("markers") or {}).get(g) or ()) + list(gens[g].get("markers") or ()), marker_text)
        if hit:
            marked.append((g, hit))
    if len(marked) > 1:      # own markers outrank the generic ones (vicuna v1.3 at 33B is still LLaMA)
        own = [(g, h) for g, h in marked if _any((entry.get("markers") or {}).get(g), marker_text)]
        marked = own or marked
    if entry.get("require_marker") and not marked:
        return None
    if entry.get("all_bind"):      # the weights hold every generation's (a frankenmerge of both)
        why = f" with generation marker '{marked[0][1]}'" if marked else ""
        chosen = [(g, f"{what}: '{found}'{why} holds weights of {' and '.join(spans)}; every one binds")
                  for g in spans]
    elif marked:
        chosen = [(g, f"{what}: '{found}' with generation marker '{hit}'") for g, hit in marked]
    elif len(spans) == 1:
        chosen = [(spans[0], f"{what}: '{found}' was released only on {spans[0]}")]
    else:
        chosen = [(g, f"{what}: '{found}' spans {' and '.join(spans)} and carries no generation "
                      "marker; every candidate binds") for g in spans]
    return [Candidate(entry["lineage"], g, gens[g]["license"], tuple(entry.get("adds") or ()),
                      tuple(entry.get("adds_unknown") or ()), why, entry["source"]) for g, why in chosen]


def candidates(name: str) -> list[Candidate]:
    """The Llama generations a repo name (the part after the org) points to through a community lineage."""
    data = lineages()
    name = name.rsplit("/", 1)[-1][:200]
    if _any(data.get("other_bases"), name):
        return []
    gens = data.get("generations") or {}
    for entry in data.get("lineages") or ():
        m = _rx(entry["name"]).search(name)
        if not m or _any(entry.get("exclude"), name):
            continue
        chosen = _choose(entry, gens, m.group(0), name, f"name '{name}'")
        if chosen is not None:
            return chosen
    return []


_TOKEN = re.compile(r"[\w.-]{0,60}")
_NAMED_TAIL = re.compile(r"[^\n,;:!?()]{0,24}")   # the words after a name that may give its version or size
_DATA = re.compile(r"\b(?:datasets?|data|corpus|prompts?)\b", re.I)   # "a dataset derived from X" names no base


@functools.lru_cache(maxsize=1)
def _prose_rules() -> tuple[re.Pattern[str], re.Pattern[str], re.Pattern[str], re.Pattern[str]]:
    """community_before, community_after, community_not, compared (scanner/data/card_phrases.yaml)."""
    ph = phrases()
    return (re.compile(ph["community_before"], re.I), re.compile(ph["community_after"], re.I),
            re.compile(ph["community_not"], re.I), re.compile(ph["compared"], re.I))


def in_text(body: str, name: str, model_type: str = "") -> list[Candidate]:
    """The Llama generations a card's prose points to when it names a community base as the model's
    base ("with the ReMM model as a base", "a fine-tune of MythoMax", "based on Airoboros L2").
    The words right around the name must say so: a mention alone, a dataset or prompt format of the
    same name, or a comparison adds nothing. The generation comes from markers on the named model
    (a bare "ReMM" binds what the lineage spans) and the size in the repo's own name. A config of
    another architecture than Llama's (a Mistral model trained on an airoboros dataset) reads none."""
    data = lineages()
    if model_type and model_type not in ((data.get("architecture") or {}).get("model_types") or ()):
        return []
    gens = data.get("generations") or {}
    before_re, after_re, not_re, compared_re = _prose_rules()
    text = body[:MAX_BODY]
    me = name.rsplit("/", 1)[-1][:200]
    for entry in data.get("lineages") or ():
        if entry.get("require_marker"):         # a bare "llama" is the family rules' business
            continue
        for n, m in enumerate(_rx(entry["name"]).finditer(text)):
            if n >= MAX_PROSE_MATCHES:
                break
            a = m.start()
            while a > 0 and a > m.start() - 60 and re.match(r"[\w.-]", text[a - 1]):
                a -= 1
            end = m.end() + len(_TOKEN.match(text, m.end()).group(0))  # type: ignore[union-attr]
            while end > m.end() and text[end - 1] in ".-":
                end -= 1
            token = text[a:end]
            if _any(data.get("other_bases"), token) or _any(entry.get("exclude"), token):
                continue
            clause = re.split(r"[.!?;\n]", text[max(0, a - 80):a])[-1]
            after = text[end:end + 60]
            said_before = before_re.search(clause) and not _DATA.search(clause[-35:])
            if compared_re.search(clause[-60:]) or not_re.search(after) or not (said_before or after_re.search(after)):
                continue
            q = quote(text, a, end)
            named = text[a:end] + _NAMED_TAIL.match(text, end).group(0)  # type: ignore[union-attr]
            chosen = _choose(entry, gens, token, f"{named} {me}", f"card text '{q}' names the base")
            if chosen:
                return chosen
    return []


def by_architecture(name: str, model_type: str) -> list[Candidate]:
    """A model of a Llama architecture, at a size only one Llama generation has, that names nothing
    else: that generation (`architecture` in scanner/data/lineages.yaml)."""
    data = lineages()
    arch = data.get("architecture") or {}
    name = name.rsplit("/", 1)[-1][:200]
    if not model_type or model_type not in (arch.get("model_types") or ()) or _any(data.get("other_bases"), name):
        return []
    gens = data.get("generations") or {}
    out = []
    for g, patterns in (arch.get("sizes") or {}).items():
        hit = _any(patterns, name)
        if hit:
            out.append(Candidate("llama-architecture", g, gens[g]["license"], (), (),
                                 f"config model_type '{model_type}' and size '{hit.strip('-_ .')}' in name '{name}' "
                                 f"(a size of {g})", arch.get("source", "")))
    return out[:1]


def unsized_architecture(name: str, model_type: str, width: object = None) -> str | None:
    """Why a model of a Llama architecture whose card names no base and whose name names no other base
    and no size cannot be read as allowed: its weights may be a fine-tune of LLaMA or Llama 2 (whose
    licenses bind) or trained from scratch, and nothing tells which. None when that does not apply,
    or when the config's `width` (hidden_size) is none of those releases' widths."""
    data = lineages()
    arch = data.get("architecture") or {}
    name = name.rsplit("/", 1)[-1][:200]
    if not model_type or model_type not in (arch.get("model_types") or ()) or _any(data.get("other_bases"), name):
        return None
    if any(_any(patterns, name) for patterns in (arch.get("sizes") or {}).values()):
        return None
    known_width = isinstance(width, int) and not isinstance(width, bool)
    if known_width and width not in (arch.get("widths") or ()):
        return None
    gens = data.get("generations") or {}
    shape = f" with hidden size {width}" if known_width else ""
    return (f"config model_type '{model_type}'{shape} is the architecture of Meta's {' and '.join(sorted(gens))} "
            f"releases, and neither the card nor the name '{name}' says whether the weights derive from one of them "
            "(whose license would bind) or were trained from scratch")
