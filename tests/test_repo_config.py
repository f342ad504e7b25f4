"""Repository configuration through the CLI: `[tool.modelscan]` in pyproject.toml, `policy:` in
modelscan.yaml, $MODELSCAN_POLICY, and --policy, in that rising order of precedence; the report
names where its policy and fail-on came from and what it ignored; a policy given from outside
the repository can refuse the repository's configuration."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest
from conftest import EXAMPLES, NOW, ROOT

REVIEWED = "watt-ai/watt-tool-70B"          # review under the default policy (snapshot): apache-2.0 label over a Llama 3.3 base
ALLOWED = "mistralai/Mistral-7B-v0.1"


def run(cwd: Path, *args: str, env: dict | None = None) -> subprocess.CompletedProcess:
    full = {k: v for k, v in os.environ.items() if not k.startswith(("MODELSCAN_", "HF_"))}
    full.update(PYTHONPATH=str(ROOT), MODELSCAN_NOW=NOW, HF_HUB_OFFLINE="1", HF_HOME=str(cwd / ".hf"))
    full.update(env or {})
    return subprocess.run([sys.executable, "-m", "scanner", *args], cwd=cwd, env=full, capture_output=True,
                          text=True, timeout=120)


def check(cwd: Path, *args: str, env: dict | None = None) -> tuple[subprocess.CompletedProcess, dict]:
    proc = run(cwd, "check", REVIEWED, ALLOWED, "--snapshot", str(EXAMPLES), "-f", "json", *args, env=env)
    assert "Traceback" not in proc.stderr, proc.stderr
    assert proc.stdout, proc.stderr
    report = json.loads(proc.stdout)
    import jsonschema

    from scanner.kb import load_schema
    jsonschema.Draft202012Validator(load_schema("report.schema.json")).validate(report)
    return proc, report


MANIFEST = "version: 1\npolicy: {policy}\ndeployments:\n  - name: a\n    models: [mistralai/Mistral-7B-v0.1]\n"


def test_precedence_flag_env_manifest_pyproject_default(tmp_path):
    proc, report = check(tmp_path)
    assert report["policy"]["name"] == "default"
    assert report["configuration"]["policy"] == {"value": "default", "source": "default", "where": None}
    assert report["schema_version"] == "1.1.0" and report["fail_on"] == "review"

    (tmp_path / "pyproject.toml").write_text('[project]\nname = "x"\n\n[tool.modelscan]\npolicy = "research"\n')
    _, report = check(tmp_path)
    assert report["policy"]["name"] == "research"
    assert report["configuration"]["policy"]["source"] == "pyproject.toml"

    (tmp_path / "modelscan.yaml").write_text(MANIFEST.format(policy="permissive-only"))
    _, report = check(tmp_path)
    assert report["policy"]["name"] == "permissive-only"
    assert report["configuration"]["policy"] == {"value": "permissive-only", "source": "modelscan.yaml",
                                                 "where": "modelscan.yaml:2"}
    assert any("pyproject.toml" in x and "overridden" in x for x in report["configuration"]["ignored"])

    _, report = check(tmp_path, env={"MODELSCAN_POLICY": "eu-commercial"})
    assert report["policy"]["name"] == "eu-commercial"
    assert report["configuration"]["policy"]["source"] == "env"
    assert report["configuration"]["policy"]["where"] == "MODELSCAN_POLICY"

    _, report = check(tmp_path, "--policy", "default", env={"MODELSCAN_POLICY": "eu-commercial"})
    assert report["policy"]["name"] == "default" and report["configuration"]["policy"]["source"] == "cli"
    ignored = report["configuration"]["ignored"]
    assert any(x.startswith("modelscan.yaml:2: policy") for x in ignored) and any("pyproject" in x for x in ignored)


def test_a_policy_file_named_by_the_repository_is_relative_to_it(tmp_path):
    (tmp_path / "policies").mkdir()
    (tmp_path / "policies" / "org.yaml").write_text("version: 1\nname: org-policy\nextends: default\n")
    (tmp_path / "pyproject.toml").write_text('[tool.modelscan]\npolicy = "policies/org.yaml"\n')
    _, report = check(tmp_path)
    assert report["policy"]["name"] == "org-policy"


def test_repository_fail_on_and_a_policy_that_refuses_repository_configuration(tmp_path):
    (tmp_path / "pyproject.toml").write_text('[tool.modelscan]\nfail-on = "deny"\n')
    proc, report = check(tmp_path)
    assert proc.returncode == 0                      # the reviewed model passes under the repository's fail-on deny
    assert report["fail_on"] == "deny" and report["configuration"]["fail_on"]["source"] == "pyproject.toml"
    proc, report = check(tmp_path, "--fail-on", "review")
    assert proc.returncode == 1 and report["configuration"]["fail_on"]["source"] == "cli"

    # a central policy, given from outside the repository, says the repository's files do not count
    central = tmp_path.parent / f"{tmp_path.name}-central.yaml"
    central.write_text("version: 1\nname: central\nextends: default\nrepository:\n  configuration: false\n")
    proc, report = check(tmp_path, "--policy", str(central))
    assert proc.returncode == 1 and report["fail_on"] == "review"
    assert report["configuration"]["repository"] == {"configuration": False, "approvals": False}
    assert any("fail-on 'deny'" in x and "does not honour" in x for x in report["configuration"]["ignored"])


@pytest.mark.parametrize("text,needle", [
    ('[tool.modelscan]\nfail-on = "never"\n', "report-only"),
    ('[tool.modelscan]\npolicyy = "x"\n', "unknown key"),
    ('[tool.modelscan\n', "invalid TOML"),
    ('[tool.modelscan]\npolicy = 3\n', "expected a non-empty string"),
])
def test_bad_repository_configuration_exits_2_in_one_line(tmp_path, text, needle):
    (tmp_path / "pyproject.toml").write_text(text)
    proc = run(tmp_path, "check", ALLOWED, "--snapshot", str(EXAMPLES))
    assert proc.returncode == 2
    lines = [x for x in proc.stderr.splitlines() if x.strip()]
    assert len(lines) == 1 and "pyproject.toml" in lines[0] and needle in lines[0], lines


def test_manifest_policy_key_is_part_of_the_manifest_schema(tmp_path):
    manifest = MANIFEST.format(policy="research")
    (tmp_path / "modelscan.yaml").write_text(manifest.replace("policy:", "fail-on: deny\npolicy:"))
    proc = run(tmp_path, "gate", "--snapshot", str(EXAMPLES), "-f", "json")
    assert proc.returncode == 0, proc.stderr
    report = json.loads(proc.stdout)
    assert report["policy"]["name"] == "research" and report["fail_on"] == "deny"
    (tmp_path / "modelscan.yaml").write_text(manifest.replace("policy:", "fail-on: never\npolicy:"))
    proc = run(tmp_path, "gate", "--snapshot", str(EXAMPLES))
    assert proc.returncode == 2 and "modelscan.yaml:2" in proc.stderr
