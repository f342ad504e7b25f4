"""docker-compose and Kubernetes YAML (kinds compose, k8s): the model flags and variables in a
container's or a service's `command`, `args`, `entrypoint`, `env` and `environment`. A YAML
document that is a manifest is read as one (scanner/gate/discover/manifest.py)."""

from __future__ import annotations

from pathlib import Path

import yaml

from scanner.gate.discover.manifest import is_manifest_doc, manifest_references
from scanner.card import CardError, compose_all_bounded
from scanner.gate.discover.reference import FileProblem, Reference, note_problem
from scanner.gate.discover.words import MODEL_ENV, REVISION_ENV, Found, Tok, commands, resolve, scalar_tokens

MAX_YAML_NODES = 200_000


def matches(name: str) -> bool:
    return name.endswith((".yaml", ".yml"))


GATED_KEYS = ("command", "args", "entrypoint", "env", "environment")


def yaml_refs(text: str, file: str, base: Path) -> list[Reference]:
    try:
        docs = compose_all_bounded(text, MAX_YAML_NODES)
    except CardError as exc:
        # Bounded in nodes, aliases and depth: a file past them may hide a model; a finding at it.
        raise FileProblem(file, f"not read: {exc}") from None
    except yaml.YAMLError as exc:
        if "nesting depth" in str(exc):      # libyaml's own depth limit: refused, like ours
            raise FileProblem(file, "not read: YAML nested deeper than the parser allows") from None
        return []          # not our file to judge: a deployment file that does not parse is someone else's error
    refs: list[Reference] = []
    for doc in docs:
        if not isinstance(doc, yaml.MappingNode):
            continue
        keys = {k.value for k, _ in doc.value if isinstance(k, yaml.ScalarNode)}
        if is_manifest_doc(keys):
            refs.extend(manifest_references(text, file))
            return refs
        if "services" in keys:
            kind = "compose"
        elif "apiVersion" in keys and "kind" in keys:
            kind = "k8s"
        else:
            continue
        refs.extend(_yaml_doc_refs(doc, kind, file, base))
    return refs


def _seq_or_scalar_tokens(node: yaml.Node) -> list[Tok]:
    if isinstance(node, yaml.ScalarNode):
        return scalar_tokens(node)
    out: list[Tok] = []
    if isinstance(node, yaml.SequenceNode):
        for item in node.value:
            if isinstance(item, yaml.ScalarNode):
                toks = scalar_tokens(item)
                # A list item is one argv word; keep it whole unless it is a shell script (`sh -c "..."`).
                if len(toks) > 1 and " " in str(item.value).strip():
                    out.extend(toks)
                elif toks:
                    out.append(Tok(str(item.value), toks[0].line, toks[0].col))
    return out


def _env_pairs(node: yaml.Node) -> list[tuple[str, Tok]]:
    """(name, value word) from a k8s `env:` list or a compose `environment:` mapping or list."""
    def word(v: yaml.ScalarNode, text: str, offset: int = 0) -> Tok:
        quoted = 1 if v.style in ('"', "'") else 0
        return Tok(text, v.start_mark.line + 1, v.start_mark.column + 1 + quoted + offset)

    out: list[tuple[str, Tok]] = []
    if isinstance(node, yaml.MappingNode):
        for k, v in node.value:
            if isinstance(k, yaml.ScalarNode) and isinstance(v, yaml.ScalarNode):
                out.append((str(k.value), word(v, str(v.value))))
    elif isinstance(node, yaml.SequenceNode):
        for item in node.value:
            if isinstance(item, yaml.MappingNode):
                m = {k.value: v for k, v in item.value if isinstance(k, yaml.ScalarNode)}
                name, value = m.get("name"), m.get("value")
                if isinstance(name, yaml.ScalarNode) and isinstance(value, yaml.ScalarNode):
                    out.append((str(name.value), word(value, str(value.value))))
            elif isinstance(item, yaml.ScalarNode) and "=" in str(item.value):
                key, val = str(item.value).split("=", 1)
                out.append((key.strip(), word(item, val, len(key) + 1)))
    return out


def _yaml_doc_refs(doc: yaml.Node, kind: str, file: str, base: Path) -> list[Reference]:
    refs: list[Reference] = []
    budget = [MAX_YAML_NODES]
    seen: set[int] = set()

    def visit(node: yaml.Node) -> None:
        if budget[0] <= 0 or id(node) in seen:
            return
        seen.add(id(node))
        budget[0] -= 1
        if isinstance(node, yaml.MappingNode):
            # Every value of a key set twice is read (both are gated), and the repeat is a finding.
            entries: dict[str, list[yaml.Node]] = {}
            for k, v in node.value:
                if isinstance(k, yaml.ScalarNode):
                    if k.value in entries and k.value in GATED_KEYS:
                        note_problem(FileProblem(file, f"key '{k.value}' is set twice in one {kind} mapping (line "
                                                       f"{k.start_mark.line + 1}); both values are gated",
                                                 k.start_mark.line + 1, kind))
                    entries.setdefault(k.value, []).append(v)
            if any(k in entries for k in GATED_KEYS):
                words: list[Tok] = []
                for key in ("entrypoint", "command", "args"):
                    for value in entries.get(key, ()):
                        words.extend(_seq_or_scalar_tokens(value))
                found, revision = commands(words, kind)
                for key in ("env", "environment"):
                    for value in entries.get(key, ()):
                        for name, tok in _env_pairs(value):
                            if name in MODEL_ENV:
                                found.append(Found(tok.text, tok, kind, name))
                            elif name in REVISION_ENV and tok.text:
                                revision = revision or tok.text
                refs.extend(resolve(found, revision, file, base))
            for _, v in node.value:
                visit(v)
        elif isinstance(node, yaml.SequenceNode):
            for v in node.value:
                visit(v)

    visit(doc)
    return refs
