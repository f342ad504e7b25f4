"""The repository root and the reference corpus, found one way (scanner/_devpaths.py):
`$MODELSCAN_SHARED`, else the `shared` folder beside the repository."""

from __future__ import annotations

from pathlib import Path

from scanner._devpaths import license_texts_dir, model_cards_dir, shared_dir

ROOT = Path(__file__).resolve().parents[2]
SHARED = shared_dir()
TEXTS = license_texts_dir()
CARDS = model_cards_dir()
