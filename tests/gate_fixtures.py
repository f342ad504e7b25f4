"""Shared fixtures for the gate tests: a deployment repository whose files reference Hub models,
a fake Hub serving those models rebuilt from the corpus fact records, and the CLI runner."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time
from pathlib import Path

from support.modules import load_module
from support.paths import ROOT

cf = load_module("scripts/corpus_facts.py")

PHI2 = "microsoft/phi-2"                         # mit, LICENSE
MISTRAL = "mistralai/Mistral-7B-v0.1"            # apache-2.0, no LICENSE file
QWEN = "Qwen/Qwen2.5-7B-Instruct"                # apache-2.0, LICENSE
ZEPHYR = "HuggingFaceH4/zephyr-7b-beta"          # mit, base_model Mistral-7B-v0.1
TINYLLAMA = "TinyLlama/TinyLlama-1.1B-Chat-v1.0"  # apache-2.0
FALCON_RW = "tiiuae/falcon-rw-1b"                # card without a license key
PHI2_GGUF = "TheBloke/phi-2-GGUF"                # license: other, base_model phi-2
CORPUS_REPOS = (PHI2, MISTRAL, QWEN, ZEPHYR, TINYLLAMA, FALCON_RW, PHI2_GGUF)
NOW = "2026-11-28T00:00:00Z"

# The deployment repository: every recognised kind of file, with the line each model is on.
DEPLOY_FILES = {
    "modelscan.yaml": """\
version: 1
deployments:
  - name: chat
    context:
      commercial: true
      deployment_regions: [US]
    models:
      - id: microsoft/phi-2
      - mistralai/Mistral-7B-v0.1
""",
    "deploy/serve.sh": """\
#!/bin/sh
# the chat model, served by vLLM
exec vllm serve Qwen/Qwen2.5-7B-Instruct \\
    --port 8000 --max-model-len 8192
# vllm serve org/commented-out
vllm serve ./checkpoints/local-model
""",
    "deploy/docker-compose.yml": """\
services:
  tgi:
    image: ghcr.io/huggingface/text-generation-inference:2.4
    environment:
      - MODEL_ID=HuggingFaceH4/zephyr-7b-beta
      - PORT=80
  vllm:
    image: vllm/vllm-openai:latest
    command: ["--model", "Qwen/Qwen2.5-7B-Instruct", "--port", "8001"]
  cache:
    image: redis
    environment:
      MODEL_ID: s3://bucket/models/x
""",
    "deploy/k8s/tinyllama.yaml": """\
apiVersion: apps/v1
kind: Deployment
metadata:
  name: tinyllama
spec:
  template:
    spec:
      containers:
        - name: server
          image: vllm/vllm-openai:latest
          args:
            - --model
            - TinyLlama/TinyLlama-1.1B-Chat-v1.0
          env:
            - name: HF_HOME
              value: /cache
""",
    "deploy/Modelfile": """\
FROM hf.co/TheBloke/phi-2-GGUF:Q4_K_M
PARAMETER temperature 0.2
""",
    "app/load.py": """\
from transformers import AutoModelForCausalLM, AutoTokenizer

MODEL = "tiiuae/falcon-rw-1b"
tok = AutoTokenizer.from_pretrained(MODEL)
model = AutoModelForCausalLM.from_pretrained("tiiuae/falcon-rw-1b")
local = AutoModelForCausalLM.from_pretrained("./finetuned")
""",
    "README.md": "vllm serve docs/only-markdown-is-not-read\n",
}

# (repo id, file, line, kind, deployment) for every reference above, in discovery order.
EXPECTED = [
    (PHI2, "modelscan.yaml", 8, "manifest", "chat"),
    (MISTRAL, "modelscan.yaml", 9, "manifest", "chat"),
    (FALCON_RW, "app/load.py", 5, "python", None),
    (PHI2_GGUF, "deploy/Modelfile", 1, "ollama", None),
    (ZEPHYR, "deploy/docker-compose.yml", 5, "compose", None),
    (QWEN, "deploy/docker-compose.yml", 9, "compose", None),
    (QWEN, "deploy/serve.sh", 3, "vllm", None),
    (TINYLLAMA, "deploy/k8s/tinyllama.yaml", 13, "k8s", None),     # a directory's files before its subdirectories
]


def write_tree(base: Path, files: dict[str, str]) -> Path:
    for rel, text in files.items():
        p = base / rel
        p.parent.mkdir(parents=True, exist_ok=True)
        p.write_text(text, encoding="utf-8")
    return base


def corpus_specs(repos=CORPUS_REPOS) -> dict:
    records = cf.load_records()
    return {rid: cf.repo_spec(records[rid]) for rid in repos}


def serve(hub, specs) -> dict[str, str]:
    """Add the specs to the hub; {repo id: sha}."""
    return {spec.repo_id: hub.add_repo(spec.repo_id, spec.model_info, spec.files,
                                       gated=spec.model_info.get("gated") or False)
            for spec in specs.values()}


def modelscan(url: str, home: Path, *args: str, cwd: Path = ROOT, timeout: float = 60, env: dict | None = None
              ) -> tuple[subprocess.CompletedProcess, float]:
    full = {k: v for k, v in os.environ.items() if not k.startswith(("HF_", "HUGGING_FACE_", "MODELSCAN_"))}
    full.update(HF_ENDPOINT=url, HF_HOME=str(home), MODELSCAN_CACHE=str(home / "cache"),
                HF_HUB_DISABLE_TELEMETRY="1", HF_HUB_DISABLE_XET="1", HF_HUB_DISABLE_PROGRESS_BARS="1",
                MODELSCAN_NOW=NOW, CI="true", PYTHONPATH=str(ROOT))
    full.update(env or {})
    t0 = time.monotonic()
    proc = subprocess.run([sys.executable, "-m", "scanner", *args], cwd=cwd, env=full, capture_output=True,
                          text=True, timeout=timeout)
    return proc, time.monotonic() - t0


def report(proc) -> dict:
    """The JSON report a `-f json` run printed, checked against the report schema."""
    import jsonschema

    from scanner.kb import load_schema

    assert "Traceback" not in proc.stderr, proc.stderr
    data = json.loads(proc.stdout)
    jsonschema.Draft202012Validator(load_schema("report.schema.json")).validate(data)
    return data


def codes(result: dict) -> list[str]:
    return [f["code"] for f in result["findings"]]


def model_info_requests(hub, repo_id: str) -> int:
    return hub.count("GET", rf"^/api/models/{repo_id}(/revision/[^/]+)?$")
