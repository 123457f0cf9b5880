"""LoRA fine-tuning with peft and ``transformers.Trainer``, for both kinds the guide names.

* **Language-modeling fine-tuning** (:func:`lm_examples`): raw text, next-token prediction on every
  token.
* **Supervised Q&A fine-tuning** (:func:`qa_examples`): question -> answer pairs, formatted with the
  same chat prompt the model sees at inference, with the loss only on the answer tokens.

Trained adapters are cached under ``<cache>/adapters/<key>``, where the key hashes the exact token
ids of the training examples, the settings and the base model. A rerun with the same data and
settings loads the adapter (about a second) instead of training again.
"""
from __future__ import annotations

import copy
import hashlib
import json
import shutil
import tempfile
import time
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any, Literal, Sequence

from . import config, generation, models

if TYPE_CHECKING:  # pragma: no cover
    from transformers import PreTrainedModel, PreTrainedTokenizerBase

Kind = Literal["qa", "lm"]
IGNORE_INDEX = -100   # label value the loss skips (prompt tokens, padding)
_FORMAT_VERSION = 1   # bump when the way examples or adapters are built changes


@dataclass(frozen=True)
class LoraSettings:
    """Everything that decides what a training run produces (all part of the cache key)."""

    rank: int = 8
    alpha: int = 16
    dropout: float = 0.05
    target_modules: tuple[str, ...] = ("q_proj", "v_proj")
    epochs: float = 3.0
    learning_rate: float = 1e-3
    batch_size: int = 8
    max_length: int = 96          # tokens per example (QA) or per block (LM)
    warmup_steps: int = 2
    seed: int = 0


@dataclass
class FineTuneResult:
    """A trained (or cache-loaded) LoRA model and how it was made."""

    model: Any                    # peft.PeftModel, in eval mode
    kind: str
    losses: list[float]           # training loss at every optimizer step
    train_seconds: float          # time the training took when it was done (not the cache load)
    load_seconds: float           # time this call took
    cached: bool                  # True if loaded from the adapter cache
    adapter_dir: Path
    n_examples: int
    n_tokens: int                 # supervised tokens seen per epoch
    trainable_params: int
    settings: LoraSettings = field(default_factory=LoraSettings)


# --------------------------------------------------------------------------------------------
# building examples


def qa_examples(pairs: Sequence[tuple[str, str]], tokenizer: "PreTrainedTokenizerBase",
                max_length: int = 96, system: str = generation.SYSTEM_PROMPT) -> list[dict[str, list[int]]]:
    """Supervised Q&A examples: the closed-book chat prompt, then the answer and end-of-turn.

    The prompt is exactly what :func:`helpers.generation.closed_book_messages` produces at
    inference, so training and evaluation see the same format; labels are ``-100`` on the prompt,
    so the loss covers only the answer.
    """
    examples = []
    for question, answer in pairs:
        prompt = generation.render(tokenizer, generation.closed_book_messages(question, system))
        prompt_ids = tokenizer(prompt, add_special_tokens=False)["input_ids"]
        answer_ids = tokenizer(answer + tokenizer.eos_token, add_special_tokens=False)["input_ids"]
        if len(prompt_ids) + len(answer_ids) > max_length:
            raise ValueError(f"example longer than max_length={max_length} tokens "
                             f"({len(prompt_ids)} + {len(answer_ids)}): {question!r}")
        ids = prompt_ids + answer_ids
        examples.append({"input_ids": ids, "attention_mask": [1] * len(ids),
                         "labels": [IGNORE_INDEX] * len(prompt_ids) + answer_ids})
    if not examples:
        raise ValueError("no training pairs given")
    return examples


def lm_examples(texts: Sequence[str], tokenizer: "PreTrainedTokenizerBase",
                max_length: int = 128) -> list[dict[str, list[int]]]:
    """Language-modeling examples: texts joined by end-of-text and cut into blocks of
    ``max_length`` tokens; every token is a prediction target."""
    ids: list[int] = []
    for text in texts:
        ids += tokenizer(text, add_special_tokens=False)["input_ids"] + [tokenizer.eos_token_id]
    if not ids:
        raise ValueError("no training text given")
    blocks = [ids[i:i + max_length] for i in range(0, len(ids), max_length)]
    return [{"input_ids": b, "attention_mask": [1] * len(b), "labels": list(b)} for b in blocks]


def adapter_key(kind: str, examples: Sequence[dict[str, list[int]]], settings: LoraSettings,
                base: str) -> str:
    """Hash of everything that determines the trained adapter."""
    digest = hashlib.sha256()
    digest.update(json.dumps({"format": _FORMAT_VERSION, "kind": kind, "base": base,
                              "settings": asdict(settings)}, sort_keys=True).encode())
    for ex in examples:
        digest.update(json.dumps([ex["input_ids"], ex["labels"]]).encode())
    return digest.hexdigest()[:16]


# --------------------------------------------------------------------------------------------
# training


def _collator(tokenizer: "PreTrainedTokenizerBase") -> Any:
    from transformers import DataCollatorForSeq2Seq

    # Training pads on the right (positions then start at 0 for every example); generation keeps
    # its own left-padded tokenizer.
    right = copy.copy(tokenizer)
    right.padding_side = "right"
    return DataCollatorForSeq2Seq(right, padding=True, label_pad_token_id=IGNORE_INDEX)


def train_lora(kind: Kind, examples: Sequence[dict[str, list[int]]], settings: LoraSettings = LoraSettings(),
               generator: str | None = None, use_cache: bool = True, verbose: bool = True) -> FineTuneResult:
    """Train a LoRA adapter on ``examples`` (from :func:`qa_examples` or :func:`lm_examples`), or load
    it from the cache when the same examples and settings were trained before."""
    import torch
    from peft import LoraConfig, PeftModel, get_peft_model
    from transformers import PrinterCallback, Trainer, TrainingArguments

    if kind not in ("qa", "lm"):
        raise ValueError(f"kind must be 'qa' or 'lm', got {kind!r}")
    if not examples:
        raise ValueError("no training examples")
    began = time.perf_counter()
    base_path = models.generator_path(generator)
    key = adapter_key(kind, examples, settings, base_path)
    adapter_dir = config.cache_dir() / "adapters" / f"{kind}-{key}"
    n_tokens = sum(sum(t != IGNORE_INDEX for t in ex["labels"]) for ex in examples)
    base, tokenizer = models.load_generator(generator, cached=False)

    if use_cache and (adapter_dir / "meta.json").is_file():
        model = PeftModel.from_pretrained(base, adapter_dir).eval()
        meta = json.loads((adapter_dir / "meta.json").read_text())
        if verbose:
            print(f"loaded cached adapter {adapter_dir.name} (trained in {meta['train_seconds']:.0f} s)")
        return FineTuneResult(model=model, kind=kind, losses=meta["losses"], train_seconds=meta["train_seconds"],
                              load_seconds=time.perf_counter() - began, cached=True, adapter_dir=adapter_dir,
                              n_examples=len(examples), n_tokens=n_tokens,
                              trainable_params=models.count_parameters(model, trainable_only=True) or meta["trainable_params"],
                              settings=settings)

    torch.manual_seed(settings.seed)   # LoRA's A matrices are initialised at random
    lora = LoraConfig(r=settings.rank, lora_alpha=settings.alpha, lora_dropout=settings.dropout,
                      target_modules=list(settings.target_modules), task_type="CAUSAL_LM")
    model = get_peft_model(base, lora)
    trainable = models.count_parameters(model, trainable_only=True)
    device = next(base.parameters()).device.type
    with tempfile.TemporaryDirectory() as scratch:
        args = TrainingArguments(
            output_dir=scratch, per_device_train_batch_size=settings.batch_size,
            num_train_epochs=settings.epochs, learning_rate=settings.learning_rate,
            warmup_steps=settings.warmup_steps, lr_scheduler_type="linear", logging_steps=1,
            save_strategy="no", report_to="none", disable_tqdm=True, seed=settings.seed,
            data_seed=settings.seed, use_cpu=device == "cpu", dataloader_num_workers=0,
            optim="adamw_torch", log_level="error")
        trainer = Trainer(model=model, args=args, train_dataset=list(examples),
                          data_collator=_collator(tokenizer))
        # with tqdm disabled Trainer prints every log dict; the loss history is returned instead
        trainer.remove_callback(PrinterCallback)
        start = time.perf_counter()
        trainer.train()
        train_seconds = time.perf_counter() - start
    losses = [round(float(e["loss"]), 4) for e in trainer.state.log_history if "loss" in e]
    model.eval()
    if use_cache:
        adapter_dir.parent.mkdir(parents=True, exist_ok=True)
        tmp = Path(tempfile.mkdtemp(prefix=f".{adapter_dir.name}-", dir=adapter_dir.parent))
        model.save_pretrained(tmp)
        (tmp / "meta.json").write_text(json.dumps({
            "kind": kind, "losses": losses, "train_seconds": train_seconds, "trainable_params": trainable,
            "n_examples": len(examples), "settings": asdict(settings), "base": base_path}, indent=1))
        if adapter_dir.exists():
            shutil.rmtree(adapter_dir)
        tmp.rename(adapter_dir)
    if verbose:
        print(f"trained {kind} adapter on {len(examples)} examples in {train_seconds:.0f} s, "
              f"final loss {losses[-1]:.3f}")
    return FineTuneResult(model=model, kind=kind, losses=losses, train_seconds=train_seconds,
                          load_seconds=time.perf_counter() - began, cached=False, adapter_dir=adapter_dir,
                          n_examples=len(examples), n_tokens=n_tokens, trainable_params=trainable,
                          settings=settings)
