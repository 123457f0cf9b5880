"""Prompt building, training-example construction and a real (tiny) LoRA run."""
from __future__ import annotations

from dataclasses import replace

import pytest

from helpers import finetune, generation
from helpers.retrieval import Chunk, Passage


def _passage(doc, text, rank=1):
    return Passage(Chunk(f"{doc}#0", doc, doc.title(), text), 0.5, rank)


def test_rag_prompt_differs_from_closed_book_only_by_passages():
    closed = generation.closed_book_messages("How tall?")
    rag = generation.rag_messages("How tall?", [_passage("a", "A\nIt is 3 m."), _passage("b", "B\nOther.", 2)])
    assert closed[0] == rag[0]                                   # same system instruction
    assert rag[1]["content"].endswith(closed[1]["content"])      # same question wording, last
    assert "[a] A\nIt is 3 m." in rag[1]["content"] and "[b]" in rag[1]["content"]
    assert generation.rag_messages("How tall?", []) == closed


def test_chat_template_is_used(tokenizer):
    text = generation.render(tokenizer, generation.closed_book_messages("Why?"))
    assert text.startswith("<|im_start|>system\n") and text.endswith("<|im_start|>assistant\n")


def test_qa_examples_mask_the_prompt(tokenizer):
    (ex,) = finetune.qa_examples([("How tall?", "3 m")], tokenizer)
    n_prompt = sum(label == finetune.IGNORE_INDEX for label in ex["labels"])
    prompt = generation.render(tokenizer, generation.closed_book_messages("How tall?"))
    assert n_prompt == len(tokenizer(prompt, add_special_tokens=False)["input_ids"])
    answer = tokenizer.decode([t for t in ex["labels"] if t != finetune.IGNORE_INDEX])
    assert answer == "3 m" + tokenizer.eos_token
    with pytest.raises(ValueError, match="longer than max_length=10"):
        finetune.qa_examples([("How tall?", "3 m")], tokenizer, max_length=10)


def test_lm_examples_predict_every_token(tokenizer):
    blocks = finetune.lm_examples(["one two three " * 20, "four"], tokenizer, max_length=16)
    assert all(b["labels"] == b["input_ids"] and len(b["input_ids"]) <= 16 for b in blocks)
    assert sum(b["input_ids"].count(tokenizer.eos_token_id) for b in blocks) == 2


def test_adapter_key_changes_with_data_and_settings(tokenizer):
    ex = finetune.qa_examples([("How tall?", "3 m")], tokenizer)
    other = finetune.qa_examples([("How tall?", "4 m")], tokenizer)
    s = finetune.LoraSettings()
    key = finetune.adapter_key("qa", ex, s, "base")
    assert key == finetune.adapter_key("qa", ex, s, "base")
    assert key != finetune.adapter_key("qa", other, s, "base")
    assert key != finetune.adapter_key("qa", ex, finetune.LoraSettings(rank=4), "base")
    assert key != finetune.adapter_key("lm", ex, s, "base")


def test_tiny_lora_run_learns_and_caches(tokenizer, tmp_path, monkeypatch):
    """A real peft + Trainer run on a 2-layer random model: the loss falls and a rerun hits the cache."""
    from transformers import LlamaConfig, LlamaForCausalLM

    from helpers import models

    tiny = LlamaForCausalLM(LlamaConfig(vocab_size=len(tokenizer), hidden_size=32, intermediate_size=64,
                                        num_hidden_layers=2, num_attention_heads=2, num_key_value_heads=2))
    folder = tmp_path / "tiny-model"
    tiny.save_pretrained(folder)
    tokenizer.save_pretrained(folder)
    monkeypatch.setenv("RAGFT_CACHE_DIR", str(tmp_path / "cache"))
    models.clear_cache()
    ex = finetune.qa_examples([("How tall is the mast?", "three metres")] * 4, tokenizer)
    settings = finetune.LoraSettings(rank=8, target_modules=("q_proj", "v_proj"), top_layers=None, epochs=15,
                                     learning_rate=1e-2, batch_size=4, warmup_steps=0)
    first = finetune.train_lora("qa", ex, settings, generator=str(folder), verbose=False)
    assert not first.cached and len(first.losses) == 15
    assert first.losses[-1] < first.losses[0]
    assert first.trainable_params == 2 * 2 * 8 * (32 + 32)       # layers x (q,v) x rank x (in+out)
    again = finetune.train_lora("qa", ex, settings, generator=str(folder), verbose=False)
    assert again.cached and again.losses == first.losses
    more = finetune.train_lora("qa", ex, replace(settings, epochs=2), generator=str(folder), verbose=False,
                               start_from=first.adapter_dir)
    assert more.losses[0] < first.losses[0] and more.adapter_dir != first.adapter_dir   # continued, not restarted
    with pytest.raises(FileNotFoundError, match="no saved adapter"):
        finetune.train_lora("qa", ex, settings, generator=str(folder), start_from=tmp_path)
    top = finetune.train_lora("qa", ex, replace(settings, top_layers=1, epochs=1), generator=str(folder),
                              verbose=False, use_cache=False)
    assert top.trainable_params == first.trainable_params // 2    # one of the two layers adapted
    with pytest.raises(ValueError, match="top_layers=3: the model has 2 layers"):
        finetune.train_lora("qa", ex, replace(settings, top_layers=3), generator=str(folder), use_cache=False)
    with pytest.raises(ValueError, match="kind must be"):
        finetune.train_lora("rl", ex, settings, generator=str(folder))  # type: ignore[arg-type]
    models.clear_cache()


def test_augmentation_keeps_the_training_question_first_and_never_uses_heldout():
    from helpers import data

    norm = data.normalize_text
    facts = data.load_facts(1)
    heldout = {norm(h) for f in facts for h in f.heldout}
    pairs = finetune.fact_pairs(facts, n_paraphrases=3)
    assert 3.9 * len(facts) < len(pairs) <= 4 * len(facts)
    assert [q for q, _ in finetune.fact_pairs(facts)] == [f.question for f in facts]
    assert not {norm(q) for q, _ in pairs} & heldout
