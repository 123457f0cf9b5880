"""LoRA fine-tuning with peft and ``transformers.Trainer``, for both kinds the guide names.

* **Language-modeling fine-tuning** (:func:`lm_examples`): raw text, next-token prediction on every
  token.
* **Supervised Q&A fine-tuning** (:func:`qa_examples`): question -> answer pairs, formatted with the
  same chat prompt the model sees at inference, with the loss only on the answer tokens.

Trained adapters are cached under ``<cache>/adapters/<kind>-<key>``. The key (:func:`adapter_key`)
hashes everything that changes the trained weights: the exact token ids of the examples, the
:class:`LoraSettings`, the ``TrainingArguments`` actually passed to ``Trainer`` (minus paths), the
torch/transformers/peft/accelerate versions, a content hash of the base weights
(:func:`helpers.models.weights_fingerprint`), the parent adapter's key when training continues
from one, and the device (not the epochs whose snapshots are kept: see :func:`train_lora`). A rerun
with the same inputs loads the adapter (about a second) instead of training again; ``meta.json``
beside it records where and how long it trained. Building and reading a cache entry holds the lock ``<adapters>/<name>.lock``,
so two kernels asking for the same adapter train it once.
"""
from __future__ import annotations

import contextlib
import copy
import hashlib
import json
import math
import re
import tempfile
import time
import warnings
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any, Iterator, Literal, Mapping, Sequence

from . import config, generation, models, storage
from .data import normalize_text

if TYPE_CHECKING:  # pragma: no cover
    from transformers import PreTrainedTokenizerBase, TrainingArguments

    from .data import Fact, Question

Kind = Literal["qa", "lm"]
IGNORE_INDEX = -100   # label value the loss skips (prompt tokens, padding)
_FORMAT_VERSION = 2   # bump when the way examples or adapters are built or stored changes
NEAR_COPY_JACCARD = 0.6   # a rewording this close (token Jaccard) to any held-out question is dropped
VERSIONED_LIBRARIES = ("torch", "transformers", "peft", "accelerate")   # part of the cache key


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
    # examples per forward pass when fewer than batch_size fit in memory (None = batch_size): gradients
    # are accumulated over batch_size / micro_batch_size passes, so each optimizer step still sees
    # batch_size examples (long prompts, e.g. a reader's passages, need this to stay under 3 GB)
    micro_batch_size: int | None = None

    def __post_init__(self) -> None:
        if self.micro_batch_size is not None and (self.micro_batch_size < 1 or self.batch_size % self.micro_batch_size):
            raise ValueError(f"micro_batch_size={self.micro_batch_size} must divide batch_size={self.batch_size}")


StateDict = dict[str, Any]   # adapter weights as peft's get_peft_model_state_dict returns them
_WEIGHTS_FILE = "adapter_model.safetensors"


@dataclass
class FineTuneResult:
    """A trained (or cache-loaded) LoRA model and how it was made.

    With ``save_epochs`` given to :func:`train_lora`, the adapter weights at those epochs are kept
    too: :attr:`epochs_saved` lists them, :meth:`load_epoch` puts one into :attr:`model` and
    :meth:`load_final` restores the fully trained weights.
    """

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
    device: str = "cpu"           # where the adapter was trained (for a cached one: when it was trained)
    key: str = ""                 # the cache key (see adapter_key)
    parent_key: str | None = None  # key of the adapter training continued from, if any
    settings: LoraSettings = field(default_factory=LoraSettings)
    _snapshots: dict[float, "Path | StateDict"] = field(default_factory=dict, repr=False)
    _final: "Path | StateDict | None" = field(default=None, repr=False)

    @property
    def epochs_saved(self) -> tuple[float, ...]:
        """Epochs whose adapter weights were kept (``save_epochs``), ascending."""
        return tuple(sorted(self._snapshots))

    @property
    def timing(self) -> str:
        """How long training took and where, marked when read from the cache, e.g.
        ``"65 s on cpu (cached)"``: what a notebook should show next to a training time."""
        return f"{self.train_seconds:.0f} s on {self.device}" + (" (cached)" if self.cached else "")

    def load_epoch(self, epoch: float) -> Any:
        """Put the adapter weights saved at the end of ``epoch`` into :attr:`model`; returns it.

        Only the LoRA weights change, in place; call :meth:`load_final` to go back.
        """
        match = [e for e in self._snapshots if math.isclose(e, float(epoch), abs_tol=1e-9)]
        if not match:
            saved = ", ".join(f"{e:g}" for e in self.epochs_saved) or "none"
            raise ValueError(f"no snapshot of epoch {epoch:g} (saved epochs: {saved}); "
                             f"pass save_epochs=[...] to train_lora to keep some")
        return self._load_weights(self._snapshots[match[0]])

    def load_final(self) -> Any:
        """Put the fully trained adapter weights back into :attr:`model`; returns it."""
        if self._final is None:
            raise ValueError("this result keeps no final weights to restore")
        return self._load_weights(self._final)

    def _load_weights(self, source: "Path | StateDict") -> Any:
        from peft import set_peft_model_state_dict

        if isinstance(source, Path):
            from safetensors.torch import load_file

            source = load_file(str(source))
        outcome = set_peft_model_state_dict(self.model, source)
        unexpected = getattr(outcome, "unexpected_keys", [])
        if unexpected:
            raise ValueError(f"adapter weights do not fit the model: unexpected keys {unexpected[:3]}...")
        return self.model.eval()


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
    if not pairs:
        raise ValueError("no training pairs given")
    return chat_examples([generation.closed_book_messages(q, system) for q, _ in pairs], [a for _, a in pairs],
                         tokenizer, max_length)


def chat_examples(prompts: Sequence["generation.Messages"], answers: Sequence[str],
                  tokenizer: "PreTrainedTokenizerBase", max_length: int = 96) -> list[dict[str, list[int]]]:
    """Supervised examples from any chat prompts (e.g. :func:`helpers.generation.rag_messages` for a
    reader that learns to answer from passages): the rendered prompt, then the answer and
    end-of-turn; the loss covers only the answer. Raises if an example is longer than ``max_length``
    tokens (naming it) or the lists differ in length."""
    if len(prompts) != len(answers):
        raise ValueError(f"{len(prompts)} prompts but {len(answers)} answers")
    if not prompts:
        raise ValueError("no training pairs given")
    examples = []
    for messages, answer in zip(prompts, answers, strict=True):
        prompt_ids = tokenizer(generation.render(tokenizer, messages), add_special_tokens=False)["input_ids"]
        answer_ids = tokenizer(answer + tokenizer.eos_token, add_special_tokens=False)["input_ids"]
        if len(prompt_ids) + len(answer_ids) > max_length:
            question = messages[-1]["content"].rpartition("Question: ")[2]
            raise ValueError(f"example longer than max_length={max_length} tokens "
                             f"({len(prompt_ids)} + {len(answer_ids)}): {question!r}")
        ids = prompt_ids + answer_ids
        examples.append({"input_ids": ids, "attention_mask": [1] * len(ids),
                         "labels": [IGNORE_INDEX] * len(prompt_ids) + answer_ids})
    return examples


def lm_examples(texts: Sequence[str], tokenizer: "PreTrainedTokenizerBase",
                max_length: int = 128) -> list[dict[str, list[int]]]:
    """Language-modeling examples, aligned to documents: each text, followed by end-of-text, is cut
    into blocks of at most ``max_length`` tokens; every token is a prediction target.

    No block crosses a document boundary (a block never starts in one document and ends in the
    next), so the model is never trained to continue one document with another; the last block of
    each text ends with the end-of-text token and may be shorter (the collator pads it, and the
    padding is not a target). A last block would never be a single token (which has nothing to
    predict): it then takes one token from the block before.
    """
    if max_length < 2:
        raise ValueError(f"max_length must be at least 2 tokens, got {max_length}")
    if not texts:
        raise ValueError("no training text given")
    blocks: list[list[int]] = []
    for n, text in enumerate(texts):
        if not text.strip():
            raise ValueError(f"text {n} is empty: nothing to train on")
        ids = tokenizer(text, add_special_tokens=False)["input_ids"] + [tokenizer.eos_token_id]
        cuts = list(range(0, len(ids), max_length))
        if len(cuts) > 1 and len(ids) - cuts[-1] == 1:
            cuts[-1] -= 1   # a 1-token block predicts nothing: give the tail one more token
        blocks += [ids[a:b] for a, b in zip(cuts, cuts[1:] + [len(ids)], strict=True)]
    return [{"input_ids": b, "attention_mask": [1] * len(b), "labels": list(b)} for b in blocks]


def adapter_key(kind: str, examples: Sequence[dict[str, list[int]]], settings: LoraSettings, base: str, *,
                training_args: Mapping[str, Any] | None = None, versions: Mapping[str, str] | None = None,
                parent_key: str | None = None, device: str = "cpu") -> str:
    """Hash of everything that determines the trained adapter.

    ``base`` identifies the base weights by content (:func:`helpers.models.weights_fingerprint`);
    ``training_args`` is the ``TrainingArguments`` dict actually used, without paths
    (:func:`training_arguments_for_key`); ``versions`` the library versions
    (:func:`library_versions`); ``parent_key`` the key of the adapter training continues from;
    ``device`` where training runs. Epoch snapshots (``save_epochs`` of :func:`train_lora`) are not
    part of the key: keeping them does not change what is trained, so a run with snapshots and one
    without share one cache entry (see :func:`train_lora`).
    """
    fields = asdict(settings)
    if fields["micro_batch_size"] is None:   # added later: left out when unused, so earlier keys stay valid
        del fields["micro_batch_size"]
    digest = hashlib.sha256()
    digest.update(json.dumps({
        "format": _FORMAT_VERSION, "kind": kind, "base": base, "settings": fields,
        "training_args": dict(training_args or {}), "versions": dict(versions or {}), "parent": parent_key,
        # an empty list, always: snapshots once were part of the key; keeping the field keeps the keys
        # of adapters cached without snapshots valid
        "device": device, "save_epochs": [],
    }, sort_keys=True, default=str).encode())
    for ex in examples:
        digest.update(json.dumps([ex["input_ids"], ex["labels"]]).encode())
    return digest.hexdigest()[:16]


def library_versions() -> dict[str, str]:
    """Versions of the libraries whose changes can change a trained adapter."""
    import importlib

    return {name: str(importlib.import_module(name).__version__) for name in VERSIONED_LIBRARIES}


# TrainingArguments fields that name places or credentials, not what training computes.
_PATH_LIKE_ARGS = frozenset({"output_dir", "logging_dir", "run_name", "hub_token", "hub_model_id",
                             "resume_from_checkpoint", "deepspeed", "project", "trackio_space_id",
                             "trackio_bucket_id", "trackio_static_space_id"})


def training_arguments_for_key(args: "TrainingArguments") -> dict[str, Any]:
    """``args.to_dict()`` without path-like and credential fields: the part of the arguments that
    decides what training computes (and so belongs in the cache key)."""
    return {k: v for k, v in args.to_dict().items()
            if k not in _PATH_LIKE_ARGS and not k.endswith(("_dir", "_path"))}


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


def _training_arguments(settings: LoraSettings, device: str, output_dir: str) -> "TrainingArguments":
    from transformers import TrainingArguments

    return TrainingArguments(
        output_dir=output_dir, per_device_train_batch_size=settings.micro_batch_size or settings.batch_size,
        gradient_accumulation_steps=settings.batch_size // (settings.micro_batch_size or settings.batch_size),
        num_train_epochs=settings.epochs, max_steps=settings.max_steps or -1,
        learning_rate=settings.learning_rate,
        warmup_steps=settings.warmup_steps, lr_scheduler_type="linear", logging_steps=1,
        save_strategy="no", report_to="none", disable_tqdm=True, seed=settings.seed,
        data_seed=settings.seed, use_cpu=device == "cpu", dataloader_num_workers=0,
        optim="adamw_torch", log_level="error")


def _checked_save_epochs(save_epochs: Sequence[float], settings: LoraSettings, n_examples: int) -> tuple[float, ...]:
    """``save_epochs`` as sorted unique floats, each within the run (0 < epoch <= total epochs)."""
    steps_per_epoch = math.ceil(n_examples / settings.batch_size)
    total_steps = settings.max_steps or math.ceil(settings.epochs * steps_per_epoch)
    total_epochs = total_steps / steps_per_epoch
    epochs = tuple(sorted({float(e) for e in save_epochs}))
    bad = [e for e in epochs if not 0 < e <= total_epochs + 1e-9]
    if bad:
        raise ValueError(f"save_epochs {', '.join(f'{e:g}' for e in bad)}: outside this run, which trains "
                         f"{total_epochs:g} epochs ({total_steps} steps of {steps_per_epoch} per epoch)")
    return epochs


def _step_bar_class() -> Any:
    from transformers.trainer_callback import ProgressCallback

    class StepBar(ProgressCallback):
        """Trainer's own progress bar, without its line of logs at every step (we log every step)."""

        def on_log(self, args: Any, state: Any, control: Any, logs: Any = None, **kwargs: Any) -> None:
            return None

    return StepBar


def _StepBar() -> Any:   # noqa: N802 - reads like the class it builds (transformers is imported lazily)
    return _step_bar_class()()


def _epoch_dirname(epoch: float) -> str:
    return f"epoch-{epoch:g}"


def _copy_adapter_weights(model: Any) -> "StateDict":
    from peft import get_peft_model_state_dict

    return {k: v.detach().to("cpu", copy=True).contiguous() for k, v in get_peft_model_state_dict(model).items()}


def _snapshot_callback(model: Any, epochs: Sequence[float], into: dict[float, "StateDict"]) -> Any:
    """A TrainerCallback that copies the adapter weights into ``into[epoch]`` once training has
    completed each of ``epochs`` (fractions allowed: Trainer counts epochs per optimizer step)."""
    from transformers import TrainerCallback

    pending = sorted(epochs)

    class EpochSnapshots(TrainerCallback):
        def on_step_end(self, args: Any, state: Any, control: Any, **kwargs: Any) -> None:
            while pending and state.epoch is not None and state.epoch >= pending[0] - 1e-9:
                into[pending.pop(0)] = _copy_adapter_weights(model)

    return EpochSnapshots()


def _parent_key(start_from: Path) -> str:
    """The cache key of a saved adapter (from its ``meta.json``), else a hash of its weights."""
    meta_file = start_from / "meta.json"
    if meta_file.is_file():
        key = json.loads(meta_file.read_text(encoding="utf-8")).get("key")
        if key:
            return str(key)
    weights = start_from / _WEIGHTS_FILE
    if not weights.is_file():
        raise FileNotFoundError(f"{start_from}: no {_WEIGHTS_FILE} to identify the adapter to continue from")
    return "sha256:" + models.file_sha256(weights)


def _cache_entry(adapter_dir: Path, save_epochs: Sequence[float]) -> dict[str, Any] | None:
    """``meta.json`` of a complete cache entry (weights and every snapshot present), else None."""
    meta_file = adapter_dir / "meta.json"
    if not meta_file.is_file() or not (adapter_dir / _WEIGHTS_FILE).is_file():
        return None
    if not all((adapter_dir / _epoch_dirname(e) / _WEIGHTS_FILE).is_file() for e in save_epochs):
        return None
    return json.loads(meta_file.read_text(encoding="utf-8"))


def train_lora(kind: Kind, examples: Sequence[dict[str, list[int]]], settings: LoraSettings = LoraSettings(),
               generator: str | None = None, use_cache: bool = True, verbose: bool = True,
               start_from: Path | None = None, save_epochs: Sequence[float] = (),
               progress: bool = False) -> FineTuneResult:
    """Train a LoRA adapter on ``examples`` (from :func:`qa_examples` or :func:`lm_examples`), or load
    it from the cache when the same examples and settings were trained before.

    ``start_from``: the folder of a saved adapter (``FineTuneResult.adapter_dir``) to continue
    training instead of starting a new one; its ``settings`` other than the schedule (epochs,
    learning rate, batch size) are those of the saved adapter.

    ``save_epochs``: epochs (e.g. ``[2, 4, 6]``; fractions allowed) at whose end the adapter weights
    are also kept, stored with the cached adapter in ``epoch-<n>/``, so one training run (or a cache
    load) gives recall as a function of epochs: see :meth:`FineTuneResult.load_epoch`. Snapshots do
    not change training, so they are not part of the cache key: a cached entry that lacks a requested
    snapshot is trained again (same result) and saved with the snapshots it had plus the new ones.

    ``progress``: show a progress bar of optimizer steps with the time left (command-line tools; it
    changes nothing that is trained, so it is not part of the cache key).

    With ``use_cache``, checking, training and saving hold the lock ``<adapters>/<name>.lock``: a
    second kernel asking for the same adapter waits, then loads the first one's result.

    The steps: check the inputs (:func:`_checked_start`, :func:`_checked_save_epochs`); work out the
    cache key and entry (:func:`_plan_run`); load a complete cache entry (:func:`_load_cached`) or
    build the LoRA model (:func:`_lora_model`), train it (:func:`_train`) and save the entry
    (:func:`_save_entry`).
    """
    if kind not in ("qa", "lm"):
        raise ValueError(f"kind must be 'qa' or 'lm', got {kind!r}")
    if not examples:
        raise ValueError("no training examples")
    began = time.perf_counter()
    start_from = _checked_start(start_from)
    snapshot_epochs = _checked_save_epochs(save_epochs, settings, len(examples))
    plan = _plan_run(kind, examples, settings, generator, start_from)
    base, tokenizer = models.load_generator(generator, device=plan.device, cached=False)
    common = dict(kind=kind, adapter_dir=plan.adapter_dir, n_examples=len(examples), n_tokens=plan.n_tokens,
                  key=plan.key, parent_key=plan.parent_key, settings=settings)

    guard = (storage.locked(plan.adapter_dir, what=f"adapter {plan.adapter_dir.name}", verbose=verbose) if use_cache
             else contextlib.nullcontext())
    with guard:
        meta = _cache_entry(plan.adapter_dir, snapshot_epochs) if use_cache else None
        if use_cache and meta is None:
            # an entry without some requested snapshot is retrained: keep the snapshots it had too
            earlier = _cache_entry(plan.adapter_dir, ())
            if earlier is not None:
                snapshot_epochs = tuple(sorted(set(snapshot_epochs) | {float(e) for e in earlier.get("save_epochs", [])}))
        if meta is not None:
            return _load_cached(base, plan.adapter_dir, meta, snapshot_epochs, began, verbose, common)
        model = _lora_model(base, settings, start_from)
        trainable = models.count_parameters(model, trainable_only=True)
        losses, snapshots, train_seconds = _train(model, tokenizer, examples, settings, plan.device, snapshot_epochs,
                                                  progress)
        if use_cache:
            _save_entry(plan.adapter_dir, model, snapshots, {
                "key": plan.key, "parent_key": plan.parent_key, "kind": kind, "device": plan.device,
                "versions": plan.versions, "base": plan.base_path, "base_fingerprint": plan.fingerprint,
                "start_from": str(start_from) if start_from is not None else None,
                "losses": losses, "train_seconds": train_seconds, "trainable_params": trainable,
                "n_examples": len(examples), "settings": asdict(settings), "training_args": plan.key_args,
                "save_epochs": list(snapshot_epochs)})
    if verbose:
        print(f"trained {kind} adapter on {len(examples)} examples on {plan.device} in {train_seconds:.0f} s, "
              f"final loss {losses[-1]:.3f}")
    return FineTuneResult(model=model, losses=losses, train_seconds=train_seconds,
                          load_seconds=time.perf_counter() - began, cached=False, trainable_params=trainable,
                          device=plan.device, _snapshots=dict(snapshots), _final=_copy_adapter_weights(model),
                          **common)


def _checked_start(start_from: Path | None) -> Path | None:
    """``start_from`` as a Path, after checking that it holds a saved adapter (None stays None)."""
    if start_from is None:
        return None
    start_from = Path(start_from)
    if not (start_from / "adapter_config.json").is_file():
        raise FileNotFoundError(f"{start_from}: no saved adapter to continue from")
    return start_from


@dataclass(frozen=True)
class _RunPlan:
    """Where a training run happens and what identifies its result (see :func:`adapter_key`)."""

    device: str
    base_path: str                  # the base weights' path or id (helpers.models.generator_path)
    versions: dict[str, str]        # library_versions()
    key_args: dict[str, Any]        # training_arguments_for_key of the TrainingArguments used
    parent_key: str | None
    fingerprint: str                # content hash of the base weights
    key: str
    adapter_dir: Path               # the cache entry
    n_tokens: int                   # supervised tokens per epoch


def _plan_run(kind: Kind, examples: Sequence[dict[str, list[int]]], settings: LoraSettings,
              generator: str | None, start_from: Path | None) -> _RunPlan:
    """Everything the cache key hashes, the key itself and the cache entry it names."""
    device = models.pick_device()
    base_path = models.generator_path(generator)
    versions = library_versions()
    key_args = training_arguments_for_key(_training_arguments(settings, device, output_dir="unused"))
    parent_key = _parent_key(start_from) if start_from is not None else None
    fingerprint = models.weights_fingerprint(base_path)
    key = adapter_key(kind, examples, settings, fingerprint, training_args=key_args,
                      versions=versions, parent_key=parent_key, device=device)
    return _RunPlan(device=device, base_path=base_path, versions=versions, key_args=key_args,
                    parent_key=parent_key, fingerprint=fingerprint, key=key,
                    adapter_dir=config.cache_dir() / "adapters" / f"{kind}-{key}",
                    n_tokens=sum(sum(t != IGNORE_INDEX for t in ex["labels"]) for ex in examples))


def _load_cached(base: Any, adapter_dir: Path, meta: Mapping[str, Any], snapshot_epochs: Sequence[float],
                 began: float, verbose: bool, common: Mapping[str, Any]) -> FineTuneResult:
    """The adapter of a complete cache entry (``meta``: its ``meta.json``) on ``base``, with its
    snapshots at ``snapshot_epochs``."""
    from peft import PeftModel

    with _quiet_deprecations():
        model = PeftModel.from_pretrained(base, adapter_dir).eval()
    trained_on = meta.get("device", "unknown device")
    if verbose:
        print(f"loaded cached adapter {adapter_dir.name} "
              f"(trained on {trained_on} in {meta['train_seconds']:.0f} s)")
    return FineTuneResult(model=model, losses=meta["losses"], train_seconds=meta["train_seconds"],
                          load_seconds=time.perf_counter() - began, cached=True,
                          trainable_params=meta["trainable_params"], device=trained_on,
                          _snapshots={e: adapter_dir / _epoch_dirname(e) / _WEIGHTS_FILE
                                      for e in snapshot_epochs},
                          _final=adapter_dir / _WEIGHTS_FILE, **common)


def _lora_model(base: Any, settings: LoraSettings, start_from: Path | None) -> Any:
    """A trainable peft model on ``base``: the saved adapter ``start_from``, or a new LoRA adapter of
    ``settings`` (its random start seeded with ``settings.seed``)."""
    import torch
    from peft import LoraConfig, PeftModel, get_peft_model

    torch.manual_seed(settings.seed)   # LoRA's A matrices are initialised at random
    with _quiet_deprecations():
        if start_from is not None:
            return PeftModel.from_pretrained(base, start_from, is_trainable=True)
        lora = LoraConfig(r=settings.rank, lora_alpha=settings.alpha, lora_dropout=settings.dropout,
                          target_modules=list(settings.target_modules), task_type="CAUSAL_LM",
                          layers_to_transform=_top_layers(base, settings.top_layers))
        return get_peft_model(base, lora)


def _train(model: Any, tokenizer: "PreTrainedTokenizerBase", examples: Sequence[dict[str, list[int]]],
           settings: LoraSettings, device: str, snapshot_epochs: Sequence[float],
           progress: bool) -> tuple[list[float], dict[float, "StateDict"], float]:
    """Train ``model`` with ``transformers.Trainer``, copying the adapter weights at
    ``snapshot_epochs``; returns the loss at every optimizer step, the snapshots and the seconds
    training took. The model is left in eval mode."""
    from transformers import PrinterCallback, Trainer

    snapshots: dict[float, StateDict] = {}
    with tempfile.TemporaryDirectory() as scratch:
        args = _training_arguments(settings, device, output_dir=scratch)
        with _quiet_deprecations():
            trainer = Trainer(model=model, args=args, train_dataset=list(examples),
                              data_collator=_collator(tokenizer))
            # with tqdm disabled Trainer prints every log dict; the loss history is returned instead
            trainer.remove_callback(PrinterCallback)
            if snapshot_epochs:
                trainer.add_callback(_snapshot_callback(model, snapshot_epochs, snapshots))
            if progress:
                trainer.add_callback(_StepBar())
            start = time.perf_counter()
            trainer.train()
        train_seconds = time.perf_counter() - start
    missed = [e for e in snapshot_epochs if e not in snapshots]
    if missed:   # _checked_save_epochs makes this unreachable unless Trainer changes its schedule
        raise RuntimeError(f"training ended before epochs {missed} were reached; no snapshot taken")
    losses = [round(float(e["loss"]), 4) for e in trainer.state.log_history if "loss" in e]
    model.eval()
    return losses, snapshots, train_seconds


def _save_entry(adapter_dir: Path, model: Any, snapshots: Mapping[float, "StateDict"], meta: dict[str, Any]) -> None:
    """Write adapter, snapshots and ``meta.json`` to a temporary folder, then swap it into place
    (the caller holds the entry's lock)."""
    from safetensors.torch import save_file

    with storage.staged_dir(adapter_dir) as tmp:
        model.save_pretrained(tmp)
        for epoch, weights in snapshots.items():
            (tmp / _epoch_dirname(epoch)).mkdir()
            save_file(weights, str(tmp / _epoch_dirname(epoch) / _WEIGHTS_FILE))
        (tmp / "meta.json").write_text(json.dumps(meta, indent=1, default=str), encoding="utf-8")


@dataclass(frozen=True)
class TrainingPairs:
    """(question, answer) pairs for :func:`qa_examples`, and the rewordings left out of them.

    ``dropped`` holds ``(rewording, held-out question)``: each rewording that was too close to a
    held-out question to train on, with the question it nearly copied.
    """

    pairs: list[tuple[str, str]]
    dropped: list[tuple[str, str]] = field(default_factory=list)

    @property
    def n_dropped(self) -> int:
        return len(self.dropped)


def _tokens(text: str) -> frozenset[str]:
    return frozenset(normalize_text(text).split())


def jaccard(a: str, b: str) -> float:
    """Token Jaccard similarity of two questions after SQuAD normalization (0 when both are empty)."""
    ta, tb = _tokens(a), _tokens(b)
    return len(ta & tb) / len(ta | tb) if ta | tb else 0.0


def answer_overlaps(texts: Sequence[tuple[str, str]], questions: Sequence["Question"]) -> list[tuple[str, str, str]]:
    """``(text id, question id, answer)`` for every training text (``(id, text)``; a Q&A pair is its
    question and answer joined) that contains an accepted answer of an evaluated question.

    The near-copy check (:func:`jaccard`) compares wordings; this one catches a training text that
    *answers* an evaluation question in other words ("Why are sensors mounted at 1.5 metres?" against
    "How high should the sensors be?"). It also flags coincidences (a "14" in an unrelated answer):
    the caller prints what it finds and shows whether its results change without those questions.
    """
    from .grading import contains_answer

    return [(tid, q.qid, q.answers[0]) for q in questions if q.answers for tid, text in texts
            if contains_answer(text, q.answers)]


def fact_pairs(facts: Sequence["Fact"], n_paraphrases: int = 0) -> TrainingPairs:
    """(question, answer) training pairs from facts' *training* wordings (never the held-out ones),
    each question followed by up to ``n_paraphrases`` rule-based rewordings (:func:`augment_question`).

    Decontamination: a rewording whose token Jaccard similarity (:func:`jaccard`) with *any*
    held-out question of *any* of the given facts is at least :data:`NEAR_COPY_JACCARD` is dropped
    and reported in ``TrainingPairs.dropped``. A generic rule can land on or next to a test question
    by accident ("How much does X cost?" -> "What is the price of X?" against the held-out "What is
    the price of a X station?"), and training on it would leak that question. The training wording
    itself is always kept: it is the fact's designed training question.
    """
    heldout = [(h, _tokens(h)) for fact in facts for h in fact.heldout]
    pairs: list[tuple[str, str]] = []
    dropped: list[tuple[str, str]] = []
    for fact in facts:
        original, *rewordings = augment_question(fact.question, n_paraphrases)
        pairs.append((original, fact.answer))
        for q in rewordings:
            tq = _tokens(q)
            near = next((h for h, th in heldout if tq | th and len(tq & th) / len(tq | th) >= NEAR_COPY_JACCARD),
                        None)
            if near is None:
                pairs.append((q, fact.answer))
            else:
                dropped.append((q, near))
    return TrainingPairs(pairs, dropped)
