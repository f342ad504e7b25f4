"""`modelscan check TARGET...`: scan models and decide them against a policy."""

from __future__ import annotations

import sys
from pathlib import Path

import click

from scanner.cli import error_line

from scanner.formats import FORMATS

from scanner.cli.common import check_format_or_exit, evaluation_time, render, load_kb_or_exit, load_policy_or_exit, make_sources, \
    parse_targets_or_exit, policy_options, source_options, write_output


@click.command()
@click.argument("targets", nargs=-1, required=True, metavar="TARGET...")
@policy_options
@source_options
@click.option("--format", "-f", "fmt", type=click.Choice(FORMATS), default="table", show_default=True)
@click.option("--output", "-o", type=click.Path(dir_okay=False, path_type=Path), default=None,
              help="Write the report to FILE instead of standard output.")
@click.option("--fail-on", type=click.Choice(["deny", "review"]), default="review", show_default=True,
              help="Lowest verdict that fails (exit 1).")
@click.option("--now", default=None, metavar="ISO-DATE",
              help="Evaluate as of this time (waiver expiry); default now (or $MODELSCAN_NOW).")
def check(targets, policy_ref, contexts, snapshot, offline, timeout, deadline, no_lineage, fmt, output, fail_on,
          now) -> None:
    """Scan TARGETs (org/name[@revision] Hub ids, or local model folders) and decide each one.

    \b
    Examples:
      modelscan check meta-llama/Meta-Llama-3-70B --policy policies/default.yaml
      modelscan check ./my-finetune mistralai/Mistral-7B-v0.1@<sha> -f json -o report.json
      modelscan check Qwen/Qwen2.5-72B-Instruct --snapshot examples/hub
    """
    from scanner.scan import Scanner, exit_code

    check_format_or_exit(fmt)
    parsed = parse_targets_or_exit(targets)
    policy = load_policy_or_exit(policy_ref, contexts)
    kb = load_kb_or_exit()
    source, local = make_sources(snapshot, offline, timeout, deadline)
    scanner = Scanner(source, kb, policy, evaluation_time(now), local=local, follow_parents=not no_lineage)
    report = scanner.scan(parsed)
    text = render(report, fmt, color=output is None and sys.stdout.isatty())
    write_output(text, output)
    for r in report.results:
        if r.verdict == "error":
            click.echo(error_line(f"{r.target}: {r.reasons[0] if r.reasons else 'failed'}"), err=True)
    raise click.exceptions.Exit(exit_code(report.results, fail_on))
