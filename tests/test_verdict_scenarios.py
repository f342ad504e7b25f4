"""The scenario benchmark (benchmarks/scenarios.yaml) as a regression suite.

Every scenario is a realistic deployment with the verdict a careful reader of the license text gives.
No scenario the reader says needs review or is denied may come out `allow`, known gaps included;
scenarios marked `gap` are known disagreements left out of the exact-agreement test until the
scanner is fixed. The share of scenarios right must not fall below the file's `min_share`.
"""

from __future__ import annotations

import pytest
from support.modules import load_module
from support.paths import TEXTS

verdict_bench = load_module("benchmarks/verdict_bench.py")

DATA = verdict_bench.load_scenarios()
SCENARIOS = DATA["scenarios"]


@pytest.fixture(scope="module")
def outcomes():
    return {o.scenario["id"]: o for o in verdict_bench.run_all(DATA)}


def test_scenarios_are_well_formed():
    assert len(SCENARIOS) >= 60
    families = {s["family"] for s in SCENARIOS}
    assert len(families) >= 15
    for s in SCENARIOS:
        assert s["expect"] in ("allow", "review", "deny"), s["id"]
        assert ("hub" in s) != ("card" in s), s["id"]
        assert s["basis"].get("section"), s["id"]
    # every reader's file is a corpus text name (checked against the corpus when it is present)
    if TEXTS.is_dir():
        missing = {s["basis"]["file"] for s in SCENARIOS if s["basis"].get("file")} - {p.name for p in TEXTS.iterdir()}
        assert not missing


@pytest.mark.parametrize("sid", [s["id"] for s in SCENARIOS])
def test_scenario_is_never_looser_than_the_reader(outcomes, sid):
    """Holds for every scenario, known gaps included: a gap may only be stricter than the reader."""
    o = outcomes[sid]
    assert o.got in ("allow", "review", "deny"), f"{sid}: the scanner refused the scenario: {o.detail}"
    if o.scenario["expect"] != "allow":
        assert o.got != "allow", f"{sid}: reader says {o.scenario['expect']} ({o.scenario['basis']}), scanner allows"


def test_share_right_does_not_fall(outcomes):
    share = verdict_bench.share(list(outcomes.values()))
    assert share >= DATA["min_share"], verdict_bench.report(list(outcomes.values()))


def test_scenarios_without_a_gap_agree_with_the_reader(outcomes):
    """A scenario not marked as a known gap must give exactly the reader's verdict."""
    wrong = [f"{o.scenario['id']}: reader {o.scenario['expect']}, scanner {o.got} ({o.detail[:160]})"
             for o in outcomes.values() if not o.scenario.get("gap") and not o.right]
    assert not wrong, "\n".join(wrong)
