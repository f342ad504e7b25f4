"""Reading a model card: YAML front matter and markdown body, safely.

Card YAML comes from strangers. It is parsed with a safe loader that refuses YAML
aliases past a small budget (the "billion laughs" expansion), caps the front matter
size (the file budget: real cards pass 256 KB with long evaluation blocks), the nesting
depth and the size of the resulting data, notices keys set twice, and reports every
problem as a finding instead of raising.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from collections.abc import Mapping
from typing import Any

import yaml

from scanner.evidence import MAX_FILE_BYTES

# The front matter is read within the file budget the source already applied to the README
# (a model-index of several hundred KB is real); the alias and node budgets bound the parse.
MAX_FRONT_MATTER = MAX_FILE_BYTES
MAX_ALIASES = 16
MAX_NODES = 50_000
MAX_DEPTH = 64

_FRONT_MATTER = re.compile(r"\A\ufeff?\s*---[ \t]*\r?\n(.*?)(?:\r?\n)---[ \t]*(?:\r?\n|\Z)", re.DOTALL)

_Base: type[yaml.SafeLoader] | type[yaml.CSafeLoader]
try:  # the C loader is much faster where PyYAML was built with libyaml
    _Base = yaml.CSafeLoader
except AttributeError:  # pragma: no cover
    _Base = yaml.SafeLoader


class CardError(Exception):
    def __init__(self, code: str, message: str):
        super().__init__(message)
        self.code = code


@dataclass(frozen=True)
class Card:
    """A model card split into its YAML front matter and its Markdown body."""
    data: Mapping[str, Any] | None       # front matter (None when absent or refused)
    body: str                            # markdown after the front matter
    has_front_matter: bool
    problems: tuple[CardError, ...] = ()


def split_front_matter(text: str) -> tuple[str | None, str]:
    m = _FRONT_MATTER.match(text)
    if not m:
        return None, text
    return m.group(1), text[m.end():]


def compose_bounded(source: str, max_nodes: int = MAX_NODES) -> yaml.Node | None:
    """The node tree of untrusted YAML (one document), after a streaming pass that refuses alias
    expansion bombs, too many nodes and nesting past MAX_DEPTH (no recursion on hostile depth).
    Raises CardError or yaml.YAMLError."""
    _check_events(source, max_nodes)
    loader = _Base(source)
    try:
        return loader.get_single_node()
    finally:
        loader.dispose()


def _check_events(source: str, max_nodes: int) -> None:
    aliases = nodes = depth = 0
    for event in yaml.parse(source, Loader=_Base):
        if isinstance(event, yaml.AliasEvent):
            aliases += 1
            if aliases > MAX_ALIASES:
                raise CardError("card-yaml-aliases",
                                f"YAML uses more than {MAX_ALIASES} aliases (possible expansion bomb); refused")
        elif isinstance(event, (yaml.ScalarEvent, yaml.SequenceStartEvent, yaml.MappingStartEvent)):
            nodes += 1
            if nodes > max_nodes:
                raise CardError("card-malformed", f"YAML has more than {max_nodes} nodes; refused")
            if not isinstance(event, yaml.ScalarEvent):
                depth += 1
                if depth > MAX_DEPTH:
                    raise CardError("card-malformed", f"YAML nested deeper than {MAX_DEPTH} levels; refused")
        elif isinstance(event, (yaml.SequenceEndEvent, yaml.MappingEndEvent)):
            depth -= 1


def compose_all_bounded(source: str, max_nodes: int = MAX_NODES) -> list[yaml.Node]:
    """Every document's node tree, with the budgets of compose_bounded over the whole stream."""
    _check_events(source, max_nodes)
    loader = _Base(source)
    try:
        out: list[yaml.Node] = []
        while loader.check_node():
            node = loader.get_node()
            if node is not None:
                out.append(node)
        return out
    finally:
        loader.dispose()


def construct(node: yaml.Node | None) -> Any:
    """Python data from a node tree made by compose_bounded (safe types only)."""
    if node is None:
        return None
    loader = _Base("")
    try:
        return loader.construct_document(node)
    finally:
        loader.dispose()


def duplicate_keys(node: yaml.Node | None) -> list[tuple[str, int]]:
    """(key, 1-based line) of every mapping key set a second time, in document order."""
    out: list[tuple[str, int]] = []
    stack = [node] if node is not None else []
    seen: set[int] = set()            # an alias may point back at its own anchor: visit each node once
    while stack:
        n = stack.pop()
        if id(n) in seen:
            continue
        seen.add(id(n))
        if isinstance(n, yaml.MappingNode):
            keys: set[str] = set()
            for k, v in n.value:
                if isinstance(k, yaml.ScalarNode) and k.tag != "tag:yaml.org,2002:merge":
                    if k.value in keys:
                        out.append((k.value, k.start_mark.line + 1))
                    keys.add(k.value)
                stack.append(v)
        elif isinstance(n, yaml.SequenceNode):
            stack.extend(n.value)
    return sorted(out, key=lambda kl: kl[1])


def load_yaml_bounded(source: str) -> Any:
    """Parse untrusted YAML: safe types only, alias budget, node budget, depth budget."""
    return construct(compose_bounded(source))


def parse_card(text: str) -> Card:
    raw, body = split_front_matter(text)
    if raw is None:
        return Card(None, text, False)
    if len(raw) > MAX_FRONT_MATTER:
        return Card(None, body, True, (CardError("card-malformed",
                    f"card front matter is {len(raw)} bytes (limit {MAX_FRONT_MATTER}); not parsed"),))
    problems: tuple[CardError, ...] = ()
    try:
        node = compose_bounded(raw)
        dups = duplicate_keys(node)
        if dups:
            # Readers disagree on which value counts: a finding, never a silent pick.
            problems = (CardError("card-duplicate-key", "card YAML sets " + ", ".join(
                f"'{k[:80]}' again at line {line + 1}" for k, line in dups[:5]) + "; the last value was read"),)
        data = construct(node)
    except CardError as exc:
        exc.args = (("card " + str(exc)) if not str(exc).startswith("card") else str(exc),)
        return Card(None, body, True, (exc,))
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        where = f" at line {mark.line + 2}" if mark is not None else ""
        problem = getattr(exc, "problem", None) or str(exc).splitlines()[0]
        return Card(None, body, True, (CardError("card-malformed", f"card YAML does not parse{where}: {problem}"),))
    except (RecursionError, ValueError, TypeError) as exc:
        return Card(None, body, True, (CardError("card-malformed", f"card YAML refused: {type(exc).__name__}"),))
    if data is None:
        return Card({}, body, True, problems)
    if not isinstance(data, dict):
        return Card(None, body, True, (CardError("card-malformed",
                    f"card front matter is a {type(data).__name__}, not a mapping"),))
    return Card({str(k): v for k, v in data.items()}, body, True, problems)


def as_list(value: Any) -> list:
    """Card fields may be a string, a list or absent."""
    if value is None:
        return []
    if isinstance(value, (list, tuple)):
        return [v for v in value if v is not None]
    return [value]
