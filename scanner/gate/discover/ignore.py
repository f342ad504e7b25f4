"""Which files the gate leaves out: what git ignores (`.gitignore` files from the repository root
down, and `.git/info/exclude`), and the `--exclude` patterns of the command line. Patterns follow
gitignore rules (the `pathspec` library): a deeper `.gitignore` overrides a higher one, `!` takes
a path back in, and nothing inside an ignored folder is read."""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Iterable

MAX_IGNORE_BYTES = 1_000_000     # a .gitignore larger than this is not read


def _spec(lines: Iterable[str]):
    import pathspec

    return pathspec.GitIgnoreSpec.from_lines(list(lines))


def _read_lines(path: Path) -> list[str] | None:
    try:
        if not path.is_file() or path.stat().st_size > MAX_IGNORE_BYTES:
            return None
        return path.read_text(encoding="utf-8", errors="replace").splitlines()
    except OSError:
        return None


def git_root(start: Path) -> Path | None:
    """The work tree holding `start` (a folder with a `.git` entry), or None."""
    here = start.resolve()
    for d in (here, *here.parents):
        if (d / ".git").exists():
            return d
    return None


@dataclass
class Skipped:
    """What discovery left out, for the one line the gate prints."""

    ignored: int = 0              # files git ignores
    excluded: int = 0             # files an --exclude pattern matches
    examples: list[str] = field(default_factory=list)

    def note(self, what: str, path: str) -> None:
        if what == "ignored":
            self.ignored += 1
        else:
            self.excluded += 1
        if len(self.examples) < 3:
            self.examples.append(path)


class Excludes:
    """--exclude patterns (gitignore syntax), matched against paths as the reports show them
    (relative to the working directory)."""

    def __init__(self, patterns: Iterable[str]):
        self.patterns = tuple(p for p in patterns if p.strip())
        self.spec = _spec(self.patterns) if self.patterns else None

    def match(self, display: str, is_dir: bool = False) -> bool:
        if self.spec is None:
            return False
        return bool(self.spec.match_file(display + ("/" if is_dir else "")))


class GitIgnore:
    """The ignore rules of one work tree, loaded folder by folder as the walk reaches them."""

    def __init__(self, root: Path):
        self.root = root.resolve()
        self._specs: dict[Path, object | None] = {}
        exclude = _read_lines(self.root / ".git" / "info" / "exclude")
        self._info = _spec(exclude) if exclude else None

    def _spec_of(self, folder: Path):
        if folder not in self._specs:
            lines = _read_lines(folder / ".gitignore")
            self._specs[folder] = _spec(lines) if lines else None
        return self._specs[folder]

    def ignored(self, path: Path, is_dir: bool = False) -> bool:
        """Whether git ignores `path` (inside the work tree; the folders above it are not
        ignored, the walk having pruned those that are)."""
        path = path.resolve()
        try:
            rel = path.relative_to(self.root)
        except ValueError:
            return False
        if rel.parts and rel.parts[0] == ".git":
            return True
        suffix = "/" if is_dir else ""
        # The deepest .gitignore with an opinion decides; .git/info/exclude ranks lowest.
        folders = [self.root.joinpath(*rel.parts[:i]) for i in range(len(rel.parts) - 1, -1, -1)]
        for folder in folders:
            spec = self._spec_of(folder)
            if spec is None:
                continue
            sub = path.relative_to(folder).as_posix() + suffix
            result = spec.check_file(sub)
            if result.include is not None:
                return bool(result.include)
        if self._info is not None:
            result = self._info.check_file(rel.as_posix() + suffix)
            if result.include is not None:
                return bool(result.include)
        return False
