"""Cost measurement (notebook 06): latency on the real generation path, merged and int8 copies of a
tiny model, artifact sizes, and the break-even arithmetic."""
from __future__ import annotations

import math
from pathlib import Path

import pytest

from helpers import cost, generation, models

QUESTIONS = ["How tall is the mast?", "Who founded the company?", "When was the bridge built?"]


def test_latencies_time_every_prompt_alone_and_never_use_the_answer_cache(tiny_model_dir, cache):
    model, tok = models.load_generator(str(tiny_model_dir))
    prompts = [generation.closed_book_messages(q) for q in QUESTIONS]
    seconds, answers = cost.latencies(model, tok, prompts, warmup=1, max_new_tokens=4)
    assert len(seconds) == 3 and all(s > 0 for s in seconds)
    assert [a.text for a in answers] == [a.text for a in generation.generate(model, tok, prompts, max_new_tokens=4,
                                                                             cache=False)]
    assert not (cache / "answers").exists()                       # nothing read from or written to it
    summary = cost.summarize_latency(seconds)
    assert summary.n == 3 and min(seconds) <= summary.median <= summary.p90 <= max(seconds)
    with pytest.raises(ValueError, match="no prompts"):
        cost.latencies(model, tok, [])


def test_percentile_matches_numpy_and_checks_its_input():
    assert cost.percentile([1, 2, 3, 4], 50) == 2.5
    assert math.isclose(cost.percentile(list(range(11)), 90), 9.0)
    with pytest.raises(ValueError, match="q=120"):
        cost.percentile([1.0], 120)
    est = cost.median_estimate([0.1, 0.2, 0.3, 0.4, 5.0])
    assert est.mean == 0.3 and est.low <= 0.3 <= est.high and est.n == 5


def test_merged_and_int8_copies_answer_like_the_original_and_leave_it_alone(tiny_model_dir, cache):
    import torch
    from peft import LoraConfig, get_peft_model

    base, tok = models.load_generator(str(tiny_model_dir), cached=False)
    peft_model = get_peft_model(base, LoraConfig(r=2, target_modules=["q_proj", "v_proj"], task_type="CAUSAL_LM"))
    with torch.no_grad():                                           # a non-zero update, so merging matters
        for name, p in peft_model.named_parameters():
            if "lora_B" in name:
                p.normal_(0, 0.5)
    peft_model.eval()
    ids = torch.tensor([tok("How tall is the mast?")["input_ids"]])
    with torch.inference_mode():
        reference = peft_model(input_ids=ids).logits
        merged = cost.merged_copy(peft_model)
        assert torch.allclose(merged(input_ids=ids).logits, reference, atol=1e-4)
        assert torch.equal(peft_model(input_ids=ids).logits, reference)            # original untouched
        # the copy shares every tensor the merge leaves alone and owns the adapted ones
        original = {n.replace("base_model.model.", "").replace(".base_layer", ""): p.data_ptr()
                    for n, p in peft_model.named_parameters() if "lora_" not in n}
        copied = {n: p.data_ptr() for n, p in merged.named_parameters()}
        adapted = {n for n in copied if n.endswith(("q_proj.weight", "v_proj.weight", "q_proj.bias", "v_proj.bias"))}
        assert adapted and set(copied) <= set(original)
        assert all((copied[n] == original[n]) == (n not in adapted) for n in copied)
        merged_half = cost.merged_copy(peft_model).to(torch.bfloat16)          # converting the copy...
        assert merged_half.dtype == torch.bfloat16
        assert torch.equal(peft_model(input_ids=ids).logits, reference)            # ...leaves the original as it was
        small = cost.int8_copy(merged)
        coarse = cost.int8_copy(merged, per_channel=False)
        assert not torch.equal(small(input_ids=ids).logits, coarse(input_ids=ids).logits)   # two schemes
        assert torch.corrcoef(torch.stack([small(input_ids=ids).logits.flatten(), reference.flatten()]))[0, 1] > 0.95
    assert cost.serialized_bytes(small) < cost.serialized_bytes(merged)
    assert merged(input_ids=ids).logits.shape == reference.shape     # int8_copy left its source usable
    with pytest.raises(TypeError, match="PeftModel"):
        cost.merged_copy(merged)


def test_artifact_bytes_of_files_and_folders(tmp_path):
    (tmp_path / "a.bin").write_bytes(b"x" * 10)
    (tmp_path / "sub").mkdir()
    (tmp_path / "sub" / "b.bin").write_bytes(b"y" * 5)
    assert cost.artifact_bytes(tmp_path / "a.bin") == 10 and cost.artifact_bytes(tmp_path) == 15
    with pytest.raises(FileNotFoundError, match="missing"):
        cost.artifact_bytes(tmp_path / "missing")


def test_break_even_and_cheapest():
    rag, tuned = (2.0, 0.5), (60.0, 0.2)                 # (one-off, per query)
    n = cost.break_even(rag, tuned)
    assert math.isclose(n, 58 / 0.3)
    assert math.isclose(cost.total_cost(*rag, n), cost.total_cost(*tuned, n))
    assert cost.cheapest({"rag": rag, "tuned": tuned}, 10) == "rag"
    assert cost.cheapest({"rag": rag, "tuned": tuned}, 1000) == "tuned"
    assert cost.break_even((1.0, 0.1), (2.0, 0.1)) is None              # parallel lines never meet
    assert cost.break_even((1.0, 0.1), (2.0, 0.2)) is None              # a is cheaper at every volume
    with pytest.raises(ValueError, match="non-negative"):
        cost.total_cost(-1, 0.1, 5)


def test_token_costs_recover_known_rates_and_refuse_collinear_lengths():
    prompt = [10, 50, 100, 20, 80, 60]
    new = [5, 2, 10, 20, 1, 8]
    seconds = [0.1 + 0.001 * p + 0.05 * n for p, n in zip(prompt, new, strict=True)]
    fit = cost.token_costs(prompt, new, seconds)
    assert math.isclose(fit.fixed, 0.1, abs_tol=1e-9) and math.isclose(fit.per_prompt_token, 0.001, abs_tol=1e-9)
    assert math.isclose(fit.per_new_token, 0.05, abs_tol=1e-9) and fit.n == 6
    with pytest.raises(ValueError, match="vary independently"):
        cost.token_costs([1, 2, 3], [2, 4, 6], [0.1, 0.2, 0.3])
    with pytest.raises(ValueError, match="at least 3"):
        cost.token_costs([1], [1], [0.1])


def test_interleaved_latencies_time_each_model_on_every_prompt(tiny_model_dir, cache):
    model, tok = models.load_generator(str(tiny_model_dir))
    twin, _ = models.load_generator(str(tiny_model_dir), cached=False)
    prompts = [generation.closed_book_messages(q) for q in QUESTIONS]
    out = cost.interleaved_latencies({"a": model, "b": twin}, tok, prompts, warmup=1, max_new_tokens=3)
    assert set(out) == {"a", "b"} and all(len(s) == 3 and min(s) > 0 for s, _ in out.values())
    expected = [a.text for a in generation.generate(model, tok, prompts, max_new_tokens=3, cache=False)]
    assert all([a.text for a in answers] == expected for _, answers in out.values())   # same weights, prompt order
    with pytest.raises(ValueError, match="at least two"):
        cost.interleaved_latencies({"a": model}, tok, prompts)


def test_run_module_in_child_reports_the_childs_own_peak_not_the_parents(tmp_path: Path) -> None:
    """The parent holds 300 MB; a small child must not report it (ru_maxrss would: Linux carries a
    forked parent's peak across exec). Exit status and output come back, also for SystemExit(2)."""
    import sys

    if not sys.platform.startswith("linux"):
        pytest.skip("peak memory is read from /proc (Linux)")
    held = bytearray(300 * 1024 * 1024)
    held[::4096] = b"\x01" * len(held[::4096])    # touch every page, so it is resident
    small = cost.run_module_in_child("json.tool", ["--help"])
    assert small.returncode == 0 and "usage" in small.stdout
    assert 0 < small.peak_bytes < 150 * 1024 * 1024
    refused = cost.run_module_in_child("helpers.compare", ["--docs", str(tmp_path / "missing"), "--questions",
                                                           str(tmp_path / "q.jsonl"), "--out", str(tmp_path / "out")])
    assert refused.returncode == 2 and refused.peak_bytes > 0
    del held


def test_pareto_front_keeps_the_systems_nothing_beats_on_both_counts():
    points = {"fast, poor": (0.2, 0.1), "slow, good": (1.5, 0.5), "slow, poor": (1.6, 0.3), "middling": (0.5, 0.1)}
    assert cost.pareto_front(points) == ["fast, poor", "slow, good"]
    assert cost.pareto_front({"only": (1.0, 0.5)}) == ["only"]
