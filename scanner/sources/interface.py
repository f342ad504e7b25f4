"""The Source interface (pip-audit's _dependency_source shape)."""

from __future__ import annotations

from abc import ABC, abstractmethod

from scanner.evidence import Evidence
from scanner.sources.http import Deadline
from scanner.targets import Target, TargetError  # noqa: F401  (re-exported for sources)


class Source(ABC):
    name: str = "source"

    @abstractmethod
    def fetch(self, target: Target) -> Evidence:
        """Evidence for a target; raises TargetError when the target cannot be read at all."""

    def fetch_dataset(self, repo_id: str, revision: str | None = None) -> Evidence:
        raise TargetError(f"dataset {repo_id}: not available from the {self.name} source")

    def fetch_within(self, target: Target, deadline: Deadline, suggest: bool = True) -> Evidence:
        """fetch() within a target's deadline (sources that read no network may ignore it);
        `suggest=False`: an unknown repo needs no "did you mean" (a base model named by a card)."""
        return self.fetch(target)

    def dataset_within(self, repo_id: str, revision: str | None, deadline: Deadline) -> Evidence:
        return self.fetch_dataset(repo_id, revision)

    def close(self) -> None:  # noqa: B027 - an optional hook, not abstract
        """Release connections; the default has none."""
