"""Score answers and compare systems: one import for the notebooks.

The work is done in three modules, data flowing one way:

* :mod:`helpers.abstention`: does a reply decline to answer (the abstention detector);
* :mod:`helpers.grading`: exact match, token F1, lenient containment with hedges, outcomes,
  retrieval scores (recall@k, MRR), where a RAG answer went wrong;
* :mod:`helpers.statistics`: Wilson and bootstrap intervals, paired differences with the series'
  one rule for "real" (:class:`helpers.statistics.Difference`), Holm's correction, AUC, the
  abstention detector's precision and recall.

Everything is re-exported here, so ``evaluate.grade`` and ``evaluate.paired_difference`` keep working.
"""
from __future__ import annotations

from .abstention import is_abstention
from .grading import (
                      ERROR_STAGES,
                      OUTCOMES,
                      REPLY_OUTCOMES,
                      VALUE_OUTCOMES,
                      Graded,
                      as_records,
                      competing_value,
                      contains_answer,
                      dedupe,
                      error_stage,
                      exact_match,
                      fact_of,
                      grade,
                      normalize_answer,
                      numbers_in,
                      oracle_passages,
                      outcome,
                      outcome_shares,
                      quantities,
                      recall_at_k,
                      reciprocal_rank,
                      reply_outcome,
                      reply_outcome_shares,
                      states_answer,
                      token_f1,
                      value_outcome,
)
from .statistics import (
                      BINARY_METRICS,
                      DetectorScores,
                      Difference,
                      Estimate,
                      auc,
                      bootstrap_ci,
                      detector_scores,
                      difference_in_differences,
                      holm,
                      paired_difference,
                      paired_values,
                      proportion,
                      separating_threshold,
                      summarize,
                      summary_table,
                      wilson,
)

__all__ = ["is_abstention", "ERROR_STAGES", "OUTCOMES", "REPLY_OUTCOMES", "VALUE_OUTCOMES", "Graded", "as_records",
           "competing_value", "contains_answer", "dedupe", "error_stage", "exact_match", "fact_of", "grade",
           "normalize_answer", "numbers_in", "oracle_passages", "outcome", "outcome_shares", "recall_at_k",
           "quantities", "reciprocal_rank", "reply_outcome", "reply_outcome_shares", "states_answer", "token_f1",
           "value_outcome",
           "BINARY_METRICS", "DetectorScores", "Difference", "Estimate", "auc", "bootstrap_ci", "detector_scores",
           "difference_in_differences", "holm", "paired_difference", "paired_values", "proportion",
           "separating_threshold", "summarize", "summary_table", "wilson"]
