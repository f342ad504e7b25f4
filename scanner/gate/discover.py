"""Find the Hub models a deployment uses, with the file and line of every reference.

What is recognised (docs/gate.md keeps the user-facing list):

* deployment manifests (`modelscan.yaml`; scanner/gate/manifest.py);
* command lines in shell scripts, Dockerfiles and `.env` files: `vllm serve X`, `--model X`
  (vLLM), `--model-id X` and `MODEL_ID=X` / `HF_MODEL_ID=X` (Hugging Face TGI), `--revision R`
  on the same command line; `ollama run|pull hf.co/org/name[:quant]`;
* Kubernetes and docker-compose YAML: the same flags and variables in a container's or a
  service's `command`, `args`, `entrypoint`, `env` and `environment`;
* Ollama Modelfiles: `FROM hf.co/org/name[:quant]`;
* Python: `from_pretrained("org/name", revision=...)`, `pipeline(model=...)`, vLLM's
  `LLM(model=...)`, `snapshot_download(repo_id=...)` / `hf_hub_download(repo_id=...)`,
  with string literals only.

Only values that are Hub model ids are kept: `org/name` (or a huggingface.co / hf.co URL of
one). A local path, a URL to another host, a shell variable or a template is not guessed at.
"""

from __future__ import annotations

import ast
import os
import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Iterable, Iterator, Mapping

import yaml

from scanner.targets import TargetError, validate_repo_id, validate_revision

KINDS = ("manifest", "vllm", "compose", "k8s", "tgi", "ollama", "python")
MAX_FILE_BYTES = 2_000_000
MAX_YAML_NODES = 200_000
SKIP_DIRS = {".git", ".hg", ".svn", "node_modules", ".venv", "venv", "__pycache__", ".tox", ".mypy_cache",
             ".pytest_cache", "site-packages", "dist", "build", ".terraform"}
MANIFEST_NAMES = ("modelscan.yaml", "modelscan.yml", ".modelscan.yaml", ".modelscan.yml")
MODEL_ENV = ("MODEL_ID", "HF_MODEL_ID")          # TGI (and SageMaker's TGI containers)
REVISION_ENV = ("REVISION", "HF_MODEL_REVISION")
MODEL_FLAGS = {"--model": "vllm", "--model-id": "tgi", "--model_id": "tgi"}
_HF_HOSTS = ("huggingface.co", "hf.co", "www.huggingface.co")
_TOKEN = re.compile(r""""((?:[^"\\]|\\.)*)"|'([^']*)'|([^\s"']+(?:(?:"[^"]*"|'[^']*')[^\s"']*)*)""")


class DiscoveryError(Exception):
    """A path that cannot be read or a manifest that is invalid; one line, naming file and line."""


@dataclass(frozen=True)
class Reference:
    """One place a deployment names a Hub model."""

    repo_id: str
    revision: str | None
    file: str
    line: int
    kind: str                           # one of KINDS
    column: int | None = None
    deployment: str | None = None       # the manifest deployment it belongs to
    context: Mapping[str, Any] | None = None   # that deployment's policy-context overrides
    detail: str = ""                    # what matched: "--model", "MODEL_ID", "from_pretrained", ...
    extra: Mapping[str, Any] = field(default_factory=dict)   # e.g. {"quant": "Q4_K_M"} for Ollama

    def location(self) -> dict[str, Any]:
        out: dict[str, Any] = {"file": self.file, "line": self.line, "kind": self.kind}
        if self.column:
            out["column"] = self.column
        if self.deployment:
            out["deployment"] = self.deployment
        if self.detail:
            out["match"] = self.detail
        if self.revision:
            out["revision"] = self.revision
        out.update(self.extra)
        return out


# ---------------------------------------------------------------------------------------- model ids
def hub_model_id(value: str, base: Path | None = None) -> tuple[str, str | None] | None:
    """(repo id, revision or None) when `value` names a Hub model, else None.

    Accepts `org/name`, `https://huggingface.co/org/name[/tree/<rev>]`, `hf.co/org/name[:tag]`
    (the tag is an Ollama quantisation, not a revision). A one-part legacy name (`gpt2`) is too
    ambiguous outside a manifest; local paths (existing, absolute, ./, ~), other hosts, shell
    variables and templates are not model ids either."""
    v = value.strip().strip("\"'")
    if not v or any(c in v for c in "${}<>*?\\ \t") or v.startswith(("-", "#")):
        return None
    rev = None
    m = re.match(r"^(?:(https?)://)?([A-Za-z0-9.-]+)/(.*)$", v)
    if m and (m.group(1) or m.group(2).lower() in _HF_HOSTS):
        if m.group(2).lower() not in _HF_HOSTS:
            return None                                   # a URL (or host path) elsewhere
        rest = m.group(3).split("?")[0].split("#")[0].strip("/")
        parts = rest.split("/")
        if parts and parts[0] in ("datasets", "spaces", "api"):
            return None
        if len(parts) >= 4 and parts[2] in ("tree", "commit", "blob", "resolve"):
            rev = parts[3]
        if len(parts) < 2:
            return None
        v = f"{parts[0]}/{parts[1]}"
        if ":" in parts[1]:                              # hf.co/org/name:Q4_K_M
            v = v.split(":", 1)[0]
    elif "://" in v or v.startswith(("/", "./", "../", "~", "s3:", "gs:", "file:")) or re.match(r"^[A-Za-z]:", v):
        return None
    if v.count("/") != 1:
        return None
    if re.search(r"\.(gguf|bin|safetensors|pt|pth|onnx|ckpt|yaml|yml|json|txt|sh|py)$", v, re.I):
        return None
    try:
        validate_repo_id(v)
        if rev is not None:
            validate_revision(rev, value)
    except TargetError:
        return None
    for root in filter(None, (base, Path.cwd())):
        try:
            if (root / v).exists():                      # a relative local path that happens to exist
                return None
        except OSError:
            pass
    return v, rev


# ---------------------------------------------------------------------------------------- tokens
@dataclass(frozen=True)
class _Tok:
    text: str
    line: int
    col: int


def _tokens(text: str, line: int, col: int = 1) -> list[_Tok]:
    """Shell-ish words of one physical line with their columns; quotes are removed, '#' ends it."""
    out: list[_Tok] = []
    for m in _TOKEN.finditer(text):
        word = m.group(0)
        if word.startswith("#"):
            break
        if m.group(1) is not None:
            word = m.group(1)
        elif m.group(2) is not None:
            word = m.group(2)
        else:
            word = re.sub(r"""["']""", "", word)
        out.append(_Tok(word, line, col + m.start()))
    return out


def _scalar_tokens(node: yaml.ScalarNode) -> list[_Tok]:
    """Words of a YAML scalar, with the line each sits on (block scalars start a line below)."""
    value = str(node.value)
    first = node.start_mark.line + 1
    if node.style in ("|", ">"):
        return [t for i, ln in enumerate(value.split("\n")) for t in _tokens(ln, first + 1 + i)]
    col = node.start_mark.column + 1 + (1 if node.style in ('"', "'") else 0)
    return [t for i, ln in enumerate(value.split("\n")) for t in _tokens(ln, first + i, col if i == 0 else 1)]


# ---------------------------------------------------------------------------------------- command lines
@dataclass
class _Found:
    value: str
    tok: _Tok
    kind: str
    detail: str
    revision: str | None = None


def _commands(tokens: list[_Tok], default_kind: str | None) -> tuple[list[_Found], str | None]:
    """Model references in a list of words (one command line, or a container's command + args),
    and the `--revision` given among them."""
    found: list[_Found] = []
    revision = None
    n = len(tokens)
    for i, tok in enumerate(tokens):
        word = tok.text
        nxt = tokens[i + 1] if i + 1 < n else None
        prev = tokens[i - 1].text if i > 0 else ""
        if word == "serve" and os.path.basename(prev) == "vllm" and nxt is not None:
            found.append(_Found(nxt.text, nxt, default_kind or "vllm", "vllm serve"))
        elif word in MODEL_FLAGS and nxt is not None:
            found.append(_Found(nxt.text, nxt, default_kind or MODEL_FLAGS[word], word))
        elif "=" in word and word.split("=", 1)[0] in MODEL_FLAGS:
            flag, val = word.split("=", 1)
            found.append(_Found(val, _Tok(val, tok.line, tok.col + len(flag) + 1), default_kind or MODEL_FLAGS[flag], flag))
        elif word == "--revision" and nxt is not None:
            revision = nxt.text
        elif word.startswith("--revision="):
            revision = word.split("=", 1)[1]
        elif word in ("run", "pull") and os.path.basename(prev) == "ollama" and nxt is not None:
            found.append(_Found(nxt.text, nxt, default_kind or "ollama", f"ollama {word}"))
        elif "=" in word and re.match(r"^[A-Z_][A-Z0-9_]*=", word):
            key, val = word.split("=", 1)
            if key in MODEL_ENV:
                found.append(_Found(val, _Tok(val, tok.line, tok.col + len(key) + 1), default_kind or "tgi", key))
            elif key in REVISION_ENV and val:
                revision = val
        elif prev.upper() == "ENV" and word in MODEL_ENV and nxt is not None:   # Dockerfile `ENV MODEL_ID x`
            found.append(_Found(nxt.text, nxt, default_kind or "tgi", word))
        elif prev.upper() == "ENV" and word in REVISION_ENV and nxt is not None:
            revision = nxt.text
    return found, revision


def _ollama_tag(value: str) -> dict[str, Any]:
    m = re.match(r"^(?:https?://)?(?:www\.)?(?:hf\.co|huggingface\.co)/[^/\s]+/[^/:\s]+:(\S+)$", value.strip())
    return {"quant": m.group(1)} if m else {}


def _resolve(found: Iterable[_Found], revision: str | None, file: str, base: Path) -> list[Reference]:
    out = []
    for f in found:
        hit = hub_model_id(f.value, base)
        if hit is None:
            continue
        if f.kind == "ollama" or f.detail.startswith("ollama"):
            # Ollama names only Hub models behind hf.co/; a bare "llama3" is its own library.
            if not re.match(r"^(?:https?://)?(?:www\.)?(?:hf\.co|huggingface\.co)/", f.value.strip()):
                continue
        rid, rev = hit
        out.append(Reference(rid, rev or revision, file, f.tok.line, f.kind, f.tok.col, detail=f.detail,
                             extra=_ollama_tag(f.value)))
    return out


# ---------------------------------------------------------------------------------------- file kinds
def _classify(path: Path) -> str | None:
    name = path.name.lower()
    if name in MANIFEST_NAMES:
        return "manifest"
    if name.endswith((".yaml", ".yml")):
        return "yaml"
    if name.endswith(".py"):
        return "python"
    if name == "modelfile" or name.startswith("modelfile.") or name.endswith(".modelfile"):
        return "modelfile"
    if name in ("dockerfile", "containerfile") or name.startswith(("dockerfile.", "containerfile.")) \
            or name.endswith(".dockerfile") or name.endswith((".sh", ".bash", ".zsh", ".env")) \
            or name in (".env", "procfile", "makefile") or name.startswith(".env."):
        return "shell"
    return None


def iter_files(paths: Iterable[str | Path]) -> Iterator[tuple[Path, str]]:
    """(file, kind) for every recognised file under `paths`, in order (directories sorted)."""
    for p in paths:
        path = Path(p)
        if path.is_dir():
            for dirpath, dirnames, filenames in os.walk(path):
                dirnames[:] = sorted(d for d in dirnames if d not in SKIP_DIRS and not d.endswith(".egg-info"))
                for fn in sorted(filenames):
                    fp = Path(dirpath) / fn
                    kind = _classify(fp)
                    if kind is not None:
                        yield fp, kind
        elif path.is_file():
            # A file named explicitly (pre-commit passes them) is read whatever its name.
            yield path, _classify(path) or "shell"
        else:
            raise DiscoveryError(f"{p}: no such file or directory")


def display_path(path: Path) -> str:
    """The path as reports show it: relative to the working directory when inside it, POSIX."""
    try:
        return path.resolve().relative_to(Path.cwd().resolve()).as_posix()
    except ValueError:
        return path.as_posix()


def _read(path: Path) -> str | None:
    try:
        if path.stat().st_size > MAX_FILE_BYTES:
            return None
        data = path.read_bytes()
    except OSError as exc:
        raise DiscoveryError(f"{path}: cannot read: {exc.strerror or exc}") from None
    if b"\0" in data[:8192]:
        return None
    return data.decode("utf-8", errors="replace")


def discover(paths: Iterable[str | Path]) -> list[Reference]:
    """Every model reference under `paths`, in file order then line order."""
    from scanner.gate.manifest import is_manifest_doc, manifest_references

    refs: list[Reference] = []
    seen_files: set[Path] = set()
    for path, kind in iter_files(paths):
        real = path.resolve()
        if real in seen_files:
            continue
        seen_files.add(real)
        text = _read(path)
        if text is None:
            continue
        file = display_path(path)
        base = path.parent
        if kind == "manifest":
            refs.extend(manifest_references(text, file))
        elif kind == "yaml":
            refs.extend(_yaml_refs(text, file, base, is_manifest_doc, manifest_references))
        elif kind == "python":
            refs.extend(python_refs(text, file, base))
        elif kind == "modelfile":
            refs.extend(modelfile_refs(text, file, base))
        else:
            refs.extend(shell_refs(text, file, base))
    return refs


# ---------------------------------------------------------------------------------------- shell
def _logical_lines(text: str) -> Iterator[list[_Tok]]:
    """Words of each logical line (backslash continuations joined), each word with its own line."""
    words: list[_Tok] = []
    for i, raw in enumerate(text.splitlines(), start=1):
        line = raw.rstrip()
        cont = line.endswith("\\")
        if cont:
            line = line[:-1]
        words.extend(_tokens(line, i))
        if not cont:
            if words:
                yield words
            words = []
    if words:
        yield words


def shell_refs(text: str, file: str, base: Path) -> list[Reference]:
    refs: list[Reference] = []
    file_revision = None
    pending: list[_Found] = []
    for words in _logical_lines(text):
        # `vllm serve` inside `sh -c "..."` arrives as one quoted word: split it again.
        expanded: list[_Tok] = []
        for w in words:
            if " " in w.text:
                expanded.extend(_tokens(w.text, w.line, w.col))
            else:
                expanded.append(w)
        found, revision = _commands(expanded, None)
        env_found = [f for f in found if f.detail in MODEL_ENV]
        cmd_found = [f for f in found if f.detail not in MODEL_ENV]
        refs.extend(_resolve(cmd_found, revision, file, base))
        pending.extend(env_found)
        if revision and not cmd_found:
            file_revision = file_revision or revision
    # MODEL_ID and REVISION are environment: in a .env file or a Dockerfile they pair up per file.
    refs.extend(_resolve(pending, file_revision, file, base))
    refs.sort(key=lambda r: (r.line, r.column or 0))
    return refs


def modelfile_refs(text: str, file: str, base: Path) -> list[Reference]:
    refs: list[Reference] = []
    for i, raw in enumerate(text.splitlines(), start=1):
        m = re.match(r"^(\s*FROM\s+)(\S+)", raw, re.I)
        if not m:
            continue
        value = m.group(2)
        if not re.match(r"^(?:https?://)?(?:www\.)?(?:hf\.co|huggingface\.co)/", value):
            continue
        refs.extend(_resolve([_Found(value, _Tok(value, i, len(m.group(1)) + 1), "ollama", "FROM")], None, file, base))
    return refs


# ---------------------------------------------------------------------------------------- YAML
def _yaml_refs(text: str, file: str, base: Path, is_manifest_doc, manifest_references) -> list[Reference]:
    try:
        docs = list(yaml.compose_all(text, Loader=yaml.SafeLoader))
    except yaml.YAMLError:
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


def _seq_or_scalar_tokens(node: yaml.Node) -> list[_Tok]:
    if isinstance(node, yaml.ScalarNode):
        return _scalar_tokens(node)
    out: list[_Tok] = []
    if isinstance(node, yaml.SequenceNode):
        for item in node.value:
            if isinstance(item, yaml.ScalarNode):
                toks = _scalar_tokens(item)
                # A list item is one argv word; keep it whole unless it is a shell script (`sh -c "..."`).
                if len(toks) > 1 and " " in str(item.value).strip():
                    out.extend(toks)
                elif toks:
                    out.append(_Tok(str(item.value), toks[0].line, toks[0].col))
    return out


def _env_pairs(node: yaml.Node) -> list[tuple[str, _Tok]]:
    """(name, value word) from a k8s `env:` list or a compose `environment:` mapping or list."""
    def word(v: yaml.ScalarNode, text: str, offset: int = 0) -> _Tok:
        quoted = 1 if v.style in ('"', "'") else 0
        return _Tok(text, v.start_mark.line + 1, v.start_mark.column + 1 + quoted + offset)

    out: list[tuple[str, _Tok]] = []
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
            entries = {k.value: v for k, v in node.value if isinstance(k, yaml.ScalarNode)}
            if any(k in entries for k in ("command", "args", "entrypoint", "env", "environment")):
                words: list[_Tok] = []
                for key in ("entrypoint", "command", "args"):
                    if key in entries:
                        words.extend(_seq_or_scalar_tokens(entries[key]))
                found, revision = _commands(words, kind)
                for key in ("env", "environment"):
                    if key in entries:
                        for name, tok in _env_pairs(entries[key]):
                            if name in MODEL_ENV:
                                found.append(_Found(tok.text, tok, kind, name))
                            elif name in REVISION_ENV and tok.text:
                                revision = revision or tok.text
                refs.extend(_resolve(found, revision, file, base))
            for _, v in node.value:
                visit(v)
        elif isinstance(node, yaml.SequenceNode):
            for v in node.value:
                visit(v)

    visit(doc)
    return refs


# ---------------------------------------------------------------------------------------- Python
_PY_CALLS = {
    "from_pretrained": ("pretrained_model_name_or_path", 0),
    "pipeline": ("model", 1),
    "LLM": ("model", 0),
    "snapshot_download": ("repo_id", 0),
    "hf_hub_download": ("repo_id", 0),
}


def python_refs(text: str, file: str, base: Path) -> list[Reference]:
    try:
        tree = ast.parse(text)
    except (SyntaxError, ValueError):
        return _python_regex(text, file, base)
    refs: list[Reference] = []
    for node in ast.walk(tree):
        if not isinstance(node, ast.Call):
            continue
        fn = node.func
        name = fn.attr if isinstance(fn, ast.Attribute) else fn.id if isinstance(fn, ast.Name) else None
        if name not in _PY_CALLS:
            continue
        kwname, pos = _PY_CALLS[name]
        kw = {k.arg: k.value for k in node.keywords if k.arg}
        repo_type = kw.get("repo_type")
        if isinstance(repo_type, ast.Constant) and repo_type.value not in (None, "model"):
            continue
        arg = kw.get(kwname)
        if arg is None and len(node.args) > pos:
            arg = node.args[pos]
        if not (isinstance(arg, ast.Constant) and isinstance(arg.value, str)):
            continue
        rev_node = kw.get("revision")
        revision = rev_node.value if isinstance(rev_node, ast.Constant) and isinstance(rev_node.value, str) else None
        hit = hub_model_id(arg.value, base)
        if hit is None:
            continue
        refs.append(Reference(hit[0], hit[1] or revision, file, arg.lineno, "python", arg.col_offset + 2,
                              detail=name))
    refs.sort(key=lambda r: (r.line, r.column or 0))
    return refs


def _python_regex(text: str, file: str, base: Path) -> list[Reference]:
    refs = []
    for i, raw in enumerate(text.splitlines(), start=1):
        for m in re.finditer(r"""from_pretrained\(\s*(["'])([^"']+)\1""", raw):
            hit = hub_model_id(m.group(2), base)
            if hit:
                refs.append(Reference(hit[0], hit[1], file, i, "python", m.start(2) + 1, detail="from_pretrained"))
    return refs
