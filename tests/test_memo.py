"""The start-up memo (scanner/memo.py): the parsed knowledge base and policies that passed their
schema are reused by content hash, and a damaged or stale entry is never trusted."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]


@pytest.fixture
def memo_dir(tmp_path, monkeypatch):
    monkeypatch.setenv("MODELSCAN_CACHE", str(tmp_path / "cache"))
    monkeypatch.delenv("MODELSCAN_NO_MEMO", raising=False)
    monkeypatch.setenv("MODELSCAN_MEMO", "1")
    return tmp_path / "cache" / ".derived"


def test_the_memo_is_off_unless_asked_for(monkeypatch, tmp_path):
    """The knowledge base decides verdicts: a gate does not read it from a writable cache by default."""
    from scanner import memo

    monkeypatch.setenv("MODELSCAN_CACHE", str(tmp_path / "cache"))
    monkeypatch.delenv("MODELSCAN_MEMO", raising=False)
    assert memo.root() is None
    monkeypatch.setenv("MODELSCAN_MEMO", "1")
    assert memo.root() == tmp_path / "cache" / ".derived"


def edited_kb(tmp_path: Path) -> Path:
    """A copy of the knowledge base with one record edited: not what the package compiled at build
    time (scanner/compiled.py), so it is parsed, and memoised when the memo is on."""
    import shutil

    from scanner import kb as kbmod

    lic = tmp_path / "licenses"
    shutil.copytree(kbmod.data_dir("licenses"), lic)
    path = lic / "mit.yaml"
    path.write_text(path.read_text().replace("name: MIT License", "name: MIT License (edited)"))
    return lic


def test_knowledge_base_from_the_memo_is_the_same(memo_dir, tmp_path):
    from scanner import kb as kbmod

    lic = edited_kb(tmp_path)
    fresh = kbmod.load_dir(lic)
    entries = list((memo_dir / "kb").glob("*.json"))
    assert len(entries) == 1
    again = kbmod.load_dir(lic)
    assert again.digest == fresh.digest and list(again.records) == list(fresh.records)
    assert all(again.records[k] == fresh.records[k] for k in fresh.records)
    # A damaged entry is a miss (parsed again, rewritten), never a crash or a wrong record.
    entries[0].write_text("[{\"id\": ")
    assert kbmod.load_dir(lic).records.keys() == fresh.records.keys()
    assert json.loads(entries[0].read_text())


def test_an_edited_record_is_not_read_from_the_memo(memo_dir, tmp_path):
    import shutil

    from scanner import kb as kbmod

    lic = tmp_path / "licenses"
    shutil.copytree(kbmod.data_dir("licenses"), lic)
    before = kbmod.load_dir(lic)
    path = lic / "mit.yaml"
    path.write_text(path.read_text().replace("name: MIT License", "name: MIT License (edited)"))
    after = kbmod.load_dir(lic)
    assert after.digest != before.digest and after.records["mit"].name == "MIT License (edited)"


def test_a_valid_policy_skips_jsonschema_next_time_and_an_invalid_one_still_fails(memo_dir, tmp_path):
    script = ("import sys\nfrom scanner.policy.model import load_policy\nload_policy(sys.argv[1])\n"
              "print('jsonschema' in sys.modules)\n")
    env = {**os.environ, "MODELSCAN_CACHE": str(memo_dir.parent), "PYTHONPATH": str(ROOT)}

    def run(policy: str) -> subprocess.CompletedProcess:
        return subprocess.run([sys.executable, "-c", script, policy], env=env, capture_output=True, text=True,
                              cwd=tmp_path)

    mine = tmp_path / "mine.yaml"          # not a shipped policy: those were checked at build time
    mine.write_text("version: 1\nname: mine\nextends: default\ndescription: ours\n")
    assert run(str(mine)).stdout.strip() == "True"        # checked against the schema once
    assert run(str(mine)).stdout.strip() == "False"       # then known to be valid
    bad = tmp_path / "bad.yaml"
    bad.write_text("version: 1\nname: bad\ncontext:\n  commercial: maybe\n")
    for _ in range(2):
        proc = run(str(bad))
        assert proc.returncode != 0 and "commercial" in proc.stderr
