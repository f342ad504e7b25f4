"""Markdown for a pull-request comment: a summary table, then details per blocked model.

Every value that comes from a card, a policy or a message is escaped, so a model name or
a license name cannot inject markup (links, images, HTML, table cells) into the comment.
"""

from __future__ import annotations

from typing import Any

from scanner.formats.interface import Format
from scanner.result import LicenseUse, Location, Report, Result
from scanner.textsafe import markdown_inline

MARKER = "<!-- modelscan-report -->"
BLOCKED = ("deny", "review", "error")


def md(value: Any) -> str:
    """A value as inline Markdown text: one line, every markup character escaped, no @mention,
    autolink, HTML or bidi override (scanner.textsafe.markdown_inline)."""
    return markdown_inline(value)


def badge(verdict: str) -> str:
    return f"**{verdict.upper()}**"


def _lic(u: LicenseUse) -> str:
    return u.id + (f"@{u.version}" if u.version and u.version not in u.id else "")


def _name(r: Result) -> str:
    return r.repo_id or r.target


def _where(loc: Location) -> str:
    out = md(loc.file)
    if loc.line is not None:
        out += f":{md(loc.line)}"
    if loc.deployment:
        out += f" (deployment {md(loc.deployment)})"
    return out


def _summary(report: Report) -> list[str]:
    lines = ["| model | verdict | licenses | class |", "|---|---|---|---|"]
    for r in report.results:
        lic = ", ".join(_lic(u) for u in r.licenses.effective if u.kind != "use-policy")
        label = r.classification.label if r.verdict != "error" else "-"
        lines.append(f"| {md(_name(r))} | {badge(r.verdict)} | {md(lic) or '-'} | {md(label)} |")
    return lines


def _details(r: Result) -> list[str]:
    rev = f" at {md(r.sha[:12])}" if r.sha else ""
    out = ["", f"### {badge(r.verdict)} {md(_name(r))}{rev}", ""]
    if r.reasons:
        out += ["**Reasons**", ""] + [f"- {md(reason)}" for reason in r.reasons] + [""]
    if r.lineage and r.lineage.edges:
        chain = " <- ".join(dict.fromkeys([e.child for e in r.lineage.edges] + list(r.lineage.roots)))
        out += [f"**Lineage:** {md(chain)}", ""]
    if r.openness is not None:
        o = r.openness
        out += [(f"**Openness:** MOF class {md(o.mof_class)} (if the card's claims hold: "
                 f"{md(o.mof_class_if_claims_hold)}); OSI OSAID {md(o.osaid.get('overall', 'unmet'))}"), ""]
        if o.next_class:
            out += [f"- for {md(o.next_class)}: {md(m)}" for m in o.missing_for_next] + [""]
    if r.findings:
        out += ["**Findings**", ""] + [f"- {md(f.severity)} {md(f.code)}: {md(f.message)}" for f in r.findings] + [""]
    if r.obligations:
        out += ["**Obligations**", ""] + [f"- {md(o.license)}: {md(o.text)}" for o in r.obligations] + [""]
    locs = [loc for loc in r.locations if loc.file]
    if locs:
        out += ["**Referenced at**", ""] + [f"- {_where(loc)}" for loc in locs] + [""]
    return out


def markdown(report: Report) -> str:
    s = report.summary
    head = (f"## modelscan: {s['total']} model(s): {s['allow']} allow, {s['review']} review, "
            f"{s['deny']} deny, {s['error']} error")
    lines = [MARKER, head, ""] + _summary(report)
    blocked = [r for r in report.results if r.verdict in BLOCKED]
    if blocked:
        lines += ["", "## Blocked models"]
        for r in blocked:
            lines += _details(r)
    kb_hash = str(report.knowledge_base.get("hash", ""))
    lines += ["", f"Policy {md(report.policy.name)} ({md(report.policy.hash[:19])}), knowledge base "
                  f"{md(kb_hash[:19])}, evaluated at {md(report.evaluated_at)} by "
                  f"{md(report.tool.get('name', 'modelscan'))} {md(report.tool.get('version', ''))}."]
    return "\n".join(line.rstrip() for line in lines).rstrip() + "\n"


class MarkdownFormat(Format):
    def render(self, report: Report) -> str:
        return markdown(report)
