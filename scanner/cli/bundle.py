"""`modelscan bundle TARGET... --out DIR`: write what a deployment must ship and say (docs/bundle.md).

The helpers below also serve `gate --bundle DIR` and `lock --bundle DIR` (one writer for all)."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any, Mapping

import click

from scanner.cli import fail
from scanner.cli.common import evaluation_time, load_kb_or_exit, load_policy_or_exit, make_sources, \
    parse_targets_or_exit
from scanner.cli.options import ScanOptions, policy_options, source_options


def writable_or_exit(out: Path) -> None:
    """Exit 2 unless a bundle may be written to `out` (missing, empty, or holding a bundle)."""
    from scanner.sources.bundledir import BundleDirError, check_writable

    try:
        check_writable(out)
    except BundleDirError as exc:
        raise fail(str(exc)) from None


def write_or_exit(out: Path, files: Mapping[str, bytes]) -> None:
    from scanner.sources.bundledir import write_bundle

    try:
        write_bundle(out, dict(files))
    except OSError as exc:
        raise fail(f"cannot write the bundle to {out}: {exc.strerror or exc}") from None


def summary_line(out: Path, files: Mapping[str, bytes]) -> str:
    """`bundle DIR: N model(s), ...; sha256:...` (what `bundle` prints, and gate and lock on stderr)."""
    from scanner.bundle import digest

    doc: dict[str, Any] = json.loads(files["obligations.json"])
    s = doc["summary"]
    return (f"bundle {out}: {len(doc['models'])} model(s), {s['texts']} license text(s), {s['withheld']} withheld "
            f"(hash and URL), {s['published_only']} published only, {s['notice_lines']} notice line(s); "
            f"{digest(files)}")


@click.command()
@click.argument("targets", nargs=-1, required=True, metavar="TARGET...")
@policy_options
@source_options
@click.option("--out", "-o", "out", type=click.Path(file_okay=False, path_type=Path), required=True,
              help="Folder to write the bundle to (created; must be empty unless --force).")
@click.option("--force", is_flag=True, help="Replace a bundle already in the folder.")
@click.option("--now", default=None, metavar="ISO-DATE", help="Evaluate as of this time.")
def bundle(targets: tuple[str, ...], out: Path, force: bool, now: str | None, **shared) -> None:
    """Scan TARGETs like `check` and write NOTICE, licenses/, OBLIGATIONS.md and obligations.json to DIR.

    For the models a deployment uses, 'modelscan gate --bundle DIR' writes the same folder, and
    'modelscan lock --bundle DIR' records its digest in modelscan.lock.

    \b
    Example:
      modelscan bundle meta-llama/Meta-Llama-3-70B --snapshot examples/hub --out compliance/
    """
    from scanner.bundle import BundleInput, build, chain_of
    from scanner.scan import Scanner, failure_reason

    opts = ScanOptions(fail_on=None, now=now, **shared)
    parsed = parse_targets_or_exit(targets)
    policy = load_policy_or_exit(opts)
    kb = load_kb_or_exit()
    if out.exists() and any(out.iterdir()) and not force:
        raise fail(f"{out}: folder is not empty (use --force to replace a bundle)")
    source, local = make_sources(opts)
    scanner = Scanner(source, kb, policy, evaluation_time(now), local=local, follow_parents=not opts.no_lineage)
    items = []
    for target in parsed:
        try:
            ev = scanner.fetch(target)
            graph = scanner.lineage_graph(ev)
        except Exception as exc:  # noqa: BLE001 - one clear line, exit 2
            raise fail(f"{target.raw}: {failure_reason(exc)}") from None
        result = scanner.decide(ev, graph)
        items.append(BundleInput(result, chain_of(result, ev, graph)))
    files = build(items, kb, dict(policy.context))
    write_or_exit(out, files)
    click.echo(summary_line(out, files))
