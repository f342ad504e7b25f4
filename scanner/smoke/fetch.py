"""Download exactly the approved files of a Hub repo at the approved commit.

huggingface_hub's snapshot_download, pinned to the commit sha, with allow_patterns naming each
file (escaped, so a name is never a wildcard), from the endpoint in HF_ENDPOINT, into the
client's cache (HF_HUB_CACHE or HF_HOME/hub, read when called). The token is the client's own
(HF_TOKEN or its token file) and never appears in a message.
"""

from __future__ import annotations

import os
import re
import time
from pathlib import Path
from typing import Iterable

from scanner.redact import redact
from scanner.smoke.runtime import SmokeError, describe


def _literal(name: str) -> str:
    """An fnmatch pattern that matches only `name`."""
    return re.sub(r"([*?\[])", r"[\1]", name)


def cache_dir() -> str | None:
    if os.environ.get("HF_HUB_CACHE"):
        return os.environ["HF_HUB_CACHE"]
    if os.environ.get("HF_HOME"):
        return os.path.join(os.environ["HF_HOME"], "hub")
    return None      # the client's default


def _redact(text: str) -> str:
    try:
        from huggingface_hub import get_token
        token = get_token()          # HF_TOKEN, or the client's token file
    except Exception:  # noqa: BLE001 - no client, no stored token
        token = None
    return redact(text, token or os.environ.get("HF_TOKEN"))


def download(repo_id: str, sha: str, files: Iterable[str], offline: bool = False) -> tuple[Path, float]:
    """(local snapshot folder, seconds) holding `files` of repo_id at commit `sha`."""
    os.environ.setdefault("HF_HUB_DISABLE_TELEMETRY", "1")
    os.environ.setdefault("HF_HUB_DISABLE_XET", "1")
    from huggingface_hub import snapshot_download
    from huggingface_hub.utils import disable_progress_bars

    names = sorted(set(files))
    if not names:
        raise SmokeError("download", "nothing to download")
    disable_progress_bars()
    endpoint = os.environ.get("HF_ENDPOINT") or None
    t0 = time.perf_counter()
    try:
        folder = snapshot_download(repo_id, revision=sha, allow_patterns=[_literal(n) for n in names],
                                   endpoint=endpoint, cache_dir=cache_dir(), local_files_only=offline)
    except Exception as exc:  # noqa: BLE001 - any failure to fetch is one line, exit 2
        raise SmokeError("download", _redact(f"cannot download {repo_id}@{sha[:12]}: {describe(exc)}")) from None
    root = Path(folder)
    missing = [n for n in names if not (root / n).is_file()]
    if missing:
        raise SmokeError("download", f"{repo_id}@{sha[:12]}: not downloaded: {', '.join(missing[:4])}")
    return root, time.perf_counter() - t0
