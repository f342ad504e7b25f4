"""Scenario benchmark: does the gate give the verdict a careful reader of the license texts gives?

    python benchmarks/verdict_bench.py [--scenarios benchmarks/scenarios.yaml] [--only ID ...] [-v]

Runs every scenario of benchmarks/scenarios.yaml through `modelscan check` offline (in process): a
Hub id from the shipped snapshot examples/hub, or a local model folder built on the fly from the
scenario's card front matter; the scenario's policy and `--context` overrides. Prints the share of
scenarios whose verdict matches the reader's, the share per license family, and each disagreement
with the reader's section. A scenario the scanner refuses (exit 2, e.g. a context key or value the
policy schema does not know yet) counts as a disagreement.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import tempfile
from collections import defaultdict
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import yaml

ROOT = Path(__file__).resolve().parents[1]
SCENARIOS = ROOT / "benchmarks" / "scenarios.yaml"
EXAMPLES = ROOT / "examples" / "hub"
NOW = "2026-11-28T00:00:00Z"


@dataclass(frozen=True)
class Outcome:
    scenario: dict[str, Any]
    got: str                 # allow / review / deny, or "error"
    detail: str              # the reasons (or the error line)

    @property
    def right(self) -> bool:
        return self.got == self.scenario["expect"]


def load_scenarios(path: Path = SCENARIOS) -> dict[str, Any]:
    data = yaml.safe_load(path.read_text(encoding="utf-8"))
    ids = [s["id"] for s in data["scenarios"]]
    dupes = {i for i in ids if ids.count(i) > 1}
    if dupes:
        raise ValueError(f"duplicate scenario ids: {sorted(dupes)}")
    return data


def _context_value(value: Any) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, (list, tuple)):
        return ",".join(str(v) for v in value)
    return str(value)


def cli_args(s: dict[str, Any], workdir: Path) -> list[str]:
    """The `modelscan check` arguments for a scenario (builds its local folder when it has a card)."""
    if "hub" in s:
        target = s["hub"]
    else:
        folder = workdir / s["id"]
        folder.mkdir(parents=True, exist_ok=True)
        front = yaml.safe_dump(s["card"], sort_keys=False)
        (folder / "README.md").write_text(f"---\n{front}---\n# {s['id']}\n\nA scenario model.\n", encoding="utf-8")
        target = str(folder)
    args = ["check", target, "--snapshot", str(EXAMPLES), "--format", "json", "--now", NOW]
    if s.get("policy"):
        args += ["--policy", s["policy"]]
    for key, value in (s.get("context") or {}).items():
        args += ["--context", f"{key}={_context_value(value)}"]
    return args


def run_scenario(s: dict[str, Any], workdir: Path) -> Outcome:
    from click.testing import CliRunner

    from scanner.cli import cli

    result = CliRunner().invoke(cli, cli_args(s, workdir), catch_exceptions=True)
    out = result.output or ""
    if result.exception is not None and not isinstance(result.exception, SystemExit):
        return Outcome(s, "error", f"{type(result.exception).__name__}: {result.exception}")
    try:
        report = json.loads(out[out.index("{"):])
        res = report["results"][0]
    except (ValueError, KeyError, IndexError):
        line = next((ln for ln in out.splitlines() if ln.strip()), f"exit {result.exit_code}")
        return Outcome(s, "error", line.strip())
    return Outcome(s, res["verdict"], "; ".join(res.get("reasons") or ()) or "(no reasons)")


def run_all(data: dict[str, Any], only: set[str] | None = None) -> list[Outcome]:
    os.environ.setdefault("HF_HUB_DISABLE_TELEMETRY", "1")
    os.environ.setdefault("HF_HUB_OFFLINE", "1")
    with tempfile.TemporaryDirectory(prefix="modelscan-scenarios-") as tmp:
        os.environ.setdefault("MODELSCAN_CACHE", str(Path(tmp) / "cache"))
        return [run_scenario(s, Path(tmp)) for s in data["scenarios"] if not only or s["id"] in only]


def share(outcomes: list[Outcome]) -> float:
    return sum(o.right for o in outcomes) / len(outcomes) if outcomes else 0.0


def report(outcomes: list[Outcome], verbose: bool = False) -> str:
    lines = [(f"scenarios: {len(outcomes)}  right: {sum(o.right for o in outcomes)}  "
             f"share right: {share(outcomes):.1%}")]
    unsafe = [o for o in outcomes if o.got == "allow" and o.scenario["expect"] != "allow"]
    lines.append(f"allowed where the reader says review/deny: {len(unsafe)}")
    fams: dict[str, list[Outcome]] = defaultdict(list)
    for o in outcomes:
        fams[o.scenario["family"]].append(o)
    lines.append("per family:")
    for fam, outs in sorted(fams.items()):
        lines.append(f"  {fam:<12} {sum(o.right for o in outs):>2}/{len(outs):<2} {share(outs):6.1%}")
    wrong = [o for o in outcomes if not o.right]
    lines.append(f"disagreements ({len(wrong)}):")
    for o in wrong:
        b = o.scenario.get("basis") or {}
        lines.append(f"  {o.scenario['id']}: reader {o.scenario['expect']}, scanner {o.got}"
                     f"  [{b.get('file') or 'no corpus text'}: {b.get('section')}]")
        lines.append(f"      {o.detail[:300]}")
    if verbose:
        lines.append("agreements:")
        lines += [f"  {o.scenario['id']}: {o.got}" for o in outcomes if o.right]
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--scenarios", type=Path, default=SCENARIOS)
    ap.add_argument("--only", nargs="*", default=None)
    ap.add_argument("-v", "--verbose", action="store_true")
    ns = ap.parse_args(argv)
    sys.path.insert(0, str(ROOT))
    outcomes = run_all(load_scenarios(ns.scenarios), set(ns.only) if ns.only else None)
    print(report(outcomes, ns.verbose))
    return 0


if __name__ == "__main__":
    sys.exit(main())
