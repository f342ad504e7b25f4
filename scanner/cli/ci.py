"""`modelscan ci github`: the GitHub Action's gate step (action.yml, docs/github-action.md).

Reads the Action's inputs from the environment (`INPUT_*`, as GitHub passes them), runs
`modelscan gate` with them (the same command a developer runs, plus a JSON and a Markdown
report), then shows the result where people look: the job summary, annotations on the
deployment files, the step's outputs, and, when asked, one pull-request comment that later
runs update. Exits with the gate's exit code.
"""

from __future__ import annotations

import json
import os
import re
import secrets
import subprocess
import sys
import tempfile
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import click

_REPO = re.compile(r"^[A-Za-z0-9_.-]+/[A-Za-z0-9_.-]+$")
TRUE = ("true", "1", "yes", "on")


def _input(env: Mapping[str, str], name: str, default: str = "") -> str:
    # GitHub passes input `fail-on` as INPUT_FAIL-ON to JavaScript actions; a composite action's
    # step sets INPUT_FAIL_ON itself. Both spellings are read.
    for key in (f"INPUT_{name.upper()}", f"INPUT_{name.upper().replace('-', '_')}"):
        if key in env:
            return env[key].strip()
    return default


def gate_argv(env: Mapping[str, str], json_path: Path, md_path: Path) -> tuple[list[str], dict[str, str]]:
    """(the `modelscan gate` arguments for the Action's inputs, {format: path} of reports asked for)."""
    from scanner.ci.github import parse_formats

    args: list[str] = ["gate"]
    for flag, name in (("--policy", "policy"), ("--fail-on", "fail-on"), ("--jobs", "jobs"),
                       ("--snapshot", "snapshot"), ("--lock-file", "lock-file"), ("--bundle", "bundle")):
        value = _input(env, name)
        if value:
            args += [flag, value]
    for pair in _input(env, "context").split():
        args += ["--context", pair]
    if _input(env, "locked").lower() in TRUE:
        args.append("--locked")
    wanted = parse_formats([_input(env, "formats")])
    legacy = _input(env, "format")
    if legacy:
        wanted.append((legacy, _input(env, "output") or None))
    reports: dict[str, str] = {}
    for fmt, path in wanted:
        args += ["--format", f"{fmt}={path}" if path else fmt]
        if path:
            reports[fmt] = path
    # the step's own copies, in a fresh directory: what it reads back is this run's report or nothing
    args += ["--format", f"json={json_path}", "--format", f"markdown={md_path}"]
    reports.setdefault("json", str(json_path))
    reports.setdefault("markdown", str(md_path))
    paths = _input(env, "paths", ".").split() or ["."]
    return args + ["--", *paths], reports


def _append(path: str | None, text: str) -> None:
    if not path:
        return
    with open(path, "a", encoding="utf-8") as fh:
        fh.write(text)


def _pr_number(env: Mapping[str, str]) -> int | None:
    event_path = env.get("GITHUB_EVENT_PATH")
    if not event_path:
        return None
    try:
        event = json.loads(Path(event_path).read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return None
    pr = event.get("pull_request") if isinstance(event, dict) else None
    number = (pr or {}).get("number") if isinstance(pr, dict) else None
    return number if isinstance(number, int) and number > 0 else None


def post_comment(env: Mapping[str, str], body: str) -> str:
    """Create or update the one marked comment on the pull request; returns what it did."""
    from scanner.ci.github import find_marked
    from scanner.sources.github import GitHubAPI

    repo = env.get("GITHUB_REPOSITORY", "")
    number = _pr_number(env)
    token = _input(env, "token") or env.get("GITHUB_TOKEN", "")
    if not _REPO.match(repo) or number is None:
        return "skipped (not a pull request)"
    if not token:
        return "skipped (no token)"
    api = GitHubAPI(env.get("GITHUB_API_URL") or "https://api.github.com", token)
    author = _input(env, "comment-author", "github-actions[bot]")
    mine = find_marked(api.issue_comments(repo, number), author or None)
    if mine is not None and isinstance(mine.get("id"), int):
        api.update_comment(repo, mine["id"], body)
        return f"updated comment {mine['id']}"
    created = api.create_comment(repo, number, body)
    return f"created comment {created.get('id') if isinstance(created, dict) else '?'}"


@click.group()
def ci() -> None:
    """CI integrations (the GitHub Action runs 'modelscan ci github')."""


@ci.command("github")
def github() -> None:
    """Run the gate as the GitHub Action does, from its INPUT_* environment variables.

    \b
    Writes the job summary ($GITHUB_STEP_SUMMARY), annotations for the deployment files
    that reference a blocked model, the step outputs ($GITHUB_OUTPUT: allow, review,
    deny, error, total, exit-code, verdict, <format>-report), and with INPUT_COMMENT=true
    one pull-request comment (created, then updated by later runs). Exits like 'gate'.
    """
    from scanner.ci.github import annotation_commands, comment_body, output_block, outputs, summary

    env = dict(os.environ)
    base = Path(env.get("RUNNER_TEMP") or tempfile.gettempdir())
    base.mkdir(parents=True, exist_ok=True)
    work = Path(tempfile.mkdtemp(prefix="modelscan-", dir=base))
    argv, reports = gate_argv(env, work / "report.json", work / "report.md")
    own_json, own_md = work / "report.json", work / "report.md"
    # the gate's log may carry names from strangers: no workflow command in it is obeyed
    token = secrets.token_hex(16)
    click.echo(f"::stop-commands::{token}")
    proc = subprocess.run([sys.executable, "-m", "scanner", *argv], env={**env, "MODELSCAN_ACTION": "1"},
                          capture_output=True, text=True, errors="replace", check=False)
    sys.stdout.write(proc.stdout)
    sys.stdout.write(proc.stderr)
    click.echo(f"::{token}::")
    rc = proc.returncode
    report: dict[str, Any] | None = None
    try:
        report = json.loads(own_json.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        report = None
    try:
        markdown = own_md.read_text(encoding="utf-8")
    except OSError:
        first = next((line for line in proc.stderr.splitlines() if line.strip()), "no report was written")
        markdown = f"## modelscan could not run\n\n{_md_line(first)}\n"
    if report is not None and _input(env, "annotations", "true").lower() in TRUE:
        for line in annotation_commands(report):
            click.echo(line)
    if _input(env, "summary", "true").lower() in TRUE:
        _append(env.get("GITHUB_STEP_SUMMARY"), summary(markdown, env))
    _append(env.get("GITHUB_OUTPUT"),
            "".join(output_block(k, v) for k, v in outputs(report, rc, reports).items()))
    if _input(env, "comment", "false").lower() in TRUE:
        from scanner.sources.github import GitHubError

        try:
            click.echo(f"modelscan: pull-request comment: {post_comment(env, comment_body(markdown, env))}")
        except GitHubError as exc:
            click.echo(f"::warning::{_escape(f'modelscan: could not write the pull-request comment: {exc}')}")
    raise click.exceptions.Exit(rc)


def _md_line(text: str) -> str:
    from scanner.formats.markdown import md

    return md(text)


def _escape(text: str) -> str:
    from scanner.ci.github import escape_data

    return escape_data(text)
