"""The JSON report's writer (scanner/formats/json.py dumps_indented) writes what
`json.dumps(indent=2, ensure_ascii=False, default=str, allow_nan=False)` writes, byte for byte."""

from __future__ import annotations

import datetime as dt
import json
import math

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from scanner.formats.json import Shared, SharedList, dumps_indented, shared

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
    # The same Shared object placed at several depths (so several indents), and twice at one depth;
    # the same for a SharedList holding it, and one inside the other.
    for one in (Shared(content), SharedList([content, list(content)]), SharedList([Shared(content), 1])):
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
    as_list = shared(lambda x: [x, x])
    assert type(as_list(3)) is SharedList and as_list(3) is as_list(3)


def test_shared_with_a_key_builds_once_per_equal_key():
    calls = []

    def build(x):
        calls.append(x)
        return {"n": x["n"]}

    get = shared(build, key=lambda x: x["n"])
    assert get({"n": 1}) is get({"n": 1, "other": "ignored by build"}) and len(calls) == 1
    assert get({"n": 2}) == {"n": 2} and len(calls) == 2


def test_every_section_shared_across_results_is_what_each_result_alone_writes():
    # The sections a report shares (licenses, classification, obligations, openness) are keyed by
    # everything they write: each result's JSON is the same whether built with others or alone.
    import dataclasses
    import json as js

    from scanner.formats import json as fj
    from scanner.result import Classification, MofComponent, Openness

    comp = MofComponent("weights", "Model parameters", "III", "model", False, "met", ("LICENSE",), "MIT", True)
    a = Openness("III", "III", "II", ("code",), (comp,), {"overall": "met", "code": "unmet"}, ())
    b = dataclasses.replace(a, osaid={"code": "unmet", "overall": "met"})          # same items, other order
    c = dataclasses.replace(a, missing_for_next=("code", "data"))
    texts = [dumps_indented(fj._openness_shared(o)) for o in (a, b, c, a)]
    assert texts == [js.dumps(fj._openness(o), indent=2) for o in (a, b, c, a)]
    assert texts[0] != texts[1] and texts[0] != texts[2] and texts[0] == texts[3]
    k1, k2 = Classification("open-weights", "restricted", "x", ("e",), ("text",)), Classification()
    assert [fj._classification_shared(k) for k in (k1, k2, k1)] == [fj._classification(k) for k in (k1, k2, k1)]
