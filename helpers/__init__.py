"""Shared helpers for the RAG vs fine-tuning notebook series.

One module per concern, data flowing one way::

    data -> retrieval -> models/generation -> finetune -> evaluate -> plotting/results

Import the modules you need, e.g. ``from helpers import data, retrieval``. Nothing heavy
(torch, transformers) is imported until a function that needs it is called.
"""

__all__ = ["config", "storage", "data", "retrieval", "models", "answer_cache", "generation", "finetune",
           "evaluate", "plotting", "results"]
