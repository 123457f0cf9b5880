"""The series' recipe, defined once: the settings every notebook, ``.ci/`` script and
``helpers.compare`` share.

Adapters and answers are cached by keys that hash the settings and the examples
(:func:`helpers.finetune.adapter_key`, :mod:`helpers.answer_cache`). A notebook that wrote its own
copy of a setting and drifted (``epochs=6.0`` for ``6``, another split seed) would silently train
and answer with a different adapter from the one the notebook before it cached and reported. So the
shared choices live here and nowhere else; ``tests/test_recipe.py`` checks them against the values
recorded in the committed ``results/*.json``.

* **Document split** (notebook 02; also 04-08 and ``.ci/lm_learning_rate.py``):
  :func:`document_split` with :data:`MIN_INSIDE`, :data:`N_OUTSIDE`, :data:`SPLIT_SEED`.
* **Q&A adapter** (notebooks 01, 02, 04-08, ``.ci/idk_seeds.py``, ``helpers.compare``):
  :data:`QA_SETTINGS`; :data:`QA_SNAPSHOTS` are the epochs whose weights 02's adapters also keep
  (notebook 07 reads them; snapshots are not part of the cache key); :data:`SEEDS` the seeds of the
  spread (02, 07, ``.ci/idk_seeds.py``, ``.ci/style_seeds.py``).
* **LM (raw-text) adapter** (notebook 02, ``.ci/lm_learning_rate.py``): :data:`LM_SETTINGS` on
  blocks of :data:`LM_BLOCK_TOKENS` tokens; its learning rate is the one ``make lm-rate`` chose on
  training wordings (``results/lm_learning_rate.json``).
* **Reader** (every RAG system): the top :data:`K` passages, answers of at most
  :data:`ANSWER_TOKENS` new tokens (both chosen by ``.ci/reader_format_ablation.py`` and kept as
  ``helpers.generation``'s defaults, which this module names).
* **House style** (notebooks 03 and 08, ``.ci/style_seeds.py``): replies of at most
  :data:`STYLE_TOKENS` tokens; the style adapter trains :data:`STYLE_MAX_EPOCHS` epochs and keeps the
  first whose training replies follow the style at least :data:`STYLE_BAR` of the time.

Experiments that vary a setting start from these (``dataclasses.replace(recipe.QA_SETTINGS,
learning_rate=...)``), so the unvaried fields stay the series' own.
"""
from __future__ import annotations

from typing import TYPE_CHECKING, Sequence

from . import finetune, generation

if TYPE_CHECKING:  # pragma: no cover
    from .data import Document, DocumentSplit, Fact

# The document split: training documents are taken (in a seeded shuffle) until they hold at least
# MIN_INSIDE facts; N_OUTSIDE facts are drawn from the other documents.
MIN_INSIDE = 40
N_OUTSIDE = 40
SPLIT_SEED = 0

# The Q&A LoRA recipe, chosen on training wordings (see helpers.finetune.LoraSettings): the defaults
# at 6 epochs. ``epochs`` is the int 6, as it always was: the cache key hashes its JSON form, so 6.0
# would be another adapter.
QA_SETTINGS = finetune.LoraSettings(epochs=6)
QA_SNAPSHOTS = (2, 4)
SEEDS = (0, 1, 2)

# The raw-text (language-modeling) arm: 12 epochs at the rate .ci/lm_learning_rate.py chose.
LM_SETTINGS = finetune.LoraSettings(epochs=12, learning_rate=1e-2)
LM_BLOCK_TOKENS = 128

# The reader and the answer budget (helpers.generation's defaults).
K = generation.DEFAULT_K
ANSWER_TOKENS = generation.DEFAULT_MAX_NEW_TOKENS

# The house style: a budget that fits every house answer, and how the style adapter's epochs are kept.
STYLE_TOKENS = 64
STYLE_MAX_EPOCHS = 2
STYLE_BAR = 0.9


def document_split(facts: Sequence["Fact"], docs: Sequence["Document"]) -> "DocumentSplit":
    """Notebook 02's split of ``facts`` by document (:func:`helpers.data.document_split` with
    :data:`MIN_INSIDE`, :data:`N_OUTSIDE` and :data:`SPLIT_SEED`)."""
    from . import data

    return data.document_split(facts, docs, MIN_INSIDE, N_OUTSIDE, seed=SPLIT_SEED)
