"""What the shipped data files parse to, computed at build time (scanner/compiled.py): used only
for exactly the bytes it was computed from, and the same as parsing them."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import yaml

from scanner import compiled
from scanner import kb as kbmod

ROOT = Path(__file__).resolve().parents[1]


def test_the_shipped_knowledge_base_is_read_from_the_build_and_equals_the_yaml(monkeypatch):
    directory = kbmod.data_dir("licenses")
    from_build = kbmod.load_dir(directory)
    monkeypatch.setattr(compiled, "kb_records", lambda digest, count: None)   # as if not compiled
    from_yaml = kbmod.load_dir(directory)
    assert from_build.digest == from_yaml.digest
    assert list(from_build.records) == list(from_yaml.records)
    assert all(from_build.records[k] == from_yaml.records[k] for k in from_yaml.records)


def test_every_shipped_data_file_is_compiled_and_equals_its_yaml():
    for path in sorted((kbmod.PACKAGE_DIR / "data").glob("*.yaml")):
        raw = path.read_bytes()
        value = compiled.data_file(path.name, raw)
        assert value is not compiled.MISS, f"{path.name}: run python scripts/gen_schemas.py"
        assert value == yaml.safe_load(raw)


def test_bytes_other_than_the_compiled_ones_are_parsed_not_looked_up(tmp_path):
    raw = (kbmod.PACKAGE_DIR / "data" / "families.yaml").read_bytes()
    assert compiled.data_file("families.yaml", raw + b"\n# edited\n") is compiled.MISS
    digest, _, raws = kbmod.digest_files(kbmod.data_dir("licenses"))
    assert compiled.kb_records(digest, len(raws)) is not None
    assert compiled.kb_records("0" * 64, len(raws)) is None


def run_policy(policy: str, cwd: Path) -> subprocess.CompletedProcess:
    script = ("import sys\nfrom scanner.policy.model import load_policy\nload_policy(sys.argv[1])\n"
              "print('jsonschema' in sys.modules, 'yaml' in sys.modules)\n")
    env = {k: v for k, v in os.environ.items() if not k.startswith("MODELSCAN_")}
    env["PYTHONPATH"] = str(ROOT)
    return subprocess.run([sys.executable, "-c", script, policy], env=env, capture_output=True, text=True, cwd=cwd)


def test_a_shipped_policy_needs_no_jsonschema_and_an_edited_copy_is_validated(tmp_path):
    assert run_policy("default", tmp_path).stdout.split()[0] == "False"
    copy = tmp_path / "default.yaml"
    copy.write_text((kbmod.data_dir("policies") / "default.yaml").read_text() + "\n# edited\nrepository: {}\n")
    assert run_policy(str(copy), tmp_path).stdout.split()[0] == "True"
    bad = tmp_path / "bad.yaml"
    bad.write_text((kbmod.data_dir("policies") / "default.yaml").read_text().replace("version: 1", "version: 7"))
    proc = run_policy(str(bad), tmp_path)
    assert proc.returncode != 0 and "version" in proc.stderr
