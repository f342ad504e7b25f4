"""`modelscan bundle TARGET... --out DIR`: write what a deployment must ship and say (docs/bundle.md)."""

from __future__ import annotations

import shutil
from pathlib import Path

import click

from scanner.cli import fail
from scanner.cli.common import evaluation_time, load_kb_or_exit, load_policy_or_exit, make_sources, \
    parse_targets_or_exit
from scanner.cli.options import ScanOptions, policy_options, source_options

_OWNED = ("NOTICE", "OBLIGATIONS.md", "obligations.json", "licenses")


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

    \b
    Example:
      modelscan bundle meta-llama/Meta-Llama-3-70B --snapshot examples/hub --out compliance/
    """
    from scanner.bundle import BundleInput, build, chain_of, digest
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
    for name in _OWNED:
        p = out / name
        if p.is_dir():
            shutil.rmtree(p)
        elif p.exists():
            p.unlink()
    for rel, data in files.items():
        path = out / rel
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_bytes(data)
    s = __import__("json").loads(files["obligations.json"])["summary"]
    click.echo(f"bundle {out}: {len(items)} model(s), {s['texts']} license text(s), {s['withheld']} withheld "
               f"(hash and URL), {s['published_only']} published only, {s['notice_lines']} notice line(s); "
               f"{digest(files)}")
