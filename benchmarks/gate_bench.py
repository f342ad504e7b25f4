"""Benchmark of `modelscan gate` against the test fake Hub (tests/hubserver.py) with 20 ms per request.

    .venv/bin/python benchmarks/gate_bench.py [--models 200] [--memory-models 1000] [--jobs N]

Prints, for N distinct models whose repos hold a card (license in its metadata) and no license file:

1. cold cache, one model at a time (--jobs 1) and with the pool: the scan's wall time, its ratio
   (target <= 1/6) and the Hub requests per model (target <= 1.2);
2. the same models pinned, `modelscan gate --locked` with the lockfile and a warm cache, as a whole
   process: Hub requests (target 0) and wall time (target < 1 s);
3. peak memory (ru_maxrss) of a `modelscan gate` process over M models, cold (target < 300 MB).
"""

from __future__ import annotations

import argparse
import datetime as dt
import os
import subprocess
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

from hubserver import FakeHub  # noqa: E402

NOW = "2026-11-28T00:00:00Z"
LATENCY = 0.02


def add_models(hub: FakeHub, n: int, prefix: str) -> list[str]:
    ids = []
    for i in range(n):
        rid = f"{prefix}/model-{i:04d}"
        # A card whose metadata names the license, and no license file: one model_info, no file GET.
        hub.add_repo(rid, {"cardData": {"license": "apache-2.0", "language": ["en"], "tags": ["text-generation"]},
                           "tags": ["license:apache-2.0", "text-generation"], "pipeline_tag": "text-generation"})
        ids.append(rid)
    return ids


def manifest(ids: list[str], shas: dict[str, str] | None = None) -> str:
    out = ["version: 1", "deployments:", "  - name: fleet", "    models:"]
    for rid in ids:
        out.append(f"      - {rid}@{shas[rid]}" if shas else f"      - {rid}")
    return "\n".join(out) + "\n"


def env_for(hub: FakeHub, home: Path) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("HF_", "HUGGING_FACE_", "MODELSCAN_"))}
    env.update(HF_ENDPOINT=hub.url, HF_HOME=str(home), MODELSCAN_CACHE=str(home / "cache"), CI="1",
               HF_HUB_DISABLE_TELEMETRY="1", HF_HUB_DISABLE_XET="1", MODELSCAN_NOW=NOW)
    return env


def in_process_gate(hub: FakeHub, ids: list[str], cache: Path, jobs: int):
    from scanner import kb as kbmod
    from scanner.gate.discover import Reference
    from scanner.gate.runner import Gate, plan
    from scanner.policy.model import load_policy
    from scanner.scan import Scanner
    from scanner.sources.hub import HubSource

    kb, policy = kbmod.load(), load_policy("default")
    source = HubSource(cache_dir=cache, token=False, endpoint=hub.url)
    scanner = Scanner(source, kb, policy, dt.datetime(2026, 11, 28, tzinfo=dt.timezone.utc), jobs=jobs)
    items = plan([Reference(rid, None, "modelscan.yaml", i + 5, "manifest") for i, rid in enumerate(ids)])
    from huggingface_hub.utils import close_session

    close_session()                        # every run opens its own connections
    hub.reset_log()
    t0 = time.perf_counter()
    decisions = Gate(scanner).run(items)
    wall = time.perf_counter() - t0
    assert all(d.result.verdict != "error" for d in decisions), [d.result.reasons for d in decisions][:3]
    return wall, hub.count(), decisions


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--models", type=int, default=200)
    ap.add_argument("--memory-models", type=int, default=1000)
    ap.add_argument("--jobs", type=int, default=None, help="default: the gate's own default")
    args = ap.parse_args()
    n = args.models
    ok = True
    with tempfile.TemporaryDirectory(prefix="modelscan-bench-") as tmp, FakeHub(latency=LATENCY) as hub:
        tmpd = Path(tmp)
        ids = add_models(hub, n, "bench")
        print(f"fake Hub: {LATENCY * 1000:.0f} ms per request; {n} models with a card and no license file")

        # 1. cold cache: one at a time, then the pool
        in_process_gate(hub, ids[:2], tmpd / "warm-imports", 1)
        serial, serial_req, _ = in_process_gate(hub, ids, tmpd / "cold-serial", 1)
        from scanner.scan import DEFAULT_JOBS
        jobs = args.jobs or DEFAULT_JOBS
        pooled, pooled_req, decisions = in_process_gate(hub, ids, tmpd / "cold-pool", jobs)
        ratio = pooled / serial
        per_model = pooled_req / n
        print(f"[1] cold, --jobs 1: {serial:6.2f} s ({serial / n * 1000:.0f} ms/model), {serial_req} Hub requests")
        print(f"    cold, --jobs {jobs}: {pooled:6.2f} s, {pooled_req} Hub requests "
              f"({per_model:.2f} per model; target <= 1.2); ratio 1/{1 / ratio:.1f} (target <= 1/6)")
        ok &= ratio <= 1 / 6 and per_model <= 1.2
        warm_cache = tmpd / "cold-pool"

        # 2. pinned, locked, warm cache, whole process
        from scanner.gate.lock import write_lock
        from scanner.gate.runner import merge_approvals

        repo = tmpd / "repo"
        repo.mkdir()
        home = tmpd / "home"
        (home / "cache").parent.mkdir(parents=True, exist_ok=True)
        shas = {d.result.repo_id: d.result.sha for d in decisions}
        write_lock(repo / "modelscan.lock", merge_approvals(decisions, None))
        (repo / "modelscan.yaml").write_text(manifest(ids, shas))
        env = env_for(hub, home)
        env["MODELSCAN_CACHE"] = str(warm_cache)                   # the cache the pooled run warmed
        subprocess.run([sys.executable, "-m", "scanner", "--version"], env=env, capture_output=True)   # warm imports
        gate_argv = ["gate", "--locked", "-f", "json", "-o", str(tmpd / "locked.json")]
        walls = []
        for _ in range(3):
            hub.reset_log()
            t0 = time.perf_counter()
            proc = subprocess.run([sys.executable, "-m", "scanner", *gate_argv], cwd=repo, env=env,
                                  capture_output=True, text=True)
            walls.append(time.perf_counter() - t0)
            ok &= hub.count() == 0 and proc.returncode == 0
        print(f"[2] {n} pinned + --locked + warm cache, whole process: {min(walls):.2f} s best of 3 "
              f"(target < 1 s), {hub.count()} Hub requests (target 0), exit {proc.returncode}")
        if proc.returncode != 0:
            print("    " + proc.stderr.strip()[:500])
        ok &= min(walls) < 1.0

        # 3. peak memory of one gate process over many models, cold
        m = args.memory_models
        big = add_models(hub, m, "mem")
        mrepo = tmpd / "mem-repo"
        mrepo.mkdir()
        (mrepo / "modelscan.yaml").write_text(manifest(big))
        env = env_for(hub, tmpd / "mem-home")
        hub.reset_log()
        t0 = time.perf_counter()
        script = ("import resource, runpy, sys; sys.argv = ['modelscan', 'gate', '-f', 'json', '-o', sys.argv[1]]\n"
                  "try:\n    runpy.run_module('scanner', run_name='__main__')\nexcept SystemExit as e:\n"
                  "    rc = e.code\nprint(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss, rc)\n")
        proc = subprocess.run([sys.executable, "-c", script, str(tmpd / "mem.json")], cwd=mrepo, env=env,
                              capture_output=True, text=True)
        wall = time.perf_counter() - t0
        try:
            rss_kb, rc = proc.stdout.split()[-2:]
            peak = int(rss_kb) / 1024
        except ValueError:
            print(proc.stdout[-500:], proc.stderr[-500:])
            return 1
        print(f"[3] {m} models, cold, one process: peak RSS {peak:.0f} MB (target < 300 MB), {wall:.1f} s, "
              f"{hub.count()} Hub requests, exit {rc}")
        ok &= peak < 300 and rc == "0"
    print("all targets met" if ok else "SOME TARGETS MISSED")
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
