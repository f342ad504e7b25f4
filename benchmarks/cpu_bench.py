"""Client CPU of the gate and start-up time of a snapshot check, as whole processes.

    .venv/bin/python benchmarks/cpu_bench.py [--models 1000] [--jobs 12] [--profile]

0. The floor: N bare `model_info` GETs through huggingface_hub's own HTTP session on one thread, the
   CPU per request (what the HTTP client alone costs on this machine, to read (1) against).
1. `modelscan gate` over N distinct models against the fake Hub (tests/hubserver.py, in this
   process) with 20 ms per request, cold metadata cache: the gate process's CPU (user + system)
   per model (target <= 2 ms), its wall time and the latency floor (N x 20 ms / workers).
2. `modelscan check ORG/NAME --snapshot DIR` from a recorded snapshot: whole-process wall time,
   best of 5 (target <= 0.2 s), and the same for `modelscan --version` (the interpreter and click).

--profile runs (1) under cProfile and prints where the CPU went, grouped by package, and the
functions with the most own time; and (2) with `python -X importtime`, the slowest imports.

--instructions (needs valgrind) counts the instructions each run executes (callgrind): steady where
CPU time is not (a shared or virtual machine), though blind to system calls and cache misses.
The gate's figure is per model: (I(240 models) - I(40 models)) / 200, start-up cancelled out.
Compare trees with --tree, or interleave with --compare BEFORE --rounds K: the gate is run K times
from each tree in turn (before, now, before, ...) and the medians are printed with their ratio, user
and system CPU apart. On a noisy machine only such interleaved medians compare two trees honestly.
"""

from __future__ import annotations

import argparse
import os
import shutil
import pstats
import re
import resource
import statistics
import subprocess
import sys
import tempfile
import time
from collections import defaultdict
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "tests"))

from hubserver import FakeHub  # noqa: E402

NOW = "2026-11-28T00:00:00Z"
LATENCY = 0.02


TREE = ROOT      # the checkout whose `scanner` the child processes run (--tree: another one, e.g. "before")


def env_for(url: str, home: Path, tree: Path | None = None) -> dict[str, str]:
    # As an installed package runs: with its compiled bytecode (no PYTHONDONTWRITEBYTECODE).
    env = {k: v for k, v in os.environ.items() if not k.startswith(("HF_", "HUGGING_FACE_", "MODELSCAN_"))
           and k != "PYTHONDONTWRITEBYTECODE"}
    env.update(HF_ENDPOINT=url, HF_HOME=str(home), MODELSCAN_CACHE=str(home / "cache"), CI="1",
               HF_HUB_DISABLE_TELEMETRY="1", HF_HUB_DISABLE_XET="1", MODELSCAN_NOW=NOW,
               PYTHONPATH=str(tree or TREE))
    return env


def child_cpu() -> tuple[float, float]:
    ru = resource.getrusage(resource.RUSAGE_CHILDREN)
    return ru.ru_utime, ru.ru_stime


def run_split(argv: list[str], env: dict[str, str],
              cwd: Path) -> tuple[subprocess.CompletedProcess, float, float, float]:
    """(process, wall, user CPU, system CPU) of one child run."""
    (u0, s0), t0 = child_cpu(), time.perf_counter()
    proc = subprocess.run(argv, cwd=cwd, env=env, capture_output=True, text=True)
    (u1, s1) = child_cpu()
    return proc, time.perf_counter() - t0, u1 - u0, s1 - s0


def run(argv: list[str], env: dict[str, str], cwd: Path) -> tuple[subprocess.CompletedProcess, float, float]:
    proc, wall, user, system = run_split(argv, env, cwd)
    return proc, wall, user + system


BARE = """
import os, sys, time
from huggingface_hub.utils import get_session
url, ids = sys.argv[1], sys.argv[2:]
s = get_session()
s.get(url + "/api/models/" + ids[0]).read()
t = time.process_time()
for rid in ids:
    r = s.get(url + "/api/models/" + rid)
    r.read()
print(time.process_time() - t)
"""


def bare_gets(url: str, ids: list[str], tmpd: Path) -> float:
    proc = subprocess.run([sys.executable, "-c", BARE, url, *ids], env=env_for(url, tmpd / "bare"),
                          capture_output=True, text=True)
    try:
        return float(proc.stdout.strip().splitlines()[-1])
    except (ValueError, IndexError):
        print("    bare GETs failed: " + proc.stderr.strip()[-300:])
        return float("nan")


def instructions(argv: list[str], env: dict[str, str], cwd: Path) -> int | None:
    """User-space instructions of one run under valgrind's callgrind (None when it fails)."""
    proc = subprocess.run(["valgrind", "--tool=callgrind", "--callgrind-out-file=/dev/null", *argv], cwd=cwd,
                          env=env, capture_output=True, text=True)
    m = re.search(r"Collected : (\d+)", proc.stderr)
    return int(m.group(1)) if m else None


def gate_instructions(url: str, ids: list[str], tmpd: Path, jobs: int) -> float | None:
    """Instructions per model of a cold gate: two sizes, so start-up and exit cancel out."""
    counts = []
    for n in (40, 240):
        repo = tmpd / f"repo-i{n}"
        repo.mkdir()
        (repo / "modelscan.yaml").write_text("version: 1\ndeployments:\n  - name: fleet\n    models:\n"
                                             + "".join(f"      - {r}\n" for r in ids[:n]))
        argv = [sys.executable, "-m", "scanner", "gate", "--jobs", str(jobs), "-f", "json", "-o", str(repo / "o.json")]
        count = instructions(argv, env_for(url, tmpd / f"home-i{n}"), repo)
        if count is None:
            return None
        counts.append(count)
    return (counts[1] - counts[0]) / 200


def group_of(filename: str) -> str:
    if "site-packages/" in filename:
        return filename.split("site-packages/")[1].split("/")[0].split(".")[0]
    m = re.search(r"/scanner/([a-z_]+)", filename)
    if m:
        return "scanner." + m.group(1).removesuffix(".py")
    if filename.startswith("~") or "<" in filename:
        return "builtins"
    return "stdlib:" + Path(filename).stem


def show_profile(path: Path, total_cpu: float, n: int) -> None:
    st = pstats.Stats(str(path))
    by_group: dict[str, float] = defaultdict(float)
    rows = []
    for (filename, _line, func), (_cc, nc, tt, _ct, _callers) in st.stats.items():  # type: ignore[attr-defined]
        by_group[group_of(filename)] += tt
        rows.append((tt, nc, f"{group_of(filename)}:{func}"))
    total = sum(by_group.values()) or 1.0
    print("    own time by package (cProfile, --jobs 1, whole process):")
    for g, tt in sorted(by_group.items(), key=lambda kv: -kv[1])[:14]:
        print(f"      {tt / total:6.1%}  {tt / n * 1000:6.3f} ms/model  {g}")
    print("    functions with the most own time:")
    for tt, nc, name in sorted(rows, reverse=True)[:14]:
        print(f"      {tt / total:6.1%}  {nc:8d} calls  {name}")


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--models", type=int, default=1000)
    ap.add_argument("--jobs", type=int, default=12)
    ap.add_argument("--profile", action="store_true")
    ap.add_argument("--instructions", action="store_true", help="also count instructions (valgrind)")
    ap.add_argument("--tree", type=Path, default=None, help="run another checkout's scanner (a 'before' copy)")
    ap.add_argument("--compare", type=Path, default=None, metavar="BEFORE",
                    help="interleave the gate with BEFORE's scanner, --rounds times each; print medians")
    ap.add_argument("--rounds", type=int, default=1, help="gate runs per tree (medians printed when > 1)")
    args = ap.parse_args()
    global TREE
    TREE = (args.tree or ROOT).resolve()
    n = args.models
    ok = True
    with tempfile.TemporaryDirectory(prefix="modelscan-cpu-") as tmp, FakeHub(latency=LATENCY) as hub:
        tmpd = Path(tmp)
        ids = []
        for i in range(n):
            rid = f"cpu/model-{i:04d}"
            hub.add_repo(rid, {"cardData": {"license": "apache-2.0", "language": ["en"]},
                               "tags": ["license:apache-2.0", "text-generation"], "pipeline_tag": "text-generation"})
            ids.append(rid)
        repo = tmpd / "repo"
        repo.mkdir()
        (repo / "modelscan.yaml").write_text("version: 1\ndeployments:\n  - name: fleet\n    models:\n"
                                             + "".join(f"      - {r}\n" for r in ids))
        py = [sys.executable, "-m", "scanner"]
        # warm the file system cache for the interpreter and the libraries
        run(py + ["--version"], env_for(hub.url, tmpd / "warm"), repo)
        _, _, ver_cpu = run(py + ["--version"], env_for(hub.url, tmpd / "warm"), repo)

        # 0. the floor: the same number of bare GETs through huggingface_hub's own HTTP session, in a
        #    child process (its start-up subtracted), so the gate's figure can be read against the client
        floor_cpu = bare_gets(hub.url, ids, tmpd)
        hub.reset_log()
        print(f"scanner from {TREE}; fake Hub: {LATENCY * 1000:.0f} ms per request; {n} models; --jobs {args.jobs}")
        print(f"[0] huggingface_hub session, {n} bare model_info GETs on one thread: CPU {floor_cpu / n * 1000:.2f} ms "
              "per request (the HTTP client alone, start-up excluded)")

        # 1. the gate, cold cache, whole process
        argv = py + ["gate", "--jobs", str(args.jobs), "-f", "json", "-o", str(tmpd / "out.json")]
        proc, wall, cpu = run(argv, env_for(hub.url, tmpd / "home1"), repo)
        floor = n * LATENCY / args.jobs
        print(f"[1] gate, cold cache, whole process: CPU {cpu:.2f} s = {cpu / n * 1000:.2f} ms per model "
              f"(target <= 2 ms; start-up alone {ver_cpu * 1000:.0f} ms), wall {wall:.2f} s "
              f"(latency floor {floor:.2f} s), {hub.count()} Hub requests, exit {proc.returncode}")
        ok &= proc.returncode == 0 and cpu / n <= 0.002
        if proc.returncode != 0:
            print("    " + proc.stderr.strip()[-500:])
        if args.compare or args.rounds > 1:
            trees = ([("before", args.compare.resolve())] if args.compare else []) + [("now", TREE)]
            runs: dict[str, list[tuple[float, float, float]]] = {name: [] for name, _ in trees}
            for k in range(args.rounds):
                for name, tree in trees:
                    _, w, u, sy = run_split(argv, env_for(hub.url, tmpd / f"home-r{k}-{name}", tree), repo)
                    runs[name].append((u + sy, u, sy))
                    print(f"    round {k + 1} {name:6s}: CPU {(u + sy) / n * 1000:.2f} ms per model "
                          f"(user {u / n * 1000:.2f}, system {sy / n * 1000:.2f}), wall {w:.2f} s")
            med = {name: [statistics.median(r[i] for r in rs) / n * 1000 for i in range(3)]
                   for name, rs in runs.items()}
            for name, (c, u, sy) in med.items():
                print(f"    median of {args.rounds} {name:6s}: CPU {c:.2f} ms per model "
                      f"(user {u:.2f}, system {sy:.2f})")
            if args.compare:
                print(f"    now / before: {med['now'][0] / med['before'][0]:.2f}")
        if args.instructions and shutil.which("valgrind") and n >= 240:
            per = gate_instructions(hub.url, ids, tmpd, args.jobs)
            print(f"    instructions per model (callgrind): {per / 1e6:.2f} M" if per else "    valgrind failed")
        if args.profile:
            prof = tmpd / "gate.prof"
            # cProfile sees one thread: the profiled run scans on the main thread (--jobs 1)
            pargv = [sys.executable, "-m", "cProfile", "-o", str(prof), "-m", "scanner", "gate", "--jobs", "1",
                     "-f", "json", "-o", str(tmpd / "prof.json")]
            _, _, pcpu = run(pargv, env_for(hub.url, tmpd / "home-prof"), repo)
            show_profile(prof, pcpu, n)

        # 2. one snapshot check, whole process
        snap = tmpd / "snap"
        proc, _, _ = run(py + ["record", ids[0], "--out", str(snap)], env_for(hub.url, tmpd / "home2"), repo)
        if proc.returncode != 0:
            print("record failed: " + proc.stderr.strip()[-300:])
            return 1
        walls, cpus, vwalls = [], [], []
        for _ in range(5):
            proc, w, c = run(py + ["check", ids[0], "--snapshot", str(snap), "-f", "json"],
                             env_for(hub.url, tmpd / "home3"), repo)
            walls.append(w)
            cpus.append(c)
            vwalls.append(run(py + ["--version"], env_for(hub.url, tmpd / "home3"), repo)[1])
        # CPU (user + system) is shown beside wall time: on a shared machine it is the steadier figure.
        print(f"[2] check --snapshot, whole process: {min(walls) * 1000:.0f} ms best of 5, "
              f"CPU {min(cpus) * 1000:.0f} ms (target <= 200 ms; `modelscan --version` {min(vwalls) * 1000:.0f} ms), "
              f"exit {proc.returncode}")
        ok &= min(walls) <= 0.2 and proc.returncode == 0
        if args.instructions and shutil.which("valgrind"):
            count = instructions(py + ["check", ids[0], "--snapshot", str(snap), "-f", "json"],
                                 env_for(hub.url, tmpd / "home3"), repo)
            print(f"    instructions (callgrind): {count / 1e6:.0f} M" if count else "    valgrind failed")
        if args.profile:
            env = env_for(hub.url, tmpd / "home3")
            proc = subprocess.run([sys.executable, "-X", "importtime", "-m", "scanner", "check", ids[0], "--snapshot",
                                   str(snap), "-f", "json"], cwd=repo, env=env, capture_output=True, text=True)
            rows = []
            for line in proc.stderr.splitlines():
                m = re.match(r"import time:\s+(\d+) \|\s+(\d+) \|(\s*)(\S+)", line)
                if m:
                    rows.append((int(m.group(2)), len(m.group(3)), m.group(4)))
            print("    slowest imports (cumulative, top level):")
            for cum, _depth, name in sorted((r for r in rows if r[1] <= 3), reverse=True)[:12]:
                print(f"      {cum / 1000:7.1f} ms  {name}")
    print("all targets met" if ok else "SOME TARGETS MISSED")
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
