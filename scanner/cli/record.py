"""`modelscan record TARGET... --out DIR`: write what the Hub shows into a snapshot (docs/snapshot.md)."""

from __future__ import annotations

from pathlib import Path

import click

from scanner.cli import error_line, fail
from scanner.cli.common import load_kb_or_exit, parse_targets_or_exit


@click.command()
@click.argument("targets", nargs=-1, required=True, metavar="TARGET...")
@click.option("--out", "out", required=True, type=click.Path(file_okay=False, path_type=Path),
              help="Snapshot directory to create or add to.")
@click.option("--no-lineage", is_flag=True, help="Do not record base models.")
@click.option("--no-datasets", is_flag=True, help="Do not record the datasets cards list.")
@click.option("--withhold-known", is_flag=True,
              help="Keep only the hashes of texts that exactly match a known reference license text.")
@click.option("--timeout", type=click.FloatRange(0.5, 600), default=15.0, show_default=True)
@click.option("--deadline", type=click.FloatRange(1, 3600), default=90.0, show_default=True)
def record(targets, out, no_lineage, no_datasets, withhold_known, timeout, deadline) -> None:
    """Record TARGETs (Hub ids), their base models and datasets into a snapshot DIR for offline scans."""
    from scanner.lineage import MAX_DEPTH
    from scanner.scan import collect_parents
    from scanner.sources.hub import HubSettings, HubSource
    from scanner.sources.snapshot import SnapshotStore
    from scanner.targets import TargetError
    from scanner.textid import identify_hash
    from scanner.textnorm import normalized_sha256

    parsed = parse_targets_or_exit(targets)
    if any(t.kind != "hub" for t in parsed):
        raise fail("record takes Hub repo ids (org/name[@revision]), not local folders")
    kb = load_kb_or_exit()
    try:
        store = SnapshotStore(out, create=True)
        from scanner.fetchplan import card_text_needed
        source = HubSource(HubSettings(read_timeout=timeout, deadline=deadline), store=store,
                           needs_card=card_text_needed)
    except (OSError, TargetError) as exc:
        raise fail(f"cannot use {out} as a snapshot: {exc}") from None
    if withhold_known:
        source.withhold = lambda _path, text: bool(identify_hash(normalized_sha256(text), kb))
    graph: dict = {}
    failed = 0
    for t in parsed:
        try:
            ev = source.fetch(t)
        except TargetError as exc:
            failed += 1
            if exc.not_found:      # what the Hub said does not exist, so offline scans say so too
                store.save_missing(t.repo_id or t.raw, "model", str(exc), exc.suggestions)
            click.echo(error_line(f"{t.raw}: {exc}"), err=True)
            continue
        graph[ev.repo_id] = ev
        if not (no_lineage and no_datasets):
            collect_parents(source, ev, kb, graph, max_depth=0 if no_lineage else MAX_DEPTH,
                            datasets=not no_datasets)
        click.echo(f"recorded {ev.repo_id}@{ev.sha}")
    for key, entry in graph.items():
        if isinstance(entry, str):
            what = "dataset " + key[len("dataset:"):] if key.startswith("dataset:") else f"base model {key}"
            click.echo(f"modelscan: warning: {what} not recorded: {entry}", err=True)
    raise click.exceptions.Exit(2 if failed else 0)
