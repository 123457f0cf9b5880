"""``helpers.statistics``: the one rule for "real", and the units the paired bootstrap resamples."""
from __future__ import annotations

import pytest

from helpers import data, statistics


def _one_way(n: int, discordant: int) -> statistics.Difference:
    """``n`` questions, each its own unit; A alone is right on the first ``discordant``, and the two
    systems agree (both wrong) on the rest."""
    qids = [f"q{i}" for i in range(n)]
    return statistics.paired_values(qids, [1.0] * discordant + [0.0] * (n - discordant), [0.0] * n)


def test_interval_excluding_zero_is_not_enough_to_be_real() -> None:
    """20 questions, 4 discordant all one way: the bootstrap interval excludes zero (a resample draws
    none of the four only (16/20)^20 = 1% of the time), but the exact McNemar p is 2 / 2^4 = 0.125."""
    d = _one_way(20, 4)
    assert d.low > 0, "the case must split the two tests: the interval alone excludes zero"
    assert (d.a_only, d.b_only) == (4, 0) and d.p_value == pytest.approx(0.125)
    assert not d.real
    assert d.status == "no detectable difference"
    assert "no detectable difference" in d.verdict("A", "B", groups=None)


def test_real_when_interval_and_mcnemar_agree() -> None:
    d = _one_way(20, 8)   # 8-0: p = 2 / 2^8 = 0.008
    assert d.low > 0 and d.p_value < 0.05
    assert d.real and d.status == "real"
    assert d.verdict("A", "B", groups=None).startswith("A above B:")
    assert "a real difference" in d.verdict("A", "B", groups=None)


def test_significant_mcnemar_with_an_interval_that_holds_zero_is_not_real() -> None:
    """The other way round: the McNemar test alone would call it, the interval does not."""
    d = statistics.Difference(mean=0.1, low=-0.01, high=0.2, n=40, facts=12, a_only=9, b_only=0, p_value=0.004)
    assert not d.real and d.status == "no detectable difference"


def test_twin_facts_are_resampled_as_one_cluster() -> None:
    """F192 asks for F056's value from F056's sentence, F197 for F122's (``same_as`` in facts.jsonl).
    20 facts, two paraphrases each, A alone right on both paraphrases of those four: counted as four
    independent facts the interval excludes zero; as the two facts they are, it does not."""
    facts = ["F056", "F192", "F122", "F197"] + [f"F{i:03d}" for i in range(1, 17)]
    qids = [f"{f}/h{j}" for f in facts for j in (1, 2)]
    a, b = [1.0] * 8 + [0.0] * 32, [0.0] * 40
    separate = statistics.paired_values(qids, a, b, clusters={})
    joined = statistics.paired_values(qids, a, b)   # the default: the series' facts.jsonl
    assert (separate.facts, joined.facts) == (20, 18)
    assert joined.mean == separate.mean and (joined.a_only, joined.p_value) == (separate.a_only, separate.p_value)
    assert separate.low > 0 and joined.low <= 0 < joined.high
    assert joined.high - joined.low > separate.high - separate.low
    explicit = statistics.paired_values(qids, a, b, clusters={"F192": "F056", "F197": "F122"})
    assert (explicit.low, explicit.high, explicit.facts) == (joined.low, joined.high, joined.facts)


def test_paired_difference_passes_clusters_on() -> None:
    from helpers.data import Question
    from helpers.grading import grade

    qs = [Question(f"{f}/h1", "q", ("yes",)) for f in ("A1", "A2", "A3", "A4", "A5")]
    a = grade(qs, ["yes", "yes", "no", "no", "no"])
    b = grade(qs, ["no"] * 5)
    assert statistics.paired_difference(a, b, clusters={"A2": "A1"}).facts == 4
    assert statistics.paired_difference(a, b).facts == 5


def test_cluster_mapping_leaves_ids_it_does_not_know_alone() -> None:
    """The own-documents command's ids (``a``, ``q2``) and made-up ids are each their own unit."""
    qids = [f"q{i}" for i in range(10)]
    a, b = [1.0, 1.0, 1.0] + [0.0] * 7, [0.0] * 10
    assert statistics.paired_values(qids, a, b) == statistics.paired_values(qids, a, b, clusters={})
    assert statistics.paired_values(qids, a, b, clusters={"F192": "F056"}).facts == 10


def test_fact_clusters_map_twins_to_one_id() -> None:
    clusters = data.fact_clusters()
    assert clusters["F192"] == clusters["F056"] == "F056"
    assert clusters["F197"] == clusters["F122"] == "F122"
    assert clusters["F001"] == "F001"
    facts = {f.id: f for f in data.load_facts(1)}
    assert all(clusters[i] == (f.same_as or i) for i, f in facts.items())


def test_difference_in_differences_compares_two_effects() -> None:
    from helpers.data import Question
    from helpers.grading import grade

    qs = [Question(f"D{i}/h1", "q", ("yes",)) for i in range(12)]
    right, wrong = grade(qs, ["yes"] * 12), grade(qs, ["no"] * 12)
    half = grade(qs, ["yes"] * 6 + ["no"] * 6)
    # the change costs A every answer (1 -> 0) and B half of them: A's loss is 0.5 larger
    did = statistics.difference_in_differences(wrong, right, half, right)
    assert did.mean == -0.5 and did.a_only == 0 and did.b_only == 6
    same = statistics.difference_in_differences(half, right, half, right)
    assert same.mean == 0 and not same.real
    with pytest.raises(ValueError, match="same questions"):
        statistics.difference_in_differences(wrong, right, half[:5], right[:5])
