"""Claims tables: Holm over a family, the four statuses, one-call checks, seeds, plain words.

Every Difference here is a real one from :func:`helpers.statistics.paired_values` on tiny 0/1 data.
"""
from __future__ import annotations

import pytest

from helpers import claims
from helpers.claims import Claim, Family, plain_words
from helpers.statistics import holm, paired_values, wilson


def diff(a_only: int, b_only: int, both: int = 10, neither: int = 10):
    """A minus B on ``a_only + b_only + both + neither`` questions (one fact each)."""
    a = [1] * a_only + [0] * b_only + [1] * both + [0] * neither
    b = [0] * a_only + [1] * b_only + [1] * both + [0] * neither
    return paired_values([f"F{i}/q" for i in range(len(a))], a, b)


UP, DOWN, MODEST, NULL = diff(20, 0), diff(0, 20), diff(7, 0, 15, 18), diff(2, 2, 18, 18)


def family(nulls: int = 1, exploratory: bool = False) -> Family:
    f = Family()
    f.add("up", UP)
    f.add("down", DOWN)
    f.add("modest", MODEST)
    for i in range(nulls):
        f.add(f"null {i}", NULL)
    if exploratory:
        f.add("peek", UP, exploratory=True)
    return f


def test_inputs_are_what_the_tests_assume():
    assert UP.real and UP.mean > 0 and DOWN.real and DOWN.mean < 0
    assert MODEST.real and 0.01 < MODEST.p_value < 0.05       # real alone, fragile under correction
    assert not NULL.real and NULL.p_value == 1


def test_holm_over_the_family_and_recomputed_when_members_are_added():
    f = family(nulls=1)
    ps = [UP.p_value, DOWN.p_value, MODEST.p_value, NULL.p_value]
    assert [f.holm_p(k) for k in ("up", "down", "modest", "null 0")] == pytest.approx(holm(ps))
    assert f.holm_p("modest") == pytest.approx(2 * MODEST.p_value) and f.real("modest")
    f.add("null 1", NULL)
    f.add("null 2", NULL)                                      # 6 members: 4 x p > 0.05
    assert f.holm_p("modest") == pytest.approx(4 * MODEST.p_value) and f.holm_p("modest") > 0.05
    assert MODEST.real and not f.real("modest")
    assert len(f) == 6 and "up" in f and f["up"] is UP


def test_exploratory_members_stay_out_of_the_correction():
    with_peek, without = family(exploratory=True), family()
    assert with_peek.holm_ps() == without.holm_ps() and "peek" not in with_peek.holm_ps()
    assert with_peek.holm_p("peek") is None and not with_peek.real("peek")   # never evidence, however strong
    claim = Claim("A peek after the results", "higher", "exploratory", key="peek")
    assert with_peek.status(claim) == "exploratory"
    assert with_peek.table([claim]).loc[1, "Holm p"] == claims.NOT_APPLICABLE


@pytest.mark.parametrize("key, direction, status", [
    ("up", "higher", "supported"), ("up", "lower", "contradicted"), ("up", "no difference", "contradicted"),
    ("down", "lower", "supported"), ("down", "higher", "contradicted"),
    ("null 0", "higher", "no detectable difference"), ("null 0", "no difference", "no detectable difference"),
])
def test_each_status(key, direction, status):
    assert family().status(Claim("a claim", direction, status, key=key)) == status


def test_real_but_not_surviving_holm_is_no_detectable_difference():
    f = family(nulls=3)
    claim = Claim("modest gain", "higher", "no detectable difference", key="modest")
    assert f.status(claim) == "no detectable difference"


def test_claim_about_one_share_against_a_bound():
    f = Family()
    high, middle = wilson(58, 60), wilson(33, 60)            # [0.89, 0.99] and [0.42, 0.67]
    assert f.status(Claim("invents on at least 80%", "higher", "supported", estimate=high, bound=0.8)) == "supported"
    assert f.status(Claim("invents on under 80%", "lower", "contradicted", estimate=high, bound=0.8)) == "contradicted"
    assert f.status(Claim("at least 90%", "higher", "no detectable difference", estimate=high, bound=0.9)) \
        == "no detectable difference"
    assert f.status(Claim("about half", "no difference", "no detectable difference", estimate=middle, bound=0.5)) \
        == "no detectable difference"
    row = f.table([Claim("at least 80%", "higher", "supported", estimate=high, bound=0.8)]).loc[1]
    assert row["estimate [95% CI]"] == f"{high.mean:.2f} [{high.low:.2f}, {high.high:.2f}]"
    assert row["n"] == 60 and row["Holm p"] == claims.NOT_APPLICABLE


def test_table_columns_and_formats():
    f = family()
    table = f.table([Claim("RAG is right more often", "higher", "supported", key="up"),
                     Claim("the prompt changes nothing detectable", "no difference", "no detectable difference",
                           key="null 0")])
    assert list(table.columns) == ["claim", "estimate [95% CI]", "n", "Holm p", "seeds agreeing", "status"]
    assert list(table.index) == [1, 2]
    assert table.loc[1, "estimate [95% CI]"] == "+0.50 [+0.35, +0.65]"
    assert table.loc[1, "Holm p"] == "<0.001" and table.loc[2, "Holm p"] == "1.000"
    assert table.loc[1, "n"] == 40 and table.loc[1, "seeds agreeing"] == claims.NOT_APPLICABLE
    assert list(table["status"]) == ["supported", "no detectable difference"]
    assert claims.format_p(0.0071) == "0.007" and claims.format_p(0.0004) == "<0.001"


def test_long_claims_are_shown_in_full():
    text = "A claim long enough that pandas would cut it at fifty characters with an ellipsis"
    table = family().table([Claim(text, "higher", "supported", key="up")])
    assert text in table._repr_html_() and text in repr(table)


def test_check_passes_and_returns_the_table():
    f = family()
    table = f.check([Claim("up", "higher", "supported", key="up"), Claim("down", "lower", "supported", key="down")])
    assert list(table["status"]) == ["supported", "supported"]


def test_check_names_every_claim_that_no_longer_holds():
    f = family(nulls=3)
    with pytest.raises(AssertionError) as raised:
        f.check([Claim("RAG is right more often", "higher", "supported", key="up"),
                 Claim("the modest gain survives", "higher", "supported", key="modest"),
                 Claim("nothing changes", "no difference", "no detectable difference", key="down")])
    message = str(raised.value)
    assert message.startswith("2 claim(s)") and "RAG is right more often" not in message
    assert "'the modest gain survives': expected 'supported', found 'no detectable difference'" in message
    assert "'nothing changes': expected 'no detectable difference', found 'contradicted'" in message
    assert "-0.50 [-0.65, -0.35]" in message                  # the numbers that changed the verdict


def test_seeds_column_from_counts_differences_and_family_keys():
    f = family()
    f.add("up, seed 1", UP)
    f.add("up, seed 2", NULL)
    by_count = Claim("up", "higher", "supported", key="up", seeds=(2, 3))
    # per-seed Differences are judged on their own: MODEST agrees, uncorrected
    by_difference = Claim("up", "higher", "supported", key="up", seeds=[UP, NULL, MODEST], expected_seeds=2)
    unchanged = Claim("no change", "no difference", "no detectable difference", key="null 0", seeds=[NULL, UP, NULL])
    by_key = Claim("up", "higher", "supported", key="up", seeds=["up", "up, seed 1", "up, seed 2"])
    table = f.check([by_count, by_difference, unchanged])
    assert list(table["seeds agreeing"]) == ["2/3", "2/3", "2/3"]
    assert f.seeds_agreeing(by_key) == (2, 3)                 # family keys: judged after Holm's correction
    f.add("up, seed 3", MODEST)
    f.add("null 1", NULL)
    f.add("null 2", NULL)                                      # 9 members: MODEST's Holm p is 5 x p > 0.05
    assert f.holm_p("modest") > 0.05 and f.seeds_agreeing(by_key) == (2, 3)
    mixed = Claim("up", "higher", "supported", key="up", seeds=["up", "modest", "up, seed 3"])
    assert f.seeds_agreeing(mixed) == (1, 3)
    assert f.seeds_agreeing(Claim("up", "higher", "supported", key="up", seeds=[UP, MODEST, MODEST])) == (3, 3)


def test_check_fails_when_seeds_stop_agreeing():
    claim = Claim("down on every seed", "lower", "supported", key="down", seeds=[DOWN, NULL, DOWN], expected_seeds=3)
    with pytest.raises(AssertionError, match=r"expected 3/3 seeds agreeing, found 2/3"):
        family().check([claim])


def test_exploratory_seed_keys_are_refused():
    f = family(exploratory=True)
    with pytest.raises(ValueError, match="exploratory"):
        f.seeds_agreeing(Claim("up", "higher", "supported", key="up", seeds=["up", "peek"]))


@pytest.mark.parametrize("kwargs", [
    dict(direction="bigger", expected="supported", key="up"),
    dict(direction="higher", expected="real", key="up"),
    dict(direction="higher", expected="supported"),
    dict(direction="higher", expected="supported", key="up", estimate=wilson(5, 10), bound=0.5),
    dict(direction="higher", expected="supported", estimate=wilson(5, 10)),
    dict(direction="higher", expected="supported", key="up", expected_seeds=3),
    dict(direction="higher", expected="supported", key="up", seeds=(4, 3)),
])
def test_malformed_claims_are_refused(kwargs):
    with pytest.raises(ValueError):
        Claim("a claim", **kwargs)


def test_unknown_and_duplicate_keys():
    f = family()
    with pytest.raises(KeyError, match="not in the family"):
        f.status(Claim("typo", "higher", "supported", key="upp"))
    with pytest.raises(ValueError, match="already"):
        f.add("up", UP)


def test_comparisons_lists_every_member():
    table = family(nulls=3, exploratory=True).comparisons()
    assert list(table["comparison"]) == ["up", "down", "modest", "null 0", "null 1", "null 2", "peek"]
    assert list(table["after correction"]) == ["real", "real", "no detectable difference"] + \
        ["no detectable difference"] * 3 + ["exploratory"]
    assert table.iloc[2]["McNemar p"] == "0.016" and table.iloc[6]["Holm p"] == claims.NOT_APPLICABLE


def test_plain_words_renders_a_box_and_counts_words():
    box = plain_words("RAG answered more questions right,\n  but it still made up answers it could not know.")
    assert box._repr_markdown_() == ("> **In plain words:** RAG answered more questions right, "
                                     "but it still made up answers it could not know.")
    assert repr(box) == str(box) == box._repr_markdown_()
    assert plain_words(" ".join(["word"] * 60))
    with pytest.raises(ValueError, match="61 words"):
        plain_words(" ".join(["word"] * 61))
    with pytest.raises(ValueError):
        plain_words("   ")


def test_plain_words_displays_as_markdown_in_ipython():
    from IPython.core.formatters import DisplayFormatter

    data, _ = DisplayFormatter().format(plain_words("Short and clear."))
    assert data["text/markdown"] == "> **In plain words:** Short and clear."
    assert data["text/plain"] == "> **In plain words:** Short and clear."


def test_before_correction_lists_the_named_members_with_their_uncorrected_test():
    table = family().before_correction(["modest", "null 0"])
    assert list(table.columns) == ["A − B", "difference [95% CI]", "only A-only B", "McNemar p"]
    assert list(table["A − B"]) == ["modest", "null 0"]
    assert list(table["only A-only B"]) == ["7-0", "2-2"] and table["McNemar p"][1] == "1.000"
    assert table["difference [95% CI]"][0] == str(MODEST)
