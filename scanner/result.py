"""The result model every format renders: frozen dataclasses, no logic beyond shape."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, Mapping

from scanner.findings import Finding
from scanner.vocab import VERDICTS, Verdict  # noqa: F401 - VERDICTS is re-exported

if TYPE_CHECKING:
    from scanner.kb import KnowledgeBase

FAIL_ON = ("review", "deny", "never")   # --fail-on: the lowest verdict that fails; never = report only


def fails(verdict: str, fail_on: str = "review") -> bool:
    """Whether a verdict fails the run under --fail-on. A model that could not be decided always
    does (exit 2, even report-only: the gate fails closed); `never` lets deny and review pass."""
    if verdict == "error":
        return True
    if fail_on == "never":
        return False
    return verdict == "deny" or (verdict == "review" and fail_on == "review")


@dataclass(frozen=True)
class Origin:
    """Where a license was found."""

    kind: str            # card | card-license-name | card-license-link | tag | gate-prompt | file | base
    where: str           # "cardData.license", "LICENSE", "tag license:llama3", ...
    method: str          # metadata | alias | exact | marker
    confidence: float = 1.0
    detail: str = ""


@dataclass(frozen=True)
class LicenseUse:
    record: str | None   # record key; None when the name resolves to no record
    id: str
    version: str | None
    name: str
    kind: str = "model-license"
    category: str = "unknown"
    origins: tuple[Origin, ...] = ()
    via: tuple[str, ...] = ()     # lineage chain for inherited licenses (repo ids, derivative first)

    def ref(self) -> dict[str, Any]:
        return {"id": self.id, "version": self.version, "name": self.name}


@dataclass(frozen=True)
class Licenses:
    declared: tuple[LicenseUse, ...] = ()
    detected: tuple[LicenseUse, ...] = ()
    effective: tuple[LicenseUse, ...] = ()


@dataclass(frozen=True)
class Classification:
    openness: str = "unknown"            # fully-open | open-weights | closed | unknown
    license_freedom: str = "unknown"     # permissive | copyleft | restricted | non-commercial | unknown
    label: str = "unknown"
    evidence: tuple[str, ...] = ()
    modalities: tuple[str, ...] = ()


@dataclass(frozen=True)
class Obligation:
    term: str
    license: str          # label for display: the license id (with its version where one is set)
    text: str
    source: str | None = None
    license_ref: Mapping[str, Any] | None = None   # {id, version, name}: how reports name the license


@dataclass(frozen=True)
class FileMatch:
    path: str
    status: str
    size: int | None
    sha256: str | None
    matches: tuple[Mapping[str, Any], ...] = ()


@dataclass(frozen=True)
class MofComponent:
    """One Model Openness Framework component as the evidence shows it (scanner/openness_mof.py)."""

    id: str
    name: str
    mof_class: str                 # III | II | I: the lowest class that requires it
    type: str                      # code | data | document
    optional: bool
    status: str                    # verified | claimed (a link that was not read) | missing
    where: tuple[str, ...] = ()    # "file LICENSE", "repository github.com/o/r", "arXiv 2501.00656", ...
    license: str | None = None     # the license that governs it (record id), None when unknown
    open_license: bool | None = None   # open, type-appropriate license; None when unknown
    reason: str = ""               # why it does not count, when it does not


@dataclass(frozen=True)
class Openness:
    """MOF class (verified, and if the card's claims hold) and the OSI OSAID reading."""

    mof_class: str                 # I | II | III | none, from verified components only
    mof_class_if_claims_hold: str  # counting components the card only claims
    next_class: str | None
    missing_for_next: tuple[str, ...]
    components: tuple[MofComponent, ...]
    osaid: Mapping[str, str]       # data_information / code / parameters / overall: met | claimed | unmet
    osaid_reasons: tuple[str, ...] = ()


@dataclass(frozen=True)
class Result:
    target: str
    repo_id: str | None
    revision: str | None
    sha: str | None
    source: str
    verdict: Verdict
    reasons: tuple[str, ...] = ()
    licenses: Licenses = field(default_factory=Licenses)
    classification: Classification = field(default_factory=Classification)
    findings: tuple[Finding, ...] = ()
    obligations: tuple[Obligation, ...] = ()
    files: tuple[FileMatch, ...] = ()
    lineage: Mapping[str, Any] | None = None
    locations: tuple[Mapping[str, Any], ...] = ()
    smoke: Mapping[str, Any] | None = None
    provenance: Mapping[str, Any] | None = None
    openness: Openness | None = None


@dataclass(frozen=True)
class PolicyRef:
    path: str | None
    name: str
    hash: str


@dataclass(frozen=True)
class Report:
    schema_version: str
    tool: Mapping[str, str]
    knowledge_base: Mapping[str, Any]
    policy: PolicyRef
    evaluated_at: str
    context: Mapping[str, Any]
    results: tuple[Result, ...]
    fail_on: str = "review"                       # the lowest verdict that fails the run (or "never")
    # where the policy, the settings and the approvals came from (scanner/ci/config.py)
    configuration: Mapping[str, Any] | None = None
    # The knowledge base the results were decided with (its hash is `knowledge_base`): the AI-BOM
    # formats read license records (SPDX ids, references, URLs) from it, never from a fresh load.
    # Not part of the serialised report.
    kb: KnowledgeBase | None = field(default=None, compare=False, repr=False)

    @property
    def summary(self) -> dict[str, int]:
        counts: dict[str, int] = {v: 0 for v in VERDICTS}
        for r in self.results:
            counts[r.verdict] += 1
        counts["total"] = len(self.results)
        return counts
