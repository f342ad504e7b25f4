"""YAML documents the user writes (policies, deployment manifests): parsed safely (bounded in
aliases, nodes and depth), with the line of any key, so that every error can name the file, the
line and the key. A key set twice in one mapping is an error: readers disagree on which counts."""

from __future__ import annotations

import datetime as dt
from typing import Any, Callable

import yaml

from scanner.card import CardError, compose_bounded, construct, duplicate_keys


def yaml_line(node: yaml.Node | None, path: list[Any]) -> int | None:
    """The 1-based line of the YAML node at a JSON path (deepest node found)."""
    line = None
    for part in path:
        if node is None:
            break
        line = node.start_mark.line + 1
        if isinstance(node, yaml.MappingNode):
            nxt = None
            for k, v in node.value:
                if k.value == part:
                    nxt = v
                    line = k.start_mark.line + 1
                    break
            node = nxt
        elif isinstance(node, yaml.SequenceNode) and isinstance(part, int) and part < len(node.value):
            node = node.value[part]
        else:
            node = None
    if node is not None:
        line = node.start_mark.line + 1
    return line


def parse_document(text: str, where: str, error: Callable[[str], Exception], what: str) -> tuple[Any, yaml.Node]:
    """(data, node tree) of a YAML mapping; `error(message)` is raised with a one-line message
    naming `where` (and the line) when the text is not YAML, refused, or not a mapping."""
    try:
        node = compose_bounded(text)
        dups = duplicate_keys(node)
        data = None if dups else construct(node)
    except CardError as exc:
        raise error(f"{where}: {exc}") from None
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        line = f":{mark.line + 1}" if mark is not None else ""
        problem = str(getattr(exc, 'problem', None) or exc).splitlines()[0]
        raise error(f"{where}{line}: invalid YAML: {problem}") from None
    except (RecursionError, ValueError, TypeError, OverflowError) as exc:
        raise error(f"{where}: YAML refused: {type(exc).__name__}") from None
    if dups:
        key, line_no = dups[0]
        raise error(f"{where}:{line_no}: duplicate key '{key[:80]}' (each key may appear once in a mapping)")
    if not isinstance(data, dict) or node is None:
        raise error(f"{where}: {what}")
    return _dates_as_text(data), node


def _dates_as_text(data: Any) -> Any:
    """YAML reads an unquoted 2027-05-01 as a date; the formats want the ISO text the user wrote."""
    if isinstance(data, (dt.date, dt.datetime)):
        return data.isoformat()
    if isinstance(data, dict):
        return {k: _dates_as_text(v) for k, v in data.items()}
    if isinstance(data, list):
        return [_dates_as_text(v) for v in data]
    return data
