"""Shared helpers for the RAG vs fine-tuning notebook series.

One module per concern. Imports flow one way: a module imports only modules on the rows below its
own (``tests/test_package_map.py`` checks every import of every module against this map)::

    compare, preflight          the series' comparison on your own documents (python -m helpers.compare);
                                  is this machine ready? (make check: python -m helpers.preflight)
    scorecard                   every notebook's verdict in one table, use cases and flip points (10, README)
    hallucination, style,       one notebook's questions and measurements each: 04, 03, 08-09 (trained
      reader, cost,               reader), 06, 05, 07
      transparency, expertise
    recipe                      the series' shared settings: document split, LoRA recipes, k, token budgets
    finetune                    LoRA adapters (Q&A and raw text), cached by a key of everything they depend on
    generation                  chat prompts and batched greedy answers
    documents, lexical          real documentation read and chunked by section; BM25 and hybrid retrieval
    answer_cache, models,       answers cached by model and prompt; the generator and the embedder;
      corpus                      reading your own documents
    plotting, claims, results   figures; claims tables of verdicts; each notebook's saved numbers
    evaluate                    one import for scoring: re-exports grading, statistics and abstention
    statistics                  intervals, paired tests, the "real" rule, Holm
    grading                     exact, F1, lenient containment, hedges, outcomes, retrieval recall
    abstention                  does a reply decline to answer?
    retrieval                   chunking, embedding and vector search
    data                        the knowledge base in data/
    config, storage             environment settings; atomic writes and file locks

The notebooks and the ``.ci/`` scripts sit above them all. One exception, inside a function:
``abstention.measured`` (the detector's precision and recall on its labelled set) imports
``statistics``. Imports for type annotations only (under ``TYPE_CHECKING``) are not counted.

Import the modules you need, e.g. ``from helpers import data, retrieval``. Nothing heavy
(torch, transformers) is imported until a function that needs it is called.
"""

__all__ = ["config", "storage", "data", "retrieval", "abstention", "grading", "statistics", "evaluate", "plotting",
           "claims", "results", "answer_cache", "models", "corpus", "generation", "finetune", "recipe",
           "hallucination", "style", "reader", "cost", "transparency", "expertise", "scorecard", "compare",
           "preflight", "documents", "lexical"]
