"""The format interface (pip-audit's _format shape)."""

from __future__ import annotations

from abc import ABC, abstractmethod

from scanner.result import Report


class Format(ABC):
    @abstractmethod
    def render(self, report: Report) -> str:
        """The whole report as text."""
