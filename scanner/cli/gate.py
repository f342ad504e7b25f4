"""`modelscan gate [PATHS...]`: find the models a deployment uses and decide them (docs/gate.md)."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any, Callable, TypeVar

import click

from scanner.cli import error_line, fail
from scanner.cli.common import configure_or_exit, evaluation_time, finish_report, load_approvals_or_exit, \
    load_kb_or_exit, make_sources
from scanner.cli.options import GateOptions, pass_options, policy_options, report_options, source_options, \
    verdict_options
from scanner.cli.outputs import check_specs_or_exit, parse_specs, write_reports

from scanner.scan import DEFAULT_JOBS  # noqa: E402


F = TypeVar("F", bound=Callable[..., Any])


def gate_options(f: F) -> F:
    """Options `gate` and `lock` share: what to read and how many models to scan at once."""
    f = click.option("--lock-file", type=click.Path(dir_okay=False, path_type=Path), default=Path("modelscan.lock"),
                     show_default=True, help="The lockfile of approvals.")(f)
    f = click.option("--jobs", "-j", type=click.IntRange(1, 64), default=DEFAULT_JOBS, show_default=True,
                     help="Models scanned at once.")(f)
    f = click.option("--require-models", is_flag=True,
                     help="Exit 2 when no model reference is found (a path or pattern that matches nothing).")(f)
    f = click.option("--exclude", "exclude", multiple=True, metavar="GLOB",
                     help="Leave out files and folders matching GLOB (gitignore syntax, relative to the working "
                          "directory), e.g. 'tests/' or '**/fixtures/**'. Repeatable.")(f)
    f = click.option("--gitignore/--no-gitignore", "gitignore", default=True, show_default=True,
                     help="Leave out the files git ignores (.gitignore, .git/info/exclude) when reading folders.")(f)
    f = verdict_options(now_help="Evaluate as of this time (waiver expiry, approved_at); default now "
                                 "(or $MODELSCAN_NOW).")(f)
    f = source_options(f)
    f = policy_options(f)
    f = click.argument("paths", nargs=-1, type=click.Path(path_type=Path), metavar="[PATH]...")(f)
    return f


@dataclass(frozen=True)
class Setup:
    """What the configuration decided for this run (scanner/ci/config.py)."""

    fail_on: str
    configuration: dict[str, Any]
    approvals: Any          # scanner.gate.approvals.Approvals | None: the repository's, when honoured


def prepare(paths: tuple[Path, ...], opts: GateOptions, problems: list | None = None):
    """(plan items, Scanner, Setup) for the models under `paths`; exits 2 on bad input. Files that
    cannot be read or parsed in full go to `problems` (without a list: exit 2 naming the first)."""
    from scanner.gate.discover import DiscoveryError, Skipped, discover
    from scanner.gate.runner import plan
    from scanner.scan import Scanner

    skipped = Skipped()
    try:
        refs = discover([str(p) for p in paths] or ["."], gitignore=opts.gitignore, exclude=opts.exclude,
                        skipped=skipped, problems=problems)
    except DiscoveryError as exc:
        raise fail(str(exc)) from None
    if skipped.ignored or skipped.excluded:
        parts = [f"{n} {what}" for n, what in ((skipped.ignored, "git-ignored"), (skipped.excluded, "excluded"))
                 if n]
        hint = " (--no-gitignore reads them)" if skipped.ignored else ""
        shown = ", ".join("".join(c for c in e if c.isprintable()) for e in skipped.examples)
        click.echo(f"modelscan: left out {' and '.join(parts)} file(s) or folder(s), e.g. {shown}{hint}", err=True)
    if not refs and opts.require_models:
        raise fail(f"no model references found in {', '.join(map(str, paths)) or '.'} (--require-models)")
    policy, fail_on, configuration = configure_or_exit(opts)
    approvals = load_approvals_or_exit(policy, opts.lock_file, configuration)
    kb = load_kb_or_exit()
    source, _ = make_sources(opts)
    scanner = Scanner(source, kb, policy, evaluation_time(opts.now), follow_parents=not opts.no_lineage, jobs=opts.jobs)
    return plan(refs), scanner, Setup(fail_on, configuration, approvals)


def run_items(gate_obj, items, what: str):
    from scanner.gate.runner import progress
    from scanner.policy.model import PolicyError

    try:
        with progress(len(items), what) as advance:
            return gate_obj.run(items, advance)
    except PolicyError as exc:
        raise fail(str(exc)) from None


@click.command()
@gate_options
@click.option("--locked", is_flag=True,
              help="Check every model against the lockfile: a model not in it, approved under another policy or "
                   "knowledge base, or whose licenses changed, fails.")
@click.option("--bundle", "bundle_out", type=click.Path(file_okay=False, path_type=Path), default=None,
              metavar="DIR",
              help="Also write the compliance bundle of the decided models (NOTICE, licenses/, OBLIGATIONS.md, "
                   "obligations.json) to DIR: a folder that is new, empty or holds a bundle (docs/bundle.md). "
                   "Not written when a model could not be decided.")
@report_options
@pass_options(GateOptions)
def gate(paths: tuple[Path, ...], locked: bool, bundle_out: Path | None, opts: GateOptions) -> None:
    """Find the Hub models that PATHs (files or directories; default: .) deploy and decide each one.

    Reads deployment manifests (modelscan.yaml) and finds model ids in vLLM command lines,
    Kubernetes and docker-compose YAML, TGI's MODEL_ID, Ollama Modelfiles and Python
    from_pretrained calls, with file and line (docs/gate.md).

    \b
    Exit codes: 0 every model allowed; 1 a model denied or needing review (review passes
    with --fail-on deny, both with --fail-on never); 2 a model could not be decided, or bad input.

    \b
    Examples:
      modelscan gate                              # the current directory
      modelscan gate deploy/ --policy org.yaml -f sarif=modelscan.sarif -f junit=modelscan.xml
      modelscan gate --locked                     # only what modelscan.lock approved
      modelscan gate --locked --bundle out/bundle   # and write the compliance bundle

    \b
    With --locked, a bundle that modelscan.lock records ('modelscan lock --bundle DIR') is
    checked: a missing folder, changed files, or a bundle the deployed models would now make
    differently is the finding bundle-stale (deny).
    """
    from scanner.gate.lock import LockError, load_lock
    from scanner.gate.runner import Gate, problem_result
    from scanner.scan import exit_code

    specs = parse_specs(opts.formats, opts.output)
    check_specs_or_exit(specs)
    lock = None
    if locked:
        try:
            lock = load_lock(opts.lock_file)
        except LockError as exc:
            raise fail(str(exc)) from None
    if bundle_out is not None:
        from scanner.cli.bundle import writable_or_exit
        writable_or_exit(bundle_out)
    problems: list = []
    items, scanner, setup = prepare(paths, opts, problems)
    if not items and not problems:
        click.echo(f"modelscan: no model references found in {', '.join(map(str, paths)) or '.'}", err=True)
    recorded = lock.bundle if lock is not None else None
    g = Gate(scanner, lock, locked, approvals=setup.approvals,
             keep_bundle=bundle_out is not None or recorded is not None)
    decisions = run_items(g, items, "Scanning")
    report = g.report(decisions)
    extra = [problem_result(p) for p in problems]
    files = None
    if g.keep_bundle:
        from scanner.gate.bundlecheck import bundle_of
        files = bundle_of(decisions, scanner.kb, scanner.policy.context)
        setup.configuration["bundle"] = {"out": None, "locked": None}
    if lock is not None and recorded is not None:           # read before --bundle may write the same folder
        extra += locked_bundle_check(lock, files, setup.configuration)
    if bundle_out is not None:
        from scanner.cli.bundle import summary_line, write_or_exit
        if files is None:
            click.echo(f"modelscan: bundle not written to {bundle_out}: a model could not be decided", err=True)
        else:
            from scanner.bundle import digest
            write_or_exit(bundle_out, files)
            setup.configuration["bundle"]["out"] = {"path": str(bundle_out), "digest": digest(files)}
            click.echo(f"modelscan: {summary_line(bundle_out, files)}", err=True)
    if extra:
        from dataclasses import replace as _replace
        report = _replace(report, results=report.results + tuple(extra))
    report = finish_report(report, setup.fail_on, setup.configuration)
    write_reports(report, specs)
    for r in report.results:
        if r.verdict == "error":
            click.echo(error_line(f"{r.target}: {r.reasons[0] if r.reasons else 'failed'}"), err=True)
    raise click.exceptions.Exit(exit_code(report.results, setup.fail_on))


def locked_bundle_check(lock: Any, files: dict[str, bytes] | None, configuration: dict[str, Any]) -> list:
    """The stale-bundle result of `gate --locked` (none when the bundle is current), and the
    report's configuration.bundle.locked."""
    import os

    from scanner.gate.bundlecheck import check, stale_result
    from scanner.sources.bundledir import read_bundle

    folder = lock.bundle.folder(lock.path)
    shown = os.path.normpath(folder).replace(os.sep, "/")
    read = read_bundle(folder)
    status, findings = check(lock.bundle, shown, lock.path, read.exists, read.files, read.problems, files)
    configuration["bundle"]["locked"] = {"path": shown, "digest": lock.bundle.digest, "status": status,
                                         "checked_models": files is not None}
    return [stale_result(shown, findings)] if findings else []
