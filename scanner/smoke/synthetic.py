"""Random models built from configs, with a tokenizer built locally: nothing is downloaded.

For the tests (tiny Llama, BERT and T5 models saved as safetensors) and benchmarks/gpu_smoke.py
(a Llama of about 1B parameters). Like runtime.py this imports only torch, transformers (and
tokenizers, which transformers requires) and the standard library, so it runs by file path.
"""

from __future__ import annotations

import os
from typing import Any

SPECIAL = ("[PAD]", "[UNK]", "<s>", "</s>", "[CLS]", "[SEP]", "[MASK]")
WORDS = "the quick brown fox jumps over lazy dog hello world a model of words".split()

# About 1.1B parameters (the TinyLlama-1.1B shape).
LLAMA_1B = dict(vocab_size=32000, hidden_size=2048, intermediate_size=5632, num_hidden_layers=22,
                num_attention_heads=32, num_key_value_heads=4, max_position_embeddings=2048)
LLAMA_TINY = dict(vocab_size=256, hidden_size=64, intermediate_size=128, num_hidden_layers=2,
                  num_attention_heads=4, num_key_value_heads=2, max_position_embeddings=256)


def make_tokenizer(vocab_size: int) -> Any:
    """A whitespace word-level tokenizer with `vocab_size` entries (ids 0..6 are special tokens)."""
    from tokenizers import Tokenizer, models, pre_tokenizers
    from transformers import PreTrainedTokenizerFast

    vocab: dict[str, int] = {}
    for tok in SPECIAL + tuple(WORDS):
        vocab.setdefault(tok, len(vocab))
    for i in range(len(vocab), vocab_size):
        vocab[f"w{i}"] = i
    tk = Tokenizer(models.WordLevel(vocab, unk_token="[UNK]"))
    tk.pre_tokenizer = pre_tokenizers.Whitespace()
    return PreTrainedTokenizerFast(tokenizer_object=tk, unk_token="[UNK]", pad_token="[PAD]", bos_token="<s>",
                                   eos_token="</s>", cls_token="[CLS]", sep_token="[SEP]", mask_token="[MASK]")


def _ids() -> dict[str, Any]:
    return dict(pad_token_id=0, bos_token_id=2, eos_token_id=3)


def llama_config(size: str = "tiny", **overrides: Any) -> Any:
    from transformers import LlamaConfig

    shape = {"tiny": LLAMA_TINY, "1b": LLAMA_1B}[size]
    return LlamaConfig(**{**shape, **_ids(), "tie_word_embeddings": False, **overrides})


def build(kind: str = "llama", size: str = "tiny", seed: int = 0, dtype: Any = None, device: str = "cpu") -> Any:
    """A randomly initialised model: kind llama (causal LM), bert (masked-LM encoder) or t5 (seq2seq)."""
    import torch
    import transformers

    torch.manual_seed(seed)
    config: Any
    cls: Any
    if kind == "llama":
        config, cls = llama_config(size), transformers.LlamaForCausalLM
    elif kind == "bert":
        config = transformers.BertConfig(vocab_size=256, hidden_size=32, num_hidden_layers=2, num_attention_heads=2,
                                         intermediate_size=64, max_position_embeddings=128, pad_token_id=0)
        cls = transformers.BertForMaskedLM
    elif kind == "t5":
        t5: dict[str, Any] = dict(vocab_size=256, d_model=32, d_kv=8, d_ff=64, num_layers=2, num_heads=4,
                                  decoder_start_token_id=0, **_ids())
        config = transformers.T5Config(**t5)
        cls = transformers.T5ForConditionalGeneration
    else:
        raise ValueError(f"unknown kind {kind!r} (llama, bert, t5)")
    previous = torch.get_default_dtype()
    try:
        if dtype is not None:
            torch.set_default_dtype(dtype)
        with torch.device(device):
            model = cls(config)
    finally:
        torch.set_default_dtype(previous)
    return model.eval()


def save(model: Any, path: str, tokenizer: bool = True, safe: bool = True) -> str:
    """Save the model (safetensors unless safe=False) and, by default, a matching tokenizer."""
    os.makedirs(path, exist_ok=True)
    _quiet()
    model.save_pretrained(path)
    if not safe:
        # A PyTorch pickle checkpoint (transformers 5 saves safetensors only).
        import torch
        torch.save(model.state_dict(), os.path.join(path, "pytorch_model.bin"))
        os.remove(os.path.join(path, "model.safetensors"))
    if tokenizer:
        make_tokenizer(int(model.config.vocab_size)).save_pretrained(path)
    return path


def _quiet() -> None:
    try:
        from transformers.utils import logging as tlog
        tlog.set_verbosity_error()
        tlog.disable_progress_bar()
    except Exception:  # noqa: BLE001 - cosmetics only
        pass


def write_model(path: str, kind: str = "llama", size: str = "tiny", **kw: Any) -> str:
    return save(build(kind, size, **kw), path)
