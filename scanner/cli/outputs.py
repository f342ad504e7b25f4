"""Several reports from one run: `--format FORMAT[=PATH]`, repeatable.

    modelscan gate -f table -f sarif=modelscan.sarif -f junit=modelscan.xml -f json=report.json

A format without a PATH goes to standard output (at most one may); `--output FILE` is the
PATH of a lone `--format` without one (the older spelling). Every format is checked before
the scan (an unknown name or a missing library exits 2 at once), and every report renders the
same Report, so they agree with each other and with the exit code.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path


@dataclass(frozen=True)
class ReportSpec:
    """One report to write: its format and where (None: standard output)."""
    fmt: str
    path: Path | None          # None: standard output


def parse_specs(formats: tuple[str, ...], output: Path | None) -> list[ReportSpec]:
    """The reports asked for; exits 2 (one line) on an unknown format or two for standard output."""
    from scanner.cli import fail
    from scanner.formats import REGISTRY

    names = REGISTRY.names()
    specs: list[ReportSpec] = []
    for raw in formats or ("table",):
        fmt, sep, path = raw.partition("=")
        fmt = fmt.strip().lower()
        if fmt not in names:
            from difflib import get_close_matches

            close = get_close_matches(fmt, names, n=1)
            hint = f" (did you mean {close[0]!r}?)" if close else ""
            raise fail(f"--format {fmt!r}: not a format{hint}; one of {', '.join(names)}")
        if sep and not path.strip():
            raise fail(f"--format {raw!r}: expected FORMAT=PATH")
        specs.append(ReportSpec(fmt, Path(path.strip()) if sep else None))
    if output is not None:
        loose = [s for s in specs if s.path is None]
        if len(specs) != 1 or len(loose) != 1:
            raise fail("--output goes with a single --format without PATH; use --format FORMAT=PATH for each report")
        specs = [ReportSpec(specs[0].fmt, output)]
    if sum(1 for s in specs if s.path is None) > 1:
        raise fail("only one --format may go to standard output; give the others a PATH (FORMAT=PATH)")
    paths = [s.path.resolve() for s in specs if s.path is not None]
    if len(paths) != len(set(paths)):
        raise fail("two --format values write the same file")
    return specs


def check_specs_or_exit(specs: list[ReportSpec]) -> None:
    from scanner.cli.common import check_format_or_exit

    for spec in specs:
        check_format_or_exit(spec.fmt)


def write_reports(report, specs: list[ReportSpec]) -> None:
    """Render and write every report (standard output last, so files exist when it is read)."""
    from scanner.cli.common import render, want_color, write_output

    for spec in sorted(specs, key=lambda s: s.path is None):
        color = spec.fmt == "table" and want_color(spec.path)     # only the terminal table has colour
        write_output(render(report, spec.fmt, color=color), spec.path)
