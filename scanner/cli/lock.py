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
@click.option("--bundle", "bundle_out", type=click.Path(file_okay=False, path_type=Path), default=None,
              metavar="DIR",
              help="Write the compliance bundle of the approved models to DIR (new, empty or holding a bundle) and "
                   "record its digest in the lockfile; 'gate --locked' then fails on a stale bundle. Default: the "
                   "folder the lockfile records already, if any.")
@click.option("--no-bundle", is_flag=True, help="Record no bundle (a recorded one is dropped; its folder is left).")
@pass_options(GateOptions)
def lock(paths: tuple[Path, ...], bundle_out: Path | None, no_bundle: bool, opts: GateOptions) -> None:
    """Decide the Hub models that PATHs deploy and write their approvals to the lockfile.

    Each entry pins the commit, the licenses (with versions), the hashes of the license files
    and access-gate prompt, the base models' commits, the verdict, and the hashes of the
    policy and knowledge base. An unchanged approval keeps its approved_at, so a re-lock of an
    unchanged deployment rewrites the file byte for byte. Models that could not be read keep
    their previous entry.

    With --bundle DIR (or when the lockfile records a bundle already) the compliance bundle of
    the approved models is written to DIR and its digest and file hashes recorded: a re-lock
    rewrites it, so the lockfile and the bundle stay in step (docs/bundle.md).

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
    if bundle_out is not None and no_bundle:
        raise fail("--bundle and --no-bundle exclude each other")
    recorded = old.bundle if old is not None and not no_bundle else None
    folder = bundle_out if bundle_out is not None else recorded.folder(lock_file) if recorded is not None else None
    if folder is not None:
        from scanner.cli.bundle import writable_or_exit
        writable_or_exit(folder)
    items, scanner, setup = prepare(paths, opts)
    g = Gate(scanner, None, locked=False, approvals=setup.approvals,      # a re-lock walks base models afresh
             keep_bundle=folder is not None)
    decisions = run_items(g, items, "Locking")
    entries = merge_approvals(decisions, old)
    bundle = recorded
    if folder is not None:
        bundle = _write_bundle(folder, lock_file, decisions, scanner) or recorded
    try:
        write_lock(lock_file, entries, {"name": TOOL_NAME}, bundle)
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


def _write_bundle(folder: Path, lock_file: Path, decisions, scanner):
    """Write the bundle of `decisions` to `folder`; what the lockfile records of it (None, and the
    folder left as it was, when a model could not be decided)."""
    import os

    from scanner.bundle import digest, file_hashes
    from scanner.cli.bundle import summary_line, write_or_exit
    from scanner.gate.bundlecheck import bundle_of
    from scanner.gate.lock import LockedBundle

    files = bundle_of(decisions, scanner.kb, scanner.policy.context)
    if files is None:
        click.echo(f"modelscan: bundle not written to {folder}: a model could not be decided "
                   f"(the lockfile keeps the bundle it recorded, if any)", err=True)
        return None
    write_or_exit(folder, files)
    base = lock_file.parent if str(lock_file.parent) else Path(".")
    try:
        rel = os.path.relpath(os.path.abspath(folder), os.path.abspath(base))
    except ValueError:                  # another drive (Windows): the absolute path
        rel = os.path.abspath(folder)
    click.echo(summary_line(folder, files))
    return LockedBundle(Path(rel).as_posix(), digest(files), file_hashes(files))
