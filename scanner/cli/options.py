"""The options the scanning commands share, declared once.

Each decorator declares a group of click options; `pass_options(cls)` (applied last, closest to
the function) gathers the values of `cls`'s fields into one frozen object, so a command takes
`opts` instead of a long list of parameters:

    @click.command()
    @click.argument("targets", nargs=-1)
    @policy_options
    @source_options
    @report_options()
    @pass_options(ScanOptions)
    def check(targets, opts: ScanOptions): ...
"""

from __future__ import annotations

import dataclasses
import functools
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Callable, TypeVar

import click

F = TypeVar("F", bound=Callable[..., Any])

FAIL_ON_HELP = "Lowest verdict that fails (exit 1)."
NOW_HELP = "Evaluate as of this time (waiver expiry); default now (or $MODELSCAN_NOW)."


@dataclass(frozen=True, kw_only=True)
class ScanOptions:
    """What every scanning command (check, gate, lock, smoke) is told: the policy and its context,
    where to read from, and how to report."""

    policy_ref: str | None
    contexts: tuple[str, ...]
    snapshot: Path | None
    offline: bool
    timeout: float
    deadline: float
    no_lineage: bool
    fail_on: str | None                 # None: the repository's, else review (scanner/ci/config.py)
    now: str | None
    fmt: str = "table"                  # one report (smoke); lock writes none
    formats: tuple[str, ...] = ()       # FORMAT[=PATH] values (check, gate): several reports in one run
    output: Path | None = None


@dataclass(frozen=True, kw_only=True)
class GateOptions(ScanOptions):
    """`gate` and `lock`: also the lockfile and how many models to scan at once."""

    jobs: int
    lock_file: Path
    gitignore: bool = True              # leave out what git ignores
    exclude: tuple[str, ...] = ()       # --exclude patterns (gitignore syntax)
    require_models: bool = False        # no model reference found: exit 2


class FormatChoice(click.Choice):
    """`--format`: the formats registered in scanner.formats.REGISTRY when the command line is
    parsed (a format registered later is offered too)."""

    def __init__(self) -> None:
        super().__init__(())

    @property   # type: ignore[override]
    def choices(self) -> tuple[str, ...]:
        from scanner import formats

        return formats.REGISTRY.names()

    @choices.setter
    def choices(self, value: Any) -> None:   # click's __init__ assigns it; the registry decides
        pass


def pass_options(cls: type[ScanOptions]) -> Callable[[F], F]:
    """Gather the parameters named like `cls`'s fields into one `cls` instance, passed as `opts`."""
    names = {f.name for f in dataclasses.fields(cls)}

    def decorate(f: F) -> F:
        @functools.wraps(f)
        def wrapper(*args: Any, **kwargs: Any) -> Any:
            values = {k: kwargs.pop(k) for k in list(kwargs) if k in names}
            return f(*args, opts=cls(**values), **kwargs)
        return wrapper  # type: ignore[return-value]
    return decorate


def policy_options(f: F) -> F:
    f = click.option("--context", "contexts", multiple=True, metavar="KEY=VALUE",
                     help="Override a policy context value, e.g. domicile=EU or monthly_active_users=800000000 "
                          "(lists comma-separated). Repeatable.")(f)
    f = click.option("--policy", "-p", "policy_ref", default=None, metavar="FILE|NAME",
                     help="Policy file, or a shipped policy name (default, permissive-only, eu-commercial, research). "
                          "Default: $MODELSCAN_POLICY, else the repository's (modelscan.yaml, pyproject.toml), "
                          "else 'default' (docs/configuration.md).")(f)
    return f


def source_options(f: F) -> F:
    f = click.option("--snapshot", type=click.Path(file_okay=False, path_type=Path), default=None,
                     help="Scan from a recorded snapshot directory (no network).")(f)
    f = click.option("--offline", is_flag=True,
                     help="No network: use the metadata cache only (like HF_HUB_OFFLINE=1).")(f)
    f = click.option("--timeout", type=click.FloatRange(0.5, 600), default=15.0, show_default=True,
                     help="Read timeout per Hub request, seconds.")(f)
    f = click.option("--deadline", type=click.FloatRange(1, 3600), default=90.0, show_default=True,
                     help="Time budget per target (its own reads, its base models, its datasets), seconds.")(f)
    f = click.option("--no-lineage", is_flag=True, help="Do not fetch base models.")(f)
    f = click.option("--rate-limit-wait", type=click.FloatRange(0, 3600), default=300.0, show_default=True,
                     envvar="MODELSCAN_RATE_LIMIT_WAIT", expose_value=False, callback=_rate_limit_wait,
                     help="Longest total pause of the run for the Hub's rate limit, seconds (one anonymous "
                          "5-minute window); past it, what is left fails (exit 2). Deadlines do not tick "
                          "during the pause.")(f)
    return f


def _rate_limit_wait(ctx: click.Context, param: click.Parameter, value: float) -> float:
    """--rate-limit-wait goes straight to the Hub transport's pacer (scanner/sources/ratelimit.py)."""
    from scanner.sources import ratelimit

    ratelimit.configure(max_wait=value)
    return value


def format_options(f: F) -> F:
    """`--format` and `--output`."""
    f = click.option("--output", "-o", type=click.Path(dir_okay=False, path_type=Path), default=None,
                     help="Write the report to FILE instead of standard output.")(f)
    f = click.option("--format", "-f", "fmt", type=FormatChoice(), default="table", show_default=True)(f)
    return f


class FormatSpec(click.ParamType):
    """`FORMAT[=PATH]`: a format registered in scanner.formats.REGISTRY when the command line is
    parsed, and optionally the file to write it to; the help lists the registered formats."""

    name = "format"

    def get_metavar(self, param: click.Parameter, ctx: click.Context | None = None) -> str:
        from scanner import formats

        return "[" + "|".join(formats.REGISTRY.names()) + "][=PATH]"

    def convert(self, value: Any, param: click.Parameter | None, ctx: click.Context | None) -> str:
        from difflib import get_close_matches

        from scanner import formats

        text = str(value)
        fmt, sep, path = text.partition("=")
        names = formats.REGISTRY.names()
        if fmt.strip().lower() not in names:
            close = get_close_matches(fmt.strip().lower(), names, n=1)
            hint = f" (did you mean {close[0]!r}?)" if close else ""
            self.fail(f"{fmt.strip()!r} is not one of {', '.join(map(repr, names))}{hint}.", param, ctx)
        if sep and not path.strip():
            self.fail(f"{text!r}: expected FORMAT=PATH", param, ctx)
        return f"{fmt.strip().lower()}{sep}{path.strip()}"


def report_options(f: F) -> F:
    """`--format FORMAT[=PATH]` (repeatable: several reports in one run) and `--output`
    (scanner/cli/outputs.py)."""
    f = click.option("--output", "-o", type=click.Path(dir_okay=False, path_type=Path), default=None,
                     help="Write the report of a single --format to FILE instead of standard output.")(f)
    f = click.option("--format", "-f", "formats", multiple=True, type=FormatSpec(),
                     help="Report format, with the file to write it to; repeatable (several reports in one run). "
                          "A format without PATH goes to standard output (one may). Default: table.")(f)
    return f


def verdict_options(fail_on_help: str = FAIL_ON_HELP, now_help: str = NOW_HELP,
                    repository: bool = True) -> Callable[[F], F]:
    """`--fail-on` and `--now` (their help differs a little between commands). With `repository`
    (check, gate, lock) --fail-on also takes `never` and defaults to the repository's
    configuration, else review (docs/configuration.md)."""
    def decorate(f: F) -> F:
        f = click.option("--now", default=None, metavar="ISO-DATE", help=now_help)(f)
        if repository:
            f = click.option("--fail-on", type=click.Choice(["review", "deny", "never"]), default=None,
                             help=fail_on_help + " never: report only (a model that could not be decided still "
                                                 "exits 2). Default: the repository's fail-on, else review.")(f)
        else:
            f = click.option("--fail-on", type=click.Choice(["deny", "review"]), default="review",
                             show_default=True, help=fail_on_help)(f)
        return f
    return decorate
