"""`modelscan licenses list|show|validate`: the knowledge base."""

from __future__ import annotations

import json
from pathlib import Path

import click

from scanner.cli import fail
from scanner.cli.common import load_kb_or_exit


@click.group()
def licenses() -> None:
    """Browse and validate the license knowledge base (licenses/*.yaml)."""


@licenses.command("list")
@click.option("--kind", default=None, help="Only records of this kind (model-license, use-policy, oss, ...).")
@click.option("--category", default=None, help="Only records of this category.")
def list_(kind, category) -> None:
    """One line per record: key, category, name."""
    kb = load_kb_or_exit()
    for rec in sorted(kb, key=lambda r: r.key):
        if (kind and rec.kind != kind) or (category and rec.category != category):
            continue
        flag = "" if rec.verified else "  (unverified)"
        click.echo(f"{rec.key:<40} {rec.category:<15} {rec.name}{flag}")


@licenses.command()
@click.argument("name")
@click.option("--format", "-f", "fmt", type=click.Choice(["text", "json"]), default="text", show_default=True)
def show(name, fmt) -> None:
    """Show one record by id, alias or record key (e.g. llama3.2, gemma@2024-04-01, mnpl)."""
    kb = load_kb_or_exit()
    rec = kb.resolve(name)
    if rec is None:
        import difflib
        names = sorted({r.key for r in kb} | {a for r in kb for a in r.aliases})
        close = difflib.get_close_matches(name.lower(), names, n=3)
        raise fail(f"no license record '{name}'" + (f"; did you mean {', '.join(close)}?" if close else ""))
    policy = kb.use_policy_of(rec)
    if fmt == "json":
        from scanner.evidence import thaw
        data = {"record": rec.key, "id": rec.id, "version": rec.version, "name": rec.name, "kind": rec.kind,
                "category": rec.category, "verified": rec.verified, "spdx": rec.spdx, "spdx_ref": rec.spdx_ref,
                "hub_id": rec.hub_id, "aliases": list(rec.aliases), "url": rec.url, "use_policy": rec.use_policy,
                "applies_to": rec.applies_to, "terms": [{"type": t.type, **thaw(dict(t.params))} for t in rec.terms],
                "sources": [thaw(dict(s)) for s in rec.sources]}
        click.echo(json.dumps(data, indent=2))
        return
    from rich.console import Console
    from rich.markup import escape
    from rich.table import Table

    console = Console(highlight=False)
    console.print(f"[bold]{escape(rec.name)}[/]  ([bold]{escape(rec.id)}[/]"
                  + (f" v{escape(rec.version)}" if rec.version else "") + f", record {escape(rec.key)})")
    console.print(f"kind: {rec.kind}   category: {rec.category}   verified: {'yes' if rec.verified else 'NO'}")
    console.print(f"SPDX: {escape(rec.spdx or rec.spdx_ref or '-')}   Hub id: {escape(rec.hub_id or '-')}"
                  + (f"   licensor: {escape(rec.licensor)}" if rec.licensor else ""))
    if rec.aliases:
        console.print("aliases: " + escape(", ".join(rec.aliases)))
    if rec.url:
        console.print(f"text: {escape(rec.url)}")
    if policy:
        console.print(f"use policy: {escape(policy.name)} ({escape(policy.key)})")
    if rec.applies_to:
        console.print(f"use policy of: {escape(rec.applies_to)}")
    if rec.summary:
        console.print(escape(rec.summary))
    if rec.terms:
        table = Table("term", "parameters", "note")
        for t in rec.terms:
            params = ", ".join(f"{k}={v if not isinstance(v, tuple) else list(v)}" for k, v in t.params.items()
                               if k not in ("note", "source"))
            table.add_row(t.type, escape(params), escape(str(t.get("note") or "")))
        console.print(table)
    for s in rec.sources:
        console.print(f"[dim]source: {escape(s['url'])}[/]")


@licenses.command()
@click.argument("directory", required=False, type=click.Path(file_okay=False, path_type=Path))
def validate(directory) -> None:
    """Validate every record against the schema and cross-references (exit 2 when invalid)."""
    from scanner.kb import data_dir, validate_dir

    directory = directory or data_dir("licenses")
    problems = validate_dir(directory)
    if not problems:   # the card reader's data (links, families, lineages) must name these records
        from scanner import knowledge
        from scanner.kb import load_dir
        problems = knowledge.problems(load_dir(Path(directory)))
    for p in problems:
        click.echo(p, err=True)
    if problems:
        raise fail(f"{len(problems)} problem(s) in {directory}")
    click.echo(f"ok: {len(list(directory.glob('*.yaml')))} records in {directory}")
