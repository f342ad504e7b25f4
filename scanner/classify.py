"""Classification on two axes (docs/architecture.md §3): openness of the release and freedom of the license.

Openness comes from the root model's release, never from datasets a fine-tune lists.
Every label carries the evidence it rests on.
"""

from __future__ import annotations

import fnmatch
import functools
import re
from typing import Any, Iterable, Mapping


from scanner import categories
from scanner.evidence import Evidence
from scanner.kb import data_file
from scanner.result import Classification, LicenseUse

WEIGHT_SUFFIXES = (".safetensors", ".bin", ".gguf", ".pth", ".pt", ".ckpt", ".onnx", ".h5", ".msgpack",
                   ".tflite", ".mlmodel", ".npz", ".ggml", ".exl2", ".llamafile")


# pipeline tags (and config model types) that mean the model takes or makes more than text
_PIPELINE_MODALITIES = {
    "image-text-to-text": ("text", "image"), "visual-question-answering": ("text", "image"),
    "image-to-text": ("text", "image"), "text-to-image": ("text", "image"), "image-to-image": ("image",),
    "any-to-any": ("text", "image", "audio", "video"), "video-text-to-text": ("text", "video"),
    "text-to-video": ("text", "video"), "automatic-speech-recognition": ("audio", "text"),
    "text-to-speech": ("text", "audio"), "text-to-audio": ("text", "audio"), "audio-text-to-text": ("text", "audio"),
    "image-classification": ("image",), "object-detection": ("image",), "image-segmentation": ("image",),
    "feature-extraction": ("text",), "text-generation": ("text",), "text2text-generation": ("text",),
    "text-classification": ("text",), "sentence-similarity": ("text",), "fill-mask": ("text",),
    "image-to-3d": ("image", "3d"), "text-to-3d": ("text", "3d"),
}
_MULTIMODAL_MODEL_TYPES = {"mllama": ("text", "image"), "llama4": ("text", "image"), "llava": ("text", "image"),
                           "qwen2_vl": ("text", "image"), "qwen2_5_vl": ("text", "image"),
                           "paligemma": ("text", "image"), "gemma3": ("text", "image"), "idefics3": ("text", "image"),
                           "pixtral": ("text", "image"), "whisper": ("audio", "text")}


@functools.lru_cache(maxsize=1)
def _known_releases() -> tuple[Mapping[str, Any], ...]:
    return tuple(data_file("openness.yaml") or ())


@functools.lru_cache(maxsize=1)
def _release_patterns() -> tuple[tuple[re.Pattern[str], Mapping[str, Any]], ...]:
    """Each known release with its `match` globs as one compiled pattern (fnmatch's own translation,
    lower-cased as the comparison is): tried for every model."""
    return tuple((re.compile("|".join(fnmatch.translate(str(p).lower()) for p in entry["match"])), entry)
                 for entry in _known_releases() if entry.get("match"))


def modalities(ev: Evidence, card: Mapping[str, Any] | None = None) -> tuple[str, ...]:
    mods: set[str] = set()
    if isinstance(ev.pipeline_tag, str) and ev.pipeline_tag in _PIPELINE_MODALITIES:
        mods.update(_PIPELINE_MODALITIES[ev.pipeline_tag])
    model_type = (ev.config or {}).get("model_type") if ev.config else None
    if isinstance(model_type, str) and model_type in _MULTIMODAL_MODEL_TYPES:
        mods.update(_MULTIMODAL_MODEL_TYPES[model_type])
    card_tag = (card or ev.card_data or {}).get("pipeline_tag")
    if isinstance(card_tag, str) and card_tag in _PIPELINE_MODALITIES:
        mods.update(_PIPELINE_MODALITIES[card_tag])
    return tuple(sorted(mods)) or ("text",)


_NAME_MODALITIES = {"vision": ("text", "image"), "vl": ("text", "image"), "multimodal": ("text", "image")}


def name_modalities(name: str | None) -> tuple[str, ...]:
    """Modalities a model name states (Llama-3.2-11B-Vision, Qwen2-VL): a quantization often keeps
    the name and little else."""
    mods: set[str] = set()
    for token in re.split(r"[^a-z0-9]+", (name or "").lower()[-200:]):
        mods.update(_NAME_MODALITIES.get(token, ()))
    return tuple(sorted(mods))


def openness(root: Evidence) -> tuple[str, list[str]]:
    repo = root.repo_id or ""
    name = repo.lower()
    for pattern, entry in _release_patterns():
        if pattern.match(name):
            return entry["openness"], [
                f"{repo}: training data public ({entry['training_data']})",
                f"training code public ({entry['training_code']})",
                f"source: {entry['source']}",
            ]
    weights = [s.path for s in root.siblings if s.path.lower().endswith(WEIGHT_SUFFIXES)]
    if weights:
        return "open-weights", [f"{root.display_name}: weights published ({len(weights)} file(s), e.g. {weights[0]}); "
                                "training data and code not evidenced as released"]
    if root.source == "local":
        return "unknown", [f"{root.display_name}: a local folder; no release evidence"]
    return "unknown", [f"{root.display_name}: no weight files listed in the repository"]


def license_freedom(effective: Iterable[LicenseUse]) -> tuple[str, list[str]]:
    worst = "permissive"
    evidence = []
    seen = False
    for use in effective:
        if use.kind == "use-policy":
            continue
        seen = True
        free = categories.freedom(use.category) if use.record else "unknown"
        evidence.append(f"{use.name}: {use.category if use.record else 'not in the knowledge base'}")
        if categories.FREEDOMS.index(free) > categories.FREEDOMS.index(worst):
            worst = free
    if not seen:
        return "unknown", ["no license identified"]
    return worst, evidence


_LABELS = {"fully-open": "Fully open", "open-weights": "Open weights", "closed": "Closed",
           "unknown": "Openness unknown"}


def classify(ev: Evidence, root: Evidence, effective: Iterable[LicenseUse],
             card: Mapping[str, Any] | None = None, inherited_modalities: Iterable[str] = ()) -> Classification:
    """`inherited_modalities`: those of the models this one derives from (a quantization of a vision
    model handles images whatever its own card says)."""
    effective = tuple(effective)
    open_, open_ev = openness(root)
    free, free_ev = license_freedom(effective)
    label = f"{_LABELS[open_]}, {free} license" if free != "unknown" else f"{_LABELS[open_]}, license unknown"
    own = modalities(ev, card)
    inherited = set(inherited_modalities) - set(own)
    mods = tuple(sorted(set(own) | inherited))
    evidence = open_ev + free_ev
    if inherited:
        evidence.append(f"modalities {', '.join(sorted(inherited))} inherited from the base model(s)")
    return Classification(open_, free, label, tuple(evidence), mods)
