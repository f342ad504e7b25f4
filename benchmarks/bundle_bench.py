"""Bundle of the example snapshot's models: time, size, and a check that every obligation of every
report has its line in the bundle's OBLIGATIONS.md and obligations.json. Then what `lock --bundle`
and `gate --locked` add: writing the folder, reading it back, and the stale-bundle check (it must
find the folder current, and stale after one byte of NOTICE changes).

    PYTHONPATH=. python benchmarks/bundle_bench.py
"""

from __future__ import annotations

import datetime as dt
import json
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))


def main() -> int:
    from mof_bench import example_ids

    from scanner import kb as kbmod
    from scanner.bundle import BundleInput, build, chain_of, digest
    from scanner.policy.model import load_policy
    from scanner.scan import Scanner, hub_target
    from scanner.sources.snapshot import SnapshotSource

    kb, policy = kbmod.load(), load_policy("default")
    scanner = Scanner(SnapshotSource(ROOT / "examples" / "hub"), kb, policy,
                      dt.datetime(2026, 11, 28, tzinfo=dt.timezone.utc))
    t0 = time.perf_counter()
    items = []
    for repo in example_ids():
        ev = scanner.fetch(hub_target(repo))
        graph = scanner.lineage_graph(ev)
        result = scanner.decide(ev, graph)
        items.append(BundleInput(result, chain_of(result, ev, graph)))
    t1 = time.perf_counter()
    files = build(items, kb, dict(policy.context))
    t2 = time.perf_counter()
    md = files["OBLIGATIONS.md"].decode()
    doc = json.loads(files["obligations.json"])
    rows = {(m["model"], r["term"], r["text"]) for m in doc["models"] for rs in m["checklist"].values() for r in rs}
    total = missing = 0
    for it in items:
        for o in it.result.obligations:
            total += 1
            if o.text not in md or (it.result.repo_id, o.term, o.text) not in rows:
                missing += 1
                print("missing:", it.result.repo_id, o.term)
    print(f"models: {len(items)}; scan {t1 - t0:.2f}s; bundle {1000 * (t2 - t1):.1f} ms; files {len(files)}; "
          f"bytes {sum(len(b) for b in files.values())}; summary {doc['summary']}")
    print(f"obligations in reports: {total}; with their line in the bundle: {total - missing}; digest {digest(files)}")
    import tempfile

    from scanner.bundle import file_hashes
    from scanner.gate.bundlecheck import check
    from scanner.gate.lock import LockedBundle
    from scanner.sources.bundledir import read_bundle, write_bundle

    with tempfile.TemporaryDirectory() as tmp:
        out = Path(tmp) / "compliance"
        t3 = time.perf_counter()
        write_bundle(out, files)
        t4 = time.perf_counter()
        read = read_bundle(out)
        recorded = LockedBundle("compliance", digest(files), file_hashes(files))
        status, findings = check(recorded, "compliance", "modelscan.lock", read.exists, read.files, read.problems,
                                 files)
        t5 = time.perf_counter()
        (out / "NOTICE").write_bytes(files["NOTICE"] + b"x")
        read = read_bundle(out)
        status2, _ = check(recorded, "compliance", "modelscan.lock", read.exists, read.files, read.problems, files)
    print(f"write the folder {1000 * (t4 - t3):.1f} ms; read it back and check it {1000 * (t5 - t4):.1f} ms: "
          f"{status} ({len(findings)} finding(s)); after one NOTICE byte: {status2}")
    return 1 if missing or status != "current" or status2 != "stale" else 0


if __name__ == "__main__":
    raise SystemExit(main())
