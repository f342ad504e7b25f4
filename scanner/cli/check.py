"""`modelscan check TARGET...`: scan models and decide them against a policy."""

from __future__ import annotations

import click

from scanner.cli import error_line
from scanner.cli.common import configure_or_exit, evaluation_time, finish_report, load_kb_or_exit, make_sources, \
    parse_targets_or_exit
from scanner.cli.options import ScanOptions, pass_options, policy_options, report_options, source_options, \
    verdict_options
from scanner.cli.outputs import check_specs_or_exit, parse_specs, write_reports


@click.command()
@click.argument("targets", nargs=-1, required=True, metavar="TARGET...")
@policy_options
@source_options
@report_options
@verdict_options()
@pass_options(ScanOptions)
def check(targets: tuple[str, ...], opts: ScanOptions) -> None:
    """Scan TARGETs (org/name[@revision] Hub ids, or local model folders) and decide each one.

    \b
    Examples:
      modelscan check meta-llama/Meta-Llama-3-70B --policy policies/default.yaml
      modelscan check ./my-finetune mistralai/Mistral-7B-v0.1@<sha> -f json -o report.json
      modelscan check Qwen/Qwen2.5-72B-Instruct --snapshot examples/hub
      modelscan check org/model -f table -f sarif=m.sarif -f junit=m.xml --fail-on never
    """
    from scanner.ci.locations import locate_checked
    from scanner.scan import Scanner, exit_code

    specs = parse_specs(opts.formats, opts.output)
    check_specs_or_exit(specs)
    parsed = parse_targets_or_exit(targets)
    policy, fail_on, configuration = configure_or_exit(opts)
    kb = load_kb_or_exit()
    source, local = make_sources(opts)
    scanner = Scanner(source, kb, policy, evaluation_time(opts.now), local=local, follow_parents=not opts.no_lineage)
    report = finish_report(scanner.scan(parsed), fail_on, configuration)
    report = locate_checked(report, manifest_references_here([t.repo_id for t in parsed if t.repo_id]),
                            {t.raw: t.raw for t in parsed if t.kind == "local"})
    write_reports(report, specs)
    for r in report.results:
        if r.verdict == "error":
            click.echo(error_line(f"{r.target}: {r.reasons[0] if r.reasons else 'failed'}"), err=True)
    raise click.exceptions.Exit(exit_code(report.results, fail_on))


def manifest_references_here(repo_ids: list[str]) -> list:
    """The references of the repository's modelscan.yaml to the checked models: `check` results
    point at the line that deploys the model. An invalid manifest is the gate's business: here it
    is not checked against its schema (a gate-sized manifest cost a check more than its scan), and
    any failure to read it leaves the results unlocated. A manifest that does not name a checked
    model is not parsed at all."""
    from scanner.ci.locations import repository_root

    manifest = repository_root() / "modelscan.yaml"
    if not repo_ids or not manifest.is_file():
        return []
    from scanner.gate.discover.manifest import manifest_references
    from scanner.gate.discover.walk import MAX_FILE_BYTES, display_path
    from scanner.sources.files import ReadRefused, read_regular

    try:
        text = read_regular(manifest, MAX_FILE_BYTES, manifest.parent).decode("utf-8", errors="replace")
    except (ReadRefused, OSError):
        return []
    low = text.lower()
    if not any(r.lower() in low for r in repo_ids):
        return []
    try:
        return manifest_references(text, display_path(manifest), validate=False)
    except Exception:  # noqa: BLE001 - an unreadable manifest only leaves check's results unlocated
        return []
