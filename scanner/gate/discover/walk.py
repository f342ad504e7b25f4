"""Walking the paths a deployment is made of and handing each file to its discovery kind."""

from __future__ import annotations

import os
from pathlib import Path
from typing import Iterable, Iterator

from scanner.gate.discover.reference import DiscoveryError, FileProblem, Reference, collecting, stop_collecting
from scanner.gate.discover import registry
from scanner.gate.discover.ignore import Excludes, GitIgnore, Skipped, git_root
from scanner.gate.discover.registry import DiscoveryKind, DiscoveryKinds

MAX_FILE_BYTES = 2_000_000
SKIP_DIRS = {".git", ".hg", ".svn", "node_modules", ".venv", "venv", "__pycache__", ".tox", ".mypy_cache",
             ".pytest_cache", "site-packages", "dist", "build", ".terraform"}


def iter_files(paths: Iterable[str | Path], kinds: DiscoveryKinds | None = None, *, gitignore: bool = True,
               exclude: Iterable[str] = (), skipped: Skipped | None = None
               ) -> Iterator[tuple[Path, DiscoveryKind]]:
    """(file, kind) for every recognised file under `paths`, in order (directories sorted); `kinds`
    defaults to the registry as it is when called. In a folder, what git ignores is left out
    (unless `gitignore` is false), and anywhere, what an `exclude` pattern matches; `skipped`
    counts both."""
    kinds = kinds if kinds is not None else registry.REGISTRY
    excludes = Excludes(exclude)
    skipped = skipped if skipped is not None else Skipped()
    for p in paths:
        path = Path(p)
        if path.is_dir():
            root = git_root(path) if gitignore else None
            ignore = GitIgnore(root) if root is not None else None
            for dirpath, dirnames, filenames in os.walk(path):
                here = Path(dirpath)
                kept = []
                for d in sorted(dirnames):
                    if d in SKIP_DIRS or d.endswith(".egg-info"):
                        continue
                    if excludes.match(display_path(here / d), is_dir=True):
                        skipped.note("excluded", display_path(here / d) + "/")
                    elif ignore is not None and ignore.ignored(here / d, is_dir=True):
                        skipped.note("ignored", display_path(here / d) + "/")
                    else:
                        kept.append(d)
                dirnames[:] = kept
                for fn in sorted(filenames):
                    fp = here / fn
                    kind = kinds.classify(fp)
                    if kind is None:
                        continue
                    if excludes.match(display_path(fp)):
                        skipped.note("excluded", display_path(fp))
                    elif ignore is not None and ignore.ignored(fp):
                        skipped.note("ignored", display_path(fp))
                    else:
                        yield fp, kind
        elif path.is_file():
            # A file named explicitly (pre-commit passes them) is read whatever its name, unless
            # an --exclude pattern says otherwise.
            if excludes.match(display_path(path)):
                skipped.note("excluded", display_path(path))
                continue
            kind = kinds.classify(path)
            if kind is None and kinds.fallback is not None:
                kind = kinds.get(kinds.fallback)
            if kind is not None:
                yield path, kind
        else:
            raise DiscoveryError(f"{p}: no such file or directory")


def display_path(path: Path) -> str:
    """The path as reports show it: relative to the working directory when inside it, POSIX."""
    try:
        return path.resolve().relative_to(Path.cwd().resolve()).as_posix()
    except ValueError:
        return path.as_posix()


def _read(path: Path, root: Path | None) -> str | None:
    """The file's text (None: binary); FileProblem when it is not a regular file inside `root`, or
    over the budget (a deployment file that big may still name a model)."""
    from scanner.sources.files import ReadRefused, read_regular

    try:
        data = read_regular(path, MAX_FILE_BYTES, root)
    except ReadRefused as exc:
        raise FileProblem(display_path(path), f"not read: {exc}") from None
    if b"\0" in data[:8192]:
        return None
    return data.decode("utf-8", errors="replace")


def discover(paths: Iterable[str | Path], kinds: DiscoveryKinds | None = None,
             problems: list[FileProblem] | None = None, *, gitignore: bool = True,
             exclude: Iterable[str] = (), skipped: Skipped | None = None) -> list[Reference]:
    """Every model reference under `paths`, in file order then line order (see iter_files for
    what is left out).

    A file that cannot be read or parsed in full (not a regular file, a link out of the tree, over
    the size budget, nested too deep, a gated key set twice) is a FileProblem: appended to
    `problems` while the rest is read, or raised as a DiscoveryError when no list is given."""
    refs: list[Reference] = []
    seen_files: set[Path] = set()
    noted: list[FileProblem] = []
    for root, path, kind in _with_roots(paths, kinds, gitignore=gitignore, exclude=exclude, skipped=skipped):
        try:
            real = path.resolve()
        except (OSError, RuntimeError):
            real = path
        if real in seen_files:
            continue
        seen_files.add(real)
        token = collecting(noted)
        try:
            text = _read(path, root)
            if text is not None:
                refs.extend(kind.parse(text, display_path(path), path.parent))
        except FileProblem as exc:
            noted.append(exc)
        except (RecursionError, MemoryError, ValueError, TypeError) as exc:
            noted.append(FileProblem(display_path(path), f"could not be parsed ({type(exc).__name__})", 1, kind.name))
        finally:
            stop_collecting(token)
    if noted and problems is None:
        first = noted[0]
        raise DiscoveryError(f"{first.file}:{first.line}: {first}")
    if problems is not None:
        problems.extend(noted)
    return refs


def _with_roots(paths: Iterable[str | Path], kinds: DiscoveryKinds | None, *, gitignore: bool = True,
                exclude: Iterable[str] = (), skipped: Skipped | None = None):
    """(the tree a file was found in or None, file, kind): links may not point out of their tree."""
    for p in paths:
        root = Path(p) if Path(p).is_dir() else None
        for path, kind in iter_files([p], kinds, gitignore=gitignore, exclude=exclude, skipped=skipped):
            yield root, path, kind
