"""The `modelscan` command line. Subcommands live one per module and load lazily, so
`modelscan --help` imports neither huggingface_hub nor rich."""

from __future__ import annotations

import atexit
import gc
import importlib
import importlib.util
import os
import sys

import click

from scanner import __version__

COMMANDS = {
    "check": ("scanner.cli.check", "check", "Scan models and decide them against a policy."),
    "record": ("scanner.cli.record", "record", "Record what the Hub shows for models into a snapshot directory."),
    "identify": ("scanner.cli.identify", "identify", "Identify the licenses in license text files."),
    "licenses": ("scanner.cli.licenses", "licenses", "Browse and validate the license knowledge base."),
    "policy": ("scanner.cli.policy", "policy", "Validate and show policies."),
    "gate": ("scanner.cli.gate", "gate", "Pre-deploy gate: find the models a deployment uses and decide them."),
    "lock": ("scanner.cli.lock", "lock", "Approve the models a deployment uses into modelscan.lock."),
    "bundle": ("scanner.cli.bundle", "bundle", "Write the notices, license texts and obligations a deployment ships."),
    "smoke": ("scanner.cli.smoke", "smoke", "Load gate-approved models with transformers and run them once."),
    "ci": ("scanner.cli.ci", "ci", "CI integrations: 'modelscan ci github' is the GitHub Action's gate step."),
}


class LazyGroup(click.Group):
    def list_commands(self, ctx: click.Context) -> list[str]:
        return sorted(n for n in COMMANDS if importlib.util.find_spec(COMMANDS[n][0]) is not None)

    def get_command(self, ctx: click.Context, name: str) -> click.Command | None:
        if name not in COMMANDS:
            return None
        module, attr, _ = COMMANDS[name]
        if importlib.util.find_spec(module) is None:
            return None
        return getattr(importlib.import_module(module), attr)

    def resolve_command(self, ctx: click.Context, args: list[str]):
        name = args[0] if args else ""
        if args and self.get_command(ctx, name) is None and not name.startswith("-"):
            import difflib

            close = difflib.get_close_matches(name, self.list_commands(ctx), n=2, cutoff=0.6)
            hint = f" Did you mean {' or '.join(repr(c) for c in close)}?" if close else ""
            ctx.fail(f"No such command {name!r}.{hint}")
        return super().resolve_command(ctx, args)

    def format_commands(self, ctx: click.Context, formatter: click.HelpFormatter) -> None:
        rows = [(name, COMMANDS[name][2]) for name in self.list_commands(ctx)]
        with formatter.section("Commands"):
            formatter.write_dl(rows)


def _show_version(ctx: click.Context, param: click.Parameter, value: bool) -> None:
    """--version: the tool and the knowledge base it decides with (the hash reports carry)."""
    if not value or ctx.resilient_parsing:
        return
    click.echo(f"modelscan {__version__} (modelscan-compliance)")
    try:
        from scanner import kb

        base = kb.load()
        click.echo(f"knowledge base: {len(base)} license records, {base.digest}")
        click.echo(f"  from {base.directory}")
    except Exception as exc:  # noqa: BLE001 - the version still prints
        click.echo(f"knowledge base: not loadable ({type(exc).__name__}: {str(exc)[:200]})")
    ctx.exit(0)


@click.group(cls=LazyGroup, context_settings={"help_option_names": ["-h", "--help"], "max_content_width": 100})
@click.option("--version", is_flag=True, expose_value=False, is_eager=True, callback=_show_version,
              help="Show the version and the knowledge base's record count and hash, and exit.")
def cli() -> None:
    """License and model-card compliance for open AI models.

    Exit codes: 0 every target allowed, 1 a target denied or needing review,
    2 the tool could not decide (bad input, invalid policy, unknown target).
    """


def error_line(message: str) -> str:
    """`modelscan: error: <message>` as one safe line: the first line only, no control or bidi
    characters, no credential (scanner.textsafe, scanner.redact)."""
    from scanner.redact import redact
    from scanner.textsafe import plain

    first = message.strip().splitlines()[0] if message and message.strip() else "failed"
    return f"modelscan: error: {plain(redact(first))[:1000]}"


def fail(message: str) -> "click.exceptions.Exit":
    """Print a one-line error and exit 2."""
    click.echo(error_line(message), err=True)
    return click.exceptions.Exit(2)


def main(argv: list[str] | None = None) -> None:
    args = sys.argv[1:] if argv is None else list(argv)
    if not args:
        # A bare `modelscan` shows the help (on stdout), not a usage error squeezed into one line.
        with click.Context(cli, info_name="modelscan") as help_ctx:
            click.echo(cli.get_help(help_ctx))
        sys.exit(2)
    try:
        rc = cli.main(args=argv, prog_name="modelscan", standalone_mode=False)
    except click.exceptions.Exit as exc:
        rc = exc.exit_code
    except click.exceptions.Abort:
        click.echo("modelscan: aborted", err=True)
        rc = 2
    except click.ClickException as exc:
        # usage errors: one line, exit 2
        msg = exc.format_message().replace("\n", " ")
        ctx = getattr(exc, "ctx", None)
        hint = f" (see '{ctx.command_path} --help')" if ctx is not None else ""
        click.echo(error_line(f"{msg}{hint}"), err=True)
        rc = 2
    except KeyboardInterrupt:
        click.echo("modelscan: interrupted", err=True)
        rc = 2
    except Exception as exc:  # noqa: BLE001 - never a traceback unless asked for
        if os.environ.get("MODELSCAN_DEBUG"):
            raise
        first = (str(exc).splitlines() or [""])[0][:300]
        click.echo(error_line(f"internal error: {type(exc).__name__}: {first} "
                              "(set MODELSCAN_DEBUG=1 for a traceback)"), err=True)
        rc = 2
    sys.exit(rc if isinstance(rc, int) else 0)


def run() -> None:
    """The process entry point (the console scripts and `python -m scanner`): `main()`, then a quick
    exit. In-process callers (tests, other tools) call `main()`, which raises SystemExit as usual.

    A gate keeps every result until its reports are written. Tearing that heap down object by
    object at exit cost about a quarter of a millisecond of CPU per model, as much as writing the
    JSON report (benchmarks/cpu_bench.py). Once `main()` is done nothing is left to do but flush the
    standard streams and run the atexit handlers, so the process leaves through `os._exit`. Every
    report file is closed and the worker pool joined before `main()` returns. The cyclic collector
    runs less often during the run as well: a scan makes many small objects that live to the end."""
    gc.set_threshold(10_000, 10, 10)
    try:
        main()
        code: object = 0
    except SystemExit as exc:
        code = exc.code
    if code is None:
        rc = 0
    elif isinstance(code, int):
        rc = code
    else:                                   # sys.exit("message"), as Python itself would print it
        print(code, file=sys.stderr)
        rc = 1
    atexit._run_exitfuncs()
    for stream in (sys.stdout, sys.stderr):
        try:
            stream.flush()
        except (OSError, ValueError, AttributeError):
            pass                            # a closed pipe (`modelscan ... | head`): nothing to add
    os._exit(rc & 0xFF)
