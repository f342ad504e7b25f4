"""Reading a model card: YAML front matter and markdown body, safely.

Card YAML comes from strangers. It is parsed with a safe loader that refuses YAML
aliases past a small budget (the "billion laughs" expansion), caps the front matter
size and the size of the resulting data, and reports every problem as a finding
instead of raising.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any, Mapping

import yaml

from scanner.evidence import MAX_FILE_BYTES

# The front matter is read within the file budget the source already applied to the README
# (a model-index of several hundred KB is real); the alias and node budgets bound the parse.
MAX_FRONT_MATTER = MAX_FILE_BYTES
MAX_ALIASES = 16
MAX_NODES = 50_000

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


class _BoundedLoader(yaml.SafeLoader):
    """SafeLoader that counts alias events and nodes while composing."""

    def __init__(self, stream: str):
        super().__init__(stream)
        self._aliases = 0
        self._nodes = 0

    def compose_node(self, parent, index):  # type: ignore[override]
        if self.check_event(yaml.AliasEvent):
            self._aliases += 1
            if self._aliases > MAX_ALIASES:
                raise CardError("card-yaml-aliases",
                                f"card YAML uses more than {MAX_ALIASES} aliases (possible expansion bomb); refused")
        self._nodes += 1
        if self._nodes > MAX_NODES:
            raise CardError("card-malformed", f"card YAML has more than {MAX_NODES} nodes; refused")
        return super().compose_node(parent, index)


@dataclass(frozen=True)
class Card:
    data: Mapping[str, Any] | None       # front matter (None when absent or refused)
    body: str                            # markdown after the front matter
    has_front_matter: bool
    problems: tuple[CardError, ...] = ()


def split_front_matter(text: str) -> tuple[str | None, str]:
    m = _FRONT_MATTER.match(text)
    if not m:
        return None, text
    return m.group(1), text[m.end():]


def load_yaml_bounded(source: str) -> Any:
    """Parse untrusted YAML: safe types only, alias budget, node budget."""
    loader: yaml.SafeLoader | yaml.CSafeLoader
    if "&" in source or "*" in source:
        loader = _BoundedLoader(source)
    else:  # no anchors or aliases possible: the fast C loader is safe
        loader = _Base(source)
    try:
        return loader.get_single_data()
    finally:
        loader.dispose()


def parse_card(text: str) -> Card:
    raw, body = split_front_matter(text)
    if raw is None:
        return Card(None, text, False)
    if len(raw) > MAX_FRONT_MATTER:
        return Card(None, body, True, (CardError("card-malformed",
                    f"card front matter is {len(raw)} bytes (limit {MAX_FRONT_MATTER}); not parsed"),))
    try:
        data = load_yaml_bounded(raw)
    except CardError as exc:
        return Card(None, body, True, (exc,))
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        where = f" at line {mark.line + 2}" if mark is not None else ""
        problem = getattr(exc, "problem", None) or str(exc).splitlines()[0]
        return Card(None, body, True, (CardError("card-malformed", f"card YAML does not parse{where}: {problem}"),))
    except (RecursionError, ValueError, TypeError) as exc:
        return Card(None, body, True, (CardError("card-malformed", f"card YAML refused: {type(exc).__name__}"),))
    if data is None:
        return Card({}, body, True)
    if not isinstance(data, dict):
        return Card(None, body, True, (CardError("card-malformed",
                    f"card front matter is a {type(data).__name__}, not a mapping"),))
    return Card({str(k): v for k, v in data.items()}, body, True)


def as_list(value: Any) -> list:
    """Card fields may be a string, a list or absent."""
    if value is None:
        return []
    if isinstance(value, (list, tuple)):
        return [v for v in value if v is not None]
    return [value]
