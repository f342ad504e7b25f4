"""`modelscan identify FILE...`: which licenses a text file holds."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import click

from scanner.cli import fail
from scanner.cli.common import load_kb_or_exit

_WHY = {
    "too-large": "over the read limit, not read",
    "binary": "not text",
    "error": "could not be read",
}


@click.command()
@click.argument("files", nargs=-1, required=True, type=click.Path(dir_okay=False, path_type=Path))
@click.option("--format", "-f", "fmt", type=click.Choice(["text", "json"]), default="text", show_default=True)
def identify(files, fmt) -> None:
    """Identify the license(s) in each FILE: id, version, how it matched, how much of the text and
    of the reference text it covers, and the passages a modified copy adds.

    Exit 1 when a file matches nothing (or cannot be read as text).
    """
    from scanner.identify import _match_dicts
    from scanner.sources.local import read_bounded
    from scanner.textid import identify_text

    kb = load_kb_or_exit()
    out = []
    unidentified = False
    for path in files:
        if not path.is_file():
            raise fail(f"{path}: no such file")
        fe = read_bounded(path)
        entry: dict[str, Any] = {"file": str(path), "status": fe.status, "size": fe.size, "sha256": fe.sha256,
                                 "matches": []}
        if fe.readable:
            if not (fe.text or "").strip():
                entry["error"] = "empty"
            else:
                entry["matches"] = list(_match_dicts(identify_text(fe.text or "", kb), kb))
        else:
            entry["error"] = fe.error or _WHY.get(fe.status, fe.status)
        unidentified = unidentified or not entry["matches"]
        out.append(entry)
    if fmt == "json":
        click.echo(json.dumps(out, indent=2))
    else:
        for e in out:
            _print_text(e)
    raise click.exceptions.Exit(1 if unidentified else 0)


def _print_text(e: dict) -> None:
    if not e["matches"]:
        if e["status"] != "ok":
            click.echo(f"{e['file']}: {e['status']}: {e.get('error') or _WHY.get(e['status'], '')} "
                       f"({e['size']} bytes); not identified")
        elif e.get("error") == "empty":
            click.echo(f"{e['file']}: empty; not identified")
        else:
            click.echo(f"{e['file']}: unidentified: matches no known license text well enough")
        return
    for m in e["matches"]:
        ver = f" [version {m['version']}]" if m["version"] else ""
        cover = ""
        if m.get("reference_coverage") is not None:
            cover = (f", covers {_pct(m['reference_coverage'])} of {m.get('reference') or 'the reference'}"
                     f" and {_pct(m['candidate_coverage'])} of the file")
        state = "modified" if m.get("modified") else m["method"]
        click.echo(f"{e['file']}: {m['id']}{ver} ({m['name']}), {state}, confidence {m['confidence']:.2f}{cover}")
        click.echo(f"    {m['detail']}")
        for passage in m.get("added") or ():
            click.echo(f"    + {passage}")


def _pct(x: float) -> str:
    return f"{100 * x:.0f}%"
