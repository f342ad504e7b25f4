"""Fetch planning rules that need the knowledge of the core, passed into the sources (which must
not import the core): whether a card's text is needed although its metadata names a license."""

from __future__ import annotations

from typing import Any, Mapping


def card_text_needed(info: Mapping[str, Any], card: Mapping[str, Any]) -> bool:
    """A card that names no base model, for an architecture that licensed families use, under a
    license none of those families has: its prose may say what it was made from."""
    from scanner.card import as_list
    from scanner.lineage import family_licenses_for, parents_of

    if parents_of(card, info.get("tags") or ()):
        return False
    config = info.get("config")
    config = config if isinstance(config, dict) else {}
    family_licenses = family_licenses_for(str(config.get("model_type") or "").lower())
    if not family_licenses:
        return False
    declared = {str(v).lower() for v in as_list(card.get("license")) + as_list(card.get("license_name"))}
    return not declared & family_licenses
