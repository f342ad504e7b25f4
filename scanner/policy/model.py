"""Loading and validating a policy YAML; errors name the file, the line and the key."""

from __future__ import annotations

import hashlib
import math
import json
from dataclasses import dataclass, field
from functools import cached_property
from pathlib import Path
from collections.abc import Iterable, Mapping
from typing import Any

import yaml

from scanner.yamldoc import parse_document, yaml_line
from scanner.evidence import freeze, thaw
from scanner.kb import data_dir, load_schema

from scanner import terms as _terms
from scanner.regions import EEA, EU, expand_regions, region_message  # noqa: F401  (EU, EEA, expand_regions re-exported)

# Each term type's mode when a policy does not name it (from the term registry, scanner/terms.py).
DEFAULT_TERMS = _terms.REGISTRY.default_modes()

# what a policy honours of the repository being gated when it says nothing (docs/configuration.md)
REPOSITORY_DEFAULTS = {"configuration": True, "approvals": False}


# Set by scanner.compiled.build() while it loads the shipped policies: the validation keys of
# those that pass the schema.
_RECORD_VALID: list[str] | None = None


class PolicyError(Exception):
    """A policy that cannot be used; the message is one line naming file, line and key."""


@dataclass(frozen=True)
class Policy:
    """An organisation's policy, loaded and validated, with its context and rules."""
    name: str
    path: str | None
    hash: str
    context: Mapping[str, Any]
    licenses: Mapping[str, Any]
    terms: Mapping[str, str]
    models: Mapping[str, Any]
    waivers: tuple[Mapping[str, Any], ...]
    description: str = ""
    datasets: Mapping[str, str] = field(default_factory=dict)
    raw: Mapping[str, Any] = field(default_factory=dict)

    def honours(self, what: str) -> bool:
        """Whether this policy honours the repository's `configuration` or `approvals` (the
        policy's `repository` key; defaults: configuration yes, approvals no)."""
        return bool((self.raw.get("repository") or {}).get(what, REPOSITORY_DEFAULTS[what]))

    @cached_property
    def decision_hash(self) -> str:
        """The hash of the policy without its waivers: what a lock entry is approved under, so a
        waiver added (or removed) later is applied afresh instead of voiding every approval."""
        return _hash({k: v for k, v in thaw(self.raw).items() if k != "waivers"})

    def term_mode(self, term_type: str) -> str:
        if term_type in self.terms:
            return self.terms[term_type]
        known = _terms.registry().get(term_type)
        return known.mode if known is not None else "obligation"

    def with_context(self, overrides: Mapping[str, Any]) -> "Policy":
        if not overrides:
            return self
        ctx = {**thaw(self.context), **overrides}
        raw = {**thaw(self.raw), "context": ctx}
        _validate(raw, None, self.path or "<policy>")
        return Policy(self.name, self.path, _hash(raw), freeze(ctx), self.licenses, self.terms, self.models,
                      self.waivers, self.description, self.datasets, freeze(raw))


def _hash(raw: Mapping[str, Any]) -> str:
    return "sha256:" + hashlib.sha256(json.dumps(thaw(raw), sort_keys=True, default=str).encode()).hexdigest()


def _non_finite(data: Any, path: tuple = ()) -> list[Any] | None:
    if isinstance(data, float) and not math.isfinite(data):
        return list(path)
    items: Iterable[tuple[Any, Any]]
    if isinstance(data, dict):
        items = data.items()
    elif isinstance(data, (list, tuple)):
        items = enumerate(data)
    else:
        return None
    for k, v in items:
        found = _non_finite(v, path + (k,))
        if found is not None:
            return found
    return None


def _validate(data: Any, root_node: yaml.Node | None, where: str) -> None:
    bad = _non_finite(data)
    if bad is not None:
        line = yaml_line(root_node, bad) if root_node is not None else None
        raise PolicyError(f"{where}:{line}: {'.'.join(map(str, bad))}: not a finite number" if line
                          else f"{where}: {'.'.join(map(str, bad))}: not a finite number")
    # A policy that passed this schema before is not checked again: a shipped one at build time
    # (scanner/compiled.py), others in the opt-in memo (scanner/memo.py). Importing jsonschema was
    # a fifth of a snapshot check.
    from scanner import compiled, memo

    schema = load_schema("policy.schema.json")
    try:
        texts = (json.dumps(schema, sort_keys=True), json.dumps(data, sort_keys=True))
    except (TypeError, ValueError):
        texts = None
    ckey = compiled.sha256("policy", *texts) if texts is not None else None
    mkey = memo.key("policy", *texts) if texts is not None else None
    if ckey is not None and _RECORD_VALID is None and compiled.policy_valid(ckey):
        return
    if mkey is not None and memo.get("policy-valid", mkey) is True:
        return
    from scanner.schemas import jsonschema as _load_jsonschema
    jsonschema = _load_jsonschema()

    validator = jsonschema.Draft202012Validator(schema, format_checker=jsonschema.FormatChecker())
    errors = sorted(validator.iter_errors(data), key=lambda e: (len(e.absolute_path), list(map(str, e.absolute_path))))
    if not errors:
        if mkey is not None:
            memo.put("policy-valid", mkey, True)
        if ckey is not None and _RECORD_VALID is not None:
            _RECORD_VALID.append(ckey)
        return
    err = errors[0]
    path = list(err.absolute_path)
    line = yaml_line(root_node, path) if root_node is not None else None
    key = ".".join(str(p) for p in path) or "(top level)"
    msg = err.message
    if err.validator == "oneOf" and err.context:
        msg = "; ".join(sorted({c.message for c in err.context}))
    if err.validator == "enum":
        msg = enum_message(err.instance, err.validator_value)
    msg = msg if len(msg) <= 600 else msg[:597] + "..."
    loc = f"{where}:{line}" if line else where
    raise PolicyError(f"{loc}: {key}: {msg}")


def enum_message(value: Any, allowed: Any) -> str:
    """One line for a value outside an enum: the allowed values, or for a region a did-you-mean."""
    allowed = list(allowed)
    if "EEA" in allowed and len(allowed) > 100:
        return region_message(value)
    if len(allowed) > 60:
        return f"{value!r} is not an allowed value"
    return f"{value!r} is not one of: {', '.join(map(str, allowed))}"


def _resolve_path(ref: str, base: Path | None) -> Path:
    candidate = Path(ref)
    if not candidate.is_absolute() and base is not None:
        rel = base.parent / candidate
        if rel.is_file():
            return rel
    if candidate.is_file():
        return candidate
    shipped = data_dir("policies") / (ref if ref.endswith((".yaml", ".yml")) else ref + ".yaml")
    if shipped.is_file():
        return shipped
    import difflib

    names = shipped_policies()
    stem = Path(ref).stem if ref.endswith((".yaml", ".yml")) else ref
    close = difflib.get_close_matches(stem, names, n=1, cutoff=0.6)
    hint = f"; did you mean {close[0]!r}?" if close else ""
    raise PolicyError(f"policy {ref!r} not found (a file path, or one of: {', '.join(names)}){hint}")


def shipped_policies() -> list[str]:
    return sorted(p.stem for p in data_dir("policies").glob("*.yaml"))


def _merge(base: Mapping[str, Any], over: Mapping[str, Any]) -> dict[str, Any]:
    out = dict(base)
    for k, v in over.items():
        if isinstance(v, Mapping) and isinstance(out.get(k), Mapping):
            out[k] = _merge(out[k], v)
        else:
            out[k] = v
    return out


def _read(path: Path, depth: int = 0) -> tuple[dict[str, Any], str]:
    where = str(path)
    try:
        text = path.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as exc:
        raise PolicyError(f"{where}: cannot read policy: {exc.__class__.__name__}: {exc}") from None
    data, node = parse_document(text, where, PolicyError,
                                "a policy is a YAML mapping with at least 'version' and 'name'")
    _validate(data, node, where)
    if data.get("extends"):
        if depth > 4:
            raise PolicyError(f"{where}: extends: chain deeper than 5")
        base, _ = _read(_resolve_path(data["extends"], path), depth + 1)
        data = _merge({k: v for k, v in base.items() if k != "name"}, {k: v for k, v in data.items() if k != "extends"})
    return data, where


def load_policy(ref: str | None) -> Policy:
    """A policy from a file path or a shipped policy name (default: the shipped 'default')."""
    path = _resolve_path(ref or "default", None)
    data, where = _read(path)
    _validate(data, None, where)
    return Policy(
        name=data["name"], path=str(path), hash=_hash(data), context=freeze(data.get("context") or {}),
        licenses=freeze(data.get("licenses") or {}), terms=freeze(data.get("terms") or {}),
        models=freeze(data.get("models") or {}), waivers=tuple(freeze(w) for w in data.get("waivers") or ()),
        description=data.get("description", ""), datasets=freeze(data.get("datasets") or {}), raw=freeze(data))


def parse_context_overrides(pairs: list[str]) -> dict[str, Any]:
    """`--context KEY=VALUE` values, typed and validated by the policy schema's context section.

    A bad key or value is one line naming the key and what it allows (never a file path)."""
    full = load_schema("policy.schema.json")
    schema = full["$defs"]["context"]["properties"]
    out: dict[str, Any] = {}
    for pair in pairs:
        if "=" not in pair:
            raise PolicyError(f"--context {pair!r}: expected KEY=VALUE")
        key, value = (s.strip() for s in pair.split("=", 1))
        if key not in schema:
            raise PolicyError(f"--context {key!r}: unknown key (one of: {', '.join(schema)})")
        kind = schema[key].get("type") or "string"
        try:
            if kind == "array":
                out[key] = [v.strip().upper() if key.endswith("regions") else v.strip()
                            for v in value.split(",") if v.strip()]
            elif kind == "boolean":
                if value.lower() not in ("true", "false", "yes", "no", "1", "0"):
                    raise ValueError(value)
                out[key] = value.lower() in ("true", "yes", "1")
            elif kind == "integer":
                out[key] = int(value.replace("_", ""))
            elif kind == "number":
                out[key] = float(value.replace("_", ""))
                if not math.isfinite(out[key]):
                    raise ValueError(value)
            else:
                out[key] = value.upper() if key == "domicile" else value
        except ValueError:
            raise PolicyError(f"--context {key}={value!r}: expected a {kind}") from None
        _check_context_value(key, out[key], full)
    return out


def _check_context_value(key: str, value: Any, full: Mapping[str, Any]) -> None:
    from scanner.schemas import jsonschema as _load_jsonschema
    jsonschema = _load_jsonschema()
    schema = {"$defs": full["$defs"], **full["$defs"]["context"]["properties"][key]}
    errors = sorted(jsonschema.Draft202012Validator(schema).iter_errors(value), key=lambda e: list(map(str, e.path)))
    if not errors:
        return
    err = errors[0]
    msg = enum_message(err.instance, err.validator_value) if err.validator == "enum" else err.message
    raise PolicyError(f"--context {key}: {msg}")
