"""`modelscan gate [PATHS...]`: find the models a deployment uses and decide them (docs/gate.md)."""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Callable

import click

from scanner.formats import FORMATS

from scanner.cli import error_line, fail
from scanner.cli.common import evaluation_time, load_kb_or_exit, load_policy_or_exit, make_sources, policy_options, \
    render, source_options, write_output

from scanner.scan import DEFAULT_JOBS  # noqa: E402


def gate_options(f: Callable) -> Callable:
    """Options `gate` and `lock` share: what to read and how many models to scan at once."""
    f = click.option("--lock-file", type=click.Path(dir_okay=False, path_type=Path), default=Path("modelscan.lock"),
                     show_default=True, help="The lockfile of approvals.")(f)
    f = click.option("--jobs", "-j", type=click.IntRange(1, 64), default=DEFAULT_JOBS, show_default=True,
                     help="Models scanned at once.")(f)
    f = click.option("--now", default=None, metavar="ISO-DATE",
                     help="Evaluate as of this time (waiver expiry, approved_at); default now (or $MODELSCAN_NOW).")(f)
    f = click.option("--fail-on", type=click.Choice(["deny", "review"]), default="review", show_default=True,
                     help="Lowest verdict that fails (exit 1).")(f)
    f = source_options(f)
    f = policy_options(f)
    f = click.argument("paths", nargs=-1, type=click.Path(path_type=Path), metavar="[PATH]...")(f)
    return f


def prepare(paths, policy_ref, contexts, snapshot, offline, timeout, deadline, no_lineage, jobs, now):
    """(plan items, Scanner) for the models under `paths`; exits 2 on bad input."""
    from scanner.gate.discover import DiscoveryError, discover
    from scanner.gate.runner import plan
    from scanner.scan import Scanner

    try:
        refs = discover([str(p) for p in paths] or ["."])
    except DiscoveryError as exc:
        raise fail(str(exc)) from None
    policy = load_policy_or_exit(policy_ref, contexts)
    kb = load_kb_or_exit()
    source, _ = make_sources(snapshot, offline, timeout, deadline)
    scanner = Scanner(source, kb, policy, evaluation_time(now), follow_parents=not no_lineage, jobs=jobs)
    return plan(refs), scanner


def run_items(gate_obj, items, what: str):
    from scanner.gate.runner import progress
    from scanner.policy.model import PolicyError

    try:
        with progress(len(items), what) as advance:
            return gate_obj.run(items, advance)
    except PolicyError as exc:
        raise fail(str(exc)) from None


@click.command()
@gate_options
@click.option("--locked", is_flag=True,
              help="Check every model against the lockfile: a model not in it, approved under another policy or "
                   "knowledge base, or whose licenses changed, fails.")
@click.option("--format", "-f", "fmt", type=click.Choice(FORMATS), default="table", show_default=True)
@click.option("--output", "-o", type=click.Path(dir_okay=False, path_type=Path), default=None,
              help="Write the report to FILE instead of standard output.")
def gate(paths, policy_ref, contexts, snapshot, offline, timeout, deadline, no_lineage, fail_on, now, jobs,
         lock_file, locked, fmt, output) -> None:
    """Find the Hub models that PATHs (files or directories; default: .) deploy and decide each one.

    Reads deployment manifests (modelscan.yaml) and finds model ids in vLLM command lines,
    Kubernetes and docker-compose YAML, TGI's MODEL_ID, Ollama Modelfiles and Python
    from_pretrained calls, with file and line (docs/gate.md).

    \b
    Exit codes: 0 every model allowed; 1 a model denied or needing review (review passes
    with --fail-on deny); 2 a model could not be decided, or bad input.

    \b
    Examples:
      modelscan gate                              # the current directory
      modelscan gate deploy/ --policy org.yaml -f sarif -o modelscan.sarif
      modelscan gate --locked                     # only what modelscan.lock approved
    """
    from scanner.gate.lock import LockError, load_lock
    from scanner.gate.runner import Gate
    from scanner.scan import exit_code

    lock = None
    if locked:
        try:
            lock = load_lock(lock_file)
        except LockError as exc:
            raise fail(str(exc)) from None
    items, scanner = prepare(paths, policy_ref, contexts, snapshot, offline, timeout, deadline, no_lineage, jobs, now)
    if not items:
        click.echo(f"modelscan: no model references found in {', '.join(map(str, paths)) or '.'}", err=True)
    g = Gate(scanner, lock, locked)
    decisions = run_items(g, items, "Scanning")
    report = g.report(decisions)
    try:
        text = render(report, fmt, color=output is None and sys.stdout.isatty())
    except Exception as exc:  # noqa: BLE001 - e.g. a format whose optional library is missing
        if type(exc).__name__ != "FormatUnavailable":
            raise
        raise fail(str(exc)) from None
    write_output(text, output)
    for r in report.results:
        if r.verdict == "error":
            click.echo(error_line(f"{r.target}: {r.reasons[0] if r.reasons else 'failed'}"), err=True)
    raise click.exceptions.Exit(exit_code(report.results, fail_on))
