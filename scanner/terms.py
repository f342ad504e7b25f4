"""The registry of license term types and deployment-context keys: one entry per type.

A term type is its name, its check against the deployment context (none for a duty-only
type), the finding code a failed check raises, its default policy mode, the context keys the
check reads and the JSON Schema of its parameters. From this table come the license schema's
term definition, the policy schema's `terms` keys and `context`, `DEFAULT_TERMS`, the engine's
checks, the term entries of the finding registry and the report schema's enums: the schemas
are written by `scripts/gen_schemas.py` and a test keeps the committed ones current.

A check reads a term and the context and returns (outcome, message):
  deny     the text bans outright what the context states;
  review   the text is narrower than what the context states (a condition to judge);
  unknown  the context lacks what the check needs (review, with the missing key named);
  ok       the context keeps to the term (the message becomes an obligation).
"""

from __future__ import annotations

from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, Literal

from scanner.regions import REGIONS, expand_regions

if TYPE_CHECKING:   # the checks only read attributes; importing them here would be a cycle
    from scanner.kb import Term
    from scanner.result import Classification

Outcome = Literal["deny", "review", "unknown", "ok"]
Check = Callable[["Term", Mapping[str, Any], "Classification"], "tuple[Outcome, str]"]
MODES = ("enforce", "deny", "review", "obligation", "ignore")


@dataclass(frozen=True)
class FindingSpec:
    """A finding code a term check raises (entered into scanner.findings.RULES)."""
    code: str
    title: str
    severity: str
    help: str


@dataclass(frozen=True)
class ContextKey:
    """A key of the deployment context a policy sets, with its schema."""
    name: str
    schema: Mapping[str, Any]
    description: str


@dataclass(frozen=True)
class TermType:
    """A kind of license term: its default policy mode and how it is checked."""
    name: str
    description: str
    mode: str = "obligation"                       # default policy mode
    check: Check | None = None                     # None: duty-only, listed as an obligation
    finding: FindingSpec | None = None             # raised when the check says deny or review
    context: tuple[str, ...] = ()                  # context keys the check reads
    params: Mapping[str, Mapping[str, Any]] = field(default_factory=dict)   # JSON Schema per parameter
    required: tuple[str, ...] = ()                 # parameters every term of this type carries
    one_of_required: tuple[str, ...] = ()          # at least one of these parameters


# ---- context keys ----------------------------------------------------------------------------

USE_CASES = (
    "chat", "assistant", "agents", "code-generation", "content-generation", "summarization", "translation",
    "search", "rag", "classification", "embedding", "moderation", "internal-tools", "customer-support",
    "research", "evaluation", "education", "fine-tuning", "distillation", "synthetic-data", "medical", "legal",
    "finance", "hr", "biometric", "surveillance", "military", "critical-infrastructure", "hosting",
    "law-enforcement", "immigration", "justice", "transportation", "housing", "insurance", "employment",
    "tracking",
)
MODALITIES = ("text", "image", "audio", "video", "3d")
RESEARCH_USES = frozenset({"research", "evaluation"})

_REGION = {"$ref": "#/$defs/region"}
CONTEXT_KEYS: tuple[ContextKey, ...] = (
    ContextKey("domicile", _REGION, "Where the deploying organisation is established."),
    ContextKey("deployment_regions", {"type": "array", "items": _REGION}, "Where the model runs."),
    ContextKey("user_regions", {"type": "array", "items": _REGION}, "Where its users are."),
    ContextKey("commercial", {"type": "boolean"}, "Whether the use is commercial."),
    ContextKey("monthly_active_users", {"type": "integer", "minimum": 0},
               "Monthly active users of the product the model serves."),
    ContextKey("annual_revenue_usd", {"type": "number", "minimum": 0},
               "Annual revenue of the deploying organisation, in US dollars."),
    ContextKey("use_cases", {"type": "array", "uniqueItems": True, "items": {"enum": list(USE_CASES)}},
               "What the model is used for. 'hosting' means offering the model itself to third parties "
               "as a service or API; 'research' and 'evaluation' are the only uses a research-only "
               "license allows."),
    ContextKey("modalities", {"type": "array", "uniqueItems": True, "items": {"enum": list(MODALITIES)}},
               "The modalities the deployment handles."),
    ContextKey("production", {"type": "boolean"},
               "Whether the model serves a production system: any app or service others use, free or not, "
               "is production; research, evaluation and internal experiments are not."),
    ContextKey("third_party_access", {"type": "boolean"},
               "Whether people outside the organisation can send inputs to the model (a public app or API)."),
)


# ---- checks ------------------------------------------------------------------------------------

def _mau(term: Term, ctx: Mapping[str, Any], _: Classification) -> tuple[Outcome, str]:
    limit = int(term.get("users"))
    users = ctx.get("monthly_active_users")
    if users is None:
        return "unknown", (f"the license's {limit:,} monthly-active-user threshold cannot be checked: "
                           "context has no monthly_active_users")
    if users > limit:
        return "deny", f"{users:,} monthly active users exceed the license threshold of {limit:,}"
    return "ok", (f"stay at or below {limit:,} monthly active users (now {users:,}); above it a separate license is "
                  "needed")


def _revenue(term: Term, ctx: Mapping[str, Any], _: Classification) -> tuple[Outcome, str]:
    limit = float(term.get("amount"))
    cur = term.get("currency", "USD")
    revenue = ctx.get("annual_revenue_usd")
    if cur != "USD":
        return "unknown", f"revenue threshold in {cur} cannot be compared with annual_revenue_usd"
    if revenue is None:
        return "unknown", (f"the license's {cur} {limit:,.0f} revenue threshold cannot be checked: "
                           "context has no annual_revenue_usd")
    if revenue > limit:
        return "deny", f"annual revenue of USD {revenue:,.0f} exceeds the license threshold of USD {limit:,.0f}"
    return "ok", f"stay at or below USD {limit:,.0f} annual revenue; above it an enterprise license is needed"


def _commercial(term: Term, ctx: Mapping[str, Any], _: Classification) -> tuple[Outcome, str]:
    commercial = ctx.get("commercial")
    if commercial is None:
        return "unknown", ("the license permits non-commercial use only: context does not say whether the use is "
                           "commercial")
    if commercial:
        return "deny", "the license permits non-commercial use only and the deployment is commercial"
    return "ok", "keep the use non-commercial"


def _within(allowed: frozenset[str], what: str) -> Check:
    def check(term: Term, ctx: Mapping[str, Any], _: Classification) -> tuple[Outcome, str]:
        cases = ctx.get("use_cases")
        if not cases:
            return "unknown", f"the license permits {what} only: the context lists no use_cases"
        outside = sorted(set(cases) - allowed)
        if not outside:
            return "ok", f"keep to {what} (use_cases: {', '.join(sorted(cases))})"
        if set(outside) <= RESEARCH_USES:     # research under an evaluation-only license: judge it
            return "review", f"the license permits {what} only and the context lists {', '.join(outside)}"
        return "deny", f"the license permits {what} only and the context lists {', '.join(outside)}"
    return check


def _non_production(term: Term, ctx: Mapping[str, Any], _: Classification) -> tuple[Outcome, str]:
    production = ctx.get("production")
    if production:
        return "deny", "the license excludes production use and the context says production"
    if production is False:
        return "ok", "keep the model out of production (no app or service others use, free or not)"
    cases = ctx.get("use_cases")
    if cases and set(cases) <= RESEARCH_USES:
        return "ok", "keep the model out of production (no app or service others use, free or not)"
    return "unknown", ("the license excludes production use (any app or service others use, free or not): "
                       "the context does not say production=false")


def _no_hosting(term: Term, ctx: Mapping[str, Any], _: Classification) -> tuple[Outcome, str]:
    cases = ctx.get("use_cases")
    access = ctx.get("third_party_access")
    what = "the license forbids offering the model to third parties as a hosted service or API"
    if cases and "hosting" in cases:
        return "deny", f"{what} and the context lists hosting"
    if access:
        return "review", f"{what}; the context gives third parties access to the model (third_party_access=true)"
    if access is False or cases:
        return "ok", "do not offer the model to third parties as a hosted service or API"
    return "unknown", f"{what}: the context lists no use_cases and does not set third_party_access"


def _territory(term: Term, ctx: Mapping[str, Any], cls: Classification) -> tuple[Outcome, str]:
    regions = expand_regions(term.get("regions"))
    label = ", ".join(term.get("regions") or ())
    mods = set(term.get("modalities") or ())
    scope = term.get("scope")
    if mods and not mods & set(cls.modalities):
        return "ok", (f"rights withheld in {label} for {scope or 'some'} models do not apply: "
                      f"this model handles {', '.join(cls.modalities)}")
    basis_fields = {"domicile": ("domicile",), "deployment": ("deployment_regions",), "users": ("user_regions",)}
    hits, missing = [], []
    for basis in term.get("basis") or ():
        for fld in basis_fields.get(basis, ()):
            value = ctx.get(fld)
            if value is None:
                missing.append(fld)
                continue
            codes = [value] if isinstance(value, str) else list(value)
            matched = sorted(c for c in codes if expand_regions([c]) & regions)
            if matched:
                hits.append(f"{fld}={','.join(matched)}")
    what = f" for {scope} models" if scope else ""
    if hits:
        return "deny", f"the license withholds rights in {label}{what} and the context has {'; '.join(hits)}"
    if missing:
        return "unknown", f"rights are withheld in {label}{what}: context lacks {', '.join(sorted(set(missing)))}"
    return "ok", (f"rights are withheld in {label}{what} (by {', '.join(term.get('basis') or ())}); the context is "
                  "outside it")


def _use_cases(term: Term, ctx: Mapping[str, Any], _: Classification) -> tuple[Outcome, str]:
    banned = set(term.get("use_cases") or ())
    conditional = set(term.get("conditional_use_cases") or ()) - banned
    condition = term.get("condition")
    cases = ctx.get("use_cases")
    kind = "outputs may not be used for" if term.type == "output-use-restriction" else "the license forbids use for"
    parts = [f"{kind}: {', '.join(sorted(banned))}"] if banned else []
    if conditional:
        parts.append(f"restricted{f' ({condition})' if condition else ''}: {', '.join(sorted(conditional))}")
    what = "; ".join(parts)
    if cases is None:
        return "unknown", f"{what}; the context lists no use_cases"
    clash = sorted(banned & set(cases))
    if clash:
        return "deny", f"{what}; the context lists {', '.join(clash)}"
    narrow = sorted(conditional & set(cases))
    if narrow:
        return "review", f"{what}; the context lists {', '.join(narrow)}: judge whether the restriction applies"
    return "ok", what


# ---- term types --------------------------------------------------------------------------------

_USE_CASE_LIST = {"type": "array", "minItems": 1, "uniqueItems": True, "items": {"enum": list(USE_CASES)}}
_TEXT = {"type": "string", "minLength": 1}
_URL = {"type": "string"}

_BEYOND_RESEARCH = FindingSpec(
    "use-beyond-research", "Use beyond research or evaluation", "high",
    "The license permits research (or evaluation) use only, and the deployment context lists other uses.")

TERM_TYPES: tuple[TermType, ...] = (
    TermType("mau-threshold", "Above a number of monthly active users a separate license is needed.",
             "enforce", _mau, FindingSpec(
                 "user-threshold-exceeded", "Monthly active users above the license threshold", "high",
                 "Above this number of monthly active users the license requires a separate agreement with the "
                 "licensor."),
             ("monthly_active_users",), {"users": {"type": "integer", "minimum": 0}}, ("users",)),
    TermType("revenue-threshold", "Above an annual revenue a separate license is needed.",
             "enforce", _revenue, FindingSpec(
                 "revenue-threshold-exceeded", "Annual revenue above the license threshold", "high",
                 "Above this annual revenue the license requires a separate (enterprise) agreement."),
             ("annual_revenue_usd",),
             {"amount": {"type": "number", "minimum": 0}, "currency": {"type": "string", "pattern": "^[A-Z]{3}$"}},
             ("amount", "currency")),
    TermType("non-commercial", "Commercial use is not permitted.", "enforce", _commercial, FindingSpec(
        "non-commercial-use", "Commercial use not permitted", "high",
        "The license forbids commercial use and the deployment context is commercial."), ("commercial",)),
    TermType("research-only", "Use only for research and evaluation, whether commercial or not.",
             "enforce", _within(RESEARCH_USES, "research and evaluation"), _BEYOND_RESEARCH, ("use_cases",)),
    TermType("evaluation-only", "Use only to evaluate the model.",
             "enforce", _within(frozenset({"evaluation"}), "evaluation"), _BEYOND_RESEARCH, ("use_cases",)),
    TermType("non-production", "No production use: no app or service others use, free or not.",
             "enforce", _non_production, FindingSpec(
                 "production-use", "Production use not permitted", "high",
                 "The license excludes production use; any app or service others use, free or not, is production."),
             ("production", "use_cases")),
    TermType("no-hosted-service", "No offering of the model to third parties as a hosted service or API.",
             "enforce", _no_hosting, FindingSpec(
                 "hosted-service-restricted", "Hosted service for third parties not permitted", "high",
                 "The license forbids offering the model to third parties as a hosted service or API; the "
                 "context lists hosting (deny) or gives third parties access to the model (review)."),
             ("use_cases", "third_party_access")),
    TermType("territory-exclusion", "Rights withheld in some regions (by domicile, deployment or users).",
             "enforce", _territory, FindingSpec(
                 "territory-excluded", "Deployment in an excluded territory", "high",
                 "The license or its use policy withholds rights in a territory that the deployment context "
                 "names (domicile, deployment or user regions)."),
             ("domicile", "deployment_regions", "user_regions", "modalities"),
             {"regions": {"type": "array", "items": {"$ref": "#/$defs/region"}},
              "basis": {"type": "array", "items": {"enum": ["domicile", "deployment", "users"]}},
              "scope": {"type": "string", "description": "what the term covers: multimodal, outputs, hosting, ..."},
              "modalities": {"type": "array", "items": {"enum": list(MODALITIES)}}},
             ("regions", "basis")),
    TermType("output-use-restriction", "Outputs may not be used for some purposes (training other models).",
             "enforce", _use_cases, FindingSpec(
                 "output-use-restricted", "Use of outputs restricted", "high",
                 "The license restricts using the model's outputs to train or improve other models, and the "
                 "context lists such a use case."),
             ("use_cases",), {"use_cases": _USE_CASE_LIST, "scope": {"type": "string"}}, ("use_cases",)),
    TermType("field-of-use", "Uses the license or its use policy bans: outright (use_cases) or in a narrower "
             "form stated by `condition` (conditional_use_cases).",
             "enforce", _use_cases, FindingSpec(
                 "field-of-use-restricted", "Use case forbidden by the license", "high",
                 "The license or its use policy bans a use case the deployment context lists (deny), or bans it "
                 "in a narrower form, such as without consent or as automated decisions, that needs judging (review)."),
             ("use_cases",),
             {"use_cases": _USE_CASE_LIST, "conditional_use_cases": _USE_CASE_LIST,
              "condition": {"type": "string", "maxLength": 200,
                            "description": "In our own words, the narrower form of the conditional bans."}},
             one_of_required=("use_cases", "conditional_use_cases")),
    TermType("registration-required", "Use requires registering with the licensor.", "review",
             params={"url": _URL}),
    TermType("royalty", "Use requires paying the licensor.", "review"),
    TermType("acceptable-use-policy", "The license incorporates an acceptable use policy.",
             params={"url": _URL, "passdown": {"type": "boolean"}}),
    TermType("attribution-notice", "Credit the licensor or the model.", params={"text": _TEXT}),
    TermType("display-notice", "Display a statement (\"Built with ...\") in the product.", params={"text": _TEXT}),
    TermType("publication-statement", "Publications about the model or its outputs carry a statement.",
             params={"text": _TEXT}, required=("text",)),
    TermType("ai-content-disclosure", "Disclose that content is machine-generated."),
    TermType("derivative-naming", "Derivative model names begin with a prefix.", params={"prefix": _TEXT},
             required=("prefix",)),
    TermType("use-restrictions-passdown", "Pass the use restrictions on to downstream users."),
    TermType("remote-restriction", "The licensor may restrict use remotely."),
    TermType("share-alike", "Derivatives are shared under the same license.", params={"scope": {"type": "string"}}),
    TermType("no-derivatives", "No derivatives may be made or shared."),
    TermType("license-copy", "Give recipients a copy of the license."),
    TermType("notice-file", "Ship a notice file with a given line.", params={"text": _TEXT, "url": _URL}),
    TermType("modification-notice", "Mark modified files as changed."),
    TermType("export-control", "Comply with export control laws."),
    TermType("patent-retaliation", "Rights end for whoever sues over patents in the model."),
    TermType("termination-on-breach", "Rights end on breach of the license (or on litigation)."),
    TermType("unilateral-update", "The licensor may update the terms."),
)

# Parameters every term may carry.
COMMON_PARAMS: Mapping[str, Mapping[str, Any]] = {
    "note": {"type": "string"},
    "source": {"type": "string"},
    "section": {"type": "string", "maxLength": 80,
                "description": "The section of the license text that states the term."},
}


# ---- the registry ------------------------------------------------------------------------------

class TermRegistry:
    """Term types by name, in order, with the context keys they read."""

    def __init__(self, types: tuple[TermType, ...] = (), context: tuple[ContextKey, ...] = ()) -> None:
        self._types: dict[str, TermType] = {}
        self._context: dict[str, ContextKey] = {c.name: c for c in context}
        for t in types:
            self.register(t)

    def register(self, term_type: TermType) -> TermType:
        if term_type.name in self._types:
            raise ValueError(f"term type {term_type.name!r} is registered twice")
        if term_type.mode not in MODES:
            raise ValueError(f"term type {term_type.name!r}: unknown mode {term_type.mode!r}")
        unknown = [k for k in term_type.context if k not in self._context]
        if unknown:
            raise ValueError(f"term type {term_type.name!r} reads unregistered context keys {unknown}")
        if term_type.check is not None and term_type.finding is None:
            raise ValueError(f"term type {term_type.name!r} has a check but no finding code")
        self._types[term_type.name] = term_type
        return term_type

    def add_context(self, key: ContextKey) -> None:
        self._context[key.name] = key

    def copy(self) -> TermRegistry:
        return TermRegistry(tuple(self._types.values()), tuple(self._context.values()))

    def __iter__(self) -> Iterator[TermType]:
        return iter(self._types.values())

    def __contains__(self, name: object) -> bool:
        return name in self._types

    def get(self, name: str) -> TermType | None:
        return self._types.get(name)

    @property
    def names(self) -> tuple[str, ...]:
        return tuple(self._types)

    @property
    def context_keys(self) -> tuple[ContextKey, ...]:
        return tuple(self._context.values())

    def default_modes(self) -> dict[str, str]:
        """DEFAULT_TERMS: every type's mode when a policy does not name it."""
        return {t.name: t.mode for t in self}

    def checks(self) -> dict[str, tuple[Check, str]]:
        """The engine's checks: type -> (check, finding code)."""
        return {t.name: (t.check, t.finding.code) for t in self if t.check is not None and t.finding is not None}

    def finding_specs(self) -> list[FindingSpec]:
        out: dict[str, FindingSpec] = {}
        for t in self:
            if t.finding is not None:
                out.setdefault(t.finding.code, t.finding)
        return list(out.values())

    def with_type(self, term_type: TermType) -> TermRegistry:
        reg = self.copy()
        reg.register(term_type)
        return reg


REGISTRY = TermRegistry(TERM_TYPES, CONTEXT_KEYS)


def registry() -> TermRegistry:
    """The registry in use (a test may swap `REGISTRY` for a copy with a type added)."""
    return REGISTRY


# ---- schema fragments (scripts/gen_schemas.py writes them into scanner/schemas/) ----------------

def region_schema() -> dict[str, Any]:
    return {"enum": list(REGIONS),
            "description": "An ISO 3166-1 alpha-2 country code, or the group EU or EEA."}


def context_schema(reg: TermRegistry) -> dict[str, Any]:
    return {"type": "object", "additionalProperties": False,
            "description": "The deployment the verdict is for (scanner/terms.py CONTEXT_KEYS).",
            "properties": {c.name: {**_copy(c.schema), "description": c.description} for c in reg.context_keys}}


def term_schema(reg: TermRegistry) -> dict[str, Any]:
    params: dict[str, Mapping[str, Any]] = dict(COMMON_PARAMS)
    for t in reg:
        for name, schema in t.params.items():
            if name in params and params[name] != schema:
                if {k: v for k, v in params[name].items() if k != "description"} != \
                        {k: v for k, v in schema.items() if k != "description"}:
                    raise ValueError(f"parameter {name!r} of {t.name!r} differs from another type's")
                continue
            params[name] = schema
    rules: list[dict[str, Any]] = []
    for t in reg:
        then: dict[str, Any] = {"propertyNames": {"enum": ["type", *COMMON_PARAMS, *t.params]}}
        if t.required:
            then["required"] = list(t.required)
        if t.one_of_required:
            then["anyOf"] = [{"required": [p]} for p in t.one_of_required]
        rules.append({"if": {"properties": {"type": {"const": t.name}}}, "then": then})
    return {"type": "object", "required": ["type"], "additionalProperties": False,
            "description": "One typed term (scanner/terms.py TERM_TYPES).",
            "properties": {"type": {"enum": list(reg.names)}, **{k: _copy(v) for k, v in params.items()}},
            "allOf": rules}


def _copy(schema: Any) -> Any:
    if isinstance(schema, Mapping):
        return {k: _copy(v) for k, v in schema.items()}
    if isinstance(schema, (list, tuple)):
        return [_copy(v) for v in schema]
    return schema


__all__ = [
    "CONTEXT_KEYS",
    "REGISTRY",
    "TERM_TYPES",
    "USE_CASES",
    "ContextKey",
    "FindingSpec",
    "TermRegistry",
    "TermType",
    "context_schema",
    "region_schema",
    "registry",
    "term_schema",
]
