"""The license knowledge base: one YAML record per license under licenses/.

Records are data (see scanner/schemas/license.schema.json); this module only loads
and indexes them. Validation against the schema runs in `modelscan licenses
validate`, the build and the tests, not on every scan, so that loading stays fast.
"""

from __future__ import annotations

import functools
import hashlib
import json
import os
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Iterable, Mapping

import yaml

from scanner.evidence import freeze

_Loader: type[yaml.SafeLoader] | type[yaml.CSafeLoader]
try:
    _Loader = yaml.CSafeLoader
except AttributeError:  # pragma: no cover
    _Loader = yaml.SafeLoader

PACKAGE_DIR = Path(__file__).resolve().parent
SCHEMA_DIR = PACKAGE_DIR / "schemas"


def data_file(name: str) -> Any:
    """One of the shipped data files, scanner/data/NAME (YAML, read by libyaml when it is there:
    several times faster than the pure-Python reader, the same values)."""
    from scanner import compiled

    raw = (PACKAGE_DIR / "data" / name).read_bytes()
    value = compiled.data_file(name, raw)
    return yaml.load(raw, Loader=_Loader) if value is compiled.MISS else value


def data_dir(name: str) -> Path:
    """licenses/ or policies/: inside the wheel (scanner/_data/NAME) or at the repository root."""
    shipped = PACKAGE_DIR / "_data" / name
    if shipped.is_dir():
        return shipped
    return PACKAGE_DIR.parent / name


@dataclass(frozen=True)
class Term:
    """One term a license imposes: its type (scanner/terms.py), parameters and the license."""
    type: str
    params: Mapping[str, Any]
    license: str                      # record key of the license that imposes it

    def get(self, key: str, default: Any = None) -> Any:
        return self.params.get(key, default)


@dataclass(frozen=True)
class LicenseRecord:
    """One license of the knowledge base (licenses/*.yaml), as loaded."""
    key: str                          # unique record key (id, or id@version)
    id: str
    version: str | None
    name: str
    kind: str
    category: str
    verified: bool
    spdx: str | None = None
    spdx_ref: str | None = None
    hub_id: str | None = None
    aliases: tuple[str, ...] = ()
    url: str | None = None
    use_policy: str | None = None
    applies_to: str | None = None
    family: str | None = None
    licensor: str | None = None
    summary: str | None = None
    osi_approved: bool | None = None
    default_version: bool = False
    markers: tuple[str, ...] = ()
    terms: tuple[Term, ...] = ()
    sources: tuple[Mapping[str, Any], ...] = ()
    path: str | None = None
    primary_text: Mapping[str, Any] | None = None   # {file, sha256}: the corpus text the terms were read from
    covers_modalities: tuple[str, ...] = ()          # empty: models of any modality
    links: tuple[str, ...] = ()                       # license_link patterns naming this record
    families: tuple[Mapping[str, Any], ...] = ()      # family inference rules (scanner/knowledge.py)

    @property
    def is_placeholder(self) -> bool:
        return self.kind in ("placeholder", "family")

    def ref(self) -> dict[str, Any]:
        """The {id, version, name} object the report uses."""
        return {"id": self.id, "version": self.version, "name": self.name}


def _record_from(data: Mapping[str, Any], path: str) -> LicenseRecord:
    key = data.get("record") or data["id"]
    terms = tuple(Term(t["type"], freeze({k: v for k, v in t.items() if k != "type"}), key)
                  for t in data.get("terms") or ())
    return LicenseRecord(
        key=key, id=data["id"], version=None if data.get("version") is None else str(data["version"]),
        name=data["name"], kind=data["kind"],
        category=data["category"], verified=bool(data["verified"]), spdx=data.get("spdx"),
        spdx_ref=data.get("spdx_ref"), hub_id=data.get("hub_id"),
        aliases=tuple(a.lower() for a in data.get("aliases") or ()), url=data.get("url"),
        use_policy=data.get("use_policy"), applies_to=data.get("applies_to"), family=data.get("family"),
        licensor=data.get("licensor"), summary=data.get("summary"), osi_approved=data.get("osi_approved"),
        default_version=bool(data.get("default_version")), markers=tuple(data.get("markers") or ()),
        terms=terms, sources=tuple(freeze(s) for s in data.get("sources") or ()), path=path,
        primary_text=freeze(data["text"]) if isinstance(data.get("text"), dict) else None,
        covers_modalities=tuple(data.get("covers_modalities") or ()),
        links=tuple(data.get("links") or ()), families=tuple(freeze(f) for f in data.get("families") or ()))


@dataclass(frozen=True, eq=False)   # identity hash: memoised lookups key on the loaded base
class KnowledgeBase:
    """The loaded license records, their digest and the indexes that resolve names to records."""
    records: Mapping[str, LicenseRecord]
    digest: str
    directory: str
    _names: Mapping[str, str] = field(default_factory=dict)   # lower-case id/alias/key -> record key

    def get(self, key: str) -> LicenseRecord | None:
        return self.records.get(key)

    def resolve(self, name: str | None) -> LicenseRecord | None:
        """A license id, record key, alias or Hub id (any case) to its record; None if unknown."""
        if not name or not isinstance(name, str):
            return None
        key = self._names.get(name.strip().lower())
        return self.records.get(key) if key else None

    def versions(self, license_id: str) -> list[LicenseRecord]:
        return list(self._by_id.get(license_id, ()))

    @functools.cached_property
    def _by_id(self) -> Mapping[str, tuple[LicenseRecord, ...]]:
        out: dict[str, list[LicenseRecord]] = {}
        for r in self.records.values():
            out.setdefault(r.id, []).append(r)
        return {k: tuple(v) for k, v in out.items()}

    def use_policy_of(self, record: LicenseRecord) -> LicenseRecord | None:
        return self.records.get(record.use_policy) if record.use_policy else None

    def __iter__(self):
        return iter(self.records.values())

    def __len__(self) -> int:
        return len(self.records)


def _index(records: Iterable[LicenseRecord]) -> dict[str, str]:
    names: dict[str, str] = {}
    by_id: dict[str, list[LicenseRecord]] = {}
    for r in records:
        by_id.setdefault(r.id, []).append(r)
        names[r.key.lower()] = r.key
        for alias in r.aliases:
            names.setdefault(alias, r.key)
    for lid, recs in by_id.items():
        # a bare id resolves to its only record, or to the one marked default_version
        default = next((r for r in recs if r.default_version), recs[-1] if len(recs) == 1 else None)
        if default is None:
            default = sorted(recs, key=lambda r: r.version or "")[-1]
        names[lid.lower()] = default.key
        for r in recs:
            if r.hub_id:
                names.setdefault(r.hub_id.lower(), default.key)
    return names


def digest_files(directory: Path) -> tuple[str, list[Path], list[bytes]]:
    """The knowledge base's digest (file names and bytes, in name order), its files and their bytes."""
    files = sorted(directory.glob("*.yaml"))
    if not files:
        raise FileNotFoundError(f"no license records in {directory}")
    digest = hashlib.sha256()
    raws = []
    for path in files:
        raw = path.read_bytes()
        digest.update(path.name.encode() + b"\0" + raw + b"\0")
        raws.append(raw)
    return digest.hexdigest(), files, raws


def load_dir(directory: Path) -> KnowledgeBase:
    hexdigest, files, raws = digest_files(directory)
    # YAML parsing was most of a snapshot check's own time: the shipped records are parsed at build
    # time (scanner/compiled.py), others may be memoised on disk (scanner/memo.py, opt-in).
    from scanner import compiled, memo

    parsed: Any = compiled.kb_records(hexdigest, len(files))
    mkey = memo.key("kb", hexdigest)
    if parsed is None:
        parsed = memo.get("kb", mkey)
    if not (isinstance(parsed, list) and len(parsed) == len(files)):
        parsed = [yaml.load(raw, Loader=_Loader) for raw in raws]
        if memo.lossless(parsed):
            memo.put("kb", mkey, parsed)
    records: dict[str, LicenseRecord] = {}
    for path, data in zip(files, parsed, strict=True):
        rec = _record_from(data, path.name)
        records[rec.key] = rec
    return KnowledgeBase(freeze_records(records), "sha256:" + hexdigest, str(directory),
                         _index(records.values()))


def freeze_records(records: dict[str, LicenseRecord]) -> Mapping[str, LicenseRecord]:
    from types import MappingProxyType
    return MappingProxyType(dict(records))


@functools.lru_cache(maxsize=4)
def load(directory: str | None = None) -> KnowledgeBase:
    """The knowledge base in `directory`, $MODELSCAN_LICENSES, or the shipped one."""
    chosen = directory or os.environ.get("MODELSCAN_LICENSES") or str(data_dir("licenses"))
    return load_dir(Path(chosen))


def load_schema(name: str) -> dict:
    return json.loads((SCHEMA_DIR / name).read_text(encoding="utf-8"))


def validate_dir(directory: Path) -> list[str]:
    """Schema and cross-reference problems of a licenses/ directory, as messages (empty = valid)."""
    from scanner.schemas import jsonschema as _load_jsonschema
    jsonschema = _load_jsonschema()

    validator = jsonschema.Draft202012Validator(load_schema("license.schema.json"))
    problems: list[str] = []
    seen: dict[str, str] = {}
    names: dict[str, str] = {}
    loaded: list[tuple[str, dict]] = []
    for path in sorted(directory.glob("*.yaml")):
        try:
            data = yaml.load(path.read_bytes(), Loader=_Loader)
        except yaml.YAMLError as exc:
            problems.append(f"{path.name}: YAML error: {str(exc).splitlines()[0]}")
            continue
        for err in validator.iter_errors(data):
            loc = "/".join(str(p) for p in err.absolute_path) or "(top)"
            problems.append(f"{path.name}: {loc}: {err.message}")
        if not isinstance(data, dict) or "id" not in data:
            continue
        key = data.get("record") or data["id"]
        if key in seen:
            problems.append(f"{path.name}: record key {key!r} also in {seen[key]}")
        seen[key] = path.name
        loaded.append((path.name, data))
    ids = {d["id"].lower() for _, d in loaded}
    problems.extend(_marker_problems(loaded))
    for fname, data in loaded:
        for alias in data.get("aliases") or ():
            a = alias.lower()
            if a in ids and a != data["id"].lower():
                problems.append(f"{fname}: alias {alias!r} is another record's id")
            if a in names and names[a] != fname:
                problems.append(f"{fname}: alias {alias!r} also in {names[a]}")
            names[a] = fname
        for ref in ("use_policy", "applies_to"):
            if data.get(ref) and data[ref] not in seen:
                problems.append(f"{fname}: {ref} {data[ref]!r} is not a record")
        if data.get("spdx"):
            problems.extend(f"{fname}: {p}" for p in _spdx_problems(data["spdx"]))
    return problems


def _marker_problems(loaded: list[tuple[str, dict]]) -> list[str]:
    """Markers are short, already normalised, and never shared by records of different ids."""
    from scanner.textnorm import normalize

    problems: list[str] = []
    used: dict[str, tuple[str, str]] = {}
    for fname, data in loaded:
        for m in data.get("markers") or ():
            if len(m.split()) >= 15:
                problems.append(f"{fname}: marker {m!r} has 15 words or more")
            if normalize(m) != m:
                problems.append(f"{fname}: marker {m!r} is not in normalised form ({normalize(m)!r})")
            if m in used and used[m][0] != data["id"]:
                problems.append(f"{fname}: marker {m!r} is also a marker of {used[m][1]}")
            used.setdefault(m, (data["id"], fname))
        for i, term in enumerate(data.get("terms") or ()):
            if isinstance(term, dict) and not term.get("source"):
                problems.append(f"{fname}: terms/{i} ({term.get('type')}) has no source")
    return problems


# SPDX ids newer than the list bundled with license-expression (checked against the SPDX
# license list 3.28, see docs/architecture.md §5) and the SPDX keyword for "unknown".
_SPDX_ACCEPTED = {"OpenMDW-1.0", "NOASSERTION"}


def _spdx_problems(spdx_id: str) -> list[str]:
    from license_expression import get_spdx_licensing

    if spdx_id in _SPDX_ACCEPTED:
        return []
    licensing = get_spdx_licensing()
    try:
        expr = licensing.parse(spdx_id, validate=True, strict=True)
    except Exception as exc:  # license_expression raises several exception types
        return [f"spdx {spdx_id!r}: {exc}"]
    unknown = licensing.unknown_license_keys(expr)
    return [f"spdx {spdx_id!r} is not an SPDX license id"] if unknown else []
