"""A disk cache of generated answers, keyed by the model's weights and the exact prompt.

Greedy decoding is deterministic, and the notebooks ask the same models the same questions again
and again: notebook 04 asks 02's base model, RAG pipeline and Q&A adapter the very prompts 02 asked.
Generating is the most expensive step after training (0.2-0.4 s per answer on 2 CPU cores), so
:func:`helpers.generation.generate` looks every prompt up here first and generates only the misses.

What a hit requires (all part of the key):

* the same weights: :func:`model_fingerprint` hashes the *values* of every state-dict entry (their
  sums; for quantized layers their integer weights and scales), every module's class, dtype,
  device, train/eval mode, the generation config and the state of any LoRA adapters (active,
  disabled, merged), so a merged, further-trained or re-loaded model never
  reuses another model's answers, and two copies of the same weights share them;
* the same tokenizer (name and vocabulary size), stop tokens, torch/transformers/peft versions;
* the same rendered prompt text (chat template, system prompt, passages, prefill);
* a token budget that cannot change the answer: an answer that stopped by itself (end of line or
  of text) after ``n`` new tokens is the answer for every budget of at least ``n``; one cut by the
  budget is reused only for that same budget.

One caveat, stated rather than hidden: batched generation pads prompts to a common length, and on
a near-tie a different batch can flip a greedy choice. A hit returns the answer of the batch that
first produced it. Every run that starts from an empty cache (CI, a fresh clone) computes the same
batches in the same order, so its stored numbers are reproducible.

Answers keep the ``seconds`` measured when they were generated, so cost tables stay meaningful;
:attr:`helpers.generation.Answer.cached` says whether an answer came from here. Set
``RAGFT_ANSWER_CACHE=0`` (or pass ``cache=False``) to generate everything afresh, e.g. to time it.
"""
from __future__ import annotations

import hashlib
import importlib
import json
from pathlib import Path
from typing import TYPE_CHECKING, Any, Mapping, Sequence

from . import config, storage

if TYPE_CHECKING:  # pragma: no cover
    from transformers import PreTrainedModel, PreTrainedTokenizerBase

# Versions whose changes can change generated tokens.
VERSIONED_LIBRARIES = ("torch", "transformers", "peft")
FORMAT_VERSION = 2   # bump when the stored entry's fields change


def _tensor_digest(t: Any) -> str:
    """Shape, dtype and two float64 sums of a tensor; a quantized tensor contributes its integer values
    and its scales and zero points (its float view would hide a change of scheme)."""
    import torch

    if t.is_quantized:
        if t.qscheme() in (torch.per_channel_affine, torch.per_channel_symmetric,
                           torch.per_channel_affine_float_qparams):
            params = [t.q_per_channel_scales().double(), t.q_per_channel_zero_points().double()]
        else:
            params = [torch.tensor([t.q_scale(), float(t.q_zero_point())], dtype=torch.float64)]
        parts = [t.int_repr(), *params]
        scheme = str(t.qscheme())
    else:
        parts, scheme = [t], "float"
    sums = [float(x) for p in parts for x in (p.sum(dtype=torch.float64), p.abs().sum(dtype=torch.float64))]
    return f"{tuple(t.shape)}|{t.dtype}|{t.device.type}|{scheme}|{sums!r}"


def _state_digest(name: str, value: Any) -> list[str]:
    """Digest lines for one state-dict entry: tensors, or the tuples and plain values that
    quantized modules store (packed weights and biases, dtypes)."""
    import torch

    if isinstance(value, torch.Tensor):
        return [f"{name}|{_tensor_digest(value.detach())}"]
    if isinstance(value, (tuple, list)):
        return [line for i, v in enumerate(value) for line in _state_digest(f"{name}[{i}]", v)]
    return [f"{name}|{value!r}"]


def model_fingerprint(model: "PreTrainedModel") -> str:
    """A hash of what decides the model's output: every entry of its state dict (parameters, buffers,
    and the packed weights of quantized layers, which are not parameters), class, mode, generation
    config and LoRA adapter state.

    Each tensor contributes its name, shape, dtype and two sums (plain and absolute, in float64); a
    quantized tensor its integer values and scales. Training, merging or quantizing changes these
    sums; a change that kept both sums of every tensor (values permuted inside a tensor) would go
    unseen, a price paid for hashing in a fraction of a second instead of reading every byte. The
    attention implementation and the quantized-kernel engine are included too.
    """
    import torch

    digest = hashlib.sha256()
    digest.update(f"{type(model).__module__}.{type(model).__name__}|training={model.training}\n".encode())
    attention = getattr(getattr(model, "config", None), "_attn_implementation", None)
    digest.update(f"attention={attention}|qengine={torch.backends.quantized.engine}\n".encode())
    gen_config = getattr(model, "generation_config", None)
    if gen_config is not None:
        digest.update(gen_config.to_json_string(use_diff=True).encode())
    with torch.no_grad():
        for name, value in model.state_dict(keep_vars=False).items():
            for line in _state_digest(name, value):
                digest.update(f"{line}\n".encode())
    for name, module in model.named_modules():   # what a state dict does not show
        digest.update(f"{name}|{type(module).__name__}\n".encode())
        if hasattr(module, "active_adapters") and hasattr(module, "merged_adapters"):   # peft LoRA layers
            state = (list(module.active_adapters), list(module.merged_adapters),
                     bool(getattr(module, "disable_adapters", False)))
            digest.update(f"{name}|{state}\n".encode())
    return digest.hexdigest()


def settings_key(tokenizer: "PreTrainedTokenizerBase", stop_ids: Sequence[int], first_line: bool) -> dict[str, Any]:
    """The decoding facts besides weights and prompt that decide an answer."""
    return {"format": FORMAT_VERSION, "tokenizer": str(tokenizer.name_or_path), "vocab": len(tokenizer),
            "stops": hashlib.sha256(json.dumps(sorted(stop_ids)).encode()).hexdigest()[:16],
            "first_line": first_line, "greedy": True,
            "versions": {n: str(importlib.import_module(n).__version__) for n in VERSIONED_LIBRARIES}}


def prompt_key(text: str) -> str:
    """The key of one rendered prompt."""
    return hashlib.sha256(text.encode()).hexdigest()


def usable(entry: Mapping[str, Any], max_new_tokens: int) -> bool:
    """Whether a stored answer is the one a run with ``max_new_tokens`` would produce: it stopped by
    itself within that budget, or it was cut by exactly this budget."""
    if entry["stopped"]:
        return entry["new_tokens"] <= max_new_tokens
    return entry["budget"] == max_new_tokens


class AnswerCache:
    """The stored answers of one model and decoding setting: one JSON file in
    ``<RAGFT_CACHE_DIR>/answers/``, mapping :func:`prompt_key` to an answer entry."""

    def __init__(self, model: "PreTrainedModel", tokenizer: "PreTrainedTokenizerBase",
                 stop_ids: Sequence[int], first_line: bool, folder: Path | None = None) -> None:
        key = {"model": model_fingerprint(model), **settings_key(tokenizer, stop_ids, first_line)}
        name = hashlib.sha256(json.dumps(key, sort_keys=True).encode()).hexdigest()[:24]
        self.path = (folder or config.cache_dir() / "answers") / f"{name}.json"
        self.key = key
        self.entries: dict[str, dict[str, Any]] = self._read()

    def _read(self) -> dict[str, dict[str, Any]]:
        if not self.path.is_file():
            return {}
        try:
            stored = json.loads(self.path.read_text(encoding="utf-8"))
        except json.JSONDecodeError as err:
            raise ValueError(f"{self.path}, line {err.lineno}: not valid JSON ({err.msg}); "
                             "delete the file to rebuild it") from err
        if stored.get("key") != self.key:
            raise ValueError(f"{self.path}: stored for another model or setting (key mismatch); "
                             "delete the file to rebuild it")
        return stored["answers"]

    def lookup(self, text: str, max_new_tokens: int) -> dict[str, Any] | None:
        """The stored entry for rendered prompt ``text`` if it is valid for ``max_new_tokens``."""
        entry = self.entries.get(prompt_key(text))
        return entry if entry is not None and usable(entry, max_new_tokens) else None

    def store(self, new: Mapping[str, Mapping[str, Any]]) -> None:
        """Add entries (prompt key -> entry) and write the file atomically, merged with whatever
        another kernel wrote meanwhile (under the file's lock)."""
        if not new:
            return
        with storage.locked(self.path, what=f"answer cache {self.path.name}", verbose=False):
            merged = self._read()
            for k, entry in new.items():
                old = merged.get(k)
                # keep the entry that is valid for more budgets: a stopped answer beats a cut one
                if old is None or (entry["stopped"] and not old["stopped"]) or \
                        (not old["stopped"] and not entry["stopped"] and entry["budget"] > old["budget"]):
                    merged[k] = dict(entry)
            storage.atomic_write_text(self.path, json.dumps({"key": self.key, "answers": merged}))
            self.entries = merged
