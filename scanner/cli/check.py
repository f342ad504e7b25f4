"""`modelscan check TARGET...`: scan models and decide them against a policy."""

from __future__ import annotations

import sys

import click

from scanner.cli import error_line
from scanner.cli.common import check_format_or_exit, evaluation_time, load_kb_or_exit, load_policy_or_exit, \
    make_sources, parse_targets_or_exit, render, write_output
from scanner.cli.options import ScanOptions, format_options, pass_options, policy_options, source_options, \
    verdict_options


@click.command()
@click.argument("targets", nargs=-1, required=True, metavar="TARGET...")
@policy_options
@source_options
@format_options
@verdict_options()
@pass_options(ScanOptions)
def check(targets: tuple[str, ...], opts: ScanOptions) -> None:
    """Scan TARGETs (org/name[@revision] Hub ids, or local model folders) and decide each one.

    \b
    Examples:
      modelscan check meta-llama/Meta-Llama-3-70B --policy policies/default.yaml
      modelscan check ./my-finetune mistralai/Mistral-7B-v0.1@<sha> -f json -o report.json
      modelscan check Qwen/Qwen2.5-72B-Instruct --snapshot examples/hub
    """
    from scanner.scan import Scanner, exit_code

    check_format_or_exit(opts.fmt)
    parsed = parse_targets_or_exit(targets)
    policy = load_policy_or_exit(opts)
    kb = load_kb_or_exit()
    source, local = make_sources(opts)
    scanner = Scanner(source, kb, policy, evaluation_time(opts.now), local=local, follow_parents=not opts.no_lineage)
    report = scanner.scan(parsed)
    text = render(report, opts.fmt, color=opts.output is None and sys.stdout.isatty())
    write_output(text, opts.output)
    for r in report.results:
        if r.verdict == "error":
            click.echo(error_line(f"{r.target}: {r.reasons[0] if r.reasons else 'failed'}"), err=True)
    raise click.exceptions.Exit(exit_code(report.results, opts.fail_on))
