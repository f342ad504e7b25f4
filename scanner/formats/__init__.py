"""Output formats: each renders the one result model, with no logic of its own.

`REGISTRY` holds them (the CLI's `--format` choices, one `FormatEntry` each); `get(name)`
imports a format's module only when it is asked for, so that `modelscan --help` never loads rich, cyclonedx or
spdx-tools. The AI-BOM formats need the optional `reports` extra; without it `get`
raises `FormatUnavailable` with a one-line message saying what to install.
"""

from __future__ import annotations

import importlib
import re
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from scanner.result import LicenseRef, LicenseUse


@dataclass(frozen=True)
class FormatEntry:
    """One output format: its name (the `--format` value), the module and class that render it,
    and the third-party top-level modules it needs with the pip name that provides them."""

    name: str
    module: str
    cls: str
    needs: tuple[str, ...] = ()
    pip_name: str = ""


INSTALL_HINT = "pip install 'modelscan-compliance[reports]'"


class FormatUnavailable(RuntimeError):
    """A format whose library is not installed; str() is the one-line message to show."""


class FormatRegistry:
    """The formats, in the order the CLI offers them. Adding one is a module with a class that has
    `render(report) -> str`, and one `register` call below (CONTRIBUTING.md)."""

    def __init__(self, entries: tuple[FormatEntry, ...] = ()) -> None:
        self._entries: dict[str, FormatEntry] = {}
        for entry in entries:
            self.register(entry)

    def register(self, entry: FormatEntry) -> FormatEntry:
        if entry.name in self._entries:
            raise ValueError(f"format {entry.name!r} is registered already")
        self._entries[entry.name] = entry
        return entry

    def copy(self) -> FormatRegistry:
        return FormatRegistry(tuple(self._entries.values()))

    def names(self) -> tuple[str, ...]:
        return tuple(self._entries)

    def entry(self, name: str) -> FormatEntry:
        """The entry of format `name`; KeyError for an unknown name."""
        return self._entries[name]

    def __contains__(self, name: object) -> bool:
        return name in self._entries

    def get(self, name: str, **options: Any) -> Any:
        """An instance of format `name`; KeyError for an unknown name, FormatUnavailable when its
        library is not installed."""
        entry = self._entries[name]
        try:
            module = importlib.import_module(entry.module)
        except ImportError as exc:
            missing = (exc.name or "").split(".")[0]
            if missing and missing in entry.needs:
                raise FormatUnavailable(f"the {name} format needs {entry.pip_name}, which is not installed: "
                                        f"{INSTALL_HINT}") from None
            raise
        return getattr(module, entry.cls)(**options)


REGISTRY = FormatRegistry((
    FormatEntry("table", "scanner.formats.terminal", "TerminalFormat"),
    FormatEntry("json", "scanner.formats.json", "JsonFormat"),
    FormatEntry("sarif", "scanner.formats.sarif", "SarifFormat"),
    FormatEntry("junit", "scanner.formats.junit", "JunitFormat"),
    FormatEntry("markdown", "scanner.formats.markdown", "MarkdownFormat"),
    FormatEntry("cyclonedx", "scanner.formats.cyclonedx", "CycloneDxFormat",
                ("cyclonedx", "packageurl", "py_serializable", "serializable", "sortedcontainers"),
                "cyclonedx-python-lib"),
    FormatEntry("spdx", "scanner.formats.spdx", "SpdxFormat", ("spdx_tools", "license_expression", "beartype"),
                "spdx-tools"),
))

FORMATS = REGISTRY.names()      # the shipped formats (the CLI reads REGISTRY when it parses)


def get(name: str, **options: Any) -> Any:
    """An instance of format `name` from the registry; KeyError for an unknown name."""
    return REGISTRY.get(name, **options)


# Small shared helpers for the renderers (pure functions of the result model).

_HF_REPO = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._-]*(/[A-Za-z0-9][A-Za-z0-9._-]*)?$")


def purl(repo_id: str | None, sha: str | None) -> str | None:
    """`pkg:huggingface/<org>/<name>@<sha>` for a Hub repo id (None for a local target)."""
    if not repo_id or not _HF_REPO.match(repo_id):
        return None
    from urllib.parse import quote

    parts = [quote(p, safe="") for p in repo_id.split("/")]
    out = "pkg:huggingface/" + "/".join(parts)
    return out + "@" + quote(sha.lower(), safe="") if sha else out


def license_record(kb: Any, ref: LicenseUse | LicenseRef):
    """The knowledge-base record of a LicenseUse or a lineage node's LicenseRef, or None (always
    None for a report that carries no knowledge base)."""
    if kb is None:
        return None
    record = getattr(ref, "record", None)         # a LicenseRef names no record
    if record:
        found = kb.get(record)
        if found is not None:
            return found
    lid, version = ref.id, ref.version
    if not lid:
        return None
    if version is not None:
        for rec in kb.versions(lid):
            if rec.version == str(version):
                return rec
    return kb.resolve(lid)


def display_name(result: Any) -> str:
    return result.repo_id or result.target
