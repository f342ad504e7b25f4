"""Where the reference corpus lives, for the scripts, benchmarks and tests (never for a scan).

The corpus (reference license texts and model-card fact records) is not part of the repository.
It is `$MODELSCAN_SHARED` when that is set, else the `shared` folder beside the repository.
Every script, benchmark and test finds it through `shared_dir()`, so one setting moves them all.
"""

from __future__ import annotations

import os
from pathlib import Path

ENV_VAR = "MODELSCAN_SHARED"
REPO_ROOT = Path(__file__).resolve().parent.parent


def shared_dir() -> Path:
    """`$MODELSCAN_SHARED`, else `../shared` beside the repository (which may not exist)."""
    configured = os.environ.get(ENV_VAR)
    return Path(configured).expanduser() if configured else REPO_ROOT.parent / "shared"


def license_texts_dir() -> Path:
    return shared_dir() / "corpus" / "license-texts"


def model_cards_dir() -> Path:
    return shared_dir() / "corpus" / "model-cards"
