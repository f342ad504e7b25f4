"""`modelscan smoke TARGET...`: load approved models with transformers and run them once.

Each target is scanned and decided exactly as `modelscan check` does; with --lock the lockfile
must approve the very commit to be loaded. Only then are its files fetched (pinned to that
commit, never pickle weights or custom code the policy does not allow) and the model loaded,
run forward once and, if it generates, asked for a few greedy tokens.

Exit codes: 0 every model loaded and ran; 1 a model was refused (policy verdict, lockfile,
pickle-only weights or custom code not allowed); 2 a model could not be scanned, fetched, loaded
or run (out of memory included), or the smoke extra is not installed. The highest wins: a run
where some models pass and others are refused exits 1.
"""

from __future__ import annotations

import dataclasses
import gc
import sys
from dataclasses import replace
from pathlib import Path
from typing import Any

import click

from scanner.cli import fail
from scanner.cli.common import evaluation_time, load_kb_or_exit, load_policy_or_exit, make_sources, \
    parse_targets_or_exit, render, want_color, write_output
from scanner.cli.options import ScanOptions, format_options, pass_options, policy_options, source_options, \
    verdict_options
from scanner.result import SmokeOutcome
from scanner.smoke import INSTALL_HINT
from scanner.sources.interface import Source

EXIT = {"passed": 0, "refused": 1, "failed": 2, "not-run": 2}


class _Recorder(Source):
    """Passes fetches through and keeps the Evidence, so the smoke test sees the file list and the
    commit the verdict was made on."""

    def __init__(self, inner: Source):
        self.inner = inner
        self.name = inner.name
        self.seen: list[Any] = []

    def fetch(self, target):
        ev = self.inner.fetch(target)
        self.seen.append(ev)
        return ev

    def fetch_dataset(self, repo_id: str, revision: str | None = None):
        return self.inner.fetch_dataset(repo_id, revision)

    def close(self) -> None:
        self.inner.close()


def require_backends() -> None:
    """torch and transformers come with the `smoke` extra; exit 2 saying how to get them."""
    missing = []
    for name in ("torch", "transformers", "safetensors"):
        try:
            __import__(name)
        except ImportError:
            missing.append(name)
        except Exception as exc:  # noqa: BLE001 - a broken install is as good as none
            missing.append(f"{name} ({type(exc).__name__})")
    if missing:
        raise fail(f"modelscan smoke needs {', '.join(missing)}, which the core install leaves out: {INSTALL_HINT}")


def _load_lock(path: Path):
    try:
        from scanner.gate.lock import load_lock
    except ImportError as exc:
        raise fail(f"--lock: this install has no lockfile support ({exc})") from None
    try:
        return load_lock(path)
    except FileNotFoundError:
        raise fail(f"--lock {path}: no such file") from None
    except Exception as exc:  # noqa: BLE001 - an unreadable lock is bad input (exit 2)
        raise fail(f"--lock {path}: {str(exc).splitlines()[0] if str(exc) else type(exc).__name__}") from None


def _lock_targets(lock) -> list[str]:
    """Every model the lock approves, pinned to its approved commit."""
    return [f"{e.repo_id}@{e.revision}" for e in lock]


@click.command()
@click.argument("targets", nargs=-1, metavar="TARGET...")
@policy_options
@source_options
@click.option("--lock", "lock_path", type=click.Path(dir_okay=False, path_type=Path), default=None,
              help="Also require this lockfile to approve the exact revision loaded. With no TARGET, smoke every "
                   "model it approves, at its locked revision.")
@click.option("--device", type=click.Choice(["auto", "cuda", "cpu"]), default="auto", show_default=True,
              help="Where to run: auto picks CUDA when torch sees a GPU.")
@click.option("--dtype", type=click.Choice(["auto", "bfloat16", "float16", "float32"]), default="auto",
              show_default=True, help="auto: float32 on the CPU; bfloat16 (float16 without bf16 support) on CUDA.")
@click.option("--max-new-tokens", type=click.IntRange(0, 4096), default=16, show_default=True,
              help="Tokens to generate greedily (generative models).")
@click.option("--warmup", type=click.IntRange(0, 16), default=1, show_default=True,
              help="Untimed short generations before the timed one (TTFT and tokens/s are measured warm).")
@click.option("--prompt", default=None, help="Prompt for the forward pass and the generation.")
@format_options
@verdict_options(fail_on_help="Lowest verdict that refuses a model (review refuses unless --fail-on deny).",
                 repository=False)
@pass_options(ScanOptions)
def smoke(targets: tuple[str, ...], lock_path: Path | None, device: str, dtype: str, max_new_tokens: int,
          warmup: int, prompt: str | None, opts: ScanOptions) -> None:
    """Scan TARGETs (org/name[@revision] Hub ids, or local model folders), and load and run each one
    the policy (and --lock) allows, on a GPU when there is one.

    \b
    Examples:
      modelscan smoke mistralai/Mistral-7B-v0.1 --policy policies/default.yaml
      modelscan smoke --lock modelscan.lock --device cuda --dtype bfloat16 -f json -o smoke.json
      modelscan smoke ./my-finetune --device cpu --max-new-tokens 4
    """
    require_backends()
    from scanner.scan import Scanner
    from scanner.smoke import runtime

    lock = _load_lock(lock_path) if lock_path is not None else None
    if not targets:
        if lock is None:
            raise click.UsageError("give at least one TARGET, or --lock to smoke the models it approves")
        targets = tuple(_lock_targets(lock))
        if not targets:
            raise fail(f"--lock {lock_path}: approves no models")
    parsed = parse_targets_or_exit(targets)
    policy = load_policy_or_exit(opts)
    kb = load_kb_or_exit()
    hub, local = make_sources(opts)
    hub_rec, local_rec = _Recorder(hub), _Recorder(local)
    scanner = Scanner(hub_rec, kb, policy, evaluation_time(opts.now), local=local_rec,
                      follow_parents=not opts.no_lineage)
    options = dict(device=device, dtype=dtype, max_new_tokens=max_new_tokens, warmup=warmup,
                   prompt=prompt or runtime.DEFAULT_PROMPT)

    results, code = [], 0
    for t in parsed:
        hub_rec.seen.clear()
        local_rec.seen.clear()
        r = scanner.scan_one(t)
        seen = (local_rec if t.kind == "local" else hub_rec).seen
        outcome = smoke_one(r, seen[0] if seen else None, t, policy, lock, str(lock_path or ""),
                            opts.fail_on or "review", opts.offline, options)
        code = max(code, EXIT[outcome.status])
        results.append(dataclasses.replace(r, smoke=outcome))
        _say(r, outcome)
        _release()
    report = scanner.report(results)
    color = want_color(opts.output)
    text = render(report, opts.fmt, color=color)
    if opts.fmt == "table":
        from scanner.smoke.render import render_table
        text += render_table(report, color=color)
    write_output(text, opts.output)
    raise click.exceptions.Exit(code)


def _release() -> None:
    """Free the last model before the next one loads (its figures keep no tensors)."""
    gc.collect()
    torch = sys.modules.get("torch")
    if torch is not None and torch.cuda.is_available():
        torch.cuda.empty_cache()


def _say(r, outcome: SmokeOutcome) -> None:
    """One line per model on stderr: what CI logs show whatever the format."""
    from scanner.smoke.render import figures_line

    name = r.repo_id or r.target
    if outcome.status == "passed" and outcome.figures is not None:
        click.echo(f"modelscan: smoke passed: {name}: {figures_line(outcome.figures)}", err=True)
    elif outcome.status == "refused":
        codes = ", ".join(outcome.finding_codes) or outcome.code
        click.echo(f"modelscan: refused: {name}: {outcome.message} [{codes}]", err=True)
    else:
        click.echo(f"modelscan: error: {name}: {outcome.message}", err=True)


def smoke_one(r, ev, target, policy, lock, lock_name: str, fail_on: str, offline: bool,
              options: dict[str, Any]) -> SmokeOutcome:
    """The smoke outcome for one scanned target: its status (passed | refused | failed | not-run)
    and, when passed, the figures."""
    from scanner.smoke import approve as ap
    from scanner.smoke import runtime

    if r.verdict == "error" or ev is None:
        return SmokeOutcome("not-run", f"not scanned: {r.reasons[0] if r.reasons else 'no evidence'}", stage="scan")
    base = SmokeOutcome("not-run", revision=ev.sha, source=ev.source)
    local_path = target.path if target.kind == "local" else None
    try:
        approval = ap.approve(r, ev, policy, fail_on, lock, lock_name or "the lockfile", local_path)
        if local_path is None:
            if not (approval.repo_id and approval.sha):
                raise runtime.SmokeError("fetch", "no Hub repo id and commit to fetch the files at")
            from scanner.smoke.fetch import download
            # Config and tokenizer first: custom code or an unknown architecture are caught before
            # any weights are fetched.
            folder, meta_s = download(approval.repo_id, approval.sha, approval.metadata_files + approval.code_files,
                                      offline)
            _check_config(folder, approval)
            folder, weights_s = download(approval.repo_id, approval.sha, approval.weight_files, offline)
            base = replace(base, download_seconds=round(meta_s + weights_s, 3))
        else:
            folder = local_path
            _check_config(folder, approval)
        files = approval.metadata_files + approval.code_files + approval.weight_files
        figures = runtime.smoke_dir(str(folder), trust_remote_code=approval.trust_remote_code,
                                    allow_pickle=approval.allow_pickle, files=files, **options)
    except ap.Refusal as exc:
        return replace(base, status="refused", code=exc.code, message=str(exc), reasons=tuple(exc.reasons),
                       finding_codes=tuple(exc.finding_codes))
    except runtime.SmokeRefused as exc:
        return replace(base, status="refused", code=exc.code, message=str(exc))
    except runtime.SmokeError as exc:
        return replace(base, status="failed", stage=exc.stage, message=f"{exc.stage}: {exc}",
                       out_of_memory=bool(exc.out_of_memory))
    except MemoryError:
        return replace(base, status="failed", stage="memory", out_of_memory=True,
                       message="memory: out of memory outside the model's stages")
    return replace(base, status="passed", files=tuple(files), figures=figures)


def _check_config(folder: Path, approval) -> None:
    from scanner.smoke import runtime

    config = runtime.read_json(str(Path(folder) / "config.json"))
    if config is None:
        raise runtime.SmokeError("config", "no config.json; transformers cannot tell what model this is")
    runtime.check_remote_code(config, runtime.read_json(str(Path(folder) / "tokenizer_config.json")),
                              approval.trust_remote_code)
    runtime.plan_model(config, approval.trust_remote_code)
