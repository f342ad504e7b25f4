"""A downloaded model folder on disk (README.md, LICENSE..., config.json, weights).

Files are read with scanner.sources.files.read_regular: regular files only, within the folder,
within the file budget. The listing is capped (MAX_LISTED entries): the top level, where the card
and license files live, is listed first and whole; a listing that reaches the cap is a
`budget-exceeded` finding, never a silent cut.
"""

from __future__ import annotations

import os
from pathlib import Path

from scanner.evidence import CONFIG_FILE, Evidence, FileEvidence, MAX_FILE_BYTES, Sibling, SourceIssue, freeze, \
    is_wanted_file
from scanner.sources.files import read_file_evidence
from scanner.sources.interface import Source
from scanner.sources.shapes import load_json
from scanner.targets import Target, TargetError

MAX_LISTED = 10_000
MAX_TOP_LEVEL = 100_000


def read_bounded(path: Path, limit: int = MAX_FILE_BYTES, root: Path | None = None) -> FileEvidence:
    """A file's evidence, read at most `limit` bytes; never blocks on a pipe or device, and never
    follows a link out of `root`."""
    return read_file_evidence(path, path.name, limit, root)


def _size(entry: os.DirEntry) -> int | None:
    try:
        return entry.stat(follow_symlinks=False).st_size
    except OSError:
        return None


def list_folder(root: Path, cap: int | None = None) -> tuple[list[Sibling], str | None]:
    """(siblings, the reason the listing was cut or None). Hidden folders are skipped."""
    cap = MAX_LISTED if cap is None else cap
    siblings: list[Sibling] = []
    subdirs: list[Path] = []
    with os.scandir(root) as it:
        for n, entry in enumerate(it):
            if n >= MAX_TOP_LEVEL:
                return siblings, f"the folder has more than {MAX_TOP_LEVEL} entries; the rest were not listed"
            if entry.is_dir(follow_symlinks=False):
                if not entry.name.startswith("."):
                    subdirs.append(Path(entry.path))
            else:
                siblings.append(Sibling(entry.name, _size(entry)))
    siblings.sort(key=lambda s: (not is_wanted_file(s.path), s.path))
    if len(siblings) > cap:
        return siblings, (f"the folder has {len(siblings)} files at its top level (cap {cap}); files below it "
                          "were not listed")
    for sub in sorted(subdirs):
        for dirpath, dirnames, filenames in os.walk(sub):
            dirnames[:] = sorted(d for d in dirnames if not d.startswith("."))
            for fn in sorted(filenames):
                if len(siblings) >= cap:
                    return siblings, f"the folder holds more than {cap} files; the rest were not listed"
                p = Path(dirpath) / fn
                try:
                    size: int | None = p.lstat().st_size
                except OSError:
                    size = None
                siblings.append(Sibling(p.relative_to(root).as_posix(), size))
    return siblings, None


class LocalSource(Source):
    name = "local"

    def fetch(self, target: Target) -> Evidence:
        root = target.path
        if root is None or not root.is_dir():
            raise TargetError(f"'{target.raw}' is not a model directory")
        try:
            siblings, cut = list_folder(root)
        except OSError as exc:
            raise TargetError(f"cannot list '{target.raw}': {exc.strerror or exc}") from None
        issues = []
        if cut:
            issues.append(SourceIssue("budget-exceeded", f"{target.raw}: {cut}"))
        read = [read_file_evidence(root / s.path, s.path, MAX_FILE_BYTES, root) for s in siblings
                if is_wanted_file(s.path)]
        files = tuple(f for f in read if f.path != CONFIG_FILE)
        if not read:
            raise TargetError(f"'{target.raw}': no model card, license file or config.json to read")
        config = None
        fe = next((f for f in read if f.path == CONFIG_FILE), None)
        if fe is not None and fe.readable:
            try:
                loaded, problems = load_json(fe.text or "", "config.json")
                config = loaded if isinstance(loaded, dict) else None
                issues.extend(SourceIssue("field-malformed", p) for p in problems)
            except ValueError as exc:
                issues.append(SourceIssue("file-unreadable", f"config.json does not parse: {exc}"))
        elif fe is not None:
            issues.append(SourceIssue("file-unreadable", f"config.json not read: {fe.error or fe.status}"))
        return Evidence(
            target=target.raw, source="local", repo_id=None, sha=None,
            siblings=tuple(siblings), files=files, config=freeze(config) if config else None,
            pipeline_tag=None, issues=tuple(issues),
            provenance=freeze({"path": str(root)}))
