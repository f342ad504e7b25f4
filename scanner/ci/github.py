"""What the GitHub Action shows, as pure functions of the JSON report (docs/github-action.md).

- `annotation_commands(report)`: one `::error`/`::warning`/`::notice` workflow command per place a
  deployment file references a model that the gate blocks, with the verdict's reasons;
- `outputs(...)`: `$GITHUB_OUTPUT` lines in the heredoc form, each with a random delimiter;
- `summary(markdown)`: the job summary (capped at GitHub's 1 MiB per step);
- `comment_body(markdown, ...)`: the one pull-request comment, found again by its hidden marker,
  cut below GitHub's 65,536-character limit with a pointer to the full report.

Every string from outside (model ids, file names, reasons, license names) is data: workflow
command values are escaped (`%`, CR, LF, and `:`/`,` in properties), so a file named
`x\n::add-mask::y` cannot issue a command; Markdown goes through the markdown format's escaping,
and mentions are broken here as well (`@team` would notify people from a PR comment).
"""

from __future__ import annotations

import re
import secrets
from collections.abc import Iterable, Mapping
from typing import Any

from scanner.formats.markdown import (
    MARKER,  # the markdown format's first line; finds our comment again
)

COMMENT_LIMIT = 65_536                          # GitHub's limit on a comment body, in characters
SUMMARY_LIMIT = 1024 * 1024                     # GitHub's limit on one step's job summary, in bytes
ANNOTATION_LEVEL = {"deny": "error", "error": "error", "review": "warning"}
_CONTROL = re.compile("[\x00-\x08\x0b-\x1f\x7f-\x9f\u061c\u200e\u200f\u202a-\u202e\u2066-\u2069\u2028\u2029]")
_MENTION = re.compile(r"@(?=[A-Za-z0-9])")
ZWSP = "\u200b"


# ------------------------------------------------------------------ workflow commands
def escape_data(value: Any) -> str:
    """A workflow command's message: %, CR and LF escaped (the runner's own escaping)."""
    text = _CONTROL.sub("", "" if value is None else str(value).replace("\r", "\n"))
    return text.replace("%", "%25").replace("\r", "%0D").replace("\n", "%0A")


def escape_property(value: Any) -> str:
    """A workflow command's property value: the data escaping plus `:` and `,`."""
    return escape_data(value).replace(":", "%3A").replace(",", "%2C")


def command(name: str, message: Any, **properties: Any) -> str:
    props = ",".join(f"{k}={escape_property(v)}" for k, v in properties.items() if v not in (None, ""))
    return f"::{name}{' ' + props if props else ''}::{escape_data(message)}"


def _fails(verdict: str, fail_on: str) -> bool:
    if verdict == "error":
        return True
    if fail_on == "never":
        return False
    return verdict == "deny" or (verdict == "review" and fail_on == "review")


def annotation_commands(report: Mapping[str, Any], limit: int = 50) -> list[str]:
    """Workflow commands for the located results the gate blocks (error for deny and error, warning
    for a review that fails the run, notice for one that does not). GitHub shows at most 10
    errors and 10 warnings per step; the worst come first, and a last notice says how many
    were left out."""
    fail_on = str(report.get("fail_on") or "review")
    rank = {"error": 0, "deny": 1, "review": 2}
    out: list[tuple[int, str]] = []
    for r in report.get("results") or ():
        verdict = str(r.get("verdict"))
        if verdict not in rank:
            continue
        level = ANNOTATION_LEVEL[verdict] if _fails(verdict, fail_on) else "notice"
        name = r.get("repo_id") or r.get("target")
        sha = r.get("sha")
        reasons = [str(x) for x in r.get("reasons") or ()]
        message = f"{name}{'@' + str(sha)[:12] if sha else ''}: {verdict.upper()}"
        if reasons:
            message += "\n" + "\n".join(f"- {x}" for x in reasons[:10])
        for loc in r.get("locations") or ():
            file = loc.get("file")
            if not file or str(file).startswith("/"):
                continue                      # GitHub annotates files of the repository only
            line = loc.get("line") if isinstance(loc.get("line"), int) else None
            col = loc.get("column") if isinstance(loc.get("column"), int) else None
            title = f"modelscan: {name} {verdict}"
            if loc.get("deployment"):
                title += f" (deployment {loc['deployment']})"
            out.append((rank[verdict], command(level, message, file=file, line=line, col=col, title=title)))
    out.sort(key=lambda x: x[0])
    lines = [c for _, c in out[:limit]]
    if len(out) > limit:
        lines.append(command("notice", f"modelscan: {len(out) - limit} more annotation(s) left out; "
                                       "see the job summary"))
    return lines


# ------------------------------------------------------------------ $GITHUB_OUTPUT
def output_block(name: str, value: Any) -> str:
    """`name<<DELIM\\nvalue\\nDELIM\\n` with a random delimiter the value does not contain, so a
    value with newlines cannot set other outputs."""
    text = "" if value is None else str(value)
    while True:
        delim = f"ghadelimiter_{secrets.token_hex(16)}"
        if delim not in text:
            break
    return f"{name}<<{delim}\n{text}\n{delim}\n"


def outputs(report: Mapping[str, Any] | None, exit_code: int, reports: Mapping[str, str]) -> dict[str, str]:
    """The Action's outputs: verdict counts, the exit code, and the path of each report written."""
    summary = dict((report or {}).get("summary") or {})
    out = {k: str(int(summary.get(k, 0))) for k in ("allow", "review", "deny", "error", "total")}
    out["exit-code"] = str(exit_code)
    out["verdict"] = {0: "pass", 1: "fail"}.get(exit_code, "error")
    for fmt, path in reports.items():
        out[f"{fmt}-report"] = path
    return out


# ------------------------------------------------------------------ Markdown surfaces
def neutralise(markdown: str) -> str:
    """Markdown from the markdown format, with mentions broken and control or bidi characters
    removed: defence in depth for a surface that notifies people. (The markdown format escapes
    every value; scanner.textsafe from the hardening work does it per value too.)"""
    text = _clean(markdown)
    return _MENTION.sub("@" + ZWSP, text)


def _clean(markdown: str) -> str:
    lines = markdown.replace("\r\n", "\n").replace("\r", "\n").split("\n")
    return "\n".join(_CONTROL.sub("", line.replace("\t", " ")) for line in lines)


def _cut(markdown: str, limit: int, pointer: str, measure=len) -> str:
    """`markdown` if it fits in `limit`, else its first lines that fit, then `pointer`."""
    if measure(markdown) <= limit:
        return markdown
    budget = limit - measure(pointer) - 2
    kept: list[str] = []
    used = 0
    for line in markdown.split("\n"):
        size = measure(line) + 1
        if used + size > budget:
            break
        kept.append(line)
        used += size
    # never leave a code fence open: the pointer would render as code
    if sum(1 for line in kept if line.lstrip().startswith("```")) % 2:
        kept.append("```")
    return "\n".join(kept).rstrip() + "\n\n" + pointer


def run_url(env: Mapping[str, str]) -> str | None:
    server, repo, run = env.get("GITHUB_SERVER_URL"), env.get("GITHUB_REPOSITORY"), env.get("GITHUB_RUN_ID")
    if server and repo and run:
        return f"{server.rstrip('/')}/{repo}/actions/runs/{run}"
    return None


def pointer(env: Mapping[str, str], what: str) -> str:
    url = run_url(env)
    where = f"the [job summary and report files of this run]({url})" if url else "the job summary of this run"
    return f"**Report cut: {what}.** The full report is in {where}."


def summary(markdown: str, env: Mapping[str, str]) -> str:
    """The job summary: the Markdown report, cut to GitHub's 1 MiB limit with a pointer."""
    return _cut(neutralise(markdown), SUMMARY_LIMIT - 1024,
                pointer(env, "it is longer than a job summary may be"),
                measure=lambda s: len(s.encode("utf-8"))).rstrip("\n") + "\n"


def comment_body(markdown: str, env: Mapping[str, str], limit: int = COMMENT_LIMIT) -> str:
    """The pull-request comment: the hidden marker first (so the next run updates this comment
    instead of adding one), then the report, cut to stay under GitHub's limit."""
    text = neutralise(markdown)
    if text.startswith(MARKER):
        text = text[len(MARKER):].lstrip("\n")
    body = _cut(text, limit - len(MARKER) - 64,
                pointer(env, "it is longer than a pull-request comment may be"))
    return f"{MARKER}\n{body.rstrip()}\n"


def find_marked(comments: Iterable[Mapping[str, Any]], bot_login: str | None = None) -> Mapping[str, Any] | None:
    """The comment this Action wrote before: the first whose body starts with the marker (and,
    when known, written by the same account, so nobody else's comment is overwritten)."""
    for c in comments:
        body = str(c.get("body") or "")
        if not body.startswith(MARKER):
            continue
        if bot_login and (c.get("user") or {}).get("login") != bot_login:
            continue
        return c
    return None


def parse_formats(values: Iterable[str]) -> list[tuple[str, str | None]]:
    """`FORMAT[=PATH]` values (as the Action's `formats` input and --format take them)."""
    out = []
    for raw in values:
        for item in raw.split():
            fmt, sep, path = item.partition("=")
            out.append((fmt.strip(), path.strip() if sep and path.strip() else None))
    return out
