"""Load a model directory with transformers, run one forward pass and, for generative models, a
short greedy generation, and measure it.

This module imports only the standard library at import time, and torch and transformers inside
the functions that need them: the scanner uses its file rules (which weights, which remote code)
without torch, and a GPU machine with only torch and transformers installed can run it by path:

    python scanner/smoke/runtime.py ./model-dir --device cuda --dtype bfloat16

Nothing here downloads anything: models load with local_files_only, custom code runs only with
trust_remote_code=True, and pickle-based weights load only with allow_pickle=True.
"""

from __future__ import annotations

import json
import os
import re
import sys
import threading
import time
from dataclasses import asdict, dataclass, field
from collections.abc import Iterable, Mapping
from typing import Any

INSTALL_HINT = "pip install 'modelscan-compliance[smoke]'"
DEFAULT_PROMPT = "The quick brown fox jumps over the lazy dog"

# Weights transformers' from_pretrained reads (top level of the repo). Other weight formats
# (GGUF, ONNX, TF, Flax, raw .pt/.pth checkpoints) are not loaded by the smoke test.
SAFETENSORS = re.compile(r"^model(?:-\d+-of-\d+)?\.safetensors$")
SAFETENSORS_INDEX = "model.safetensors.index.json"
PICKLE = re.compile(r"^pytorch_model(?:-\d+-of-\d+)?\.bin$")
PICKLE_INDEX = "pytorch_model.bin.index.json"
OTHER_WEIGHTS = re.compile(r"(?i)\.(?:gguf|onnx|h5|msgpack|ckpt|pt|pth|pkl|pickle|bin|safetensors)$")
ADAPTER = re.compile(r"^adapter_model\.(?:safetensors|bin)$")
# Small files a model needs besides its weights: config, generation defaults, tokenizer.
METADATA_FILES = (
    "config.json", "generation_config.json", "tokenizer.json", "tokenizer_config.json", "tokenizer.model",
    "special_tokens_map.json", "added_tokens.json", "vocab.json", "vocab.txt", "merges.txt", "spiece.model",
    "sentencepiece.bpe.model", "chat_template.jinja", "chat_template.json",
)
TOKENIZER_FILES = METADATA_FILES[2:12]


class SmokeError(Exception):
    """The model could not be loaded or run (exit 2). The message is one line."""

    def __init__(self, stage: str, message: str, out_of_memory: bool = False):
        super().__init__(one_line(message))
        self.stage = stage          # config | device | weights | tokenizer | load | forward | generate | run
        self.out_of_memory = out_of_memory


class SmokeRefused(Exception):
    """The files ask for something not allowed: pickle weights, remote code (exit 1)."""

    def __init__(self, code: str, message: str):
        super().__init__(one_line(message))
        self.code = code            # pickle-weights-not-allowed | remote-code-not-allowed


def one_line(message: str, limit: int = 300) -> str:
    line = " ".join((message or "").strip().split("\n")[0].split())
    return line if len(line) <= limit else line[: limit - 3] + "..."


def describe(exc: BaseException) -> str:
    """An exception as one line: its type and the first line of its message."""
    text = one_line(str(exc)) or "(no message)"
    return f"{type(exc).__name__}: {text}"


# -- file rules (no torch) -------------------------------------------------------------------------

@dataclass(frozen=True)
class WeightsChoice:
    format: str                      # safetensors | pickle
    files: tuple[str, ...]           # the weight files to fetch and load (with their index)


def choose_weights(paths: Iterable[str], allow_pickle: bool = False) -> WeightsChoice:
    """The weight files to load, from a repo's file list. safetensors whenever present; PyTorch
    pickles (`pytorch_model*.bin`) only when allowed, since unpickling can run code."""
    top = sorted({p for p in paths if "/" not in p})
    safe = [p for p in top if SAFETENSORS.match(p)]
    if safe:
        return WeightsChoice("safetensors", tuple(safe + ([SAFETENSORS_INDEX] if SAFETENSORS_INDEX in top else [])))
    pickles = [p for p in top if PICKLE.match(p)]
    if pickles:
        if not allow_pickle:
            raise SmokeRefused("pickle-weights-not-allowed",
                               f"the weights are pickle-based only ({', '.join(pickles[:3])}); loading them can run "
                               "code: allow it with models.allow_pickle in the policy")
        return WeightsChoice("pickle", tuple(pickles + ([PICKLE_INDEX] if PICKLE_INDEX in top else [])))
    if any(ADAPTER.match(p) for p in top):
        raise SmokeError("weights", "only adapter weights (adapter_model.*); the smoke test loads full models")
    others = [p for p in top if OTHER_WEIGHTS.search(p)]
    found = f" (found: {', '.join(others[:4])})" if others else ""
    raise SmokeError("weights", f"no transformers weights (model*.safetensors or pytorch_model*.bin){found}")


def remote_code_refs(config: Mapping[str, Any] | None, tokenizer_config: Mapping[str, Any] | None = None
                     ) -> dict[str, str]:
    """Auto class -> custom code reference, from config.json's and tokenizer_config.json's auto_map."""
    out: dict[str, str] = {}
    for where, data in (("config.json", config), ("tokenizer_config.json", tokenizer_config)):
        amap = data.get("auto_map") if isinstance(data, Mapping) else None
        if isinstance(amap, Mapping):
            for key, ref in amap.items():
                refs = ref if isinstance(ref, (list, tuple)) else [ref]
                text = ", ".join(str(r) for r in refs if r)
                if text:
                    out[f"{where}:{key}"] = text
        elif isinstance(amap, (list, tuple)) and amap:      # old tokenizer_config format
            out[f"{where}:auto_map"] = ", ".join(str(r) for r in amap if r)
    return out


def check_remote_code(config: Mapping[str, Any] | None, tokenizer_config: Mapping[str, Any] | None,
                      allowed: bool) -> dict[str, str]:
    refs = remote_code_refs(config, tokenizer_config)
    if refs and not allowed:
        first = next(iter(refs.items()))
        raise SmokeRefused("remote-code-not-allowed",
                           f"the model needs custom code from the repo ({first[0]} -> {first[1]}); it is not run "
                           "unless the policy allows it (models.trust_remote_code)")
    return refs


def read_json(path: str) -> dict[str, Any] | None:
    """A small JSON file as a dict; None when absent; SmokeError when it does not parse."""
    if not os.path.isfile(path):
        return None
    try:
        with open(path, "rb") as fh:
            data = json.loads(fh.read(5_000_000).decode("utf-8"))
    except (OSError, UnicodeDecodeError, ValueError) as exc:
        raise SmokeError("config", f"{os.path.basename(path)} does not parse: {describe(exc)}") from None
    if not isinstance(data, dict):
        raise SmokeError("config", f"{os.path.basename(path)} is not a JSON object")
    return data


# -- what to load (needs transformers) ---------------------------------------------------------------

# (task, kind, Auto class, mapping of model types to class names, generative)
_TASKS = (
    ("causal-lm", "causal", "AutoModelForCausalLM", "MODEL_FOR_CAUSAL_LM_MAPPING_NAMES", True),
    ("seq2seq-lm", "seq2seq", "AutoModelForSeq2SeqLM", "MODEL_FOR_SEQ_TO_SEQ_CAUSAL_LM_MAPPING_NAMES", True),
    ("masked-lm", "encoder", "AutoModelForMaskedLM", "MODEL_FOR_MASKED_LM_MAPPING_NAMES", False),
    ("sequence-classification", "encoder", "AutoModelForSequenceClassification",
     "MODEL_FOR_SEQUENCE_CLASSIFICATION_MAPPING_NAMES", False),
    ("token-classification", "encoder", "AutoModelForTokenClassification",
     "MODEL_FOR_TOKEN_CLASSIFICATION_MAPPING_NAMES", False),
    ("question-answering", "encoder", "AutoModelForQuestionAnswering",
     "MODEL_FOR_QUESTION_ANSWERING_MAPPING_NAMES", False),
    ("feature-extraction", "encoder", "AutoModel", "MODEL_MAPPING_NAMES", False),
)
_TEXT_ENCODERS = ("MODEL_FOR_MASKED_LM_MAPPING_NAMES", "MODEL_FOR_SEQUENCE_CLASSIFICATION_MAPPING_NAMES",
                  "MODEL_FOR_TOKEN_CLASSIFICATION_MAPPING_NAMES")


@dataclass(frozen=True)
class ModelPlan:
    task: str
    kind: str                 # causal | seq2seq | encoder
    auto_class: str
    generative: bool
    model_type: str | None
    architecture: str | None


def _class_names(mapping: Mapping[str, Any]) -> set[str]:
    out: set[str] = set()
    for v in mapping.values():
        out.update(v if isinstance(v, (list, tuple)) else [v])
    return out


def plan_model(config: Mapping[str, Any], trust_remote_code: bool = False) -> ModelPlan:
    """Which Auto class loads this config, and whether it generates. Raises SmokeError for a
    model type or architecture the installed transformers does not know."""
    import transformers
    from transformers.models.auto import modeling_auto
    from transformers.models.auto.configuration_auto import CONFIG_MAPPING_NAMES

    version = transformers.__version__
    model_type = config.get("model_type") if isinstance(config.get("model_type"), str) else None
    archs = [a for a in config.get("architectures") or () if isinstance(a, str)]
    arch = archs[0] if archs else None
    amap = config.get("auto_map") if isinstance(config.get("auto_map"), Mapping) else {}
    if trust_remote_code and amap:
        for task, kind, auto, _, gen in _TASKS:
            if auto in amap:
                return ModelPlan(task, kind, auto, gen, model_type, arch)
    if model_type is None:
        raise SmokeError("config", "config.json names no model_type; transformers cannot pick a model class")
    if model_type not in CONFIG_MAPPING_NAMES:
        what = f" (architecture {arch})" if arch else ""
        raise SmokeError("config", f"config.json names model type '{model_type}'{what}, which transformers "
                                   f"{version} does not know")
    mappings = {name: getattr(modeling_auto, name, {}) for *_, name, _ in _TASKS}
    if arch is not None:
        for task, kind, auto, name, gen in _TASKS:
            if arch in _class_names(mappings[name]):
                return ModelPlan(task, kind, auto, gen, model_type, arch)
        if getattr(transformers, arch, None) is None:
            raise SmokeError("config", f"config.json names architecture '{arch}', which transformers {version} "
                                       f"does not provide (model type '{model_type}')")
        raise SmokeError("config", f"architecture '{arch}' is not a text model the smoke test runs "
                                   "(causal LM, seq2seq LM or text encoder)")
    # No architectures: decide by model type. BERT-like types map to causal LM too (as decoders), so
    # a type with a masked-LM or classification head is an encoder unless the config says otherwise.
    encoder_like = any(model_type in mappings[n] for n in _TEXT_ENCODERS) and not config.get("is_decoder")
    if config.get("is_encoder_decoder") and model_type in mappings["MODEL_FOR_SEQ_TO_SEQ_CAUSAL_LM_MAPPING_NAMES"]:
        return ModelPlan("seq2seq-lm", "seq2seq", "AutoModelForSeq2SeqLM", True, model_type, None)
    if not encoder_like and model_type in mappings["MODEL_FOR_CAUSAL_LM_MAPPING_NAMES"]:
        return ModelPlan("causal-lm", "causal", "AutoModelForCausalLM", True, model_type, None)
    if model_type in mappings["MODEL_MAPPING_NAMES"]:
        return ModelPlan("feature-extraction", "encoder", "AutoModel", False, model_type, None)
    raise SmokeError("config", f"model type '{model_type}' is not a text model the smoke test runs")


# -- device, dtype, memory -------------------------------------------------------------------------

def resolve_device(device: str = "auto") -> str:
    """cpu, or cuda:N (the current CUDA device for `cuda`). SmokeError when CUDA is asked for and absent."""
    import torch

    if device not in ("auto", "cpu", "cuda") and not re.fullmatch(r"cuda:\d+", device):
        raise SmokeError("device", f"unknown device '{device}' (auto, cuda, cuda:N or cpu)")
    if device == "cpu" or (device == "auto" and not torch.cuda.is_available()):
        return "cpu"
    if not torch.cuda.is_available():
        build = "built without CUDA" if torch.version.cuda is None else f"CUDA {torch.version.cuda}, no usable GPU"
        raise SmokeError("device", f"--device {device}: torch {torch.__version__} sees no GPU ({build})")
    index = int(device.split(":")[1]) if ":" in device else int(torch.cuda.current_device())
    count = int(torch.cuda.device_count())
    if index >= count:
        raise SmokeError("device", f"--device {device}: torch sees {count} GPU(s)")
    return f"cuda:{index}"


def native_bf16(device: str) -> bool:
    """Whether the GPU computes in bfloat16 natively (compute capability 8.0+), not by emulation."""
    import torch

    try:
        return bool(torch.cuda.is_bf16_supported(including_emulation=False))
    except TypeError:                                    # torch < 2.3 has no including_emulation
        return bool(torch.cuda.is_bf16_supported())


def resolve_dtype(dtype: str, device: str, config: Mapping[str, Any] | None = None) -> Any:
    """auto: float32 on the CPU; on CUDA float16 when the checkpoint declares it, else bfloat16 where
    the GPU has it natively, else float16. An explicit dtype is used as asked."""
    import torch

    names = {"bfloat16": torch.bfloat16, "float16": torch.float16, "float32": torch.float32}
    if dtype != "auto":
        if dtype not in names:
            raise SmokeError("device", f"unknown dtype '{dtype}' (auto, bfloat16, float16 or float32)")
        return names[dtype]
    if not device.startswith("cuda"):
        return torch.float32
    declared = (config or {}).get("torch_dtype") or (config or {}).get("dtype")
    if declared == "float16" or not native_bf16(device):
        return torch.float16
    return torch.bfloat16


def _cuda_index(device: str) -> int:
    return int(device.split(":")[1]) if ":" in device else 0


def _rss_bytes() -> int | None:
    try:
        with open("/proc/self/statm", "rb") as fh:
            return int(fh.read().split()[1]) * os.sysconf("SC_PAGE_SIZE")
    except (OSError, ValueError, IndexError, AttributeError):
        return None


def _maxrss_bytes() -> int | None:
    try:
        import resource
    except ImportError:
        return None
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    return peak if sys.platform == "darwin" else peak * 1024


class MemoryMeter:
    """Peak memory over a block. On CUDA: synchronize, reset_peak_memory_stats and note
    memory_allocated as the baseline on entry; synchronize and read max_memory_allocated (and
    max_memory_reserved) on exit. On the CPU: the process's resident set, sampled every few
    milliseconds, and the kernel's high-water mark where it rose."""

    def __init__(self, device: str, interval: float = 0.005):
        self.cuda = device.startswith("cuda")
        self.index = _cuda_index(device) if self.cuda else None
        self.interval = interval
        self.baseline: int | None = None
        self.peak: int | None = None
        self.reserved: int | None = None
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None
        self._maxrss0: int | None = None

    @property
    def kind(self) -> str:
        return "cuda-max-allocated" if self.cuda else "process-rss"

    def __enter__(self) -> "MemoryMeter":
        if self.cuda:
            import torch
            torch.cuda.synchronize(self.index)
            torch.cuda.reset_peak_memory_stats(self.index)
            self.baseline = int(torch.cuda.memory_allocated(self.index))
            return self
        self.baseline = _rss_bytes()
        self.peak = self.baseline
        self._maxrss0 = _maxrss_bytes()
        if self.baseline is not None:
            self._thread = threading.Thread(target=self._sample, name="smoke-rss", daemon=True)
            self._thread.start()
        return self

    def _sample(self) -> None:
        while not self._stop.wait(self.interval):
            rss = _rss_bytes()
            if rss is not None and (self.peak is None or rss > self.peak):
                self.peak = rss

    def read(self) -> int | None:
        if self.cuda:
            import torch
            try:
                torch.cuda.synchronize(self.index)
            except Exception:  # noqa: BLE001 - after an error the peak is still worth reading
                pass
            self.reserved = int(torch.cuda.max_memory_reserved(self.index))
            return int(torch.cuda.max_memory_allocated(self.index))
        rss = _rss_bytes()
        if rss is not None and (self.peak is None or rss > self.peak):
            self.peak = rss
        high = _maxrss_bytes()
        if high is not None and self._maxrss0 is not None and high > self._maxrss0:
            self.peak = max(self.peak or 0, high)      # the kernel saw a peak between two samples
        if self.baseline is None and high is not None:
            return high
        return self.peak

    def __exit__(self, *exc: Any) -> None:
        try:
            self.peak = self.read()
        finally:
            self._stop.set()
            if self._thread is not None:
                self._thread.join(timeout=1)


def is_out_of_memory(exc: BaseException) -> bool:
    """torch.cuda.OutOfMemoryError (torch.OutOfMemoryError), MemoryError, or an allocator's
    RuntimeError saying it could not allocate."""
    if isinstance(exc, MemoryError) or type(exc).__name__ == "OutOfMemoryError":
        return True
    if isinstance(exc, RuntimeError):
        text = str(exc).lower()
        return "out of memory" in text or "can't allocate memory" in text or "failed to allocate" in text
    return False


def _release_memory(device: str) -> None:
    import gc

    gc.collect()
    if device.startswith("cuda"):
        try:
            import torch
            torch.cuda.empty_cache()
        except Exception:  # noqa: BLE001 - best effort after a failure
            pass


def _gib(n: int | None) -> str:
    return "?" if n is None else f"{n / 2**30:.1f} GiB"


def oom_message(stage: str, device: str, dtype: Any, exc: BaseException) -> str:
    """One line: where memory ran out, how much the device has, what to try."""
    where = device
    if device.startswith("cuda"):
        try:
            import torch
            idx = _cuda_index(device)
            total = int(torch.cuda.get_device_properties(idx).total_memory)
            peak = int(torch.cuda.max_memory_allocated(idx))
            where = f"{device} (peak {_gib(peak)} allocated of {_gib(total)})"
        except Exception:  # noqa: BLE001 - the figures are a courtesy
            pass
    dt = str(dtype).replace("torch.", "")
    hint = "a smaller --dtype or a larger GPU" if device.startswith("cuda") else "a smaller --dtype or more RAM"
    return f"out of memory on {where} during {stage} in {dt} ({type(exc).__name__}): try {hint}"


class _Stage:
    """`with _Stage("load", prep, "... could not load it"):` turns any exception into a one-line
    SmokeError of that stage: out of memory (CUDA or host) as such, anything else with `what`."""

    def __init__(self, stage: str, device: str, dtype: Any, what: str):
        self.stage, self.device, self.dtype, self.what = stage, device, dtype, what

    def __enter__(self) -> "_Stage":
        return self

    def __exit__(self, etype: object, exc: BaseException | None, tb: object) -> None:
        if exc is None or isinstance(exc, (SmokeError, SmokeRefused, KeyboardInterrupt, SystemExit)):
            return
        if is_out_of_memory(exc):
            message = oom_message(self.stage, self.device, self.dtype, exc)
            del exc, tb
            _release_memory(self.device)
            raise SmokeError(self.stage, message, out_of_memory=True) from None
        if isinstance(exc, Exception):
            raise SmokeError(self.stage, f"{self.what}: {describe(exc)}") from None


# -- the run ---------------------------------------------------------------------------------------

@dataclass
class SmokeFigures:
    task: str
    kind: str
    model_class: str
    architecture: str | None
    model_type: str | None
    device: str
    dtype: str
    parameters: int
    weights_format: str
    weights_bytes: int
    load_seconds: float
    forward_seconds: float
    peak_memory_bytes: int | None
    baseline_memory_bytes: int | None
    memory_delta_bytes: int | None
    memory_kind: str
    output_finite: bool
    prompt_tokens: int
    tokenizer: str | None
    new_tokens: int | None = None
    time_to_first_token_seconds: float | None = None
    generate_seconds: float | None = None
    tokens_per_second: float | None = None
    warmup_runs: int = 0
    trust_remote_code: bool = False
    output_text: str | None = None
    device_name: str | None = None
    device_memory_bytes: int | None = None
    peak_reserved_bytes: int | None = None
    device_map: dict[str, str] | None = None
    versions: dict[str, str] = field(default_factory=dict)
    notes: list[str] = field(default_factory=list)

    def as_dict(self) -> dict[str, Any]:
        return asdict(self)


@dataclass
class Prepared:
    """What the files say, decided before anything heavy is loaded."""
    path: str
    weights: WeightsChoice
    weights_bytes: int
    config: dict[str, Any]
    plan: ModelPlan
    device: str
    dtype: Any
    trust_remote_code: bool
    notes: list[str] = field(default_factory=list)


def _sync(device: str) -> None:
    if device.startswith("cuda"):
        import torch
        torch.cuda.synchronize(_cuda_index(device))


def _quiet_transformers() -> None:
    try:
        from transformers.utils import logging as tlog
        tlog.set_verbosity_error()
        tlog.disable_progress_bar()
    except Exception:  # noqa: BLE001 - cosmetics only
        pass


def _dtype_kw(dtype: Any) -> dict[str, Any]:
    """`dtype=` since transformers 4.56, `torch_dtype=` before."""
    import transformers

    major, minor = (int(x) for x in re.findall(r"\d+", transformers.__version__)[:2])
    return {"dtype": dtype} if (major, minor) >= (4, 56) else {"torch_dtype": dtype}


def _load_model(auto_class: Any, path: str, device: str, dtype: Any, trust: bool, use_safetensors: bool) -> Any:
    """from_pretrained straight onto the device: on CUDA with device_map={"": device} (every module
    on that one GPU, no offloading), or, without accelerate on transformers 4.x, on the CPU then moved."""
    kw = dict(local_files_only=True, trust_remote_code=trust, use_safetensors=use_safetensors, **_dtype_kw(dtype))
    if device.startswith("cuda"):
        try:
            return auto_class.from_pretrained(path, device_map={"": device}, **kw)
        except (ImportError, ValueError) as exc:
            if "accelerate" not in str(exc).lower():
                raise
        return auto_class.from_pretrained(path, **kw).to(device)
    return auto_class.from_pretrained(path, **kw)


def check_placement(model: Any, device: str) -> dict[str, str] | None:
    """Every parameter and buffer on `device` (nothing offloaded to the CPU, disk or meta), or
    SmokeError("device"). Returns transformers' hf_device_map when it made one."""
    want = device if ":" in device or device == "cpu" else f"{device}:0"
    stray: dict[str, int] = {}
    for tensor in list(model.parameters()) + list(model.buffers()):
        where = str(tensor.device)
        where = "cuda:0" if where == "cuda" else where
        if where != want:
            stray[where] = stray.get(where, 0) + int(tensor.numel())
    if stray:
        placed = ", ".join(f"{n:,} elements on {d}" for d, n in sorted(stray.items()))
        raise SmokeError("device", f"the model is not wholly on {want}: {placed}")
    dmap = getattr(model, "hf_device_map", None)
    return {str(k): str(v) for k, v in dmap.items()} if isinstance(dmap, Mapping) else None


class _TokenClock:
    """A generation streamer that notes when each new token arrives (the first put is the prompt).
    On CUDA it synchronizes first, so a time is when the token exists, not when it was queued."""

    def __init__(self, sync: Any = None) -> None:
        self.times: list[float] = []
        self.puts = 0
        self.sync = sync

    def put(self, value: Any) -> None:
        self.puts += 1
        if self.puts > 1:
            if self.sync is not None:
                self.sync()
            self.times.append(time.perf_counter())

    def end(self) -> None:
        pass


def _streamer(device: str) -> Any:
    from transformers.generation.streamers import BaseStreamer

    class Clock(_TokenClock, BaseStreamer):
        pass

    return Clock((lambda: _sync(device)) if device.startswith("cuda") else None)


# -- the stages ------------------------------------------------------------------------------------

def inspect_dir(path: str, *, device: str = "auto", dtype: str = "auto", trust_remote_code: bool = False,
                allow_pickle: bool = False, files: Iterable[str] | None = None) -> Prepared:
    """Stages weights, config, device: which files to load, which class, where and in which dtype.
    Refuses pickle-only weights and custom code before anything is loaded."""
    if not os.path.isdir(path):
        raise SmokeError("load", f"{path}: not a directory")
    listing = list(files) if files is not None else os.listdir(path)
    weights = choose_weights(listing, allow_pickle)
    config = read_json(os.path.join(path, "config.json"))
    if config is None:
        raise SmokeError("config", "no config.json; transformers cannot tell what model this is")
    check_remote_code(config, read_json(os.path.join(path, "tokenizer_config.json")), trust_remote_code)
    plan = plan_model(config, trust_remote_code)
    dev = resolve_device(device)
    torch_dtype = resolve_dtype(dtype, dev, config)
    notes = []
    if dev.startswith("cuda") and dtype == "bfloat16" and not native_bf16(dev):
        notes.append("bfloat16 asked on a GPU without native bf16 support: emulated, slower")
    weights_bytes = sum(os.path.getsize(os.path.join(path, f)) for f in weights.files
                        if os.path.isfile(os.path.join(path, f)))
    return Prepared(path, weights, weights_bytes, config, plan, dev, torch_dtype, trust_remote_code, notes)


def load_model(prep: Prepared) -> tuple[Any, float]:
    """Stage load: from_pretrained onto the device; (model, seconds). Python imports of the model's
    code happen before the clock starts."""
    import transformers

    auto_class = getattr(transformers, prep.plan.auto_class)
    try:
        cfg_obj = transformers.AutoConfig.from_pretrained(prep.path, local_files_only=True,
                                                          trust_remote_code=prep.trust_remote_code)
        auto_class._model_mapping[type(cfg_obj)]
    except Exception:  # noqa: BLE001 - the load below reports any real problem
        pass
    t0 = time.perf_counter()
    with _Stage("load", prep.device, prep.dtype, f"{prep.plan.auto_class} could not load it"):
        model = _load_model(auto_class, prep.path, prep.device, prep.dtype, prep.trust_remote_code,
                            use_safetensors=prep.weights.format == "safetensors")
        model.eval()
        _sync(prep.device)
    return model, time.perf_counter() - t0


def load_tokenizer(prep: Prepared) -> Any:
    """Stage tokenizer: the repo's tokenizer, or None when it has no tokenizer files."""
    import transformers

    if not any(os.path.isfile(os.path.join(prep.path, f)) for f in TOKENIZER_FILES):
        prep.notes.append("no tokenizer files: ran on fixed token ids")
        return None
    with _Stage("tokenizer", prep.device, prep.dtype, "the tokenizer could not load"):
        return transformers.AutoTokenizer.from_pretrained(prep.path, local_files_only=True,
                                                          trust_remote_code=prep.trust_remote_code)


def make_inputs(prep: Prepared, model: Any, tokenizer: Any, prompt: str) -> dict[str, Any]:
    """Stage tokenizer: the prompt as tensors on the model's device."""
    import torch

    vocab = int(getattr(model.config, "vocab_size", 0) or 0) or 32
    if tokenizer is not None:
        with _Stage("tokenizer", prep.device, prep.dtype, "the tokenizer failed on the prompt"):
            enc = tokenizer(prompt, return_tensors="pt")
        inputs = {k: v for k, v in enc.items() if isinstance(v, torch.Tensor)}
    else:
        ids = torch.tensor([[(i % (vocab - 1)) + 1 for i in range(8)]])
        inputs = {"input_ids": ids, "attention_mask": torch.ones_like(ids)}
    if prep.plan.generative:
        inputs = {k: v for k, v in inputs.items() if k in ("input_ids", "attention_mask")}
    if "input_ids" not in inputs or inputs["input_ids"].numel() == 0:
        raise SmokeError("tokenizer", "the tokenizer produced no input ids for the prompt")
    if int(inputs["input_ids"].max()) >= vocab:
        raise SmokeError("tokenizer", f"the tokenizer produced id {int(inputs['input_ids'].max())}, beyond the "
                                      f"model's vocabulary of {vocab}")
    target = next(model.parameters()).device
    return {k: v.to(target) for k, v in inputs.items()}


def forward(prep: Prepared, model: Any, inputs: Mapping[str, Any]) -> tuple[bool, float]:
    """Stage forward: one cold forward pass; (outputs finite, seconds). NaN or inf is a failure."""
    import torch

    fwd_inputs = dict(inputs)
    if prep.plan.kind == "seq2seq":
        start = getattr(model.config, "decoder_start_token_id", None)
        start = 0 if start is None else int(start)
        fwd_inputs["decoder_input_ids"] = torch.full((1, 1), start, dtype=torch.long,
                                                     device=inputs["input_ids"].device)
    _sync(prep.device)
    t0 = time.perf_counter()
    with _Stage("forward", prep.device, prep.dtype, "the forward pass failed"):
        with torch.inference_mode():
            out = model(**fwd_inputs)
        _sync(prep.device)
    seconds = time.perf_counter() - t0
    first = out[0] if isinstance(out, (tuple, list)) else next(iter(out.values()), None)
    finite = bool(torch.isfinite(first.float()).all()) if isinstance(first, torch.Tensor) else True
    if not finite:
        raise SmokeError("forward", f"the forward pass produced NaN or infinite values in "
                                    f"{str(prep.dtype).replace('torch.', '')}")
    return finite, seconds


def _generate_kwargs(model: Any, n: int) -> dict[str, Any]:
    cfg = model.config
    gen_cfg = getattr(model, "generation_config", None)
    pad = getattr(gen_cfg, "pad_token_id", None)
    if pad is None:
        pad = getattr(cfg, "pad_token_id", None)
    if pad is None:
        eos = getattr(gen_cfg, "eos_token_id", None) or getattr(cfg, "eos_token_id", None)
        pad = (eos[0] if isinstance(eos, (list, tuple)) and eos else eos) if eos is not None else 0
    kw: dict[str, Any] = dict(do_sample=False, num_beams=1, max_new_tokens=n, min_new_tokens=n, pad_token_id=pad)
    if gen_cfg is not None:
        # Greedy: clear sampling knobs a checkpoint's generation_config may set.
        kw.update(temperature=None, top_p=None, top_k=None)
    return kw


def warm_up(prep: Prepared, model: Any, inputs: Mapping[str, Any], runs: int, tokens: int = 4) -> None:
    """Stage generate (warm-up): `runs` short generations, untimed, so the timed one measures the
    model, not first-call costs (CUDA context, kernel selection, allocator growth)."""
    import torch

    kw = _generate_kwargs(model, max(1, tokens))
    for _ in range(max(0, runs)):
        with _Stage("generate", prep.device, prep.dtype, "the warm-up generation failed"):
            with torch.inference_mode():
                model.generate(**inputs, **kw)
            _sync(prep.device)


def generate(prep: Prepared, model: Any, tokenizer: Any, inputs: Mapping[str, Any], n: int,
             figures: SmokeFigures) -> None:
    """Stage generate: `n` greedy tokens, timed. TTFT is from the call to the first new token;
    tokens/s counts the tokens after the first over the time after the first."""
    import torch

    with _Stage("generate", prep.device, prep.dtype, "generation failed"):
        clock = _streamer(prep.device)
        kw = {**_generate_kwargs(model, n), "streamer": clock}
        _sync(prep.device)
        t0 = time.perf_counter()
        with torch.inference_mode():
            out = model.generate(**inputs, **kw)
        _sync(prep.device)
    t_end = time.perf_counter()
    seq = out[0] if not hasattr(out, "sequences") else out.sequences[0]
    new = seq[1:] if figures.kind == "seq2seq" else seq[int(inputs["input_ids"].shape[-1]):]
    count = int(new.shape[-1])
    times = clock.times
    figures.new_tokens = count
    figures.generate_seconds = round(t_end - t0, 4)
    if times:
        figures.time_to_first_token_seconds = round(times[0] - t0, 4)
        if len(times) > 1 and times[-1] > times[0]:
            figures.tokens_per_second = round((len(times) - 1) / (times[-1] - times[0]), 2)
    if figures.tokens_per_second is None and count and t_end > t0:
        figures.tokens_per_second = round(count / (t_end - t0), 2)
    if tokenizer is not None:
        try:
            figures.output_text = one_line(tokenizer.decode(new, skip_special_tokens=True), 200)
        except Exception:  # noqa: BLE001 - the text is a courtesy
            figures.output_text = None


def _device_facts(device: str) -> tuple[str | None, int | None]:
    if not device.startswith("cuda"):
        return None, None
    import torch
    props = torch.cuda.get_device_properties(_cuda_index(device))
    return str(props.name), int(props.total_memory)


def smoke_dir(path: str, *, device: str = "auto", dtype: str = "auto", max_new_tokens: int = 8,
              prompt: str = DEFAULT_PROMPT, trust_remote_code: bool = False, allow_pickle: bool = False,
              files: Iterable[str] | None = None, warmup: int = 1) -> SmokeFigures:
    """Load the model in `path` and run it once: inspect_dir, load_model, load_tokenizer,
    make_inputs, forward (cold), warm_up (`warmup` short generations), generate (timed).
    Raises SmokeRefused (pickle weights or custom code not allowed) before loading anything,
    SmokeError when it cannot be loaded or run (out of memory included: `out_of_memory` is set)."""
    try:
        import torch
        import transformers
    except ImportError as exc:
        raise SmokeError("load", f"the smoke test needs torch and transformers ({describe(exc)}): "
                                 f"{INSTALL_HINT}") from None
    _quiet_transformers()
    prep = inspect_dir(path, device=device, dtype=dtype, trust_remote_code=trust_remote_code,
                       allow_pickle=allow_pickle, files=files)
    meter = MemoryMeter(prep.device)
    # Each stage turns its own errors into a SmokeError; this net catches the rest (out of memory
    # between stages included), so nothing leaves as a traceback.
    with _Stage("run", prep.device, prep.dtype, "the smoke test failed"), meter:
        model, load_s = load_model(prep)
        device_map = check_placement(model, prep.device)
        tokenizer = load_tokenizer(prep)
        inputs = make_inputs(prep, model, tokenizer, prompt)
        finite, forward_s = forward(prep, model, inputs)
        first = next(model.parameters())
        name, total = _device_facts(prep.device)
        figures = SmokeFigures(
            task=prep.plan.task, kind=prep.plan.kind, model_class=type(model).__name__,
            architecture=prep.plan.architecture, model_type=prep.plan.model_type, device=str(first.device),
            dtype=str(first.dtype).replace("torch.", ""), parameters=int(sum(p.numel() for p in model.parameters())),
            weights_format=prep.weights.format, weights_bytes=prep.weights_bytes, load_seconds=round(load_s, 4),
            forward_seconds=round(forward_s, 4), peak_memory_bytes=None, baseline_memory_bytes=None,
            memory_delta_bytes=None, memory_kind=meter.kind, output_finite=finite,
            prompt_tokens=int(inputs["input_ids"].shape[-1]),
            tokenizer=type(tokenizer).__name__ if tokenizer is not None else None,
            trust_remote_code=prep.trust_remote_code, notes=prep.notes, device_name=name, device_memory_bytes=total,
            device_map=device_map, versions={"torch": torch.__version__, "transformers": transformers.__version__})
        if prep.plan.generative and max_new_tokens > 0:
            warm_up(prep, model, inputs, warmup, tokens=min(max_new_tokens, 4))
            figures.warmup_runs = max(0, warmup)
            generate(prep, model, tokenizer, inputs, max_new_tokens, figures)
    figures.peak_memory_bytes = meter.peak
    figures.baseline_memory_bytes = meter.baseline
    figures.peak_reserved_bytes = meter.reserved
    if meter.peak is not None and meter.baseline is not None:
        figures.memory_delta_bytes = max(0, meter.peak - meter.baseline)
    return figures


# -- standalone use --------------------------------------------------------------------------------

def main(argv: list[str] | None = None) -> int:
    """`python runtime.py DIR`: smoke a local model directory, print the figures as JSON.
    Exit 0 ran, 1 refused (pickle or remote code not allowed), 2 failed (out of memory included)."""
    import argparse

    ap = argparse.ArgumentParser(prog="runtime.py", description=main.__doc__)
    ap.add_argument("path")
    ap.add_argument("--device", default="auto")
    ap.add_argument("--dtype", default="auto", choices=("auto", "bfloat16", "float16", "float32"))
    ap.add_argument("--max-new-tokens", type=int, default=8)
    ap.add_argument("--warmup", type=int, default=1, help="untimed generations before the timed one")
    ap.add_argument("--prompt", default=DEFAULT_PROMPT)
    ap.add_argument("--trust-remote-code", action="store_true")
    ap.add_argument("--allow-pickle", action="store_true")
    args = ap.parse_args(argv)
    try:
        figures = smoke_dir(args.path, device=args.device, dtype=args.dtype, max_new_tokens=args.max_new_tokens,
                            prompt=args.prompt, trust_remote_code=args.trust_remote_code,
                            allow_pickle=args.allow_pickle, warmup=args.warmup)
    except SmokeRefused as exc:
        flag = "--allow-pickle" if exc.code.startswith("pickle") else "--trust-remote-code"
        print(f"refused: {exc.code}: {exc} (here: {flag})", file=sys.stderr)
        return 1
    except SmokeError as exc:
        print(f"failed ({exc.stage}): {exc}", file=sys.stderr)
        return 2
    except MemoryError:                 # outside a stage (e.g. reading the figures): still one line
        print("failed (memory): out of memory", file=sys.stderr)
        return 2
    print(json.dumps(figures.as_dict(), indent=2))
    return 0


if __name__ == "__main__":
    sys.exit(main())
