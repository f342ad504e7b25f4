"""Output formats: each renders the one result model, with no logic of its own.

`FORMATS` names them (the CLI's `--format` choices); `get(name)` imports a format's module
only when it is asked for, so that `modelscan --help` never loads rich, cyclonedx or
spdx-tools. The AI-BOM formats need the optional `reports` extra; without it `get`
raises `FormatUnavailable` with a one-line message saying what to install.
"""

from __future__ import annotations

import importlib
import re
from typing import Any, Mapping

FORMATS = ("table", "json", "sarif", "junit", "markdown", "cyclonedx", "spdx")

# name -> (module, class, third-party top-level modules it needs, pip name of those)
_REGISTRY: dict[str, tuple[str, str, tuple[str, ...], str]] = {
    "table": ("scanner.formats.terminal", "TerminalFormat", (), ""),
    "json": ("scanner.formats.json", "JsonFormat", (), ""),
    "sarif": ("scanner.formats.sarif", "SarifFormat", (), ""),
    "junit": ("scanner.formats.junit", "JunitFormat", (), ""),
    "markdown": ("scanner.formats.markdown", "MarkdownFormat", (), ""),
    "cyclonedx": ("scanner.formats.cyclonedx", "CycloneDxFormat", ("cyclonedx", "packageurl", "py_serializable",
                                                                    "serializable", "sortedcontainers"),
                  "cyclonedx-python-lib"),
    "spdx": ("scanner.formats.spdx", "SpdxFormat", ("spdx_tools", "license_expression", "beartype"), "spdx-tools"),
}

INSTALL_HINT = "pip install 'modelscan-compliance[reports]'"


class FormatUnavailable(RuntimeError):
    """A format whose library is not installed; str() is the one-line message to show."""


def get(name: str, **options: Any):
    """An instance of format `name` (a member of FORMATS); KeyError for an unknown name."""
    module_name, class_name, needs, pip_name = _REGISTRY[name]
    try:
        module = importlib.import_module(module_name)
    except ImportError as exc:
        missing = (exc.name or "").split(".")[0]
        if missing and missing in needs:
            raise FormatUnavailable(f"the {name} format needs {pip_name}, which is not installed: "
                                    f"{INSTALL_HINT}") from None
        raise
    return getattr(module, class_name)(**options)


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


def license_record(kb: Any, ref: Mapping[str, Any] | Any):
    """The knowledge-base record of a LicenseUse or a lineage node's {id, version, name}, or None."""
    record = getattr(ref, "record", None)
    if record:
        found = kb.get(record)
        if found is not None:
            return found
    lid = ref.get("id") if isinstance(ref, Mapping) else getattr(ref, "id", None)
    version = ref.get("version") if isinstance(ref, Mapping) else getattr(ref, "version", None)
    if not lid:
        return None
    if version is not None:
        for rec in kb.versions(lid):
            if rec.version == str(version):
                return rec
    return kb.resolve(lid)


def display_name(result: Any) -> str:
    return result.repo_id or result.target
