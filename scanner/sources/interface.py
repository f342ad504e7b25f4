"""The Source interface (pip-audit's _dependency_source shape)."""

from __future__ import annotations

from abc import ABC, abstractmethod

from scanner.evidence import Evidence
from scanner.targets import Target, TargetError  # noqa: F401  (re-exported for sources)


class Source(ABC):
    name: str = "source"

    @abstractmethod
    def fetch(self, target: Target) -> Evidence:
        """Evidence for a target; raises TargetError when the target cannot be read at all."""

    def fetch_dataset(self, repo_id: str, revision: str | None = None) -> Evidence:
        raise TargetError(f"dataset {repo_id}: not available from the {self.name} source")

    def close(self) -> None:  # noqa: B027 - an optional hook, not abstract
        """Release connections; the default has none."""
