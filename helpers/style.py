"""The house style of ``data/style.jsonl`` as rules a program checks, and the prompts that ask for it.

The rules (``data/README.md``): a reply

1. starts with ``Grower's note:``,
2. ends with ``Happy growing.``,
3. has 8 to 40 words between the two,
4. has no exclamation mark.

:func:`check_style` applies them to one reply and :func:`adherence` turns many replies into rates
with Wilson intervals. :data:`STYLE_SYSTEM_PROMPT` and :func:`few_shot_messages` are the two ways of
*asking* for the style in the prompt that notebook 03 compares with fine-tuning on it.
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING, Sequence

from . import generation
from .evaluate import Difference, Estimate, paired_values, proportion

if TYPE_CHECKING:  # pragma: no cover
    from transformers import PreTrainedTokenizerBase

    from .data import Question, StylePair
    from .finetune import FineTuneResult, LoraSettings
    from .retrieval import Passage

OPENING = "Grower's note:"
CLOSING = "Happy growing."
MIN_WORDS, MAX_WORDS = 8, 40
RULES = ("opening", "closing", "length", "no exclamation")

# The style described in words, replacing the series' short-answer system prompt. It keeps that
# prompt's "say you do not know" instruction so that only the style differs.
STYLE_SYSTEM_PROMPT = (f'Reply in our house style: begin with "{OPENING}", answer in one sentence of '
                       f'{MIN_WORDS} to {MAX_WORDS} words with no exclamation marks, and end with "{CLOSING}" '
                       "If you do not know, reply \"I don't know\".")


@dataclass(frozen=True)
class StyleCheck:
    """Which house-style rules one reply keeps (see the module docstring)."""

    opening: bool
    closing: bool
    length: bool
    no_exclamation: bool
    body_words: int          # words between the opening and the closing (the whole reply if absent)

    @property
    def ok(self) -> bool:
        """True when the reply keeps every rule."""
        return self.opening and self.closing and self.length and self.no_exclamation

    def rule(self, name: str) -> bool:
        """One rule by its name in :data:`RULES`."""
        if name not in RULES:
            raise ValueError(f"unknown rule {name!r}; expected one of {RULES}")
        return bool(getattr(self, name.replace(" ", "_")))


def body(reply: str) -> str:
    """The reply without the house opening and closing (each removed only where present)."""
    text = reply.strip().replace("\u2019", "'")
    if text.startswith(OPENING):
        text = text[len(OPENING):]
    if text.endswith(CLOSING):
        text = text[: -len(CLOSING)]
    return text.strip()


def check_style(reply: str) -> StyleCheck:
    """Apply the four house-style rules to ``reply``.

    A typographic apostrophe (Grower’s) counts as the plain one: it is the same style.

    >>> check_style("Grower's note: cover seedlings with fleece before dusk on clear nights. Happy growing.").ok
    True
    >>> check_style("Cover them with fleece!").ok
    False
    """
    text = reply.strip().replace("\u2019", "'")
    words = len(body(text).split())
    return StyleCheck(opening=text.startswith(OPENING), closing=text.endswith(CLOSING),
                      length=MIN_WORDS <= words <= MAX_WORDS, no_exclamation="!" not in text, body_words=words)


def adherence(replies: Sequence[str]) -> dict[str, Estimate]:
    """Share of ``replies`` keeping each rule, and all of them (``"all rules"``), with Wilson intervals."""
    if not replies:
        raise ValueError("no replies to check")
    checks = [check_style(r) for r in replies]
    out = {name: proportion([c.rule(name) for c in checks]) for name in RULES}
    out["all rules"] = proportion([c.ok for c in checks])
    return out


def few_shot_messages(question: str, examples: Sequence["StylePair"], passages: Sequence["Passage"] = (),
                      system: str = generation.SYSTEM_PROMPT) -> generation.Messages:
    """Chat messages that show ``examples`` as earlier question -> answer turns, then ask ``question``
    (with ``passages`` before it when given), in the same format as every other prompt of the series."""
    if not examples:
        raise ValueError("few-shot prompting needs at least one example")
    final = (generation.rag_messages(question, passages, system) if passages
             else generation.closed_book_messages(question, system))
    shots: generation.Messages = []
    for ex in examples:
        shots += [generation.closed_book_messages(ex.question, system)[1],
                  {"role": "assistant", "content": ex.answer}]
    return [final[0], *shots, final[1]]


def adherence_difference(qids: Sequence[str], replies_a: Sequence[str], replies_b: Sequence[str]) -> Difference:
    """System A minus system B in the share of replies keeping every rule, over the same questions
    (ids ``qids``), with the paired interval of :func:`helpers.evaluate.paired_values`."""
    if not (len(qids) == len(replies_a) == len(replies_b)):
        raise ValueError(f"need one reply per question from each system ({len(qids)}, {len(replies_a)}, "
                         f"{len(replies_b)})")
    return paired_values(list(qids), [float(check_style(r).ok) for r in replies_a],
                         [float(check_style(r).ok) for r in replies_b])


# --------------------------------------------------------------------------------------------
# the experiment of notebook 03, shared with .ci/style_seeds.py

def evaluation_questions(n_kb: int = 40, seed: int = 0) -> tuple[list["Question"], list["Question"]]:
    """Notebook 03's questions: ``n_kb`` knowledge-base facts drawn with ``seed``, each asked in its
    first held-out paraphrase, and the held-out house-style questions (no accepted answers: they
    are scored for style only)."""
    import random

    from . import data

    facts = data.load_facts(1)
    kb = data.fact_questions(random.Random(seed).sample(facts, n_kb), "h1", pool=facts)
    styled = [data.Question(qid=f"{p.id}/q", text=p.question, answers=(), kind="style")
              for p in data.load_style("test")]
    return kb, styled


@dataclass
class StyleAdapter:
    """A style LoRA and how its epochs were chosen (see :func:`train_adapter`)."""

    run: "FineTuneResult"
    epochs: float                         # the epochs kept (the snapshot loaded into ``run.model``)
    train_check: dict[float, Estimate]    # style adherence on training questions after each epoch


def train_adapter(pairs: Sequence["StylePair"], tokenizer: "PreTrainedTokenizerBase", seed: int = 0,
                  max_epochs: int = 2, bar: float = 0.9, n_check: int = 24,
                  max_new_tokens: int = 64, generator: str | None = None,
                  settings: "LoraSettings | None" = None) -> StyleAdapter:
    """Train (or load from the cache) a Q&A LoRA on the house-style ``pairs`` for ``max_epochs``,
    keeping the weights after every epoch, and load the fewest epochs whose style adherence on the
    first ``n_check`` *training* questions reaches ``bar``. Held-out questions play no part.
    ``generator``: a base model other than the series' default (the tests use a tiny one);
    ``settings``: LoRA settings other than the series' defaults (their epochs and seed are replaced
    by ``max_epochs`` and ``seed``).

    The kept adapter is a snapshot of a ``max_epochs`` run (its learning rate had not decayed to
    zero yet), not a run trained for fewer epochs from the start. Raises if no epoch reaches ``bar``.
    """
    from dataclasses import replace

    from . import finetune

    settings = replace(settings or finetune.LoraSettings(), epochs=max_epochs, seed=seed)
    examples = finetune.qa_examples([(p.question, p.answer) for p in pairs], tokenizer, max_length=128)
    run = finetune.train_lora("qa", examples, settings, save_epochs=list(range(1, max_epochs + 1)),
                              generator=generator, verbose=False)
    checks: dict[float, Estimate] = {}
    questions = [p.question for p in pairs[:n_check]]
    for epoch in run.epochs_saved:
        run.load_epoch(epoch)
        replies = generation.answer_closed_book(run.model, tokenizer, questions, max_new_tokens=max_new_tokens)
        checks[epoch] = adherence([a.text for a in replies])["all rules"]
    chosen = min((e for e, est in checks.items() if est.mean >= bar), default=None)
    if chosen is None:
        raise RuntimeError(f"no epoch up to {max_epochs} reached style adherence {bar} on training questions: "
                           + ", ".join(f"epoch {e:g}: {est}" for e, est in checks.items()))
    run.load_epoch(chosen)
    return StyleAdapter(run=run, epochs=chosen, train_check=checks)
