"""The discovery kinds: one entry per kind of deployment file (its name, which file names it
reads, and its parser). Adding a kind is one module with a `matches` and a parser, and one
`register` call here (CONTRIBUTING.md)."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Callable, Iterator

from scanner.gate.discover import containers, manifest, modelfile, python, shell
from scanner.gate.discover.reference import Reference

Parser = Callable[[str, str, Path], "list[Reference]"]   # (text, display path, folder) -> references


@dataclass(frozen=True)
class DiscoveryKind:
    """One kind of deployment file."""

    name: str
    matches: Callable[[str], bool]     # the lower-cased file name -> is it this kind's file?
    parse: Parser
    description: str = ""


class DiscoveryKinds:
    """An ordered registry: the first kind whose `matches` accepts a file name reads the file; a
    file named explicitly on the command line that no kind matches is read by `fallback`."""

    def __init__(self, kinds: tuple[DiscoveryKind, ...] = (), fallback: str | None = None) -> None:
        self._kinds: list[DiscoveryKind] = []
        self.fallback = fallback
        for kind in kinds:
            self.register(kind)

    def register(self, kind: DiscoveryKind, *, before: str | None = None) -> DiscoveryKind:
        if any(k.name == kind.name for k in self._kinds):
            raise ValueError(f"discovery kind {kind.name!r} is registered already")
        at = next((i for i, k in enumerate(self._kinds) if k.name == before), len(self._kinds))
        self._kinds.insert(at, kind)
        return kind

    def copy(self) -> DiscoveryKinds:
        return DiscoveryKinds(tuple(self._kinds), self.fallback)

    def __iter__(self) -> Iterator[DiscoveryKind]:
        return iter(self._kinds)

    def names(self) -> tuple[str, ...]:
        return tuple(k.name for k in self._kinds)

    def get(self, name: str) -> DiscoveryKind:
        for k in self._kinds:
            if k.name == name:
                return k
        raise KeyError(name)

    def classify(self, path: Path) -> DiscoveryKind | None:
        name = path.name.lower()
        return next((k for k in self._kinds if k.matches(name)), None)


REGISTRY = DiscoveryKinds((
    DiscoveryKind("manifest", manifest.matches, manifest.references, "modelscan.yaml deployment manifests"),
    DiscoveryKind("yaml", containers.matches, containers.yaml_refs, "docker-compose and Kubernetes YAML"),
    DiscoveryKind("python", python.matches, python.python_refs, "Python sources"),
    DiscoveryKind("modelfile", modelfile.matches, modelfile.modelfile_refs, "Ollama Modelfiles"),
    DiscoveryKind("shell", shell.matches, shell.shell_refs, "shell scripts, Dockerfiles, .env files"),
), fallback="shell")
