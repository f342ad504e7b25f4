"""The JSON report's writer (scanner/formats/json.py dumps_indented) writes what
`json.dumps(indent=2, ensure_ascii=False, default=str, allow_nan=False)` writes, byte for byte."""

from __future__ import annotations

import datetime as dt
import json
import math

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from scanner.formats.json import Shared, dumps_indented, shared

SCALARS = st.one_of(st.none(), st.booleans(), st.integers(), st.floats(allow_nan=False, allow_infinity=False),
                    st.text())
DOCS = st.recursive(SCALARS, lambda inner: st.one_of(st.lists(inner, max_size=5),
                                                    st.tuples(inner, inner),
                                                    st.dictionaries(st.text(), inner, max_size=5)), max_leaves=40)


def reference(data) -> str:
    return json.dumps(data, indent=2, ensure_ascii=False, default=str, allow_nan=False)


@settings(max_examples=2000, deadline=None)
@given(DOCS)
def test_same_bytes_as_json_dumps(data):
    assert dumps_indented(data) == reference(data)


def test_values_it_does_not_write_itself_go_to_json_dumps():
    odd = {"when": dt.date(2026, 11, 30), 3: "int key", None: [True, 1.5e-07], "s": frozenset()}
    assert dumps_indented(odd) == reference(odd)
    for bad in (math.nan, {"x": [math.inf]}):
        with pytest.raises(ValueError):
            dumps_indented(bad)


@settings(max_examples=500, deadline=None)
@given(st.dictionaries(st.text(), SCALARS | st.lists(SCALARS, max_size=3), max_size=4),
       st.lists(st.integers(0, 3), min_size=1, max_size=6))
def test_a_shared_dict_is_written_as_json_dumps_writes_it_wherever_it_appears(content, depths):
    # The same Shared object placed at several depths (so several indents), and twice at one depth.
    one = Shared(content)
    doc: list = []
    for depth in depths:
        node: object = one
        for _ in range(depth):
            node = {"k": [node]}
        doc.append(node)
    doc.append(one)
    assert dumps_indented(doc) == reference(doc)


def test_shared_builds_once_per_equal_argument_and_builds_unhashable_ones_each_time():
    calls = []

    def build(x):
        calls.append(x)
        return {"x": str(x)}

    get = shared(build)
    a, b = get((1, 2)), get((1, 2))
    assert a is b and type(a) is Shared and calls == [(1, 2)]
    c, d = get([1]), get([1])                # a list cannot be a cache key
    assert c == d == {"x": "[1]"} and c is not d and type(c) is dict
