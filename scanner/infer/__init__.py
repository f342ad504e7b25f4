"""What a careful reader infers from a model card beyond its metadata.

Only `base_model`, the Hub's `base_model:` tags and the repository's own license texts are
direct evidence. Everything here is inferred from the card's text: merge recipes, links to the
original of a quantization, prose, community names, licenses named in words. Each inference
carries the words that led to it, adds terms (never removes any) and is reported for review.
Pure functions over bounded text; the knowledge they use is data (scanner/data/*.yaml).
"""

from __future__ import annotations

MAX_BODY = 200_000          # characters of a card body read for inferences
MAX_INFERRED_PARENTS = 8    # parents taken from a card's text (recipes, links), per card
MAX_QUOTE = 160             # characters of the quoted evidence


def quote(text: str, start: int, end: int, pad: int = 40) -> str:
    """The words around text[start:end], on one line, at most MAX_QUOTE characters."""
    a, b = max(0, start - pad), min(len(text), end + pad)
    if a > 0 and pad:                  # whole words only
        space = text.find(" ", a, start)
        a = space + 1 if space >= 0 else start
    if b < len(text) and pad:
        space = text.rfind(" ", end, b)
        b = space if space >= 0 else end
    return " ".join(text[a:b].split())[:MAX_QUOTE]
