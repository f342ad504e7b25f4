"""Options and helpers shared by the commands that scan."""

from __future__ import annotations

import datetime as dt
import os
import re
import sys
from pathlib import Path
from typing import Any

from scanner.cli import fail
from scanner.cli.options import ScanOptions, policy_options, source_options  # noqa: F401 - shared decorators


def configure_or_exit(opts: ScanOptions):
    """(policy with --context applied, the fail-on level, the report's `configuration`) from the
    command line, the environment and the repository's files, in that order (scanner/ci/config.py,
    docs/configuration.md); exits 2 on invalid configuration or policy."""
    from dataclasses import replace

    from scanner.ci.config import ConfigError, choose_policy, read_repository, resolve

    try:
        repo = read_repository()
    except ConfigError as exc:
        raise fail(str(exc)) from None
    chosen = choose_policy(opts.policy_ref, repo)
    policy = load_policy_or_exit(replace(opts, policy_ref=chosen.value))
    resolved = resolve(chosen, policy, opts.fail_on, repo)
    return resolved.policy, resolved.fail_on, resolved.configuration


def load_approvals_or_exit(policy: Any, lock_file: Path, configuration: dict[str, Any]):
    """The repository approvals beside the lockfile when the policy honours them (else None);
    records in `configuration` what was found and whether it counts. Exits 2 when invalid."""
    from scanner.gate.approvals import ApprovalsError, approvals_path, approvals_summary, load_approvals

    path = approvals_path(lock_file)
    honoured = policy.honours("approvals")
    try:
        approvals = load_approvals(path) if honoured or path.is_file() else None
    except ApprovalsError as exc:
        raise fail(str(exc)) from None
    configuration["approvals"] = dict(approvals_summary(approvals, honoured, path))
    return approvals if honoured else None


def finish_report(report: Any, fail_on: str, configuration: dict[str, Any]) -> Any:
    """The report with its fail-on level, configuration, and locations relative to the repository
    root (scanner/ci/locations.py)."""
    from dataclasses import replace

    from scanner.ci.locations import relocate, repository_root

    report = replace(report, fail_on=fail_on, configuration=configuration)
    return relocate(report, Path.cwd(), repository_root())


def load_policy_or_exit(opts: ScanOptions):
    """The policy named by --policy, with the --context overrides; exits 2 when invalid."""
    from scanner.policy.model import PolicyError, load_policy, parse_context_overrides

    try:
        policy = load_policy(opts.policy_ref)
        return policy.with_context(parse_context_overrides(list(opts.contexts)))
    except PolicyError as exc:
        raise fail(str(exc)) from None


def load_kb_or_exit():
    from scanner import kb

    try:
        return kb.load()
    except (OSError, ValueError, KeyError) as exc:
        raise fail(f"cannot load the license knowledge base: {exc}") from None


_ISO_DATE = re.compile(r"^\d{4}-\d{2}-\d{2}(?:[T ]\d{2}:\d{2}(?::\d{2}(?:\.\d{1,6})?)?)?(?:Z|[+-]\d{2}(?::?\d{2})?)?$")


def evaluation_time(now: str | None) -> dt.datetime:
    value = now or os.environ.get("MODELSCAN_NOW")
    if not value:
        return dt.datetime.now(dt.timezone.utc).replace(microsecond=0)
    shown = repr(value[:40] + ("..." if len(value) > 40 else ""))
    try:
        if not _ISO_DATE.match(value.strip()):
            raise ValueError
        parsed = dt.datetime.fromisoformat(value.strip().replace("Z", "+00:00"))
        parsed = parsed if parsed.tzinfo else parsed.replace(tzinfo=dt.timezone.utc)
        parsed = parsed.astimezone(dt.timezone.utc)
        # Room for the date arithmetic of waivers and approvals on either side.
        utc = dt.timezone.utc
        lowest, highest = dt.datetime(2, 1, 1, tzinfo=utc), dt.datetime(9998, 12, 31, tzinfo=utc)
        if not lowest <= parsed <= highest:
            raise OverflowError
    except (ValueError, OverflowError):
        raise fail(f"--now {shown}: expected an ISO date or date-time between years 2 and 9998") from None
    return parsed


def make_sources(opts: ScanOptions):
    """(hub-id source, local source) for the scan."""
    from scanner.sources.local import LocalSource
    from scanner.targets import TargetError

    if opts.snapshot is not None:
        from scanner.sources.snapshot import SnapshotSource
        try:
            return SnapshotSource(opts.snapshot), LocalSource()
        except TargetError as exc:
            raise fail(str(exc)) from None
    from scanner.sources.hub import HubSettings, HubSource

    settings = HubSettings(read_timeout=opts.timeout, deadline=opts.deadline)
    try:
        from scanner.fetchplan import card_text_needed
        return HubSource(settings, offline=True if opts.offline else None, needs_card=card_text_needed), LocalSource()
    except OSError as exc:
        raise fail(f"cannot prepare the metadata cache: {exc}") from None


def write_output(text: str, output: Path | None) -> None:
    """The rendered report, redacted and encodable, to stdout or atomically to `output` (a run that
    fails before or while writing leaves the previous report as it was)."""
    from scanner.atomic import write_atomic
    from scanner.redact import redact
    from scanner.textsafe import encodable

    if output is None:
        text = encodable(redact(text))
        sys.stdout.buffer.write(text.encode("utf-8")) if hasattr(sys.stdout, "buffer") else sys.stdout.write(text)
        sys.stdout.flush()
        return
    try:
        write_atomic(output, encodable(text).encode("utf-8"))      # write_atomic redacts what it writes
    except OSError as exc:
        raise fail(f"cannot write {output}: {exc.strerror or exc}") from None


def parse_targets_or_exit(targets: tuple[str, ...]) -> list[Any]:
    from scanner.targets import TargetError, parse_target

    parsed = []
    for raw in targets:
        try:
            parsed.append(parse_target(raw))
        except TargetError as exc:
            raise fail(str(exc)) from None
    return parsed


def want_color(output: Path | None) -> bool:
    """Colour for a report printed to standard output, as rich decides it: a terminal, unless
    NO_COLOR is set (https://no-color.org) or TERM=dumb; FORCE_COLOR forces it even into a pipe."""
    if output is not None:
        return False
    from rich.console import Console

    console = Console(file=sys.stdout)
    return console.is_terminal and not console.no_color and console.color_system is not None


def render(report, fmt: str, color: bool = False) -> str:
    """The report in one of scanner.formats.FORMATS."""
    from scanner import formats

    if fmt == "table":
        from scanner.formats.terminal import TerminalFormat
        return TerminalFormat(color=color).render(report)
    try:
        return formats.get(fmt).render(report)
    except formats.FormatUnavailable as exc:
        raise fail(str(exc)) from None


def check_format_or_exit(fmt: str) -> None:
    """Fail before scanning when the format's library is not installed."""
    from scanner import formats

    if fmt == "table":
        return
    try:
        formats.get(fmt)
    except formats.FormatUnavailable as exc:
        raise fail(str(exc)) from None
