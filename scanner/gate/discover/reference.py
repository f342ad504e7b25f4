"""The types every discovery kind shares: a model reference and the error discovery raises."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Mapping

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

    def location(self) -> dict[str, Any]:
        out: dict[str, Any] = {"file": self.file, "line": self.line, "kind": self.kind}
        if self.column:
            out["column"] = self.column
        if self.deployment:
            out["deployment"] = self.deployment
        if self.detail:
            out["match"] = self.detail
        if self.revision:
            out["revision"] = self.revision
        out.update(self.extra)
        return out

