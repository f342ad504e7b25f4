"""MOF class of the example models (and, with --corpus, of the corpus records) against the Model
Openness Tool's own records (benchmarks/mof_reference.yaml). Prints one line per model and the figures.

    PYTHONPATH=. python benchmarks/mof_bench.py [--corpus]
"""

from __future__ import annotations

import argparse
import datetime as dt
import sys
from collections import Counter
from pathlib import Path

import yaml

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

NOW = dt.datetime(2026, 11, 28, tzinfo=dt.timezone.utc)


def example_ids() -> list[str]:
    base = ROOT / "examples" / "hub" / "models"
    return sorted(f"{o.name}/{m.name}" for o in base.iterdir() if o.is_dir() for m in o.iterdir() if m.is_dir())


def scan_examples(ids: list[str]) -> dict:
    from scanner import kb as kbmod
    from scanner.policy.model import load_policy
    from scanner.scan import Scanner
    from scanner.sources.snapshot import SnapshotSource

    scanner = Scanner(SnapshotSource(ROOT / "examples" / "hub"), kbmod.load(), load_policy("default"), NOW)
    return {r.target: r for r in scanner.scan(ids).results}


def scan_corpus(tmp: Path) -> dict:
    sys.path.insert(0, str(ROOT / "tests"))
    sys.path.insert(0, str(ROOT / "scripts"))
    import corpus_facts
    from hubserver import FakeHub

    from scanner import kb as kbmod
    from scanner.policy.model import load_policy
    from scanner.scan import Scanner
    from scanner.sources.hub import HubSettings, HubSource

    shared = corpus_facts.default_shared_dir()
    records = corpus_facts.load_records(shared / "corpus" / "model-cards")
    with FakeHub() as hub:
        for rec in records.values():
            spec = corpus_facts.repo_spec(rec, shared / "corpus" / "license-texts")
            hub.add_repo(spec.repo_id, spec.model_info, spec.files)
        source = HubSource(HubSettings(read_timeout=5, deadline=30, attempts=1, backoff=0.05), cache_dir=tmp,
                           token=False, endpoint=hub.url)
        scanner = Scanner(source, kbmod.load(), load_policy("default"), NOW, follow_parents=False)
        return {rid: scanner.scan_one(rid) for rid in records}


def main() -> int:
    ap = argparse.ArgumentParser()
    ap.add_argument("--corpus", action="store_true", help="also scan the shared corpus records (fake Hub)")
    args = ap.parse_args()
    ref = yaml.safe_load((ROOT / "benchmarks" / "mof_reference.yaml").read_text(encoding="utf-8"))["models"]
    results = scan_examples(example_ids())
    if args.corpus:
        import tempfile
        with tempfile.TemporaryDirectory() as tmp:
            results.update({k: v for k, v in scan_corpus(Path(tmp)).items() if k not in results})
    classes: Counter[str] = Counter()
    agree = compared = 0
    for target, r in sorted(results.items()):
        o = r.openness
        got = o.mof_class if o else "error"
        claims = o.mof_class_if_claims_hold if o else "error"
        classes[got] += 1
        mot = ref.get(target, {}).get("mot_class")
        mark = ""
        if mot is not None:
            compared += 1
            agree += got == mot
            mark = f"  MOT {mot} ({ref[target]['mot_model']}) {'agree' if got == mot else 'DISAGREE'}"
        first = o.missing_for_next[0] if o and o.missing_for_next else ""
        print(f"{target:55} {got:4} claims:{claims:4} two-axis:{r.classification.label:35}{mark}  [{first}]")
    print(f"\nmodels: {len(results)}; MOF classes: {dict(sorted(classes.items()))}")
    print(f"compared with MOT records: {compared}; agree: {agree}; disagree: {compared - agree}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
