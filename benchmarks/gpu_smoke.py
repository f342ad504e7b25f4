#!/usr/bin/env python3
"""GPU check for `modelscan smoke`: build a Llama of about 1.1B parameters from a config (random
weights, no download), save it with a locally built tokenizer, then run the smoke runtime on it
(load from disk, one forward pass, greedy generation) on CUDA in bfloat16 and print the figures.

Needs only torch and transformers (and tokenizers, which transformers brings): the scanner's own
modules are loaded by file path, and scanner/__init__.py and the scanner's other dependencies
(yaml, click, rich, jsonschema) are never imported.

    python benchmarks/gpu_smoke.py                       # CUDA, bfloat16, ~1.1B parameters
    python benchmarks/gpu_smoke.py --device cpu --tiny   # the same path on the CPU, a tiny model
    python benchmarks/gpu_smoke.py --json                # figures as JSON only

Exit 0 when it ran (or, with a message, when there is no CUDA device and --device cuda was asked
for: nothing to measure), 2 when the model failed to load or run.
"""

from __future__ import annotations

import argparse
import importlib.util
import json
import os
import shutil
import sys
import tempfile
import time

HERE = os.path.dirname(os.path.abspath(__file__))
SMOKE = os.path.join(os.path.dirname(HERE), "scanner", "smoke")


def _load(name: str):
    """scanner/smoke/<name>.py as a module of its own, without importing the scanner package."""
    spec = importlib.util.spec_from_file_location(f"modelscan_smoke_{name}", os.path.join(SMOKE, f"{name}.py"))
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module
    spec.loader.exec_module(module)
    return module


def _mib(n) -> str:
    return "-" if n is None else f"{n / 2**20:,.1f} MiB"


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0],
                                 formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--device", default="cuda", choices=("cuda", "cpu", "auto"))
    ap.add_argument("--dtype", default="bfloat16", choices=("auto", "bfloat16", "float16", "float32"))
    ap.add_argument("--tiny", action="store_true", help="a tiny model (seconds on a CPU) instead of ~1.1B")
    ap.add_argument("--max-new-tokens", type=int, default=32)
    ap.add_argument("--keep", metavar="DIR", help="save the model here and keep it (default: a temp dir)")
    ap.add_argument("--json", action="store_true", help="print the figures as JSON only")
    args = ap.parse_args(argv)

    try:
        import torch
        import transformers
    except ImportError as exc:
        print(f"gpu_smoke: needs torch and transformers ({exc}); pip install torch transformers", file=sys.stderr)
        return 2
    if args.device == "cuda" and not torch.cuda.is_available():
        why = "built without CUDA" if torch.version.cuda is None else f"CUDA {torch.version.cuda}, no usable GPU"
        print(f"gpu_smoke: no CUDA device (torch {torch.__version__}, {why}): nothing to measure. "
              "Run with --device cpu --tiny to check the CPU path.")
        return 0
    runtime = _load("runtime")
    synthetic = _load("synthetic")
    device = runtime.resolve_device(args.device)
    build_dtype = runtime.resolve_dtype(args.dtype, device)
    size = "tiny" if args.tiny else "1b"

    say = (lambda *a: None) if args.json else print
    say(f"gpu_smoke: torch {torch.__version__}, transformers {transformers.__version__}, device {device}"
        + (f" ({torch.cuda.get_device_name(0)})" if device.startswith("cuda") else ""))
    workdir = args.keep or tempfile.mkdtemp(prefix="gpu-smoke-")
    try:
        t0 = time.perf_counter()
        model = synthetic.build("llama", size, dtype=build_dtype, device=device)
        n_params = sum(p.numel() for p in model.parameters())
        t1 = time.perf_counter()
        synthetic.save(model, workdir)
        t2 = time.perf_counter()
        del model
        if device.startswith("cuda"):
            torch.cuda.empty_cache()
        say(f"built a random Llama ({n_params / 1e6:,.1f}M parameters) in {t1 - t0:.1f} s, saved in {t2 - t1:.1f} s")
        try:
            fig = runtime.smoke_dir(workdir, device=device, dtype=args.dtype, max_new_tokens=args.max_new_tokens)
        except (runtime.SmokeError, runtime.SmokeRefused) as exc:
            print(f"gpu_smoke: smoke failed: {exc}", file=sys.stderr)
            return 2
    finally:
        if not args.keep:
            shutil.rmtree(workdir, ignore_errors=True)

    figures = fig.as_dict()
    if args.json:
        print(json.dumps(figures, indent=2))
        return 0
    rows = [
        ("model", f"{fig.model_class} ({fig.task})"),
        ("parameters", f"{fig.parameters:,}"),
        ("dtype / device", f"{fig.dtype} / {fig.device}"),
        ("weights", f"{fig.weights_format}, {_mib(fig.weights_bytes)}"),
        ("load", f"{fig.load_seconds:.3f} s"),
        ("forward", f"{fig.forward_seconds:.3f} s ({fig.prompt_tokens} prompt tokens)"),
        ("peak memory", f"{_mib(fig.peak_memory_bytes)} ({fig.memory_kind}; +{_mib(fig.memory_delta_bytes)} "
                        "over the baseline)"),
        ("time to first token", f"{fig.time_to_first_token_seconds:.3f} s"),
        ("tokens per second", f"{fig.tokens_per_second:.1f} ({fig.new_tokens} new tokens, greedy)"),
    ]
    for key, value in rows:
        print(f"  {key:<20} {value}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
