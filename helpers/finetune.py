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

import contextlib
import copy
import hashlib
import json
import shutil
import tempfile
import time
import warnings
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any, Iterator, Literal, Sequence

from . import config, generation, models
from .data import normalize_text

if TYPE_CHECKING:  # pragma: no cover
    from transformers import PreTrainedTokenizerBase

    from .data import Fact

Kind = Literal["qa", "lm"]
IGNORE_INDEX = -100   # label value the loss skips (prompt tokens, padding)
_FORMAT_VERSION = 1   # bump when the way examples or adapters are built changes


ALL_PROJECTIONS = ("q_proj", "k_proj", "v_proj", "o_proj", "gate_proj", "up_proj", "down_proj")


@dataclass(frozen=True)
class LoraSettings:
    """Everything that decides what a training run produces (all part of the cache key).

    The defaults were chosen on the *training* wordings of 40 facts (never on held-out questions),
    on 2 CPU cores: rank 8 on q/v alone recalled 28% of the training questions after 10 epochs
    (97 s); all seven projections of the top 10 layers at rank 16 recalled 100% after 8 epochs
    (65 s) and about 90% after 6 (46 s). Adapting only the top layers lets the backward pass stop
    early.
    """

    rank: int = 16
    alpha: int = 32
    dropout: float = 0.05
    target_modules: tuple[str, ...] = ALL_PROJECTIONS
    top_layers: int | None = 10   # adapt only the last N transformer layers (None = all)
    epochs: float = 8.0
    max_steps: int | None = None  # if set, train exactly this many optimizer steps (overrides epochs)
    learning_rate: float = 3e-3
    batch_size: int = 8
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
# paraphrase augmentation

# Generic English rewrites of a question's opening. They are written here, once, and applied blindly
# to every training question. They never look at the held-out questions, and no rule was added or
# changed after seeing results. We tried the 135M generator as a paraphraser first: it mostly
# echoed or answered the question, so rules are the honest choice at this model size.
_REWRITES: tuple[tuple[str, str], ...] = (
    (r"^How much does (.+) cost\?$", r"What is the price of \1?"),
    (r"^How much is (.+)\?$", r"What does \1 cost?"),
    (r"^How many (.+)\?$", r"What is the number of \1?"),
    (r"^How long (.+)\?$", r"For how long \1?"),
    (r"^How often (.+)\?$", r"How frequently \1?"),
    (r"^How (.+)\?$", r"In what way \1?"),
    (r"^Who is (.+)\?$", r"Which person is \1?"),
    (r"^Who (.+)\?$", r"Which person \1?"),
    (r"^When (.+)\?$", r"At what time \1?"),
    (r"^Where (.+)\?$", r"In what place \1?"),
    (r"^In which (.+)\?$", r"In what \1?"),
    (r"^Which (.+)\?$", r"What \1?"),
    (r"^What is (.+)\?$", r"Tell me what \1 is."),
    (r"^What (.+)\?$", r"Tell me: what \1?"),
)
_WRAPPERS: tuple[str, ...] = ("Quick question: {q}", "I would like to know this. {q}", "{lower}")


def augment_question(question: str, n: int = 3) -> list[str]:
    """The question plus up to ``n`` rule-based rewordings (one lexical rewrite, then wrappers).

    >>> augment_question("How much does the Hearth gateway cost?", n=2)
    ['How much does the Hearth gateway cost?', 'What is the price of the Hearth gateway?', 'Quick question: How much does the Hearth gateway cost?']
    """
    import re

    variants = [question]
    for pattern, replacement in _REWRITES:
        if re.match(pattern, question):
            variants.append(re.sub(pattern, replacement, question))
            break
    for wrapper in _WRAPPERS:
        variants.append(wrapper.format(q=question, lower=question[0].lower() + question[1:].rstrip("?")))
    unique = list(dict.fromkeys(variants))
    return unique[:n + 1]


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


@contextlib.contextmanager
def _quiet_deprecations() -> Iterator[None]:
    """Silence one FutureWarning that peft and Trainer trigger inside transformers 5
    (``is_gradient_checkpointing`` is deprecated): nothing our code can change, and it would land in
    every notebook's output. Other warnings still show."""
    with warnings.catch_warnings():
        warnings.filterwarnings("ignore", message=".*is_gradient_checkpointing", category=FutureWarning)
        yield


def _top_layers(model: Any, n: int | None) -> list[int] | None:
    if n is None:
        return None
    total = model.config.num_hidden_layers
    if not 0 < n <= total:
        raise ValueError(f"top_layers={n}: the model has {total} layers")
    return list(range(total - n, total))


def train_lora(kind: Kind, examples: Sequence[dict[str, list[int]]], settings: LoraSettings = LoraSettings(),
               generator: str | None = None, use_cache: bool = True, verbose: bool = True,
               start_from: Path | None = None) -> FineTuneResult:
    """Train a LoRA adapter on ``examples`` (from :func:`qa_examples` or :func:`lm_examples`), or load
    it from the cache when the same examples and settings were trained before.

    ``start_from``: the folder of a saved adapter (``FineTuneResult.adapter_dir``) to continue
    training instead of starting a new one; its ``settings`` other than the schedule (epochs,
    learning rate, batch size) are those of the saved adapter.
    """
    import torch
    from peft import LoraConfig, PeftModel, get_peft_model
    from transformers import PrinterCallback, Trainer, TrainingArguments

    if kind not in ("qa", "lm"):
        raise ValueError(f"kind must be 'qa' or 'lm', got {kind!r}")
    if not examples:
        raise ValueError("no training examples")
    began = time.perf_counter()
    base_path = models.generator_path(generator)
    if start_from is not None and not (Path(start_from) / "adapter_config.json").is_file():
        raise FileNotFoundError(f"{start_from}: no saved adapter to continue from")
    origin = f"{base_path}+{Path(start_from).name}" if start_from is not None else base_path
    key = adapter_key(kind, examples, settings, origin)
    adapter_dir = config.cache_dir() / "adapters" / f"{kind}-{key}"
    n_tokens = sum(sum(t != IGNORE_INDEX for t in ex["labels"]) for ex in examples)
    base, tokenizer = models.load_generator(generator, cached=False)

    if use_cache and (adapter_dir / "meta.json").is_file():
        with _quiet_deprecations():
            model = PeftModel.from_pretrained(base, adapter_dir).eval()
        meta = json.loads((adapter_dir / "meta.json").read_text())
        if verbose:
            print(f"loaded cached adapter {adapter_dir.name} (trained in {meta['train_seconds']:.0f} s)")
        return FineTuneResult(model=model, kind=kind, losses=meta["losses"], train_seconds=meta["train_seconds"],
                              load_seconds=time.perf_counter() - began, cached=True, adapter_dir=adapter_dir,
                              n_examples=len(examples), n_tokens=n_tokens,
                              trainable_params=meta["trainable_params"],
                              settings=settings)

    torch.manual_seed(settings.seed)   # LoRA's A matrices are initialised at random
    with _quiet_deprecations():
        if start_from is not None:
            model = PeftModel.from_pretrained(base, start_from, is_trainable=True)
        else:
            lora = LoraConfig(r=settings.rank, lora_alpha=settings.alpha, lora_dropout=settings.dropout,
                              target_modules=list(settings.target_modules), task_type="CAUSAL_LM",
                              layers_to_transform=_top_layers(base, settings.top_layers))
            model = get_peft_model(base, lora)
    trainable = models.count_parameters(model, trainable_only=True)
    device = next(base.parameters()).device.type
    with tempfile.TemporaryDirectory() as scratch:
        args = TrainingArguments(
            output_dir=scratch, per_device_train_batch_size=settings.batch_size,
            num_train_epochs=settings.epochs, max_steps=settings.max_steps or -1,
            learning_rate=settings.learning_rate,
            warmup_steps=settings.warmup_steps, lr_scheduler_type="linear", logging_steps=1,
            save_strategy="no", report_to="none", disable_tqdm=True, seed=settings.seed,
            data_seed=settings.seed, use_cpu=device == "cpu", dataloader_num_workers=0,
            optim="adamw_torch", log_level="error")
        with _quiet_deprecations():
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
            "n_examples": len(examples), "settings": asdict(settings), "base": base_path,
            "start_from": str(start_from) if start_from is not None else None}, indent=1))
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


def fact_pairs(facts: Sequence["Fact"], n_paraphrases: int = 0) -> list[tuple[str, str]]:
    """(question, answer) training pairs from facts' *training* wordings (never the held-out ones),
    each question followed by up to ``n_paraphrases`` rule-based rewordings (:func:`augment_question`).

    Decontamination: a rewording that equals one of the fact's held-out questions (after SQuAD
    normalization) is dropped. A generic rule can land on a test question by accident ("How much
    does X cost?" -> "What is the price of X?"), and training on it would leak that question.
    """
    pairs = []
    for fact in facts:
        heldout = {normalize_text(h) for h in fact.heldout}
        pairs += [(q, fact.answer) for q in augment_question(fact.question, n_paraphrases)
                  if normalize_text(q) not in heldout]
    return pairs
