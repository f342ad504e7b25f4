"""Shared test set-up. No test reaches the internet: Hub tests use tests/hubserver.FakeHub on 127.0.0.1."""

from __future__ import annotations

import os
import subprocess
import sys
import tempfile
from pathlib import Path

import pytest
import yaml

# Before anything imports huggingface_hub: no side requests, no stray cache, no real token.
_HOME = tempfile.mkdtemp(prefix="modelscan-test-hf-")
os.environ.setdefault("HF_HUB_DISABLE_TELEMETRY", "1")
os.environ.setdefault("HF_HUB_DISABLE_XET", "1")
os.environ["HF_HOME"] = _HOME
os.environ.pop("HF_TOKEN", None)
os.environ.pop("HUGGING_FACE_HUB_TOKEN", None)
os.environ.pop("HF_HUB_OFFLINE", None)
os.environ["HF_ENDPOINT"] = "http://127.0.0.1:9"   # a discard port: a test that forgets its fake Hub fails fast

from support.paths import ROOT, SHARED, TEXTS  # noqa: E402 - the corpus, found one way (scanner/_devpaths.py)

EXAMPLES = ROOT / "examples" / "hub"
NOW = "2026-11-28T00:00:00Z"


def pytest_terminal_summary(terminalreporter, exitstatus, config):
    """Say how many tests were skipped and why, grouped by reason, whatever the verbosity: a run
    without the reference corpus must not look like a full one."""
    skipped = terminalreporter.stats.get("skipped", [])
    if not skipped:
        return
    reasons: dict[str, int] = {}
    for report in skipped:
        longrepr = report.longrepr
        reason = longrepr[2] if isinstance(longrepr, tuple) and len(longrepr) == 3 else str(longrepr)
        reason = reason.removeprefix("Skipped: ")
        reasons[reason] = reasons.get(reason, 0) + 1
    terminalreporter.write_sep("-", f"{len(skipped)} skipped")
    for reason, n in sorted(reasons.items(), key=lambda kv: (-kv[1], kv[0])):
        terminalreporter.write_line(f"{n:5d}  {reason}")
    if not TEXTS.is_dir():
        terminalreporter.write_line(f"the reference corpus was not found at {SHARED} "
                                    "(set MODELSCAN_SHARED to its folder)")


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
