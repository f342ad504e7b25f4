"""`modelscan identify FILE...`: which licenses a text file holds."""

from __future__ import annotations

import json
from pathlib import Path

import click

from scanner.cli import fail
from scanner.cli.common import load_kb_or_exit


@click.command()
@click.argument("files", nargs=-1, required=True, type=click.Path(dir_okay=False, path_type=Path))
@click.option("--format", "-f", "fmt", type=click.Choice(["text", "json"]), default="text", show_default=True)
def identify(files, fmt) -> None:
    """Identify the license(s) in each FILE (exit 1 when one matches nothing)."""
    from scanner.sources.local import read_bounded
    from scanner.textid import identify_text

    kb = load_kb_or_exit()
    out = []
    unidentified = False
    for path in files:
        if not path.is_file():
            raise fail(f"{path}: no such file")
        fe = read_bounded(path)
        entry = {"file": str(path), "status": fe.status, "size": fe.size, "matches": []}
        if fe.readable:
            for m in identify_text(fe.text or "", kb):
                rec = kb.get(m.record)
                entry["matches"].append({**rec.ref(), "record": rec.key, "kind": rec.kind, "method": m.method,
                                         "confidence": m.confidence, "detail": m.detail})
        else:
            entry["error"] = fe.error
        unidentified = unidentified or not entry["matches"]
        out.append(entry)
    if fmt == "json":
        click.echo(json.dumps(out, indent=2))
    else:
        for e in out:
            if not e["matches"]:
                click.echo(f"{e['file']}: unidentified" + (f" ({e.get('error')})" if e.get("error") else ""))
            for m in e["matches"]:
                ver = f" v{m['version']}" if m["version"] else ""
                click.echo(f"{e['file']}: {m['id']}{ver} ({m['name']}) {m['method']} "
                           f"confidence {m['confidence']:.2f}: {m['detail']}")
    raise click.exceptions.Exit(1 if unidentified else 0)
