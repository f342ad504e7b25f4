"""The result model every format renders: frozen dataclasses, no logic beyond shape."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, Literal, Mapping

from scanner.findings import Finding
from scanner.vocab import VERDICTS, Verdict  # noqa: F401 - VERDICTS is re-exported

if TYPE_CHECKING:
    from scanner.kb import KnowledgeBase
    from scanner.smoke.runtime import SmokeFigures

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
    """A license that applies to a model, where it was found and, if inherited, through which bases."""
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
class LicenseRef:
    """How a report names a license it does not detail: id, version, display name."""

    id: str
    version: str | None
    name: str

    @classmethod
    def of(cls, use: LicenseUse) -> LicenseRef:
        return cls(use.id, use.version, use.name)


@dataclass(frozen=True)
class Licenses:
    """The licenses declared, detected in texts, and in effect (with the inherited ones)."""
    declared: tuple[LicenseUse, ...] = ()
    detected: tuple[LicenseUse, ...] = ()
    effective: tuple[LicenseUse, ...] = ()


@dataclass(frozen=True)
class Classification:
    """How open the model is (fully open, open weights, ...) and how free its license is."""
    openness: str = "unknown"            # fully-open | open-weights | closed | unknown
    license_freedom: str = "unknown"     # permissive | copyleft | restricted | non-commercial | unknown
    label: str = "unknown"
    evidence: tuple[str, ...] = ()
    modalities: tuple[str, ...] = ()


@dataclass(frozen=True)
class Obligation:
    """What a license asks of whoever deploys the model (a notice, a naming rule, ...)."""
    term: str
    license: str          # label for display: the license id (with its version where one is set)
    text: str
    source: str | None = None
    license_ref: LicenseRef | None = None   # how reports name the license


@dataclass(frozen=True)
class FileMatch:
    """One license file of the repository and the records its text was identified as."""
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
class LineageNode:
    """A model in the base-model graph: the target or one of its bases."""

    id: str                               # repo id (the target's id or path for the target itself)
    revision: str | None                  # commit sha read; None when unreadable
    licenses: tuple[LicenseRef, ...] = ()  # its own licenses, use policies left out
    error: str | None = None              # why it could not be read; None when it was


@dataclass(frozen=True)
class LineageEdge:
    """Child derived from parent (`relation`: finetune, quantized, merge, adapter, ...)."""

    child: str
    parent: str
    relation: str
    inferred: bool = False                # only the card's text names the parent
    evidence: str | None = None           # the words of the card that name an inferred parent


@dataclass(frozen=True)
class LineageDataset:
    """A dataset a card in the lineage lists, with its licenses (error: why it could not be read)."""

    id: str
    licenses: tuple[LicenseRef, ...] = ()
    error: str | None = None


@dataclass(frozen=True)
class LineageGraph:
    """The base-model graph of one result, from the target to its roots."""

    nodes: tuple[LineageNode, ...] = ()
    edges: tuple[LineageEdge, ...] = ()
    roots: tuple[str, ...] = ()
    datasets: tuple[LineageDataset, ...] = ()


@dataclass(frozen=True)
class Location:
    """A place that references the model: a deployment file and line (gate), the manifest line
    that deploys a checked model, or a local model folder (kind "local")."""

    file: str
    line: int | None = None
    kind: str | None = None               # manifest | vllm | k8s | python | ollama | local | ...
    column: int | None = None
    deployment: str | None = None         # the manifest deployment it belongs to
    match: str | None = None              # what matched: "--model", "MODEL_ID", "from_pretrained", ...
    revision: str | None = None           # the revision the reference pins
    extra: Mapping[str, Any] = field(default_factory=dict)   # e.g. {"quant": "Q4_K_M"} for Ollama


SmokeStatus = Literal["passed", "refused", "failed", "not-run"]


@dataclass(frozen=True)
class SmokeOutcome:
    """The smoke test of one scanned model (modelscan smoke, docs/smoke.md)."""

    status: SmokeStatus
    message: str = ""                     # one line; empty when passed
    stage: str | None = None              # failed / not-run: the stage (scan, fetch, config, load, ...)
    code: str | None = None               # refused: why (policy-review, pickle-weights-not-allowed, ...)
    revision: str | None = None           # the commit the files were read at
    source: str | None = None             # hub | local | snapshot; None when the model was not scanned
    reasons: tuple[str, ...] = ()         # refused by the policy: its reasons
    finding_codes: tuple[str, ...] = ()   # refused by the policy: the findings that decided it
    out_of_memory: bool = False
    download_seconds: float | None = None
    files: tuple[str, ...] = ()           # passed: the files loaded
    figures: SmokeFigures | None = None   # passed: what the run measured (scanner/smoke/runtime.py)


@dataclass(frozen=True)
class Result:
    """The decision on one target: verdict, reasons, licenses, findings and obligations."""
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
    lineage: LineageGraph | None = None
    locations: tuple[Location, ...] = ()
    smoke: SmokeOutcome | None = None
    provenance: Mapping[str, Any] | None = None
    openness: Openness | None = None


@dataclass(frozen=True)
class PolicyRef:
    """The policy a report was decided under: its file, name and hash."""
    path: str | None
    name: str
    hash: str


@dataclass(frozen=True)
class Report:
    """The results of one run with the tool, knowledge base and policy that produced them."""
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
