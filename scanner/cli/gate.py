"""`modelscan gate [PATHS...]`: find the models a deployment uses and decide them (docs/gate.md)."""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Any, Callable, TypeVar

import click

from scanner.cli import error_line, fail
from scanner.cli.common import evaluation_time, load_kb_or_exit, load_policy_or_exit, make_sources, render, \
    write_output
from scanner.cli.options import GateOptions, format_options, pass_options, policy_options, source_options, \
    verdict_options

from scanner.scan import DEFAULT_JOBS  # noqa: E402


F = TypeVar("F", bound=Callable[..., Any])


def gate_options(f: F) -> F:
    """Options `gate` and `lock` share: what to read and how many models to scan at once."""
    f = click.option("--lock-file", type=click.Path(dir_okay=False, path_type=Path), default=Path("modelscan.lock"),
                     show_default=True, help="The lockfile of approvals.")(f)
    f = click.option("--jobs", "-j", type=click.IntRange(1, 64), default=DEFAULT_JOBS, show_default=True,
                     help="Models scanned at once.")(f)
    f = verdict_options(now_help="Evaluate as of this time (waiver expiry, approved_at); default now "
                                 "(or $MODELSCAN_NOW).")(f)
    f = source_options(f)
    f = policy_options(f)
    f = click.argument("paths", nargs=-1, type=click.Path(path_type=Path), metavar="[PATH]...")(f)
    return f


def prepare(paths: tuple[Path, ...], opts: GateOptions, problems: list | None = None):
    """(plan items, Scanner) for the models under `paths`; exits 2 on bad input. Files that cannot
    be read or parsed in full go to `problems` (without a list: exit 2 naming the first)."""
    from scanner.gate.discover import DiscoveryError, discover
    from scanner.gate.runner import plan
    from scanner.scan import Scanner

    try:
        refs = discover([str(p) for p in paths] or ["."], problems=problems)
    except DiscoveryError as exc:
        raise fail(str(exc)) from None
    policy = load_policy_or_exit(opts)
    kb = load_kb_or_exit()
    source, _ = make_sources(opts)
    scanner = Scanner(source, kb, policy, evaluation_time(opts.now), follow_parents=not opts.no_lineage, jobs=opts.jobs)
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
@format_options
@pass_options(GateOptions)
def gate(paths: tuple[Path, ...], locked: bool, opts: GateOptions) -> None:
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
            lock = load_lock(opts.lock_file)
        except LockError as exc:
            raise fail(str(exc)) from None
    problems: list = []
    items, scanner = prepare(paths, opts, problems)
    if not items and not problems:
        click.echo(f"modelscan: no model references found in {', '.join(map(str, paths)) or '.'}", err=True)
    g = Gate(scanner, lock, locked)
    decisions = run_items(g, items, "Scanning")
    report = g.report(decisions)
    if problems:
        from dataclasses import replace as _replace

        from scanner.gate.runner import problem_result
        report = _replace(report, results=report.results + tuple(problem_result(p) for p in problems))
    try:
        text = render(report, opts.fmt, color=opts.output is None and sys.stdout.isatty())
    except Exception as exc:  # noqa: BLE001 - e.g. a format whose optional library is missing
        if type(exc).__name__ != "FormatUnavailable":
            raise
        raise fail(str(exc)) from None
    write_output(text, opts.output)
    for r in report.results:
        if r.verdict == "error":
            click.echo(error_line(f"{r.target}: {r.reasons[0] if r.reasons else 'failed'}"), err=True)
    raise click.exceptions.Exit(exit_code(report.results, opts.fail_on))
