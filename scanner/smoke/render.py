"""The smoke figures in the terminal: one table under the scan's panels."""

from __future__ import annotations

import io
from typing import TYPE_CHECKING, Any

from scanner.result import Report

if TYPE_CHECKING:
    from scanner.smoke.runtime import SmokeFigures

STATUS_STYLE = {"passed": "bold green", "refused": "bold red", "failed": "bold magenta", "not-run": "bold magenta"}


def human_bytes(n: Any) -> str:
    if not isinstance(n, (int, float)):
        return "-"
    for unit in ("B", "KiB", "MiB", "GiB"):
        if abs(n) < 1024 or unit == "GiB":
            return f"{n:.0f} {unit}" if unit == "B" else f"{n:.1f} {unit}"
        n /= 1024
    return str(n)


def human_count(n: Any) -> str:
    if not isinstance(n, int):
        return "-"
    for div, unit in ((1e9, "B"), (1e6, "M"), (1e3, "K")):
        if n >= div:
            return f"{n / div:.2f}{unit}"
    return str(n)


def _secs(v: Any) -> str:
    if not isinstance(v, (int, float)):
        return "-"
    return f"{v * 1000:.0f} ms" if v < 1 else f"{v:.2f} s"


def figures_line(s: SmokeFigures) -> str:
    """One line of figures (also for logs)."""
    parts = [f"{s.model_class} ({s.task})", f"{human_count(s.parameters)} params",
             f"{s.dtype} on {s.device}", f"load {_secs(s.load_seconds)}",
             f"peak {human_bytes(s.peak_memory_bytes)} ({s.memory_kind})"]
    if s.new_tokens is not None:
        parts += [f"TTFT {_secs(s.time_to_first_token_seconds)}",
                  f"{s.tokens_per_second or 0:.1f} tok/s over {s.new_tokens} tokens"]
    else:
        parts.append(f"forward {_secs(s.forward_seconds)}")
    return ", ".join(parts)


def render_table(report: Report, color: bool = False, width: int = 120) -> str:
    from rich import box
    from rich.console import Console
    from rich.markup import escape
    from rich.table import Table
    from rich.text import Text

    table = Table(title="modelscan smoke", box=box.SIMPLE_HEAVY)
    for col in ("model", "smoke", "revision", "class", "params", "dtype/device", "load", "peak memory", "TTFT",
                "tok/s"):
        table.add_column(col)
    notes: list[str] = []
    for r in report.results:
        s = r.smoke
        status = s.status if s is not None else "not-run"
        name = escape(r.repo_id or r.target)
        rev = ((s.revision if s is not None else None) or "")[:12] or "(local)"
        f = s.figures if s is not None else None
        if status == "passed" and f is not None:
            table.add_row(name, Text(status, style=STATUS_STYLE[status]), rev, escape(str(f.model_class)),
                          human_count(f.parameters), f"{f.dtype} / {f.device}",
                          _secs(f.load_seconds), human_bytes(f.peak_memory_bytes),
                          _secs(f.time_to_first_token_seconds),
                          f"{f.tokens_per_second:.1f}" if f.tokens_per_second else "-")
        else:
            table.add_row(name, Text(status, style=STATUS_STYLE.get(status, "")), rev, *["-"] * 7)
            what = (s.code or s.stage or "") if s is not None else ""
            message = s.message if s is not None else ""
            notes.append(f"{r.repo_id or r.target}: {status}{f' ({what})' if what else ''}: {message}")
    buf = io.StringIO()
    console = Console(file=buf, force_terminal=color, no_color=not color, width=width, highlight=False)
    console.print(table)
    for n in notes:
        console.print(escape(n), soft_wrap=True)
    return buf.getvalue()
