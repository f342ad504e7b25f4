"""License values as SPDX expressions: `apache-2.0 OR mit`, `MIT AND CC-BY-4.0`, `(MIT)`.

Parsed with the license-expression library into alternatives (disjunctive normal form): AND
binds every part of an alternative, OR offers a choice between alternatives. Bounded: a value
longer than MAX_VALUE or with more than MAX_ALTERNATIVES alternatives of MAX_PARTS parts is
not read as an expression. Pure; the caller resolves each part against the knowledge base.
"""

from __future__ import annotations

import re
from typing import Any

from scanner.kb import KnowledgeBase, LicenseRecord

MAX_VALUE = 200
MAX_ALTERNATIVES = 8
MAX_PARTS = 8

_OPERATOR = re.compile(r"\s(?:and|or|with)\s|[()]", re.I)
_WORD_OP = re.compile(r"(?<=\s)(and|or|with)(?=\s)", re.I)


class _TooBig(Exception):
    pass


def is_expression(value: Any) -> bool:
    return isinstance(value, str) and len(value) <= MAX_VALUE and bool(_OPERATOR.search(value))


def alternatives(value: str) -> list[tuple[str, ...]] | None:
    """The alternatives of an expression, each the license keys it binds together; None when the
    value is no expression (a plain id) or cannot be parsed within the bounds."""
    if not is_expression(value):
        return None
    from license_expression import Licensing  # type: ignore[import-untyped]

    text = _WORD_OP.sub(lambda m: m.group(1).upper(), value.strip())
    try:
        expr = Licensing().parse(text)
    except Exception:  # license-expression raises several exception types on bad input
        return None
    if expr is None:
        return None
    try:
        out = _dnf(expr)
    except (_TooBig, RecursionError):
        return None
    return out


def _dnf(node: Any) -> list[tuple[str, ...]]:
    op = getattr(node, "operator", None)
    if op is None:
        sym = getattr(node, "license_symbol", node)     # "X WITH exception" binds X (and its exception)
        return [(str(getattr(sym, "key", sym)),)]
    parts = [_dnf(a) for a in node.args]
    if op.strip() == "OR":
        out = [alt for p in parts for alt in p]
    else:
        out = [()]
        for p in parts:
            out = [a + b for a in out for b in p]
            if len(out) > MAX_ALTERNATIVES:
                raise _TooBig
    out = [tuple(dict.fromkeys(a)) for a in out]
    if len(out) > MAX_ALTERNATIVES or any(len(a) > MAX_PARTS for a in out):
        raise _TooBig
    return list(dict.fromkeys(out))


def loose_key(name: str) -> str:
    """A spelling normalised the way Hub authors vary it: case, spaces and underscores, `open-rail`."""
    k = re.sub(r"[\s_]+", "-", name.strip().strip("()").strip().lower())
    return re.sub(r"^open-rail", "openrail", k)


def resolve(kb: KnowledgeBase, name: str) -> LicenseRecord | None:
    """A license name as written in a card, also under its loose spelling (`open-rail-m`, `Apache 2.0`)."""
    rec = kb.resolve(name) or kb.resolve(name.strip().strip("()"))
    if rec is None:
        loose = loose_key(name)
        rec = kb.resolve(loose) or kb.resolve(re.sub(r"-m$", "", loose)) if loose.startswith("openrail") \
            else kb.resolve(loose)
    return rec
