"""The JSON report's writer (scanner/formats/json.py dumps_indented) writes what
`json.dumps(indent=2, ensure_ascii=False, default=str, allow_nan=False)` writes, byte for byte."""

from __future__ import annotations

import datetime as dt
import json
import math

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from scanner.formats.json import dumps_indented

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
