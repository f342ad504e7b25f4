"""The deployment manifest (`modelscan.yaml`, docs/gate.md): which models each deployment uses,
in which policy context. Validated by scanner/schemas/manifest.schema.json; errors name the
file, the line and the key, like the policy loader's.

    version: 1
    deployments:
      - name: chat-eu
        context: {domicile: DE, deployment_regions: [EU], commercial: true}
        models:
          - id: mistralai/Mistral-7B-Instruct-v0.3
            revision: e0bc86c23ce5aae1db576c8cca6f06f1f73af2db
          - Qwen/Qwen2.5-7B-Instruct          # shorthand: org/name[@revision]
"""

from __future__ import annotations

import functools
import re
from pathlib import Path
from typing import Any, Iterable

import yaml

from scanner.yamldoc import parse_document, yaml_line
from scanner.evidence import freeze
from scanner.gate.discover.reference import DiscoveryError, Reference
from scanner.kb import load_schema
from scanner.schemas import jsonschema
from scanner.targets import TargetError, validate_repo_id, validate_revision


MANIFEST_NAMES = ("modelscan.yaml", "modelscan.yml", ".modelscan.yaml", ".modelscan.yml")


def matches(name: str) -> bool:
    return name in MANIFEST_NAMES


def references(text: str, file: str, base: Path) -> list[Reference]:
    """The discovery kind's parser: a manifest file names its models whatever folder it is in."""
    return manifest_references(text, file)


class ManifestError(DiscoveryError):
    """An invalid manifest: `file:line: key: message`."""


def is_manifest_doc(keys: Iterable[str]) -> bool:
    """A YAML document that is a manifest whatever its file name: top-level `version` and `deployments`."""
    keys = set(keys)
    return "deployments" in keys and "version" in keys and "apiVersion" not in keys


@functools.lru_cache(maxsize=1)
def _validator():
    from referencing import Registry, Resource
    from referencing.jsonschema import DRAFT202012

    policy = load_schema("policy.schema.json")
    registry = Registry().with_resource(policy["$id"], Resource.from_contents(policy, DRAFT202012))
    return jsonschema().Draft202012Validator(load_schema("manifest.schema.json"), registry=registry)


# What _plainly_valid checks without jsonschema, key by key (tests/test_manifest_check.py pins these to the schema).
PLAIN_TOP = frozenset({"version", "policy", "fail-on", "deployments"})
PLAIN_DEPLOYMENT = frozenset({"name", "description", "models"})      # no `context`: the policy schema's
PLAIN_MODEL = frozenset({"id", "revision", "note"})


@functools.lru_cache(maxsize=1)
def _plain_rules() -> tuple[re.Pattern[str], re.Pattern[str], re.Pattern[str], re.Pattern[str], tuple[Any, ...]]:
    """The schema's own patterns (deployment name, model shorthand, id, revision) and fail-on values."""
    schema = load_schema("manifest.schema.json")
    dep, (short, full) = schema["$defs"]["deployment"], schema["$defs"]["model"]["anyOf"]
    return (re.compile(dep["properties"]["name"]["pattern"]), re.compile(short["pattern"]),
            re.compile(full["properties"]["id"]["pattern"]), re.compile(full["properties"]["revision"]["pattern"]),
            tuple(schema["properties"]["fail-on"]["enum"]))


def _plainly_valid(data: Any) -> bool:
    """True only for a manifest the schema certainly accepts, checked without jsonschema (its import
    and its walk cost more than the rest of a small gate): the common shape, with no deployment
    `context`. Anything else, valid or not, goes to the schema, which also words the errors."""
    name_rx, short_rx, id_rx, rev_rx, fail_on = _plain_rules()
    if type(data) is not dict or not data.keys() <= PLAIN_TOP or "deployments" not in data:
        return False
    version, deps = data.get("version"), data["deployments"]
    if type(version) is not int or version != 1 or type(deps) is not list or not deps:
        return False
    if "policy" in data and not (type(data["policy"]) is str and data["policy"]):
        return False
    if "fail-on" in data and not (type(data["fail-on"]) is str and data["fail-on"] in fail_on):
        return False
    for dep in deps:
        if type(dep) is not dict or not dep.keys() <= PLAIN_DEPLOYMENT or "name" not in dep or "models" not in dep:
            return False
        name, models = dep["name"], dep["models"]
        if type(name) is not str or not name_rx.search(name) or type(models) is not list or not models:
            return False
        if "description" in dep and type(dep["description"]) is not str:
            return False
        for model in models:
            if type(model) is str:
                if not short_rx.search(model):
                    return False
            elif type(model) is dict and model.keys() <= PLAIN_MODEL and type(model.get("id")) is str:
                if not id_rx.search(model["id"]):
                    return False
                rev = model.get("revision", "")
                if "revision" in model and (type(rev) is not str or not rev_rx.search(rev)):
                    return False
                if "note" in model and type(model["note"]) is not str:
                    return False
            else:
                return False
    return True


def _fail(where: str, node: yaml.Node | None, path: list[Any], message: str) -> ManifestError:

    line = yaml_line(node, path) if node is not None else None
    key = ".".join(str(p) for p in path) or "(top level)"
    return ManifestError(f"{where}:{line}: {key}: {message}" if line else f"{where}: {key}: {message}")


def load_manifest(text: str, where: str, validate: bool = True) -> tuple[dict[str, Any], yaml.Node]:
    """The manifest data and its YAML node tree; ManifestError when it is not a valid manifest.
    `validate=False` skips the schema (jsonschema's import and a walk of every entry): for a reader
    that only looks a model up and treats any failure as "not found" (`check`'s locations)."""
    data, node = parse_document(text, where, ManifestError,
                                "a manifest is a YAML mapping with 'version: 1' and 'deployments'")
    errors = [] if not validate or _plainly_valid(data) else sorted(
        _validator().iter_errors(data),
        key=lambda e: (list(e.absolute_path) != ["version"], -len(e.absolute_path), list(map(str, e.absolute_path))))
    if errors:
        err = errors[0]
        msg = err.message
        if err.validator == "anyOf":
            msg = f"{err.instance!r}: expected 'org/name[@revision]' or a mapping with 'id' and optional 'revision'"
        elif err.validator == "enum":
            from scanner.policy.model import enum_message
            msg = enum_message(err.instance, err.validator_value)
        raise _fail(where, node, list(err.absolute_path), msg if len(msg) <= 600 else msg[:597] + "...")
    names: set[str] = set()
    for i, dep in enumerate(data["deployments"]):
        if dep["name"] in names:
            raise _fail(where, node, ["deployments", i, "name"], f"deployment name {dep['name']!r} is used twice")
        names.add(dep["name"])
        for j, model in enumerate(dep["models"]):
            rid, rev = _model(model)
            try:
                validate_repo_id(rid)      # a manifest names Hub ids: no local-path guessing here
                if rev is not None:
                    validate_revision(rev, f"{rid}@{rev}")
            except TargetError as exc:
                raise _fail(where, node, ["deployments", i, "models", j], str(exc)) from None
    return data, node


def _model(model: Any) -> tuple[str, str | None]:
    if isinstance(model, str):
        rid, _, rev = model.partition("@")
        return rid, rev or None
    return model["id"], model.get("revision")


def manifest_references(text: str, file: str, validate: bool = True) -> list[Reference]:
    """A Reference per model per deployment, at the line of its entry."""
    data, node = load_manifest(text, file, validate)

    refs: list[Reference] = []
    for i, dep in enumerate(data["deployments"]):
        context = freeze(dep["context"]) if dep.get("context") else None
        for j, model in enumerate(dep["models"]):
            rid, rev = _model(model)
            line = yaml_line(node, ["deployments", i, "models", j]) or 1
            refs.append(Reference(rid, rev, file, line, "manifest", deployment=dep["name"], context=context))
    return refs
