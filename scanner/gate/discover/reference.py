"""The types every discovery kind shares: a model reference and the error discovery raises."""

from __future__ import annotations

import contextvars

from dataclasses import dataclass, field
from typing import Any, Mapping

from scanner.result import Location

KINDS = ("manifest", "vllm", "compose", "k8s", "tgi", "ollama", "python")   # what Reference.kind may be


class DiscoveryError(Exception):
    """A path that cannot be read or a manifest that is invalid; one line, naming file and line."""


@dataclass(frozen=True)
class Reference:
    """One place a deployment names a Hub model."""

    repo_id: str
    revision: str | None
    file: str
    line: int
    kind: str                           # one of KINDS
    column: int | None = None
    deployment: str | None = None       # the manifest deployment it belongs to
    context: Mapping[str, Any] | None = None   # that deployment's policy-context overrides
    detail: str = ""                    # what matched: "--model", "MODEL_ID", "from_pretrained", ...
    extra: Mapping[str, Any] = field(default_factory=dict)   # e.g. {"quant": "Q4_K_M"} for Ollama

    def location(self) -> Location:
        return Location(self.file, self.line, self.kind, self.column or None, self.deployment or None,
                        self.detail or None, self.revision or None, self.extra)



class FileProblem(Exception):
    """A deployment file that could not be read or parsed in full (not a regular file, over its
    budget, nested too deep, a key set twice): a review-level finding at that file, while the rest
    of the tree is still decided. str() is the one-line reason."""

    def __init__(self, file: str, message: str, line: int = 1, kind: str = ""):
        super().__init__(message)
        self.file = file
        self.line = line
        self.kind = kind


_NOTED: contextvars.ContextVar[list[FileProblem] | None] = contextvars.ContextVar("modelscan_file_problems",
                                                                                   default=None)


def note_problem(problem: FileProblem) -> None:
    """Record a problem with the file being read while its references are still kept (a parser
    calls this; `discover` collects them). Without a collector the problem is raised."""
    noted = _NOTED.get()
    if noted is None:
        raise problem
    noted.append(problem)


def collecting(into: list[FileProblem]) -> contextvars.Token:
    return _NOTED.set(into)


def stop_collecting(token: contextvars.Token) -> None:
    _NOTED.reset(token)
