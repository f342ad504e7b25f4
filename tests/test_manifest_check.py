"""The manifest loader skips jsonschema for a manifest of the common shape
(scanner.gate.discover.manifest._plainly_valid): that check must never accept what the schema
refuses, and must accept the manifests people write."""

from __future__ import annotations

from hypothesis import given, settings
from hypothesis import strategies as st

from scanner.gate.discover.manifest import PLAIN_DEPLOYMENT, PLAIN_MODEL, PLAIN_TOP, _plainly_valid, _validator
from scanner.kb import load_schema

SHA = "e0bc86c23ce5aae1db576c8cca6f06f1f73af2db"
ODD = st.sampled_from([None, True, False, 0, 1, 1.0, 2, "", " ", "x", "a b", "org/name", "org/name@", "@rev",
                       "org/name@main", "org/na me", "org/name\n", "org/name@a@b", [], {}, ["org/name"],
                       "review", "deny", "allow", "chat-eu", "-bad", "x" * 120, SHA, "\u00e9t\u00e9/mod\u00e8le"])
MODEL = st.one_of(ODD, st.dictionaries(st.sampled_from(["id", "revision", "note", "extra", "context"]), ODD,
                                       max_size=4))
DEPLOYMENT = st.one_of(ODD, st.dictionaries(
    st.sampled_from(["name", "description", "models", "context", "extra"]),
    st.one_of(ODD, st.lists(MODEL, max_size=3), st.just({"commercial": True}), st.just({"bogus": 1})),
    max_size=5))
MANIFEST = st.dictionaries(
    st.sampled_from(["version", "policy", "fail-on", "deployments", "extra", 1]),
    st.one_of(ODD, st.lists(DEPLOYMENT, max_size=3)), max_size=5)
REPO = st.from_regex(r"[a-z0-9]{1,8}/[a-z0-9._-]{1,12}", fullmatch=True)
VALID_MODEL = st.one_of(
    st.from_regex(r"[a-z0-9]{1,8}/[a-z0-9._-]{1,12}(@[a-z0-9]{1,10})?", fullmatch=True),
    st.fixed_dictionaries({"id": REPO}, optional={"revision": st.just(SHA), "note": st.text(max_size=10)}))
VALID_DEPLOYMENT = st.fixed_dictionaries(
    {"name": st.from_regex(r"[a-z0-9][a-z0-9 ._/-]{0,20}", fullmatch=True),
     "models": st.lists(VALID_MODEL, min_size=1, max_size=4)},
    optional={"description": st.text(max_size=10)})
VALID = st.fixed_dictionaries(
    {"version": st.just(1), "deployments": st.lists(VALID_DEPLOYMENT, min_size=1, max_size=3)},
    optional={"policy": st.sampled_from(["strict", "policies/org.yaml"]),
              "fail-on": st.sampled_from(["review", "deny"])})


def _slots(node, out):
    """Every (container, key) of a document, to damage one of them."""
    if isinstance(node, dict):
        for k in list(node):
            out.append((node, k))
            _slots(node[k], out)
    elif isinstance(node, list):
        for i in range(len(node)):
            out.append((node, i))
            _slots(node[i], out)
    return out


@settings(max_examples=3000, deadline=None)
@given(MANIFEST)
def test_what_the_quick_check_accepts_the_schema_accepts(doc):
    if _plainly_valid(doc):
        assert _validator().is_valid(doc), doc


@settings(max_examples=3000, deadline=None)
@given(VALID, st.data())
def test_a_manifest_damaged_in_one_place_is_never_waved_through(doc, data):
    # One value replaced, one key added or one removed, anywhere: the quick check accepts it only
    # where the schema does.
    slots = _slots(doc, [])
    container, key = data.draw(st.sampled_from(slots))
    action = data.draw(st.sampled_from(["replace", "add", "remove"]))
    if action == "replace":
        container[key] = data.draw(ODD | MODEL)
    elif action == "add" and isinstance(container, dict):
        container[data.draw(st.sampled_from(["extra", "context", "note", "id", "revision", "description", "policy",
                                             "fail-on", "version", 7]))] = data.draw(ODD)
    elif isinstance(container, dict):
        del container[key]
    else:
        container.pop(key)
    if _plainly_valid(doc):
        assert _validator().is_valid(doc), doc


@settings(max_examples=500, deadline=None)
@given(VALID)
def test_the_manifests_people_write_pass_the_quick_check(doc):
    assert _validator().is_valid(doc)
    assert _plainly_valid(doc)


def test_the_quick_check_knows_every_key_the_schema_allows():
    # A key added to the schema must be taught to the quick check (or it is never checked twice).
    schema = load_schema("manifest.schema.json")
    deployment, model = schema["$defs"]["deployment"], schema["$defs"]["model"]["anyOf"][1]
    assert set(schema["properties"]) == PLAIN_TOP and set(schema["required"]) == {"version", "deployments"}
    assert set(deployment["properties"]) == PLAIN_DEPLOYMENT | {"context"}
    assert set(deployment["required"]) == {"name", "models"}
    assert set(model["properties"]) == PLAIN_MODEL and model["required"] == ["id"]


def test_a_deployment_context_goes_to_the_schema():
    doc = {"version": 1, "deployments": [{"name": "eu", "context": {"commercial": True}, "models": ["a/b"]}]}
    assert _validator().is_valid(doc) and not _plainly_valid(doc)
