"""Shared test set-up. No test reaches the internet: Hub tests use tests/hubserver.FakeHub on 127.0.0.1."""

from __future__ import annotations

import os
import subprocess
import sys
import tempfile
from pathlib import Path

import pytest
import yaml

ROOT = Path(__file__).resolve().parent.parent
SHARED = ROOT.parent / "shared"
TEXTS = SHARED / "corpus" / "license-texts"
EXAMPLES = ROOT / "examples" / "hub"
NOW = "2026-11-28T00:00:00Z"

# Before anything imports huggingface_hub: no side requests, no stray cache, no real token.
_HOME = tempfile.mkdtemp(prefix="modelscan-test-hf-")
os.environ.setdefault("HF_HUB_DISABLE_TELEMETRY", "1")
os.environ.setdefault("HF_HUB_DISABLE_XET", "1")
os.environ["HF_HOME"] = _HOME
os.environ.pop("HF_TOKEN", None)
os.environ.pop("HUGGING_FACE_HUB_TOKEN", None)
os.environ.pop("HF_HUB_OFFLINE", None)
os.environ["HF_ENDPOINT"] = "http://127.0.0.1:9"   # a discard port: a test that forgets its fake Hub fails fast
sys.path.insert(0, str(ROOT / "scripts"))


def reference_text(name: str) -> str:
    path = TEXTS / name
    if not path.is_file():
        pytest.skip(f"reference corpus not present: {path}")
    return path.read_text(encoding="utf-8")


def card(front: dict | None, body: str = "# Model\n\nA test model.\n") -> str:
    if front is None:
        return body
    return "---\n" + yaml.safe_dump(front, sort_keys=False) + "---\n" + body


def make_model_dir(base: Path, name: str, readme: str | bytes | None = None,
                   files: dict[str, str | bytes] | None = None) -> Path:
    d = base / name
    d.mkdir(parents=True, exist_ok=True)
    if readme is not None:
        (d / "README.md").write_bytes(readme.encode() if isinstance(readme, str) else readme)
    for rel, content in (files or {}).items():
        p = d / rel
        p.parent.mkdir(parents=True, exist_ok=True)
        p.write_bytes(content.encode() if isinstance(content, str) else content)
    return d


def run_cli(*args: str, env: dict | None = None, cwd: Path = ROOT, timeout: float = 120,
            input: str | None = None) -> subprocess.CompletedProcess:
    full_env = {**os.environ, "MODELSCAN_CACHE": os.path.join(_HOME, "cli-cache"), **(env or {})}
    return subprocess.run([sys.executable, "-m", "scanner", *args], cwd=cwd, env=full_env, capture_output=True,
                          text=True, timeout=timeout, input=input)


@pytest.fixture(scope="session")
def kb():
    from scanner import kb as kbmod
    return kbmod.load()


@pytest.fixture(scope="session")
def default_policy():
    from scanner.policy.model import load_policy
    return load_policy("default")
