"""Where a report points: paths relative to the repository root, and `check` results located at
the model's reference.

Code scanning, annotations and review tools resolve a path against the repository root, not
against the directory the gate ran in. The CLI finds the root once (`repository_root`), then
rewrites each location's `file` with `relocate` (a pure function): relative to the root when
the file is inside it, an absolute POSIX path otherwise. `check` takes model ids from the
command line, so its results carry no location; `locate_checked` gives them the line of the
repository's `modelscan.yaml` that references the model, when there is one, and a local model
folder its own path.
"""

from __future__ import annotations

import os
from collections.abc import Iterable, Mapping
from dataclasses import replace
from pathlib import Path, PurePosixPath
from typing import TYPE_CHECKING

from scanner.result import Location, Report, Result

if TYPE_CHECKING:
    from scanner.gate.discover.reference import Reference


def repository_root(start: Path | None = None) -> Path:
    """The root of the repository the command runs in: $GITHUB_WORKSPACE when the working
    directory is inside it, else the nearest directory above with a `.git`, else the working
    directory itself."""
    here = (start or Path.cwd()).resolve()
    workspace = os.environ.get("GITHUB_WORKSPACE")
    if workspace:
        ws = Path(workspace).resolve()
        if here == ws or ws in here.parents:
            return ws
    for candidate in (here, *here.parents):
        if (candidate / ".git").exists():
            return candidate
    return here


def repo_path(file: str, cwd: Path, root: Path) -> str:
    """`file` (as discovery wrote it: relative to `cwd`, or absolute) relative to `root`."""
    p = Path(file)
    full = p if p.is_absolute() else cwd / p
    full = Path(os.path.normpath(full))
    try:
        return PurePosixPath(full.relative_to(root)).as_posix()
    except ValueError:
        return full.as_posix()


def _moved(locations: Iterable[Location], cwd: Path, root: Path) -> tuple[Location, ...]:
    return tuple(replace(loc, file=repo_path(loc.file, cwd, root)) if loc.file else loc for loc in locations)


def relocate(report: Report, cwd: Path, root: Path) -> Report:
    """`report` with every location's file relative to the repository root."""
    if cwd.resolve() == root.resolve():
        return report
    return replace(report, results=tuple(replace(r, locations=_moved(r.locations, cwd, root))
                                         for r in report.results))


def locate_checked(report: Report, references: Iterable[Reference], local_dirs: Mapping[str, str]) -> Report:
    """`check` results located at the model's reference: each manifest reference to the model
    (any revision), or, for a local folder, the folder."""
    by_model: dict[str, list[Location]] = {}
    for ref in references:
        by_model.setdefault(str(ref.repo_id).lower(), []).append(ref.location())

    def located(r: Result) -> Result:
        if r.locations:
            return r
        if r.target in local_dirs:
            return replace(r, locations=(Location(local_dirs[r.target], kind="local"),))
        found = by_model.get((r.repo_id or "").lower())
        return replace(r, locations=tuple(found)) if found else r

    return replace(report, results=tuple(located(r) for r in report.results))
