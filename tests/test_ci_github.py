"""The GitHub Action's steps, reproduced locally: `modelscan ci github` (what action.yml runs)
with the INPUT_* variables GitHub sets, against the offline snapshot and a fake GitHub REST API
on 127.0.0.1. Checked as GitHub would read them: the job summary, the annotations (parsed the
way the runner parses workflow commands), $GITHUB_OUTPUT (parsed as the runner parses its
heredoc form) and the pull-request comment (created, then updated, never a second one).
Hostile file names and Markdown cannot inject commands, outputs or mentions."""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
from pathlib import Path

import pytest


from conftest import EXAMPLES, NOW, ROOT
from githubserver import BOT, FakeGitHub

from scanner.ci import github as gh
from scanner.ci.install import pip_spec

DENIED = "mistralai/Codestral-22B-v0.1"
REVIEWED = "watt-ai/watt-tool-70B"   # review: an apache-2.0 label over a Llama 3.3 base
ALLOWED = "mistralai/Mistral-7B-v0.1"
HOSTILE_DIR = "x\n::warning file=evil.py::pwned, %0A @octo-org [click](javascript:x) <img src=x>"
REPO = "octo/deploy"
PR = 42
TOKEN = "ghs_" + "t0k3n" * 6


# ------------------------------------------------------------- how the runner reads what we write
_CMD = re.compile(r"^::([A-Za-z-]+)(?: ([^:]*))?::(.*)$")


def _unescape(value: str) -> str:
    return value.replace("%0D", "\r").replace("%0A", "\n").replace("%3A", ":").replace("%2C", ",").replace("%25", "%")


def parse_commands(log: str) -> list[tuple[str, dict[str, str], str]]:
    """Workflow commands in a log as the runner sees them, honouring ::stop-commands::."""
    out, stopped = [], None
    for line in log.split("\n"):
        if stopped is not None:
            if line == f"::{stopped}::":
                stopped = None
            continue
        m = _CMD.match(line)
        if not m:
            continue
        name, props, data = m.groups()
        if name == "stop-commands":
            stopped = data
            continue
        parsed = {}
        for pair in (props or "").split(","):
            if "=" in pair:
                k, v = pair.split("=", 1)
                parsed[k] = _unescape(v)
        out.append((name, parsed, _unescape(data)))
    return out


def parse_outputs(text: str) -> dict[str, str]:
    """$GITHUB_OUTPUT as the runner parses it (name=value and name<<DELIM ... DELIM)."""
    out: dict[str, str] = {}
    lines = text.split("\n")
    i = 0
    while i < len(lines):
        line = lines[i]
        if "<<" in line and ("=" not in line or line.index("<<") < line.index("=")):
            name, delim = line.split("<<", 1)
            j = lines.index(delim, i + 1)
            out[name] = "\n".join(lines[i + 1:j])
            i = j + 1
        elif "=" in line:
            name, value = line.split("=", 1)
            out[name] = value
            i += 1
        else:
            i += 1
    return out


# ------------------------------------------------------------- pure pieces
def test_workflow_command_escaping_round_trips_hostile_values():
    line = gh.command("error", "a\nb%c::d", file="dir, with: colon\n::x", line=3, title="t,1:2")
    assert "\n" not in line and line.startswith("::error ")
    [(name, props, data)] = parse_commands(line)
    assert name == "error" and data == "a\nb%c::d"
    assert props == {"file": "dir, with: colon\n::x", "line": "3", "title": "t,1:2"}
    assert gh.escape_data("\r\n%") == "%0A%0A%25"


def test_output_block_cannot_set_other_outputs():
    value = "line1\nexit-code=0\nverdict<<EOF\npass\nEOF"
    text = gh.output_block("summary", value) + gh.output_block("exit-code", 1)
    assert parse_outputs(text) == {"summary": value, "exit-code": "1"}
    a, b = gh.output_block("x", "1"), gh.output_block("x", "1")
    assert a.split("\n")[0] != b.split("\n")[0]          # a random delimiter each time


def test_comment_is_cut_below_githubs_limit_with_a_pointer():
    rows = "\n".join(f"| model-{i} | **REVIEW** | apache-2.0 | x |" for i in range(5000))
    markdown = f"{gh.MARKER}\n## modelscan\n\n| model | verdict | licenses | class |\n|---|---|---|---|\n{rows}\n"
    env = {"GITHUB_SERVER_URL": "https://github.com", "GITHUB_REPOSITORY": REPO, "GITHUB_RUN_ID": "99"}
    body = gh.comment_body(markdown, env)
    assert len(markdown) > gh.COMMENT_LIMIT and len(body) < gh.COMMENT_LIMIT
    assert body.startswith(gh.MARKER + "\n") and body.count(gh.MARKER) == 1
    assert "Report cut" in body and "https://github.com/octo/deploy/actions/runs/99" in body
    short = gh.comment_body(f"{gh.MARKER}\nshort @org/team\n", env)
    assert short == f"{gh.MARKER}\nshort @\u200borg/team\n"
    big = gh.summary(markdown * 40, env)
    assert len(big.encode()) <= gh.SUMMARY_LIMIT and "Report cut" in big


def test_install_adds_the_reports_extra_only_when_a_format_needs_it():
    assert pip_spec("/action", ["sarif", "junit"]) == "/action"
    assert pip_spec("/action", ["sarif", "cyclonedx"]) == "/action[reports]"
    assert pip_spec("modelscan-compliance==0.2", ["spdx"]) == "modelscan-compliance[reports]==0.2"
    assert pip_spec("modelscan-compliance[smoke]", ["spdx"]) == "modelscan-compliance[smoke,reports]"


def test_action_yml_runs_the_tested_command_with_the_clis_defaults():
    import yaml

    action = yaml.safe_load((ROOT / "action.yml").read_text())
    inputs = action["inputs"]
    for name in ("context", "snapshot", "policy", "formats", "comment", "fail-on", "cache"):
        assert name in inputs
    # empty inputs leave the CLI's defaults (jobs, fail-on, policy) in force: no second copy of them
    assert inputs["jobs"]["default"] == "" and inputs["fail-on"]["default"] == "" and inputs["policy"]["default"] == ""
    steps = action["runs"]["steps"]
    assert steps[-1]["run"].strip().endswith("modelscan ci github'") or "modelscan\" ci github" in steps[-1]["run"]
    cache = next(s for s in steps if str(s.get("uses", "")).startswith("actions/cache@"))
    assert "hashFiles(inputs.lock-file)" in cache["with"]["key"]
    assert steps[-1]["env"]["MODELSCAN_CACHE"] == cache["with"]["path"]
    assert "scanner.ci.install" in steps[0]["run"]
    for out in ("verdict", "exit-code", "allow", "review", "deny", "error", "json-report", "sarif-report"):
        assert out in action["outputs"]
    # every input reaches the step through the environment, never spliced into the script
    assert "${{" not in steps[-1]["run"] and "${{" not in steps[0]["run"]


# ------------------------------------------------------------- the step, end to end
@pytest.fixture
def workspace(tmp_path):
    repo = tmp_path / "repo"
    (repo / "deploy").mkdir(parents=True)
    (repo / "modelscan.yaml").write_text(
        "version: 1\ndeployments:\n  - name: chat\n    models:\n"
        f"      - {ALLOWED}\n      - {REVIEWED}\n")
    (repo / "deploy" / "serve.sh").write_text(f"#!/bin/sh\nvllm serve {DENIED}\n")
    hostile = repo / HOSTILE_DIR
    hostile.mkdir()
    (hostile / "run.sh").write_text(f"vllm serve {DENIED}\n")
    event = tmp_path / "event.json"
    event.write_text(json.dumps({"pull_request": {"number": PR}}))
    return repo, tmp_path


def action_env(repo: Path, tmp: Path, api: str, **inputs: str) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("MODELSCAN_", "HF_", "INPUT_", "GITHUB_"))}
    (tmp / "summary.md").touch()
    (tmp / "output.txt").touch()
    env.update(PYTHONPATH=str(ROOT), MODELSCAN_NOW=NOW, HF_HUB_OFFLINE="1", HF_HOME=str(tmp / "hf"), CI="true",
               RUNNER_TEMP=str(tmp / "runner"), GITHUB_STEP_SUMMARY=str(tmp / "summary.md"),
               GITHUB_OUTPUT=str(tmp / "output.txt"), GITHUB_EVENT_PATH=str(tmp / "event.json"),
               GITHUB_API_URL=api, GITHUB_REPOSITORY=REPO, GITHUB_SERVER_URL="https://github.com",
               GITHUB_RUN_ID="7", INPUT_PATHS=".", INPUT_SNAPSHOT=str(EXAMPLES), INPUT_TOKEN=TOKEN,
               INPUT_LOCK_FILE="modelscan.lock", INPUT_LOCKED="false", INPUT_SUMMARY="true", INPUT_ANNOTATIONS="true")
    env.update({f"INPUT_{k.upper()}": v for k, v in inputs.items()})
    return env


def step(repo: Path, env: dict[str, str]) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "scanner", "ci", "github"], cwd=repo, env=env,
                          capture_output=True, text=True, timeout=180)


def test_the_action_step_summary_annotations_outputs_and_one_comment(workspace):
    repo, tmp = workspace
    with FakeGitHub(token=TOKEN) as api:
        foreign = api.seed(REPO, PR, "someone", f"{gh.MARKER}\nnot written by the Action")
        env = action_env(repo, tmp, api.url, COMMENT="true", FORMATS="sarif=out/modelscan.sarif junit=out/junit.xml")
        proc = step(repo, env)
        assert proc.returncode == 1, proc.stdout + proc.stderr
        assert "Traceback" not in proc.stdout + proc.stderr
        assert TOKEN not in proc.stdout + proc.stderr

        # annotations: one per blocked model per referencing file; the hostile directory name comes
        # back intact as the file property and issues no command of its own
        commands = parse_commands(proc.stdout)
        names = [c[0] for c in commands]
        assert "warning" not in [c[0] for c in commands if c[1].get("file") == "evil.py"]
        errors = [c for c in commands if c[0] == "error"]
        files = sorted(c[1]["file"] for c in errors)
        assert files == sorted([f"{HOSTILE_DIR}/run.sh", "deploy/serve.sh"])
        assert all(DENIED in c[2] and "DENY" in c[2] for c in errors)
        assert {c[1]["line"] for c in errors} == {"1", "2"}
        reviewed = [c for c in commands if c[0] == "warning" and REVIEWED in c[2]]
        assert len(reviewed) == 1 and reviewed[0][1]["file"] == "modelscan.yaml"
        assert set(names) <= {"error", "warning", "notice"}

        # outputs
        outputs = parse_outputs((tmp / "output.txt").read_text())
        assert outputs["exit-code"] == "1" and outputs["verdict"] == "fail"
        assert (outputs["allow"], outputs["review"], outputs["deny"], outputs["error"]) == ("1", "1", "1", "0")
        assert outputs["sarif-report"] == "out/modelscan.sarif" and (repo / "out" / "modelscan.sarif").is_file()
        assert outputs["junit-report"] == "out/junit.xml" and (repo / "out" / "junit.xml").is_file()
        report = json.loads(Path(outputs["json-report"]).read_text())
        assert report["summary"]["total"] == 3

        # the job summary is the Markdown report, with the hostile name inert
        summary = (tmp / "summary.md").read_text()
        assert summary.startswith(gh.MARKER) and f"**DENY** {DENIED}" in summary
        assert "@octo-org" not in summary and "@\u200bocto-org" in summary
        assert "[click](" not in summary and not re.search(r"(?<!\\)<img", summary)

        # the pull-request comment: created once, then updated in place; someone else's is left alone
        bodies = api.bodies(REPO, PR)
        assert len(bodies) == 2 and bodies[0] == f"{gh.MARKER}\nnot written by the Action"
        assert bodies[1].startswith(gh.MARKER) and f"**DENY** {DENIED}" in bodies[1]
        assert all(c.authorized for c in api.calls)
        created = [c for c in api.calls if c.method == "POST"]
        assert len(created) == 1 and created[0].path == f"/repos/{REPO}/issues/{PR}/comments"

        (repo / "deploy" / "serve.sh").write_text(f"#!/bin/sh\nvllm serve {ALLOWED}\n")
        (tmp / "output.txt").write_text("")
        proc = step(repo, env)
        assert proc.returncode == 1
        bodies = api.bodies(REPO, PR)
        assert len(bodies) == 2 and bodies[0].endswith("not written by the Action")
        assert [c.method for c in api.calls].count("PATCH") == 1
        assert api.comments[(REPO, PR)][1]["user"]["login"] == BOT and api.comments[(REPO, PR)][0]["id"] == foreign


def test_report_only_and_a_bad_input(workspace):
    repo, tmp = workspace
    with FakeGitHub(token=TOKEN) as api:
        proc = step(repo, action_env(repo, tmp, api.url, FAIL_ON="never"))
        assert proc.returncode == 0, proc.stdout + proc.stderr
        outputs = parse_outputs((tmp / "output.txt").read_text())
        assert outputs["exit-code"] == "0" and outputs["verdict"] == "pass" and outputs["deny"] == "1"
        # report only: the denied model is a notice, not an error
        commands = parse_commands(proc.stdout)
        assert commands and {c[0] for c in commands} == {"notice"}
        assert api.calls == []                      # comment not asked for

        (tmp / "output.txt").write_text("")        # a fresh step: GitHub gives each its own files
        (tmp / "summary.md").write_text("")
        proc = step(repo, action_env(repo, tmp, api.url, POLICY="no-such-policy"))
        assert proc.returncode == 2
        outputs = parse_outputs((tmp / "output.txt").read_text())
        assert outputs["exit-code"] == "2" and outputs["verdict"] == "error" and outputs["total"] == "0"
        summary = (tmp / "summary.md").read_text()
        assert "could not run" in summary and "no-such-policy" in summary
