"""Benchmark of the gate against a Hub that enforces a per-window quota (tests/hubserver.QuotaHub):
the Hub's rate limit scaled down from 500 calls per 5 minutes to 100 calls per 20 s, 20 ms per call.

    .venv/bin/python benchmarks/ratelimit_bench.py [--models 300] [--quota 100] [--window 20] [--jobs 12]
                                                   [--no-pacing]

Gates N models (one model_info each) in one process with the gate's worker pool and prints: models
decided and errored, wall time against the paced floor ((ceil(N/Q) - 1) x W + N x latency / workers;
target <= 1.15 x), the 429 answers (target <= 5% of N) and the Hub calls. `--no-pacing` turns the
pacer off, to show what the client did before it (retries with backoff, then errors).
"""

from __future__ import annotations

import argparse
import datetime as dt
import math
import os
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "tests"))
os.environ.setdefault("HF_HUB_DISABLE_TELEMETRY", "1")
os.environ.setdefault("HF_HUB_DISABLE_XET", "1")
os.environ.setdefault("HF_HUB_DISABLE_PROGRESS_BARS", "1")

from hubserver import QuotaHub  # noqa: E402

LATENCY = 0.02


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--models", type=int, default=300)
    ap.add_argument("--quota", type=int, default=100)
    ap.add_argument("--window", type=float, default=20.0)
    ap.add_argument("--jobs", type=int, default=None, help="default: the gate's own default")
    ap.add_argument("--no-pacing", action="store_true", help="turn the pacer off (the client before it)")
    args = ap.parse_args()

    from scanner import kb as kbmod
    from scanner.gate.discover import Reference
    from scanner.gate.runner import Gate, plan
    from scanner.policy.model import load_policy
    from scanner.scan import DEFAULT_JOBS, Scanner
    from scanner.sources import ratelimit
    from scanner.sources.hub import HubSource

    if args.no_pacing:
        ratelimit.attach = lambda client: client          # type: ignore[assignment]
    ratelimit.configure(max_wait=300.0, notify=lambda m: print("    stderr: " + m))
    n, q, w = args.models, args.quota, args.window
    jobs = args.jobs or DEFAULT_JOBS
    with QuotaHub(quota=q, window=w, latency=LATENCY) as hub, tempfile.TemporaryDirectory() as tmp:
        ids = []
        for i in range(n):
            rid = f"bench/model-{i:04d}"
            hub.add_repo(rid, {"cardData": {"license": "apache-2.0"}, "tags": ["text-generation"]})
            ids.append(rid)
        kb, policy = kbmod.load(), load_policy("default")
        source = HubSource(cache_dir=Path(tmp), token=False, endpoint=hub.url)
        scanner = Scanner(source, kb, policy, dt.datetime(2026, 11, 28, tzinfo=dt.timezone.utc), jobs=jobs)
        items = plan([Reference(rid, None, "modelscan.yaml", i + 5, "manifest") for i, rid in enumerate(ids)])
        print(f"quota Hub: {q} calls per {w:g} s window, {LATENCY * 1000:.0f} ms per call; {n} models, "
              f"{jobs} workers{'; pacing OFF' if args.no_pacing else ''}")
        t0 = time.perf_counter()
        decisions = Gate(scanner).run(items)
        wall = time.perf_counter() - t0
        errors = [d.result for d in decisions if d.result.verdict == "error"]
        floor = (math.ceil(n / q) - 1) * w + n * LATENCY / jobs
        print(f"decided {n - len(errors)}, errors {len(errors)}"
              + (f" (first: {errors[0].reasons[0][:120]})" if errors else ""))
        print(f"wall {wall:.2f} s; paced floor {floor:.2f} s; ratio {wall / floor:.3f} (target <= 1.15)")
        print(f"429 answers {hub.limited} ({hub.limited / n:.1%} of N; target <= 5%); Hub calls {hub.count()}")
        ok = not errors and wall <= 1.15 * floor and hub.limited <= 0.05 * n
    print("all targets met" if ok else "SOME TARGETS MISSED")
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
