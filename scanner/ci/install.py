"""What the GitHub Action pip-installs: the package, with the `reports` extra when a format it
was asked for needs it (cyclonedx, spdx). Runs before anything is installed, so it uses the
standard library and the formats registry only:

    python -m scanner.ci.install PACKAGE     # reads INPUT_FORMATS / INPUT_FORMAT; prints the pip spec
"""

from __future__ import annotations

import os
import re
import sys
from collections.abc import Iterable

from scanner.ci.github import parse_formats
from scanner.formats import REGISTRY

EXTRA = "reports"
_NAME = re.compile(r"^([A-Za-z0-9][A-Za-z0-9._-]*)(\[[^\]]*\])?(.*)$")


def needs_extra(formats: Iterable[str]) -> bool:
    """Whether any of `formats` needs a library of the `reports` extra."""
    return any(f in REGISTRY and REGISTRY.entry(f).pip_name for f in formats)


def pip_spec(package: str, formats: Iterable[str]) -> str:
    """`package` with the reports extra added when `formats` need it (a directory or a
    requirement such as `modelscan-compliance==0.2`)."""
    if not needs_extra(formats):
        return package
    if os.path.isdir(package) or package.startswith((".", "/")) or "://" in package:
        return f"{package}[{EXTRA}]"
    m = _NAME.match(package)
    if not m:
        return package
    name, extras, rest = m.group(1), m.group(2), m.group(3)
    listed = [e.strip() for e in (extras or "[]")[1:-1].split(",") if e.strip()]
    if EXTRA not in listed:
        listed.append(EXTRA)
    return f"{name}[{','.join(listed)}]{rest}"


def main(argv: list[str]) -> int:
    package = argv[0] if argv else "."
    env = os.environ
    wanted = [f for f, _ in parse_formats([env.get("INPUT_FORMATS", ""), env.get("INPUT_FORMAT", "")])]
    print(pip_spec(package, wanted))
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
