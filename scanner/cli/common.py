"""Options and helpers shared by the commands that scan."""

from __future__ import annotations

import datetime as dt
import os
import sys
from pathlib import Path
from typing import Any, Callable

import click

from scanner.cli import fail


def policy_options(f: Callable) -> Callable:
    f = click.option("--context", "contexts", multiple=True, metavar="KEY=VALUE",
                     help="Override a policy context value, e.g. domicile=EU or monthly_active_users=800000000 "
                          "(lists comma-separated). Repeatable.")(f)
    f = click.option("--policy", "-p", "policy_ref", default=None, metavar="FILE|NAME",
                     help="Policy file, or a shipped policy name (default, permissive-only, eu-commercial, research). "
                          "Default: 'default'.")(f)
    return f


def source_options(f: Callable) -> Callable:
    f = click.option("--snapshot", type=click.Path(file_okay=False, path_type=Path), default=None,
                     help="Scan from a recorded snapshot directory (no network).")(f)
    f = click.option("--offline", is_flag=True, help="No network: use the metadata cache only (like HF_HUB_OFFLINE=1).")(f)
    f = click.option("--timeout", type=click.FloatRange(0.5, 600), default=15.0, show_default=True,
                     help="Read timeout per Hub request, seconds.")(f)
    f = click.option("--deadline", type=click.FloatRange(1, 3600), default=90.0, show_default=True,
                     help="Time budget per repository read (the target, each base model, each dataset), seconds.")(f)
    f = click.option("--no-lineage", is_flag=True, help="Do not fetch base models.")(f)
    f = click.option("--rate-limit-wait", type=click.FloatRange(0, 3600), default=300.0, show_default=True,
                     envvar="MODELSCAN_RATE_LIMIT_WAIT", expose_value=False, callback=_rate_limit_wait,
                     help="Longest total pause of the run for the Hub's rate limit, seconds (one anonymous "
                          "5-minute window); past it, what is left fails (exit 2). Deadlines do not tick "
                          "during the pause.")(f)
    return f


def _rate_limit_wait(ctx: click.Context, param: click.Parameter, value: float) -> float:
    from scanner.sources import ratelimit

    ratelimit.configure(max_wait=value)
    return value


def load_policy_or_exit(policy_ref: str | None, contexts: tuple[str, ...]):
    from scanner.policy.model import PolicyError, load_policy, parse_context_overrides

    try:
        policy = load_policy(policy_ref)
        return policy.with_context(parse_context_overrides(list(contexts)))
    except PolicyError as exc:
        raise fail(str(exc)) from None


def load_kb_or_exit():
    from scanner import kb

    try:
        return kb.load()
    except (OSError, ValueError, KeyError) as exc:
        raise fail(f"cannot load the license knowledge base: {exc}") from None


def evaluation_time(now: str | None) -> dt.datetime:
    value = now or os.environ.get("MODELSCAN_NOW")
    if not value:
        return dt.datetime.now(dt.timezone.utc).replace(microsecond=0)
    try:
        parsed = dt.datetime.fromisoformat(value.replace("Z", "+00:00"))
    except ValueError:
        raise fail(f"--now {value!r}: expected an ISO date or date-time") from None
    parsed = parsed if parsed.tzinfo else parsed.replace(tzinfo=dt.timezone.utc)
    return parsed.astimezone(dt.timezone.utc)


def make_sources(snapshot: Path | None, offline: bool, timeout: float, deadline: float):
    """(hub-id source, local source) for the scan."""
    from scanner.sources.local import LocalSource
    from scanner.targets import TargetError

    if snapshot is not None:
        from scanner.sources.snapshot import SnapshotSource
        try:
            return SnapshotSource(snapshot), LocalSource()
        except TargetError as exc:
            raise fail(str(exc)) from None
    from scanner.sources.hub import HubSettings, HubSource

    settings = HubSettings(read_timeout=timeout, deadline=deadline)
    try:
        return HubSource(settings, offline=True if offline else None), LocalSource()
    except OSError as exc:
        raise fail(f"cannot prepare the metadata cache: {exc}") from None


def write_output(text: str, output: Path | None) -> None:
    if output is None:
        sys.stdout.write(text)
        sys.stdout.flush()
        return
    try:
        output.parent.mkdir(parents=True, exist_ok=True)
        output.write_text(text, encoding="utf-8")
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
