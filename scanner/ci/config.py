"""Repository configuration and the order in which settings are taken (docs/configuration.md).

    policy:   --policy (or the Action's `policy` input) > $MODELSCAN_POLICY
              > `policy:` in modelscan.yaml > `policy` in [tool.modelscan] of pyproject.toml > "default"
    fail-on:  --fail-on (or the Action's `fail-on` input) > modelscan.yaml > pyproject.toml > "review"

Both files are read from the working directory (the repository root in CI). A pull request can
edit them, so the policy in force decides whether they count at all (`repository:
{configuration: false}` in a policy given by --policy or $MODELSCAN_POLICY makes the run ignore
them), and they may set `fail-on` to `review` or `deny` only: report-only (`never`) must be
asked for on the command line. What was taken from where, and what was ignored, goes into the
report (`configuration`).
"""

from __future__ import annotations

import os
import sys
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

PYPROJECT = "pyproject.toml"
MANIFEST = "modelscan.yaml"
ENV_POLICY = "MODELSCAN_POLICY"
ENV_ACTION = "MODELSCAN_ACTION"        # set by the GitHub Action: flags are its inputs
KEYS = {"policy": str, "fail-on": str}
REPO_FAIL_ON = ("review", "deny")


class ConfigError(Exception):
    """Repository configuration that cannot be used: one line naming the file and key."""


@dataclass(frozen=True)
class Setting:
    value: str | None
    source: str                     # cli | action | env | modelscan.yaml | pyproject.toml | default
    where: str | None = None        # the file or variable it came from

    def to_json(self) -> dict[str, Any]:
        return {"value": self.value, "source": self.source, "where": self.where}


@dataclass(frozen=True)
class RepoConfig:
    """The settings the repository's own files make, by key (`policy`, `fail-on`)."""

    root: Path
    settings: Mapping[str, tuple[Setting, ...]] = field(default_factory=dict)   # key -> in precedence order

    def first(self, key: str) -> Setting | None:
        found = self.settings.get(key) or ()
        return found[0] if found else None


def _pyproject(root: Path) -> dict[str, Setting]:
    path = root / PYPROJECT
    if not path.is_file():
        return {}
    if sys.version_info >= (3, 11):
        import tomllib
    else:                                               # pragma: no cover - Python 3.10
        import tomli as tomllib  # type: ignore[import-not-found, unused-ignore]
    try:
        data = tomllib.loads(path.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError) as exc:
        raise ConfigError(f"{PYPROJECT}: cannot read: {exc}") from None
    except tomllib.TOMLDecodeError as exc:
        raise ConfigError(f"{PYPROJECT}: invalid TOML: {exc}") from None
    section = (data.get("tool") or {}).get("modelscan")
    if section is None:
        return {}
    if not isinstance(section, dict):
        raise ConfigError(f"{PYPROJECT}: [tool.modelscan]: expected a table")
    return _settings(section, PYPROJECT, "[tool.modelscan] ", None)


def _manifest(root: Path) -> dict[str, Setting]:
    from scanner.yamldoc import parse_document, yaml_line

    path = root / MANIFEST
    if not path.is_file():
        return {}
    try:
        text = path.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as exc:
        raise ConfigError(f"{MANIFEST}: cannot read: {exc}") from None
    data, node = parse_document(text, MANIFEST, ConfigError, "a manifest is a YAML mapping")
    picked = {k: v for k, v in data.items() if k in KEYS}
    return _settings(picked, MANIFEST, "", lambda key: yaml_line(node, [key]))


def _settings(section: Mapping[str, Any], file: str, prefix: str, line_of) -> dict[str, Setting]:
    out: dict[str, Setting] = {}
    for key, value in section.items():
        where = f"{file}:{line_of(key)}" if line_of and line_of(key) else file
        if key not in KEYS:
            raise ConfigError(f"{where}: {prefix}{key}: unknown key (known: {', '.join(KEYS)})")
        if not isinstance(value, str) or not value.strip():
            raise ConfigError(f"{where}: {prefix}{key}: expected a non-empty string")
        if key == "fail-on" and value not in REPO_FAIL_ON:
            raise ConfigError(f"{where}: {prefix}fail-on: {value!r}: a repository may set review or deny "
                              "(report-only, 'never', is a command-line choice)")
        out[key] = Setting(value, file, where)
    return out


def read_repository(root: Path | None = None) -> RepoConfig:
    """The settings of the repository at `root` (default: the working directory)."""
    root = Path(root or Path.cwd())
    by_key: dict[str, list[Setting]] = {}
    for found in (_manifest(root), _pyproject(root)):          # modelscan.yaml beats pyproject.toml
        for key, setting in found.items():
            by_key.setdefault(key, []).append(setting)
    return RepoConfig(root, {k: tuple(v) for k, v in by_key.items()})


def flag_source() -> str:
    return "action" if os.environ.get(ENV_ACTION) else "cli"


def choose_policy(flag: str | None, repo: RepoConfig) -> Setting:
    """Which policy to load, and where the choice came from (before the policy is read)."""
    if flag:
        return Setting(flag, flag_source(), "--policy")
    env = os.environ.get(ENV_POLICY)
    if env and env.strip():
        return Setting(env.strip(), "env", ENV_POLICY)
    found = repo.first("policy")
    if found is not None:
        value = found.value or ""
        local = repo.root / value
        # a path in a repository file is relative to the repository root
        return Setting(str(local) if local.is_file() else value, found.source, found.where)
    return Setting("default", "default", None)


@dataclass(frozen=True)
class Resolved:
    policy: Any                     # scanner.policy.model.Policy
    fail_on: str
    configuration: dict[str, Any]


def resolve(policy_setting: Setting, policy: Any, fail_on_flag: str | None, repo: RepoConfig) -> Resolved:
    """The fail-on level and the report's `configuration`, once the chosen policy is loaded.
    Repository settings count only where the policy honours repository configuration."""
    honour = policy.honours("configuration")
    ignored: list[str] = []
    for s in (repo.settings.get("policy") or ())[(1 if policy_setting.source in (MANIFEST, PYPROJECT) else 0):]:
        ignored.append(f"{s.where}: policy {s.value!r} (overridden by {policy_setting.where or policy_setting.source})")
    if fail_on_flag:
        fail_on = Setting(fail_on_flag, flag_source(), "--fail-on")
        ignored += [f"{s.where}: fail-on {s.value!r} (overridden by --fail-on)"
                    for s in repo.settings.get("fail-on") or ()]
    else:
        repo_fail = repo.first("fail-on")
        if repo_fail is not None and honour:
            fail_on = repo_fail
            ignored += [f"{s.where}: fail-on {s.value!r} (overridden by {repo_fail.where})"
                        for s in (repo.settings.get("fail-on") or ())[1:]]
        else:
            fail_on = Setting("review", "default", None)
            if repo_fail is not None:
                ignored += [f"{s.where}: fail-on {s.value!r} (the policy does not honour repository configuration)"
                            for s in repo.settings.get("fail-on") or ()]
    configuration = {
        "policy": policy_setting.to_json(),
        "fail_on": fail_on.to_json(),
        "repository": {"configuration": honour, "approvals": policy.honours("approvals")},
        "approvals": None,
        "ignored": ignored,
    }
    return Resolved(policy, str(fail_on.value), configuration)
