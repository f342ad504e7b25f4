"""`modelscan lock [PATHS...]`: decide the models a deployment uses and record the approvals in
modelscan.lock (docs/gate.md), for `modelscan gate --locked`."""

from __future__ import annotations

from pathlib import Path

import click

from scanner.cli import error_line, fail
from scanner.cli.gate import gate_options, prepare, run_items
from scanner.cli.options import GateOptions, pass_options


@click.command()
@gate_options
@pass_options(GateOptions)
def lock(paths: tuple[Path, ...], opts: GateOptions) -> None:
    """Decide the Hub models that PATHs deploy and write their approvals to the lockfile.

    Each entry pins the commit, the licenses (with versions), the hashes of the license files
    and access-gate prompt, the base models' commits, the verdict, and the hashes of the
    policy and knowledge base. An unchanged approval keeps its approved_at, so a re-lock of an
    unchanged deployment rewrites the file byte for byte. Models that could not be read keep
    their previous entry.

    \b
    Exit codes as for 'gate': the lockfile is written either way, but a denied model, one
    needing review (unless --fail-on deny) or one that could not be read fails the command.
    """
    from scanner import TOOL_NAME
    from scanner.gate.lock import LockError, load_lock, write_lock
    from scanner.gate.runner import Gate, merge_approvals
    from scanner.scan import exit_code

    lock_file = opts.lock_file
    old = None
    if lock_file.exists():
        try:
            old = load_lock(lock_file)
        except LockError as exc:
            raise fail(f"{exc} (remove it to start a new one)") from None
    items, scanner, setup = prepare(paths, opts)
    g = Gate(scanner, None, locked=False, approvals=setup.approvals)      # a re-lock walks base models afresh
    decisions = run_items(g, items, "Locking")
    entries = merge_approvals(decisions, old)
    try:
        write_lock(lock_file, entries, {"name": TOOL_NAME})
    except OSError as exc:
        raise fail(f"cannot write {lock_file}: {exc.strerror or exc}") from None
    counts: dict[str, int] = {}
    for d in decisions:
        counts[d.result.verdict] = counts.get(d.result.verdict, 0) + 1
        if d.result.verdict == "error":
            click.echo(error_line(f"{d.result.target}: {d.result.reasons[0] if d.result.reasons else 'failed'}"),
                       err=True)
        else:
            click.echo(f"{d.result.verdict:6}  {d.result.repo_id}@{(d.result.sha or '')[:12]}")
    summary = ", ".join(f"{n} {v}" for v, n in sorted(counts.items())) or "no models found"
    click.echo(f"{lock_file}: {len(entries)} model(s) locked ({summary})")
    raise click.exceptions.Exit(exit_code([d.result for d in decisions], setup.fail_on))
