"""Terminal output with rich: a panel per model, then a summary table when there are several."""

from __future__ import annotations

import io
import shutil
from typing import Any

from rich import box
from rich.console import Console, Group
from rich.panel import Panel
from rich.table import Table
from rich.text import Text
from rich.tree import Tree

from scanner.formats.interface import Format
from scanner.result import LicenseUse, LineageGraph, Report, Result
from scanner.textsafe import terminal as escape   # control/bidi characters stripped, markup escaped

VERDICT_STYLE = {"allow": "bold green", "review": "bold yellow", "deny": "bold red", "error": "bold magenta"}
SEVERITY_STYLE = {"critical": "bold red", "high": "red", "medium": "yellow", "low": "cyan", "info": "dim"}


def _lic(u: LicenseUse) -> str:
    where = ", ".join(sorted({o.where if o.kind != "base" else f"base {o.where}" for o in u.origins}))
    version = f" [dim]v{escape(u.version)}[/]" if u.version and u.version not in u.id else ""
    name = escape(u.id) + version
    return f"[bold]{name}[/] {escape(u.name)} [dim]({escape(where)})[/]"


def _lineage_tree(r: Result) -> Tree:
    """The base-model graph from the target down to its roots, each node with its own licenses."""
    lineage = r.lineage or LineageGraph()
    nodes = {n.id: n for n in lineage.nodes}
    children: dict[str, list[tuple[str, str]]] = {}
    for e in lineage.edges:
        children.setdefault(e.child, []).append((e.parent, e.relation))

    def label(node_id: str, relation: str | None) -> str:
        n = nodes.get(node_id)
        ids = ", ".join(x.id for x in n.licenses) if n is not None else ""
        lic = ids or ("unreadable" if n is not None and n.error else "no license")
        rel = f"[dim]{escape(relation)}[/] " if relation else ""
        return f"{rel}[bold]{escape(node_id)}[/] [dim]({escape(lic)})[/]"

    root_id = r.repo_id or r.target
    tree = Tree(label(root_id, None), guide_style="dim")
    seen = {root_id}

    def grow(branch: Tree, node_id: str, depth: int) -> None:
        for parent, relation in children.get(node_id, ()):
            sub = branch.add(label(parent, relation))
            if parent not in seen and depth < 12:
                seen.add(parent)
                grow(sub, parent, depth + 1)

    grow(tree, root_id, 0)
    return tree


def _panel(r: Result) -> Panel:
    rows = Table.grid(padding=(0, 1))
    rows.add_column(style="bold", no_wrap=True)
    rows.add_column()
    style = VERDICT_STYLE[r.verdict]
    rows.add_row("Verdict", Text(r.verdict.upper(), style=style))
    for reason in r.reasons[:8]:
        rows.add_row("", f"• {escape(reason)}")
    if r.verdict != "error":
        rows.add_row("Revision", escape(r.sha or r.revision or "(local)"))
        rows.add_row("Class", escape(r.classification.label))
        if r.openness is not None:
            o = r.openness
            line = f"MOF class {o.mof_class}" + (f" (if the card's claims hold: {o.mof_class_if_claims_hold})"
                                                 if o.mof_class_if_claims_hold != o.mof_class else "")
            line += f"; OSI OSAID {o.osaid.get('overall', 'unmet')}"
            # one line per missing component (each escaped on its own: escaping makes one line)
            missing = [f"• for {o.next_class}: {m}" for m in o.missing_for_next[:8]] if o.next_class else []
            rows.add_row("Openness", "\n".join(escape(x) for x in [line, *missing]))
        eff = [u for u in r.licenses.effective]
        rows.add_row("Licenses", "\n".join(_lic(u) for u in eff) if eff else "[yellow]none identified[/]")
        decl = {u.id for u in r.licenses.declared}
        if decl and decl != {u.id for u in eff if u.kind != "use-policy" and not u.via}:
            rows.add_row("Declared", "\n".join(_lic(u) for u in r.licenses.declared))
        if r.lineage and r.lineage.edges:
            rows.add_row("Lineage", _lineage_tree(r))
        if r.obligations:
            rows.add_row("Obligations", "\n".join(f"• [dim]{escape(o.license)}[/] {escape(o.text)}"
                                                  for o in r.obligations))
        shown = [f for f in r.findings if f.severity != "info" or f.code.startswith("waiver")]
        if shown:
            rows.add_row("Findings", "\n".join(
                f"[{SEVERITY_STYLE.get(f.severity, '')}]{f.severity:<8}[/] {escape(f.code)}: {escape(f.message)}"
                for f in shown))
    title = f"[bold]{escape(r.repo_id or r.target)}[/]"
    return Panel(rows, title=title, title_align="left", border_style=style.replace("bold ", ""), box=box.ROUNDED)


def summary_table(report: Report) -> Table:
    table = Table(title="modelscan summary", box=box.SIMPLE_HEAVY)
    for col in ("model", "verdict", "licenses", "class"):
        table.add_column(col)
    for r in report.results:
        lic = ", ".join(u.id for u in r.licenses.effective if u.kind != "use-policy") or "-"
        table.add_row(escape(r.repo_id or r.target), Text(r.verdict, style=VERDICT_STYLE[r.verdict]),
                      escape(lic), escape(r.classification.label if r.verdict != "error" else "-"))
    s = report.summary
    table.caption = (f"{s['total']} model(s): {s['allow']} allow, {s['review']} review, {s['deny']} deny, "
                     f"{s['error']} error · policy {escape(report.policy.name)}")
    return table


class TerminalFormat(Format):
    def __init__(self, color: bool = False, width: int | None = None):
        self.color = color
        self.width = width or min(120, shutil.get_terminal_size((100, 24)).columns)

    def render(self, report: Report) -> str:
        buf = io.StringIO()
        console = Console(file=buf, force_terminal=self.color, no_color=not self.color, width=self.width,
                          highlight=False, soft_wrap=False)
        items: list[Any] = [_panel(r) for r in report.results]
        if len(report.results) > 1:
            items.append(summary_table(report))
        console.print(Group(*items))
        return buf.getvalue()
