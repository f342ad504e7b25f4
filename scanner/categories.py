"""One ordering of license categories, from freest to most constrained.

A license record's `category` (scanner/schemas/license.schema.json) maps to the license-freedom
axis of the classification (DESIGN.md: permissive, copyleft, restricted, non-commercial,
unknown) and to a rank used wherever two licenses are compared (a derivative's label looser
than its base, the freest alternative of an OR expression). Both come from this one table.
"""

from __future__ import annotations

# category -> license freedom; the order of first appearance of each freedom is the ranking.
CATEGORIES: tuple[tuple[str, str], ...] = (
    ("public-domain", "permissive"),
    ("permissive", "permissive"),
    ("weak-copyleft", "copyleft"),
    ("copyleft", "copyleft"),
    ("restricted", "restricted"),
    ("non-commercial", "non-commercial"),
    ("research-only", "non-commercial"),
    ("unknown", "unknown"),
)

FREEDOMS: tuple[str, ...] = tuple(dict.fromkeys(f for _, f in CATEGORIES))
FREEDOM_OF: dict[str, str] = dict(CATEGORIES)


def freedom(category: str | None) -> str:
    """The license-freedom label of a category; unknown for anything not in the table."""
    return FREEDOM_OF.get(category or "", "unknown")


def rank(category: str | None) -> int:
    """0 for the freest categories, growing as a license constrains more; unknown ranks last."""
    return FREEDOMS.index(freedom(category))
