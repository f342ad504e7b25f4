"""Turn the corpus's model-card FACT records into repos a fake Hub can serve.

A fact record (`../shared/corpus/model-cards/*.yaml`) restates what a real Hub repo declared: the
card's front-matter keys, whether LICENSE / USE_POLICY.md files exist, the gate. `repo_spec`
rebuilds that repo: the README (front matter from the facts, a short body written here), the
Hub-shaped `model_info` JSON, and the license files whose text is a reference text in
`../shared/corpus/license-texts/`. Those texts are not the project's own: a spec names every
path (and card field) that carries one in `withheld`, so whatever writes a spec into the
project tree (scripts/build_examples.py) keeps only their hashes.

Record values are often annotated ("apache-2.0 (as reported)", "transformers (expected)",
"not captured"). The rules, applied the same way to every record:

* a parenthesised annotation is dropped and the value kept ("as reported", "tag", "per
  derivatives", "declares llama3.3", ...);
* a value marked "expected" or "not captured" was not seen on the card, so it is left out
  (the record's own `expected.base_model` agrees: Qwen2.5's "Qwen/Qwen2.5-72B (expected)" is
  not a declared base);
* a repo file counts as present only when the record says "yes" or "likely";
* a card whose front matter was not captured, or whose license value was inferred from
  derivatives or conventions, is rebuilt from secondary facts: `assembled` is True.

Only the standard library and PyYAML are used, so the test fake Hub can import this module.
"""

from __future__ import annotations

import hashlib
import json
import math
import re
import sys
from dataclasses import dataclass, field
from pathlib import Path

import yaml

REPO_ROOT = Path(__file__).resolve().parents[1]
if str(REPO_ROOT) not in sys.path:
    sys.path.insert(0, str(REPO_ROOT))


def default_shared_dir() -> Path:
    """`$MODELSCAN_SHARED`, else `../shared` beside the repository (scanner/_devpaths.py)."""
    from scanner._devpaths import shared_dir

    return shared_dir()


DEFAULT_CORPUS_DIR = default_shared_dir() / "corpus" / "model-cards"
DEFAULT_TEXTS_DIR = default_shared_dir() / "corpus" / "license-texts"


@dataclass
class RepoSpec:
    repo_id: str
    model_info: dict               # Hub JSON minus sha / siblings / lastModified
    files: dict                    # path -> str | bytes, served as repo files
    withheld: set                  # paths (and "cardData.<field>") holding a reference text
    assembled: bool                # facts assembled from secondary sources or the family
    sources: list                  # the record's source urls
    record: dict                   # the raw fact record
    weights: dict = field(default_factory=dict)   # LFS weight path -> size (listed, never served)
    notes: list = field(default_factory=list)     # what could not be reproduced, and why


# --------------------------------------------------------------------------- reference texts

# Hub license id (or license_name) -> reference text label in corpus/license-texts.
# Ids absent here, or mapped to None, have no reference text (their repos get no LICENSE file).
LICENSE_TEXT_LABELS: dict[str, str | None] = {
    "llama2": "llama2",
    "llama3": "llama3",
    "llama3.1": "llama3.1",
    "llama3.2": "llama3.2",
    "llama3.3": "llama3.3",
    "llama4": "llama4",
    "gemma": "gemma-2024-04-01",              # Gemma 3 cards: gemma-2025-03-24 (see reference_label)
    "gemma-terms-of-use": "gemma-2024-04-01",
    "qwen": "qwen",
    "tongyi-qianwen": "tongyi-qianwen",
    "tongyi-qianwen-research": "tongyi-qianwen-research",
    "qwen-research": None,                    # the 2024 Qwen RESEARCH text is not in the corpus
    "yi-license": "yi-license",
    "deepseek": "deepseek",
    "deepseek-license": "deepseek",
    "databricks-open-model-license": "databricks-open-model",
    "stabilityai-ai-community": "stabilityai-ai-community",
    "stabilityai-nc-research-community": "stabilityai-nc-research-community",
    "bigscience-bloom-rail-1.0": "bigscience-bloom-rail-1.0",
    "bigscience-openrail-m": "bigscience-openrail-m",
    "bigcode-openrail-m": "bigcode-openrail-m",
    "creativeml-openrail-m": "creativeml-openrail-m",
    "openrail++": "openrail++",
    "nvidia-open-model-license": "nvidia-open-model",
    "apple-amlr": "apple-amlr",
    "apache-2.0": "apache-2.0",
    "mit": "mit",
    "bsd-3-clause": "bsd-3-clause",
    "bsd-2-clause": "bsd-2-clause",
    "cc-by-4.0": "cc-by-4.0",
    "cc-by-sa-4.0": "cc-by-sa-4.0",
    "cc-by-nc-4.0": "cc-by-nc-4.0",
    "cc-by-nc-sa-4.0": "cc-by-nc-sa-4.0",
    "cc-by-nc-nd-4.0": "cc-by-nc-nd-4.0",
    "cc0-1.0": "cc0-1.0",
    "gpl-3.0": "gpl-3.0",
    "agpl-3.0": "agpl-3.0",
    "wtfpl": "wtfpl",
    "mrl": None, "mnpl": None, "jamba-open-model-license": None,
    "tencent-hunyuan-community": None,        # Hunyuan3D / HunyuanImage texts differ from v1/v2
    "falcon-180b-tii": None, "microsoft-research-license": None,
    "ai2-impact-license-low-risk": None,
}

# Llama acceptable-use policies shipped as USE_POLICY.md.
USE_POLICY_LABELS = {k: k for k in ("llama2", "llama3", "llama3.1", "llama3.2", "llama3.3", "llama4")}

# Gate prompts that embed a whole license, recognised by the title the record quotes.
_GATE_LICENSE = [
    (re.compile(r"LLAMA 3\.1 COMMUNITY", re.I), "llama3.1"),
    (re.compile(r"LLAMA 3\.2 COMMUNITY", re.I), "llama3.2"),
    (re.compile(r"LLAMA 3\.3 COMMUNITY", re.I), "llama3.3"),
    (re.compile(r"LLAMA 4 COMMUNITY", re.I), "llama4"),
    (re.compile(r"META LLAMA 3 COMMUNITY|full Llama 3 licen[cs]e", re.I), "llama3"),
    (re.compile(r"Mistral AI Research License|\bMRL\b", re.I), "mrl"),
]

# Repo files whose license is not the card's declared one.
_FILE_LICENSE_OVERRIDES = {("deepseek-ai/DeepSeek-V3", "LICENSE-CODE"): "mit"}


def reference_label(license_id: str | None, repo_id: str = "") -> str | None:
    """The reference-text label for a license id as used by `repo_id` (Gemma 3 → 2025 terms)."""
    if not license_id:
        return None
    lid = license_id.lower()
    if lid in ("gemma", "gemma-terms-of-use") and re.search(r"gemma-3", repo_id, re.I):
        return "gemma-2025-03-24"
    return LICENSE_TEXT_LABELS.get(lid)


def reference_text(name: str, texts_dir: Path | str = DEFAULT_TEXTS_DIR) -> str | None:
    """The reference text stored as `name` (e.g. "llama3.LICENSE.txt"), or None."""
    path = Path(texts_dir) / name
    if not path.is_file():
        return None
    return path.read_text(encoding="utf-8")


# --------------------------------------------------------------------------- records

def load_records(corpus_dir: Path | str | None = None) -> dict[str, dict]:
    """All fact records of the corpus, by repo id, in file-name order."""
    corpus_dir = Path(corpus_dir) if corpus_dir else DEFAULT_CORPUS_DIR
    records = {}
    for path in sorted(corpus_dir.glob("*.yaml")):
        record = yaml.safe_load(path.read_text(encoding="utf-8"))
        records[record["repo_id"]] = record
    return records


_PAREN = re.compile(r"\s*\([^()]*\)")
_UNSEEN = re.compile(r"\(\s*(?:expected|not captured)\b", re.I)   # "(expected)", "(expected; not captured)"
_SECONDHAND = re.compile(r"propagat|derivatives|not captured|secondary|convention|expected", re.I)


def _value(raw, *, keep_expected: bool = False):
    """A record value without its annotation; None when it was not seen on the card."""
    if raw is None:
        return None
    if isinstance(raw, (list, tuple)):
        vals = [_value(v, keep_expected=keep_expected) for v in raw]
        return [v for v in vals if v is not None]
    text = str(raw).strip()
    if not text or text.startswith("(") or text.lower() in ("none", "null", "—", "-"):
        return None
    if text.lower().startswith("not captured"):
        return None
    if not keep_expected and _UNSEEN.search(text):
        return None
    while _PAREN.search(text):
        text = _PAREN.sub("", text)
    text = text.split(" / ")[0].strip()
    return text or None


def _first_token(raw) -> str | None:
    text = _value(raw)
    return text.split()[0] if text else None


def _hf_id(raw) -> str | None:
    """The first `org/name` repo id in a base_model value."""
    if raw is None or _UNSEEN.search(str(raw)):
        return None
    m = re.search(r"(?<![\w./-])([A-Za-z0-9][\w.-]*/[A-Za-z0-9][\w.-]*)", str(raw))
    return m.group(1) if m else None


def _present(status) -> bool:
    return bool(re.match(r"\s*(yes|likely)\b", str(status or ""), re.I))


def _license_ids(card_license) -> list[str]:
    """Declared license values; a free-text name ("Business Source License 1.1") stays whole."""
    v = _value(card_license)
    if v is None:
        return []
    return [str(x) for x in (v if isinstance(v, list) else [v])]


# --------------------------------------------------------------------------- inference tables

_CONFIGS = [  # (pattern on the repo id, architectures, model_type)
    (r"llama-3\.2-\d+b-vision", "MllamaForConditionalGeneration", "mllama"),
    (r"llama-4", "Llama4ForConditionalGeneration", "llama4"),
    (r"prompt-guard", "DebertaV2ForSequenceClassification", "deberta-v2"),
    (r"pixtral", "LlavaForConditionalGeneration", "llava"),
    (r"mixtral", "MixtralForCausalLM", "mixtral"),
    (r"codestral|mistral|ministral|zephyr", "MistralForCausalLM", "mistral"),
    (r"qwen2\.5|qwen2-", "Qwen2ForCausalLM", "qwen2"),
    (r"qwen3", "Qwen3ForCausalLM", "qwen3"),
    (r"qwen-\d+b", "QWenLMHeadModel", "qwen"),
    (r"gemma-3", "Gemma3ForConditionalGeneration", "gemma3"),
    (r"gemma-2|gwq-9b", "Gemma2ForCausalLM", "gemma2"),
    (r"gemma", "GemmaForCausalLM", "gemma"),
    (r"phi-4|phi-3", "Phi3ForCausalLM", "phi3"),
    (r"phi-2", "PhiForCausalLM", "phi"),
    (r"olmo-2", "Olmo2ForCausalLM", "olmo2"),
    (r"olmo", "OlmoForCausalLM", "olmo"),
    (r"bloom", "BloomForCausalLM", "bloom"),
    (r"falcon", "FalconForCausalLM", "falcon"),
    (r"starcoder2", "Starcoder2ForCausalLM", "starcoder2"),
    (r"deepseek-v3|deepseek-r1", "DeepseekV3ForCausalLM", "deepseek_v3"),
    (r"deepseek-v2", "DeepseekV2ForCausalLM", "deepseek_v2"),
    (r"jamba", "JambaForCausalLM", "jamba"),
    (r"dbrx", "DbrxForCausalLM", "dbrx"),
    (r"deepseek-coder|everyone-coder|/yi-|capybara|llama|llemma|alpaca|wizardlm|hermes|tulu|orca-2|"
     r"calliope|timecrystal|lzlv|codeup|sheep-duck|llasa|watt-tool|causallm|sfr-iterative",
     "LlamaForCausalLM", "llama"),
]

_PARAMS_B = {  # sizes the repo name does not state, in billions
    "bigscience/bloom": 176.2, "microsoft/phi-4": 14.7, "microsoft/phi-2": 2.78,
    "microsoft/Phi-3-mini-4k-instruct": 3.82, "mistralai/Mixtral-8x7B-v0.1": 46.7,
    "mistralai/Mixtral-8x7B-Instruct-v0.1": 46.7, "stabilityai/stable-diffusion-3-medium": 2.03,
    "meta-llama/Llama-3.2-11B-Vision-Instruct": 10.67, "mistralai/Codestral-22B-v0.1": 22.25,
    "allenai/OLMo-2-1124-7B": 7.3, "google/gemma-2-9b-it": 9.24, "google/gemma-2-9b": 9.24,
    "Qwen/Qwen2.5-72B-Instruct": 72.7, "Qwen/Qwen2.5-7B-Instruct": 7.62,
    "meta-llama/Meta-Llama-3-70B": 70.55, "meta-llama/Meta-Llama-3-8B-Instruct": 8.03,
    "meta-llama/Llama-3.2-1B-Instruct": 1.24, "meta-llama/Llama-3.3-70B-Instruct": 70.55,
    "deepseek-ai/DeepSeek-V3": 671.0, "deepseek-ai/DeepSeek-R1": 671.0, "deepseek-ai/DeepSeek-V2.5-1210": 236.0,
    "databricks/dbrx-instruct": 132.0, "ai21labs/AI21-Jamba-Mini-1.7": 51.6,
    "bartowski/ai21labs_AI21-Jamba-Mini-1.7-GGUF": 51.6,
}

_QUANT_NAME = re.compile(r"gguf|awq|gptq|exl2|quantized|fp8|w4a16|w8a8|int4|int8|4bit|8bit|bnb", re.I)


def infer_relation(repo_id: str, n_bases: int = 1) -> str:
    """The relation the Hub would tag: quantized / adapter / merge / finetune (from the name)."""
    if _QUANT_NAME.search(repo_id):
        return "quantized"
    if re.search(r"lora|adapter", repo_id, re.I):
        return "adapter"
    if re.search(r"merge", repo_id, re.I) or n_bases > 1:
        return "merge"
    return "finetune"


def _is_gguf(repo_id: str, library: str | None) -> bool:
    return bool(re.search(r"gguf", repo_id, re.I)) or library == "gguf"


def _is_diffusion(pipeline: str | None, repo_id: str) -> bool:
    return bool(pipeline and re.match(r"text-to-(image|video|3d)|image-to-", pipeline)) or bool(
        re.search(r"diffusion|controlnet|control_v1p", repo_id, re.I))


def infer_config(repo_id: str) -> dict | None:
    for pattern, arch, model_type in _CONFIGS:
        if re.search(pattern, repo_id, re.I):
            return {"architectures": [arch], "model_type": model_type}
    return None


def param_count(repo_id: str) -> int:
    if repo_id in _PARAMS_B:
        return int(_PARAMS_B[repo_id] * 1e9)
    m = re.search(r"(\d+)x(\d+(?:\.\d+)?)b", repo_id, re.I)
    if m:
        return int(int(m.group(1)) * float(m.group(2)) * 0.83e9)
    m = re.search(r"(?<![\d.])(\d+(?:\.\d+)?)[bB](?![a-zA-Z])", repo_id.split("/")[-1])
    if m:
        return int(float(m.group(1)) * 1e9)
    m = re.search(r"(\d+)M(?![a-zA-Z])", repo_id.split("/")[-1])
    if m:
        return int(m.group(1)) * 1_000_000
    return 7_000_000_000


def weight_files(repo_id: str, *, gguf: bool, diffusion: bool, llamafile: bool) -> dict[str, int]:
    """Plausible LFS weight files (path -> size in bytes) for a repo of this kind and size."""
    params = param_count(repo_id)
    name = repo_id.split("/")[-1]
    if gguf or llamafile:
        stem = re.sub(r"[-_.]?(gguf|llamafile)$", "", name, flags=re.I)
        ext = "llamafile" if llamafile else "gguf"
        return {f"{stem}.{q}.{ext}": int(params * bits / 8)
                for q, bits in (("Q4_K_M", 4.85), ("Q5_K_M", 5.69), ("Q8_0", 8.5))}
    if diffusion:
        return {"transformer/diffusion_pytorch_model.safetensors": params * 2,
                "vae/diffusion_pytorch_model.safetensors": 167_666_902}
    total = params * 2                                  # bf16
    shards = max(1, math.ceil(total / 4_983_000_000))
    if shards == 1:
        return {"model.safetensors": total}
    each = total // shards
    out = {}
    for i in range(1, shards + 1):
        size = each if i < shards else total - each * (shards - 1)
        out[f"model-{i:05d}-of-{shards:05d}.safetensors"] = size
    return out


def lfs_sibling(repo_id: str, path: str, size: int) -> dict:
    """A siblings entry for an LFS file: fake but deterministic sha256, blobId of the pointer."""
    from scanner.textnorm import git_blob_oid
    sha = hashlib.sha256(f"{repo_id}/{path}".encode()).hexdigest()
    pointer = f"version https://git-lfs.github.com/spec/v1\noid sha256:{sha}\nsize {size}\n".encode()
    return {"rfilename": path, "blobId": git_blob_oid(pointer), "size": size,
            "lfs": {"sha256": sha, "size": size, "pointerSize": len(pointer)}}


# --------------------------------------------------------------------------- card rendering

class _Dumper(yaml.SafeDumper):
    pass


class _LiteralDumper(yaml.SafeDumper):
    pass


_LiteralDumper.add_representer(
    str, lambda d, s: d.represent_scalar("tag:yaml.org,2002:str", s, style="|" if "\n" in s else None))


def _literal_round_trips(text: str) -> bool:
    """Whether a block scalar keeps `text` even as the last key of a front matter, whose final
    line break the Hub's front-matter regex cuts off (clip chomping then drops a trailing newline)."""
    try:
        dumped = yaml.dump({"x": text}, Dumper=_LiteralDumper, allow_unicode=True)
        return yaml.safe_load(dumped.rstrip("\n"))["x"] == text
    except yaml.YAMLError:
        return False


def _str_repr(dumper, data):
    if "\n" in data and _literal_round_trips(data):
        return dumper.represent_scalar("tag:yaml.org,2002:str", data, style="|")
    return dumper.represent_scalar("tag:yaml.org,2002:str", data)


_Dumper.add_representer(str, _str_repr)


def render_readme(card_data: dict | None, body: str, *, drop: tuple = ()) -> str:
    """A README: YAML front matter from `card_data` (None: no front matter) and a body."""
    if card_data is None:
        return body
    data = {k: v for k, v in card_data.items() if k not in drop}
    front = yaml.dump(data, Dumper=_Dumper, sort_keys=False, allow_unicode=True, width=1000)
    return f"---\n{front}---\n\n{body}"


def _quoted(text: str) -> list[str]:
    return [q.strip() for q in re.findall(r"'(.+?)'(?=[\s;,.)]|$)", text)]


def _body_lines(record: dict) -> list[str]:
    """Statements the record says the card body makes (restated facts, kept short)."""
    lines = []
    for sig in record["card"].get("other_signals") or []:
        sig = str(sig)
        m = re.match(r"(?:body|README):\s*(.*)$", sig, re.S)
        if m:
            rest = m.group(1).strip()
            if rest.startswith("'") and rest.endswith("'"):
                lines.append(rest[1:-1])
            elif rest.startswith("'"):
                lines.extend(_quoted(rest))
            else:
                lines.append(rest.split(" - ")[0].strip())
        elif re.search(r"\bprose\b|body (?:says|calls)", sig) and "'" in sig:
            lines.extend(_quoted(sig))
    return lines


# Oddities a record describes in words, reproduced here (bodies written for this project).
_BODY_EXTRAS = {
    "WizardLM/WizardLM-13B-V1.1": "| Model | License |\n|---|---|\n| WizardLM-13B-V1.1 | Non-commercial |\n",
    "RichardErkhov/LlamaFinetuneBase_-_Gemma-2-9B-gguf":
        "Original model description:\n\nlicense: gemma library_name: transformers pipeline_tag: text-generation\n",
    "BlackBeenie/Meta-Llama-3.3-70B": "License: Llama 3.3 Community License Agreement (stated in prose only).\n",
}

# Gates whose prompt only points at the terms (written here; the records describe them).
_GATE_PROMPTS = [
    (re.compile(r"email must match the Meta website"),
     "Your Hugging Face account email must match the one you gave on the Meta website."),
    (re.compile(r"prompt to agree to Google's usage license"),
     "Review and agree to Google's usage license to access this model."),
    (re.compile(r"Falcon-180B TII license|TII gate text"),
     "Access requires accepting the [Falcon-180B TII License](https://huggingface.co/spaces/tiiuae/"
     "falcon-180b-license/blob/main/LICENSE.txt) and its [Acceptable Use Policy](https://huggingface.co/"
     "spaces/tiiuae/falcon-180b-license/blob/main/ACCEPTABLE_USE_POLICY.txt)."),
]


def _signal_keys(record: dict) -> dict:
    """Front-matter keys the record mentions among its other_signals."""
    out: dict = {}
    for raw_sig in record["card"].get("other_signals") or []:
        raw_sig = str(raw_sig).strip()
        sig = raw_sig.strip("'")
        m = re.match(r"language:?\s+(.+)$", sig)
        if m and "language" not in out:
            raw = m.group(1).strip()
            if raw.startswith("["):
                codes = re.findall(r"'?([a-z]{2,4})'?", raw.split("]")[0])
            else:
                codes = re.split(r"[,\s]+", _PAREN.sub("", raw).strip())
            if codes and all(re.fullmatch(r"[a-z]{2,3}|code", c) for c in codes):
                out["language"] = codes if len(codes) > 1 or raw.startswith("[") else codes[0]
        m = re.search(r"\binference:?\s+(true|false)\b", sig)
        if m:
            out["inference"] = m.group(1) == "true"
        m = re.match(r"(quantized_by|model_creator):\s*'?([^']+?)'?$", sig)
        if m:
            out[m.group(1)] = m.group(2)
        m = re.match(r"tags:\s*(.+)$", sig)
        if m:
            raw = m.group(1).strip()
            out["tags"] = [] if raw.startswith("[]") else [t.strip() for t in raw.split(",") if t.strip()]
        if re.match(r"extra_gated_eu_disallowed:\s*true", sig):
            out["extra_gated_eu_disallowed"] = True
        m = re.search(r"stray top-level key '(\w+): ([^']+)'", raw_sig)
        if m:
            out[m.group(1)] = m.group(2)
    return out


def _gate(record: dict, texts_dir: Path, repo_id: str):
    """(gated, card fields, withheld field names, notes) for the record's gate facts."""
    raw = str(record["card"].get("gated") or "no")
    low = raw.lower().strip()
    fields: dict = {}
    notes = []
    copies = "copies" in low or low.startswith("yes-ish")
    if copies:
        gated = False
    elif low.startswith("yes") or "gate" in low and not low.startswith("no"):
        manual = "manual" in low or repo_id.startswith("meta-llama/")
        gated = "manual" if manual else "auto"
    else:
        gated = False
    if gated is False and not copies:
        return False, fields, set(), notes
    m = re.search(r"extra_gated_heading '([^']+)'", raw)
    if m:
        fields["extra_gated_heading"] = m.group(1)
    lic = None
    if re.search(r"prompt|shows", raw, re.I):
        for pattern, lid in _GATE_LICENSE:
            if pattern.search(raw):
                lic = lid
                break
    withheld = set()
    if lic:
        label = reference_label(lic, repo_id)
        text = reference_text(f"{label}.LICENSE.txt", texts_dir) if label else None
        if text is not None:
            fields["extra_gated_prompt"] = text
            withheld.add("extra_gated_prompt")
            if gated:
                gated = "manual"
        else:
            notes.append(f"gate prompt embeds the {lic} license, which has no reference text: prompt left out")
    else:
        m = re.search(r"extra_gated_prompt '(.+?)'(?:\s|$)", raw)
        if m:
            fields["extra_gated_prompt"] = m.group(1).rstrip(".").rstrip() + "."
        else:
            for pattern, prompt in _GATE_PROMPTS:
                if pattern.search(raw):
                    fields["extra_gated_prompt"] = prompt
                    break
    if "extra_gated_fields checkbox" in raw:
        fields["extra_gated_fields"] = {"I accept the terms of the license": "checkbox"}
    m = re.search(r"button '([^']+)'", raw)
    if m:
        fields["extra_gated_button_content"] = m.group(1)
    return gated, fields, withheld, notes


# --------------------------------------------------------------------------- the spec

def _card_data(record: dict, repo_id: str) -> tuple[dict, list, list]:
    """(card data in front-matter order, base model ids, notes)."""
    card = record["card"]
    notes: list = []
    sig = _signal_keys(record)
    data: dict = {}
    if "language" in sig:
        data["language"] = sig["language"]
    licenses = _license_ids(card.get("license"))
    if licenses:
        data["license"] = licenses if isinstance(card.get("license"), list) else licenses[0]
    elif card.get("license") not in (None, "—") and _value(card.get("license")) is None:
        notes.append(f"license value {card.get('license')!r} not seen on the card: no license key")
    for key in ("license_name", "license_link"):
        v = _first_token(card.get(key))
        if v:
            data[key] = v
    lib = _first_token(card.get("library_name"))
    if lib:
        data["library_name"] = lib
    pipe = _first_token(card.get("pipeline_tag"))
    if pipe:
        data["pipeline_tag"] = pipe
    raw_base = card.get("base_model")
    if isinstance(raw_base, list):
        bases = [b for b in (_hf_id(x) for x in raw_base) if b]
        if bases:
            data["base_model"] = bases
    else:
        b = _hf_id(raw_base)
        bases = [b] if b else []
        if b:
            data["base_model"] = b
    if raw_base and not bases:
        notes.append(f"base_model {raw_base!r} not seen on the card: left out")
    relation = _value(card.get("base_model_relation"))
    if relation:
        data["base_model_relation"] = relation
    datasets = _value(card.get("datasets"))
    if datasets:
        datasets = [d for d in datasets if re.fullmatch(r"[\w.-]+(/[\w.-]+)?", d)]
        if datasets:
            data["datasets"] = datasets
    tags = []
    for t in card.get("licensing_tags") or []:
        if re.search(r"\(added by the PR\)", str(t)):
            continue                      # not on main
        v = _value(t)
        if v:
            tags.append(v)
    tags += [t for t in sig.get("tags", []) if t not in tags]
    if tags or ("tags" in sig):
        data["tags"] = tags
    for key in ("inference", "quantized_by", "model_creator", "arxiv", "extra_gated_eu_disallowed"):
        if key in sig:
            data[key] = sig[key]
    return data, bases, notes


def _readme_body(repo_id: str, record: dict, bases: list, relation: str | None, license_files: list) -> str:
    name = repo_id.split("/")[-1]
    out = [f"# {name}", ""]
    if bases:
        kind = {"quantized": "A quantized version of", "adapter": "An adapter for",
                "merge": "A merge that includes", "finetune": "A fine-tune of"}[relation or "finetune"]
        links = ", ".join(f"[{b}](https://huggingface.co/{b})" for b in bases)
        out += [f"{kind} {links}.", ""]
    else:
        author = repo_id.split("/")[0] if "/" in repo_id else "its authors"
        out += [f"Model weights published by {author}.", ""]
    for line in _body_lines(record):
        out += [line, ""]
    extra = _BODY_EXTRAS.get(repo_id)
    if extra:
        out += [extra.rstrip("\n"), ""]
    if license_files:
        out += ["## License", "", "See " + " and ".join(f"[{p}]({p})" for p in license_files) + ".", ""]
    return "\n".join(out)


def _license_files(record: dict, repo_id: str, data: dict, texts_dir: Path):
    """{path: (reference file name, text)} for the repo files the record says exist."""
    files = {}
    notes = []
    lic = data.get("license")
    lic = lic[0] if isinstance(lic, list) and lic else lic
    declared = data.get("license_name") if lic == "other" else lic
    if reference_label(declared, repo_id) is None:
        # no usable declaration: the license the record says the repo's own release carries
        for key in ("base_license", "effective_license"):
            tok = str(record.get("expected", {}).get(key) or "").split(" ")[0].lower()
            if reference_label(tok, repo_id):
                declared = tok
                break
    for path, status in (record.get("repo_files") or {}).items():
        if not _present(status) or not re.fullmatch(r"[\w.-]+", path):
            continue
        if not re.match(r"(LICEN[CS]E|USE_POLICY|NOTICE|COPYING)", path, re.I):
            continue
        lid = _FILE_LICENSE_OVERRIDES.get((repo_id, path), declared)
        if path.upper().startswith("USE_POLICY"):
            label = USE_POLICY_LABELS.get((lid or "").lower())
            name = f"{label}.USE_POLICY.md" if label else None
        else:
            label = reference_label(lid, repo_id)
            name = f"{label}.LICENSE.txt" if label else None
        text = reference_text(name, texts_dir) if name else None
        if text is None:
            notes.append(f"{path} exists but license {lid!r} has no reference text: file left out")
            continue
        files[path] = (name, text)
    return files, notes


def repo_spec(record: dict, texts_dir: Path | str = DEFAULT_TEXTS_DIR) -> RepoSpec:
    """The repo a fact record describes, as a fake Hub serves it."""
    texts_dir = Path(texts_dir)
    repo_id = record["repo_id"]
    card = record["card"]
    fm = card.get("front_matter_present")
    has_front = fm is True or (not isinstance(fm, bool) and fm is not None)   # "not captured": rebuilt
    readme_absent = str((record.get("repo_files") or {}).get("README.md", "")).startswith("absent")
    raw_license = str(card.get("license") or "")
    assembled = bool(record.get("assembled")) or not isinstance(fm, bool) or bool(
        _SECONDHAND.search(raw_license))

    data, bases, notes = _card_data(record, repo_id)
    if has_front and fm is not True and not data and not _gate(record, texts_dir, repo_id)[1]:
        has_front = False                                 # nothing of the front matter is known
        notes.append("front matter not captured and no key known: README body only")
    gated, gate_fields, gate_withheld, gate_notes = _gate(record, texts_dir, repo_id)
    notes += gate_notes
    data.update(gate_fields)
    if record.get("gate_fields") and gated:             # assembled Meta repos: Meta's gate form
        data["extra_gated_fields"] = dict(record["gate_fields"])
        data["extra_gated_button_content"] = "Submit"

    lic_files, file_notes = _license_files(record, repo_id, data, texts_dir)
    notes += file_notes
    license_paths = sorted(p for p in lic_files if not p.upper().startswith("USE_POLICY"))
    license_paths += sorted(p for p in lic_files if p.upper().startswith("USE_POLICY"))

    relation = data.get("base_model_relation") or (infer_relation(repo_id, len(bases)) if bases else None)
    library = data.get("library_name")
    pipeline = data.get("pipeline_tag")
    gguf = _is_gguf(repo_id, library)
    llamafile = bool(re.search(r"llamafile", repo_id, re.I))
    diffusion = _is_diffusion(pipeline, repo_id)
    config = None if (gguf or llamafile or diffusion) else infer_config(repo_id)

    files: dict = {}
    withheld: set = set()
    body = _readme_body(repo_id, record, bases, relation, license_paths)
    if not readme_absent:
        files["README.md"] = render_readme(data if has_front else None, body)
    for path in license_paths:
        files[path] = lic_files[path][1]
        withheld.add(path)
    if config:
        files["config.json"] = json.dumps(config, indent=2) + "\n"
    withheld |= {f"cardData.{f}" for f in gate_withheld}
    if fm is False and not readme_absent:
        notes.append("card has no YAML front matter: README body only, no cardData")

    # what the Hub computes from the card and the repo contents
    model_library = library or ("gguf" if gguf else "diffusers" if diffusion else
                                "transformers" if config else None)
    model_pipeline = pipeline or ("text-generation" if config and
                                  config["architectures"][0].endswith("ForCausalLM") else None)
    card_for_tags = data if has_front and not readme_absent else {}
    tags: list = []
    for t in (model_library, "safetensors" if not (gguf or llamafile) and (config or diffusion) else None,
              "gguf" if gguf else None, config["model_type"] if config else None, model_pipeline):
        if t:
            tags.append(t)
    tags += card_for_tags.get("tags") or []
    lang = card_for_tags.get("language")
    tags += lang if isinstance(lang, list) else [lang] if lang else []
    tags += [f"dataset:{d}" for d in card_for_tags.get("datasets") or []]
    if card_for_tags:
        for b in bases:
            tags += [f"base_model:{b}", f"base_model:{relation}:{b}"]
    lic = card_for_tags.get("license")
    tags += [f"license:{x}" for x in (lic if isinstance(lic, list) else [lic] if lic else [])]
    tags.append("region:us")
    seen: set = set()
    tags = [t for t in tags if not (t in seen or seen.add(t))]

    author = repo_id.split("/")[0] if "/" in repo_id else None
    info: dict = {"id": repo_id, "modelId": repo_id}
    if author:
        info["author"] = author
    info.update({"private": False, "gated": gated, "disabled": False})
    if model_library:
        info["library_name"] = model_library
    if model_pipeline:
        info["pipeline_tag"] = model_pipeline
    info["tags"] = tags
    if has_front and not readme_absent:
        info["cardData"] = data
    if config:
        info["config"] = config

    weights = weight_files(repo_id, gguf=gguf, diffusion=diffusion, llamafile=llamafile)
    if not (gguf or llamafile or diffusion):
        params = param_count(repo_id)
        info["safetensors"] = {"parameters": {"BF16": params}, "total": params}

    sources = [str(s.get("url")) for s in record.get("sources") or [] if s.get("url")]
    return RepoSpec(repo_id=repo_id, model_info=info, files=files, withheld=withheld,
                    assembled=assembled, sources=sources, record=record, weights=weights, notes=notes)


# --------------------------------------------------------------------------- assembled records

LICENSE_FACTS = "research/license-facts.md §2.1 (Meta Llama family)"
HUB_API_FACTS = "research/hub-api.md §5 (model_info of meta-llama/Meta-Llama-3-70B)"

# Meta's gate form, as hub-api.md §5 shows it for Meta-Llama-3-70B.
_META_GATE_FIELDS = {"First Name": "text", "Last Name": "text", "Date of birth": "date_picker",
                     "Country": "country", "Affiliation": "text", "geo": "ip_location"}


def assembled_records(records: dict[str, dict]) -> dict[str, dict]:
    """Fact records for repos the corpus lacks, assembled from their family's records.

    Each is marked `assembled: true`, names the record it was built from in
    `assembled_from`, and keeps that record's sources plus the research notes it relies on.
    """
    out = {}

    def family(src_id: str, repo_id: str, **card) -> dict | None:
        base = records.get(src_id)
        if base is None:
            return None
        rec = json.loads(json.dumps(base))          # deep copy
        rec["repo_id"] = repo_id
        rec["assembled"] = True
        rec["assembled_from"] = src_id
        rec.pop("aliases", None)
        rec.pop("note", None)
        rec["card"].update(card)
        return rec

    rec = family("meta-llama/Meta-Llama-3-8B-Instruct", "meta-llama/Meta-Llama-3-70B",
                 gated="yes - manual; extra_gated_prompt contains the full 'META LLAMA 3 COMMUNITY LICENSE AGREEMENT'",
                 other_signals=["language: en",
                                "body: 'A custom commercial license is available at: https://llama.meta.com/llama3/license'"])
    if rec:
        rec["repo_files"] = {"LICENSE": "yes (family: Meta Llama 3 repos)", "USE_POLICY.md": "yes (family)"}
        rec["sources"] = rec["sources"] + [{"url": LICENSE_FACTS, "facts": "license llama3, LICENSE + USE_POLICY.md"},
                                           {"url": HUB_API_FACTS, "facts": "gated manual, gate form, config llama"}]
        rec["expected"]["verdict"] = "original release (assembled from the Meta Llama 3 family record)"
        rec["gate_fields"] = dict(_META_GATE_FIELDS)
        out[rec["repo_id"]] = rec

    rec = family("meta-llama/Llama-3.2-1B-Instruct", "meta-llama/Llama-3.2-11B-Vision-Instruct",
                 pipeline_tag="image-text-to-text", library_name="transformers",
                 gated="yes - manual; extra_gated_prompt LLAMA 3.2 COMMUNITY LICENSE AGREEMENT")
    if rec:
        rec["repo_files"] = {"LICENSE.txt": "yes (family: Llama 3.2 repos use LICENSE.txt)",
                             "USE_POLICY.md": "yes (family)"}
        rec["sources"] = rec["sources"] + [{"url": LICENSE_FACTS, "facts": "license llama3.2, AUP EU clause for multimodal models"}]
        rec["expected"]["verdict"] = "original multimodal release (assembled from the Llama 3.2 family record)"
        rec["gate_fields"] = dict(_META_GATE_FIELDS)
        out[rec["repo_id"]] = rec

    # The parent prithivMLmods/GWQ-9B-Preview2 names: Gemma-licensed, gemma-2-9b lineage (per its record).
    child = records.get("prithivMLmods/GWQ-9B-Preview2")
    rec = family("google/gemma-2-9b", "prithivMLmods/GWQ-9B-Preview",
                 base_model="google/gemma-2-9b", gated="no", licensing_tags=[], other_signals=[],
                 library_name="transformers")
    if rec and child:
        rec["record_type"] = "derivative"
        rec["relation"] = "finetune"
        rec["family"] = "google Gemma 2 (community fine-tune)"
        rec["repo_files"] = {"LICENSE": "unknown"}
        rec["sources"] = list(child["sources"])
        rec["expected"] = {"base_model": "google/gemma-2-9b", "base_license": "gemma", "declared_license": "gemma",
                           "effective_license": "gemma",
                           "verdict": "assembled from the GWQ-9B-Preview2 record: 'Gemma-licensed, gemma-2-9b lineage'"}
        out[rec["repo_id"]] = rec
    return out


def all_specs(records: dict[str, dict] | None = None, texts_dir: Path | str = DEFAULT_TEXTS_DIR,
              *, with_assembled: bool = True) -> dict[str, RepoSpec]:
    """Specs for every corpus record (and the assembled ones), by repo id."""
    records = records if records is not None else load_records()
    out = {rid: repo_spec(r, texts_dir) for rid, r in records.items()}
    if with_assembled:
        for rid, r in assembled_records(records).items():
            out[rid] = repo_spec(r, texts_dir)
    return out


def readme_body(readme: str) -> str:
    """The markdown after a README's front matter."""
    m = re.match(r"^\s*---\r?\n[\s\S]*?\r?\n---[ \t]*(?:\r?\n|$)", readme)
    return readme[m.end():].lstrip("\n") if m else readme
