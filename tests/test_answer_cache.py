"""The answer cache: hits only for the same weights, prompt and a budget that cannot change the
answer; misses are generated and stored; off switches and bad files say what is wrong.

Every test compares against real generation on the tiny random model (no mocks)."""
from __future__ import annotations

import json

import pytest

from helpers import answer_cache, generation, models

QUESTIONS = ["How tall is the mast?", "Who founded the company?", "What does the warranty cover?",
             "When was the bridge built?", "Which port is the closest?", "Why is the sky blue today?"]


@pytest.fixture()
def tiny(tiny_model_dir, cache):
    model, tok = models.load_generator(str(tiny_model_dir))
    return model, tok, [generation.closed_book_messages(q) for q in QUESTIONS], cache


def _files(cache_dir):
    return sorted((cache_dir / "answers").glob("*.json"))


def test_a_second_call_is_served_from_the_cache_and_equals_generation(tiny):
    model, tok, prompts, cache_dir = tiny
    fresh = generation.generate(model, tok, prompts, max_new_tokens=8)
    assert not any(a.cached for a in fresh) and len(_files(cache_dir)) == 1
    again = generation.generate(model, tok, prompts, max_new_tokens=8)
    assert all(a.cached for a in again)
    assert [(a.text, a.new_tokens, a.prompt_tokens, a.seconds) for a in again] == \
        [(a.text, a.new_tokens, a.prompt_tokens, a.seconds) for a in fresh]
    # a partial hit: cached prompts are not regenerated, new ones are, and the order is kept
    mixed = generation.generate(model, tok, prompts[:2] + [generation.closed_book_messages("Where is the pier?")],
                                max_new_tokens=8)
    assert [a.cached for a in mixed] == [True, True, False]
    uncached = generation.generate(model, tok, prompts, max_new_tokens=8, cache=False)
    assert [a.text for a in uncached] == [a.text for a in fresh] and not any(a.cached for a in uncached)


def test_other_weights_miss_and_equal_weights_hit(tiny, tiny_model_dir):
    import torch

    model, tok, prompts, _ = tiny
    generation.generate(model, tok, prompts, max_new_tokens=8)
    twin, _ = models.load_generator(str(tiny_model_dir), cached=False)        # another copy, same weights
    assert answer_cache.model_fingerprint(twin) == answer_cache.model_fingerprint(model)
    assert all(a.cached for a in generation.generate(twin, tok, prompts, max_new_tokens=8))
    with torch.no_grad():
        next(twin.parameters())[0, 0] += 0.01                                   # one weight changed
    assert answer_cache.model_fingerprint(twin) != answer_cache.model_fingerprint(model)
    assert not any(a.cached for a in generation.generate(twin, tok, prompts, max_new_tokens=8))


def test_lora_adapter_state_is_part_of_the_fingerprint(tiny_model_dir, cache):
    from peft import LoraConfig, get_peft_model

    base, _ = models.load_generator(str(tiny_model_dir), cached=False)
    plain = answer_cache.model_fingerprint(base)
    peft_model = get_peft_model(base, LoraConfig(r=2, target_modules=["q_proj"], task_type="CAUSAL_LM")).eval()
    with_adapter = answer_cache.model_fingerprint(peft_model)
    with peft_model.disable_adapter():
        disabled = answer_cache.model_fingerprint(peft_model)
    assert len({plain, with_adapter, disabled}) == 3
    peft_model.train()
    assert answer_cache.model_fingerprint(peft_model) != with_adapter            # dropout is active in training


def test_a_cut_answer_is_reused_only_for_its_own_budget(tiny):
    model, tok, prompts, _ = tiny
    short = generation.generate(model, tok, prompts, max_new_tokens=3)
    cut = [a.new_tokens == 3 for a in short]
    assert any(cut)                                                              # the random model rambles
    longer = generation.generate(model, tok, prompts, max_new_tokens=12)
    assert [a.cached for a in longer] == [not c for c in cut]                     # stopped ones are valid for 12
    assert [a.text for a in longer] == [a.text for a in generation.generate(model, tok, prompts, max_new_tokens=12,
                                                                           cache=False)]
    # the cut entries now hold 12-token answers (valid for more budgets); a budget of 3 regenerates them
    same = generation.generate(model, tok, prompts, max_new_tokens=3)
    assert [a.cached for a in same] == [not c for c in cut] and [a.text for a in same] == [a.text for a in short]


def test_the_switch_turns_the_cache_off(tiny, monkeypatch):
    model, tok, prompts, cache_dir = tiny
    monkeypatch.setenv("RAGFT_ANSWER_CACHE", "0")
    generation.generate(model, tok, prompts, max_new_tokens=4)
    assert _files(cache_dir) == []
    monkeypatch.setenv("RAGFT_ANSWER_CACHE", "sometimes")
    with pytest.raises(ValueError, match="RAGFT_ANSWER_CACHE='sometimes'"):
        generation.generate(model, tok, prompts, max_new_tokens=4)


def test_a_damaged_or_foreign_cache_file_is_an_error_naming_it(tiny):
    model, tok, prompts, cache_dir = tiny
    generation.generate(model, tok, prompts, max_new_tokens=4)
    path = _files(cache_dir)[0]
    stored = json.loads(path.read_text())
    stored["key"]["model"] = "another model"
    path.write_text(json.dumps(stored))
    with pytest.raises(ValueError, match=f"{path.name}: stored for another model"):
        generation.generate(model, tok, prompts, max_new_tokens=4)
    path.write_text('{"key": \n oops')
    with pytest.raises(ValueError, match=f"{path.name}, line 2: not valid JSON"):
        generation.generate(model, tok, prompts, max_new_tokens=4)


def test_quantized_models_are_told_apart_by_their_packed_weights(tiny_model_dir, cache):
    """Dynamic int8 layers keep their weights outside ``parameters()``: two quantization schemes of
    one model, and int8 copies of two different models, must not share answers."""
    import torch

    from helpers import cost

    base, _ = models.load_generator(str(tiny_model_dir), cached=False)
    per_tensor, per_channel = cost.int8_copy(base, per_channel=False), cost.int8_copy(base, per_channel=True)
    other, _ = models.load_generator(str(tiny_model_dir), cached=False)
    with torch.no_grad():
        other.model.layers[0].mlp.up_proj.weight.mul_(1.5)          # a linear layer only: norms, embeddings equal
    prints = {answer_cache.model_fingerprint(m) for m in (base, per_tensor, per_channel, cost.int8_copy(other))}
    assert len(prints) == 4
    assert answer_cache.model_fingerprint(cost.int8_copy(base)) == answer_cache.model_fingerprint(per_channel)
