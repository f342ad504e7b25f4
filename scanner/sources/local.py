"""A downloaded model folder on disk (README.md, LICENSE..., config.json, weights)."""

from __future__ import annotations

import json
import os
import stat
from pathlib import Path

from scanner.evidence import CONFIG_FILE, Evidence, FileEvidence, MAX_FILE_BYTES, Sibling, SourceIssue, freeze, \
    is_wanted_file
from scanner.sources.files import file_evidence
from scanner.sources.interface import Source
from scanner.targets import Target, TargetError

MAX_LISTED = 10_000


def read_bounded(path: Path, limit: int = MAX_FILE_BYTES, root: Path | None = None) -> FileEvidence:
    """A file's evidence, read at most `limit` bytes; never blocks on a pipe or device, and never
    follows a link out of `root`."""
    rel = path.name
    try:
        if root is not None and not path.resolve().is_relative_to(root.resolve()):
            return FileEvidence(rel, "error", error="a link that points outside the model folder; not read")
        st = path.stat()
        if not stat.S_ISREG(st.st_mode):
            return FileEvidence(rel, "error", error="not a regular file; not read")
        size = st.st_size
        if size > limit:
            return FileEvidence(rel, "too-large", size=size, error=f"over the {limit}-byte limit")
        with path.open("rb") as fh:
            data = fh.read(limit + 1)
    except OSError as exc:
        return FileEvidence(rel, "error", error=f"{exc.__class__.__name__}: {exc.strerror or exc}")
    return file_evidence(rel, data, limit)


class LocalSource(Source):
    name = "local"

    def fetch(self, target: Target) -> Evidence:
        root = target.path
        if root is None or not root.is_dir():
            raise TargetError(f"'{target.raw}' is not a model directory")
        siblings = []
        try:
            for dirpath, dirnames, filenames in os.walk(root):
                dirnames[:] = [d for d in dirnames if not d.startswith(".")]
                for fn in filenames:
                    p = Path(dirpath) / fn
                    try:
                        size = p.stat().st_size
                    except OSError:
                        size = None
                    siblings.append(Sibling(p.relative_to(root).as_posix(), size))
                    if len(siblings) >= MAX_LISTED:
                        break
                if len(siblings) >= MAX_LISTED:
                    break
        except OSError as exc:
            raise TargetError(f"cannot list '{target.raw}': {exc.strerror or exc}") from None
        read = [read_bounded(root / s.path, root=root) for s in siblings if is_wanted_file(s.path)]
        files = tuple(f for f in read if f.path != CONFIG_FILE)
        if not read:
            raise TargetError(f"'{target.raw}': no model card, license file or config.json to read")
        config = None
        issues = []
        fe = next((f for f in read if f.path == CONFIG_FILE), None)
        if fe is not None:
            if fe.readable:
                try:
                    loaded = json.loads(fe.text or "")
                    config = loaded if isinstance(loaded, dict) else None
                except ValueError as exc:
                    issues.append(SourceIssue("file-unreadable", f"config.json does not parse: {exc}"))
        return Evidence(
            target=target.raw, source="local", repo_id=None, sha=None,
            siblings=tuple(siblings), files=files, config=freeze(config) if config else None,
            pipeline_tag=None, issues=tuple(issues),
            provenance=freeze({"path": str(root)}))
