"""The registry of finding codes: one place with a title, a default severity and help text.

The codes a term check raises come from the term-type registry (scanner/terms.py) and are
placed among the term findings here. SARIF rules are built from this table at run time and
the report schema's code enum is written from it by scripts/gen_schemas.py (a test keeps the
committed schema current).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Iterator, Mapping

from scanner.vocab import EFFECTS, SEVERITIES, Effect, Severity  # noqa: F401 - EFFECTS, SEVERITIES re-exported


@dataclass(frozen=True)
class Rule:
    """A finding code: its title, severity and the help the reports show."""
    code: str
    title: str
    severity: Severity
    help: str


_RULES = [
    # licenses against the policy
    Rule("license-denied", "License denied by policy", "high",
         "The policy's license deny list matches a license that binds the weights. Choose another model or change "
         "the policy."),
    Rule("license-needs-review", "License needs review", "medium",
         "The policy sends this license to a person for review (its review list, or a license it does not list)."),
    Rule("license-unknown", "License unknown", "medium",
         "No license could be identified for the weights. An unknown license is never allowed by default: find the "
         "terms and add a waiver or a record."),
    Rule("license-unresolved", "License name not in the knowledge base", "medium",
         "The card names a license the knowledge base has no record for. Add a record under licenses/ (or an alias) "
         "after reading its terms."),
    Rule("license-unverified", "License terms unverified", "medium",
         "The knowledge base record for this license is marked unverified: its terms are not settled by primary "
         "sources."),
    Rule("license-mismatch", "Card label disagrees with the license text", "medium",
         "The card's license label and the repository's own license text disagree. The text binds; the label stays "
         "in 'declared' only."),
    Rule("license-conflict-with-base", "Derivative label looser than its base", "high",
         "A derivative's declared license cannot loosen the terms of the base model it was made from; the base "
         "license stays effective."),
    Rule("license-file-unidentified", "License file not identified", "medium",
         "A license file in the repository matches no known license text well enough. Read it: its terms may bind."),
    Rule("license-text-modified", "License text modified", "medium",
         "A license file is a known license with passages added or changed (a clause added, a name swapped in). "
         "The added passages are shown; read them: they may add or change terms."),
    Rule("license-version-unspecified", "License named without its version", "low",
         "The card names a license whose id covers several texts without saying which. The model is held to the "
         "strictest of the versions it could be under (those with a primary text checked here, or the one the "
         "repository points to); the others are only mentioned. Add a license link or the license text."),
    Rule("license-from-gate-prompt", "License identified from the access-gate prompt", "info",
         "The license was identified from the text users accept in the Hub's access gate."),
    # terms against the deployment context (the term checks' own codes come from scanner/terms.py)
]
_RULES_AFTER_TERMS = [
    Rule("term-needs-review", "License term needs review", "medium",
         "The policy sends this kind of license term to a person for judgment."),
    Rule("term-denied", "License term denied by policy", "high",
         "The policy denies any license carrying this kind of term."),
    # the model itself
    Rule("model-denied", "Model denied by policy", "high", "The policy's model deny list names this model."),
    Rule("model-allowed", "Model allowed by policy", "info", "The policy's model allow list names this model "
                                                             "(pinned where a revision is given)."),
    Rule("waiver-applied", "Waiver applied", "info", "A waiver in the policy changed the verdict; it names an "
                                                     "owner, a reason and an expiry."),
    Rule("waiver-expired", "Waiver expired", "medium", "A waiver matched this model or license but its expiry date "
                                                       "has passed; it no longer applies."),
    # evidence gaps (never allow)
    Rule("card-missing", "No model card", "medium", "The repository has no README.md model card."),
    Rule("card-malformed", "Model card metadata malformed", "medium",
         "The card's YAML front matter does not parse; its metadata was not used."),
    Rule("card-yaml-aliases", "Model card YAML refused", "high",
         "The card's YAML uses aliases beyond a small budget (an expansion bomb); it was refused without expanding."),
    Rule("card-no-license", "Card declares no license", "low", "The card has no license key and no license tag."),
    Rule("file-gated", "File behind the access gate", "medium",
         "A license file needs an accepted license and a token to read. Accept the terms on the Hub and set "
         "HF_TOKEN, or scan from a recorded snapshot."),
    Rule("file-too-large", "File too large to read", "medium", "A card or license file exceeds the size limit and "
                                                               "was not read."),
    Rule("file-binary", "File is not text", "medium", "A license file is binary or not decodable text."),
    Rule("file-unreadable", "File could not be read", "medium", "A file the scan needs could not be fetched or read."),
    Rule("target-unavailable", "Target could not be read", "high",
         "The target is unknown, unreachable or has no readable evidence; the tool cannot decide (exit 2)."),
    Rule("fetch-error", "Hub request failed", "medium", "A request to the Hub failed after bounded retries; the "
                                                        "evidence is incomplete."),
    Rule("budget-exceeded", "Read budget reached", "medium",
         "A cap or the target's deadline was reached (base models or datasets past the cap, a listing past its "
         "size, the time budget of the target): what was not read may hold terms that bind. Raise --deadline or "
         "narrow the scan."),
    Rule("field-malformed", "Field of the wrong type or shape", "medium",
         "A field of the Hub's answer, a recorded snapshot or a file had the wrong type or shape (a size that is "
         "not a number, a sha that is not a commit id, values nested too deep) and was ignored; the evidence is "
         "incomplete."),
    Rule("card-duplicate-key", "Model card repeats a key", "medium",
         "The card's YAML front matter sets the same key twice; readers disagree on which value counts (most keep "
         "the last). Fix the card so that each key appears once."),
    Rule("revision-moved", "Revision differs from the approved one", "low",
         "The revision the Hub serves now is not the one the lockfile approved; the licenses are compared (drift)."),
    Rule("lineage-parent-unavailable", "Base model unavailable", "medium",
         "A base model the card names could not be read (missing, private, gated or failing); its terms may bind."),
    Rule("lineage-cycle", "Lineage cycle", "medium",
         "The base_model chain loops back on itself; the walk stops at the repeat. Fix the cards' base_model fields."),
    Rule("lineage-depth-capped", "Lineage too deep", "medium",
         "The base_model chain is longer than the depth limit; ancestors past it were not read."),
    Rule("lineage-inferred", "Base model inferred", "medium",
         "The card names no base model, but its name, tags or prose point to a model family whose license "
         "probably binds it, or its architecture is that of a family whose license would bind if the weights "
         "derive from it. Confirm the base and set base_model in the card."),
    Rule("lineage-inferred-parent", "Base model named only in the card's text", "medium",
         "The card's metadata names no such base, but its text does (a merge recipe, a link to the original of a "
         "quantization or copy). The base's terms are added; confirm it and set base_model in the card."),
    Rule("license-inferred", "License named in the card's text", "medium",
         "The card's text (a License line or section, or words in prose) names a license its metadata does not. "
         "Its terms are added; confirm it and set license in the card's metadata."),
    Rule("license-mentioned", "License mentioned in the card's text, not counted", "low",
         "The card's prose names a license without saying it applies, while the card's metadata declares "
         "another license and the repository's own license file is that license's text; the mention is not "
         "counted. Correct the card if the mention is stale, or review it if that license does apply."),
    Rule("license-choice", "License chosen from alternatives", "info",
         "The card's license is an SPDX expression with alternatives (OR); the scan took the one the policy "
         "allows best and names it. Record that choice where the model is used."),
    Rule("derivative-duty-unmet", "Derivative duty not met", "medium",
         "A base license requires something of derivatives (a name prefix, a copy of the license, a notice, passing "
         "on use restrictions) that this repository does not show."),
    Rule("openness-below-minimum", "Model Openness Framework class below the policy's minimum", "medium",
         "The components the repository and its card evidence, with open licenses of their type, do not reach the "
         "MOF class the policy's openness.min_mof_class asks for. The finding lists what is missing or not openly "
         "licensed (docs/openness.md)."),
    Rule("dataset-license", "Dataset license restricts use", "medium",
         "A dataset the card lists is under a non-commercial, research-only or unknown license, and the context is "
         "commercial. Whether it binds the weights is a legal judgment."),
    # the gate against its lockfile (docs/gate.md)
    Rule("license-drift", "License changed since approval", "high",
         "The licenses that bind the model, or the text of its license files or access-gate prompt, differ from what "
         "modelscan.lock approved. Review the new terms, then run 'modelscan lock' again (or pin the approved "
         "revision)."),
    Rule("approval-missing", "Model not approved in the lockfile", "medium",
         "The gate runs --locked but modelscan.lock has no entry for this model. Review it and run 'modelscan lock'."),
    Rule("approval-stale", "Approval made under another policy or knowledge base", "medium",
         "The policy or the license knowledge base changed since the model was approved, so the approval no longer "
         "counts and the model was decided afresh. Review the result and run 'modelscan lock' again."),
    Rule("bundle-stale", "Compliance bundle differs from the one the lockfile records", "high",
         "modelscan.lock records a compliance bundle (its digest and file hashes), and the bundle folder is missing "
         "or its files differ, or the bundle of the models deployed now would differ (a model added, removed or at "
         "another commit, a changed notice, license text or obligation). What ships would not match what was "
         "approved: review the changes, then run 'modelscan lock --bundle DIR' again (docs/bundle.md)."),
    # repository approvals (modelscan-approvals.yaml, docs/configuration.md)
    Rule("approval-applied", "Repository approval applied", "info",
         "An approval in the repository's modelscan-approvals.yaml accepted review findings of this model at this "
         "commit (it names an owner, a reason, an expiry and the finding codes it accepts; it never lifts a deny)."),
    Rule("approval-expired", "Repository approval expired", "medium",
         "An approval in modelscan-approvals.yaml matched this model and commit but its expiry date has passed."),
]

def rules_for(reg: Any) -> dict[str, Rule]:
    """Every finding code, with the codes of the term registry `reg` among the term findings."""
    term_rules = [Rule(f.code, f.title, f.severity, f.help) for f in reg.finding_specs()]
    return {r.code: r for r in [*_RULES, *term_rules, *_RULES_AFTER_TERMS]}


class _Rules(Mapping[str, Rule]):
    """Finding codes by name: the fixed ones with the term registry's codes among the term findings."""

    _cache: tuple[Any, dict[str, Rule]] | None = None

    def _all(self) -> dict[str, Rule]:
        from scanner import terms
        reg = terms.registry()
        key = (id(reg), reg.names)
        if self._cache is None or self._cache[0] != key:
            self._cache = (key, rules_for(reg))
        return self._cache[1]

    def __getitem__(self, code: str) -> Rule:
        return self._all()[code]

    def __iter__(self) -> Iterator[str]:
        return iter(self._all())

    def __len__(self) -> int:
        return len(self._all())

    def __contains__(self, code: object) -> bool:
        return code in self._all()


RULES: Mapping[str, Rule] = _Rules()


@dataclass(frozen=True)
class Finding:
    """One thing the scan found about a model, with its evidence and its effect on the verdict."""
    code: str
    message: str
    severity: str = ""
    evidence: Mapping[str, Any] = field(default_factory=dict)
    effect: Effect | None = None     # allow | review | deny: what this finding does to the verdict
    license: str | None = None       # record key when the finding is about one license

    def __post_init__(self) -> None:
        if self.code not in RULES:
            raise KeyError(f"unregistered finding code {self.code!r}")
        if not self.severity:
            object.__setattr__(self, "severity", RULES[self.code].severity)


def rule(code: str) -> Rule:
    return RULES[code]
