"""The closed vocabularies of the result model, as types: verdicts, finding effects and severities,
and how much each verdict or effect blocks (the rank the policy engine and the gate both use)."""

from __future__ import annotations

from typing import Iterable, Literal, get_args

Verdict = Literal["allow", "review", "deny", "error"]
Effect = Literal["allow", "review", "deny"]          # what a finding does to the verdict
Severity = Literal["info", "low", "medium", "high", "critical"]

VERDICTS: tuple[Verdict, ...] = get_args(Verdict)
EFFECTS: tuple[Effect, ...] = get_args(Effect)
SEVERITIES: tuple[Severity, ...] = get_args(Severity)

RANK: dict[str | None, int] = {None: 0, "allow": 0, "review": 1, "deny": 2}   # how much a verdict or effect blocks
_BY_RANK: dict[int, Effect] = {0: "allow", 1: "review", 2: "deny"}


def verdict_from_rank(rank: int) -> Effect:
    """The verdict a rank stands for: 0 allow, 1 review, 2 deny."""
    return _BY_RANK[rank]


def worst_rank(effects: Iterable[str | None]) -> int:
    """The highest rank among verdicts or effects (0 when there are none)."""
    return max((RANK[e] for e in effects), default=0)
