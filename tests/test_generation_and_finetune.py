"""Prompt building, generation, training-example construction and real (tiny) LoRA runs.

The model tests use a 2-layer random Llama with the real tokenizer, saved once per module: fast
(a training run takes about a second) and exercising the same code paths as the 135M model.
"""
from __future__ import annotations

import threading
from dataclasses import replace
from pathlib import Path

import pytest

from helpers import finetune, generation, models
from helpers.data import Fact
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


def test_lm_examples_are_document_aligned(tokenizer):
    texts = ["one two three " * 20, "four", "five six seven eight nine ten " * 6]
    blocks = finetune.lm_examples(texts, tokenizer, max_length=16)
    assert all(b["labels"] == b["input_ids"] and 2 <= len(b["input_ids"]) <= 16 for b in blocks)
    eos = tokenizer.eos_token_id
    assert sum(b["input_ids"].count(eos) for b in blocks) == len(texts)
    # every document's tokens are its blocks, in order, and its last block ends with end-of-text
    rest = list(blocks)
    for text in texts:
        ids = tokenizer(text, add_special_tokens=False)["input_ids"] + [eos]
        mine = []
        while sum(map(len, mine)) < len(ids):
            mine.append(rest.pop(0)["input_ids"])
        assert [t for b in mine for t in b] == ids            # no block reaches into the next text
        assert mine[-1][-1] == eos and all(eos not in b for b in mine[:-1])
    assert not rest
    assert len(finetune.lm_examples(texts, tokenizer)) == len(texts)   # default 128: one block each
    with pytest.raises(ValueError, match="text 1 is empty"):
        finetune.lm_examples(["a", " "], tokenizer)


def test_lm_examples_never_leave_a_one_token_block(tokenizer):
    text = "one two three " * 10
    n = len(tokenizer(text, add_special_tokens=False)["input_ids"]) + 1   # with end-of-text
    blocks = finetune.lm_examples([text], tokenizer, max_length=n - 1)
    assert [len(b["input_ids"]) for b in blocks] == [n - 2, 2]


def test_adapter_key_changes_with_every_part(tokenizer):
    ex = finetune.qa_examples([("How tall?", "3 m")], tokenizer)
    other = finetune.qa_examples([("How tall?", "4 m")], tokenizer)
    s = finetune.LoraSettings()
    parts = dict(training_args={"learning_rate": 1e-3}, versions={"torch": "2.13.0"}, parent_key=None,
                 device="cpu")
    key = finetune.adapter_key("qa", ex, s, "base", **parts)
    assert key == finetune.adapter_key("qa", ex, s, "base", **parts)
    assert key != finetune.adapter_key("qa", other, s, "base", **parts)
    assert key != finetune.adapter_key("qa", ex, finetune.LoraSettings(rank=4), "base", **parts)
    assert key != finetune.adapter_key("lm", ex, s, "base", **parts)
    assert key != finetune.adapter_key("qa", ex, s, "other weights", **parts)
    for name, value in [("training_args", {"learning_rate": 2e-3}), ("versions", {"torch": "2.14.0"}),
                        ("parent_key", "abc"), ("device", "cuda")]:
        assert key != finetune.adapter_key("qa", ex, s, "base", **(parts | {name: value})), name


def test_training_arguments_in_the_key_leave_out_paths():
    from helpers.finetune import _training_arguments, training_arguments_for_key

    settings = finetune.LoraSettings()
    one = training_arguments_for_key(_training_arguments(settings, "cpu", "/tmp/a"))
    two = training_arguments_for_key(_training_arguments(settings, "cpu", "/tmp/b"))
    assert one == two and "output_dir" not in one and one["learning_rate"] == settings.learning_rate
    assert one != training_arguments_for_key(_training_arguments(replace(settings, seed=1), "cpu", "/tmp/a"))


# --------------------------------------------------------------------------------------------
# a tiny random model with the real tokenizer


QUESTIONS = ["How tall is the mast?", "Who built the lighthouse on the northern cliff, and in which year?",
             "Why?", "Where is the Hearth gateway sold?", "When did the harbour open to ships from abroad?",
             "What?"]


def test_generate_batched_equals_one_at_a_time_and_keeps_order(tiny_model_dir, cache):
    model, tok = models.load_generator(str(tiny_model_dir))
    prompts = [generation.closed_book_messages(q) for q in QUESTIONS]
    lengths = [len(tok(generation.render(tok, p), add_special_tokens=False)["input_ids"]) for p in prompts]
    assert len(set(lengths)) > 3                                   # batches really mix lengths (padding)
    for kwargs in ({}, {"max_new_tokens": 6}):
        # cache=False: compare two real generations, not a generation with its cached copy
        alone = [generation.generate(model, tok, [p], batch_size=1, cache=False, **kwargs)[0] for p in prompts]
        batched = generation.generate(model, tok, prompts, batch_size=4, cache=False, **kwargs)
        assert [a.text for a in batched] == [a.text for a in alone]
        assert [a.new_tokens for a in batched] == [a.new_tokens for a in alone]
        assert [a.prompt_tokens for a in batched] == lengths      # answer i belongs to prompt i
        assert len({a.text for a in alone}) > 1                   # distinct answers, so order is tested
        if kwargs:
            assert all(a.new_tokens <= 6 for a in batched)


def _logits(model, ids):
    import torch

    with torch.inference_mode():
        return model(input_ids=torch.tensor([ids], device=next(model.parameters()).device)).logits


SETTINGS = finetune.LoraSettings(rank=8, target_modules=("q_proj", "v_proj"), top_layers=None, epochs=15,
                                 learning_rate=1e-2, batch_size=4, warmup_steps=0)


def test_tiny_lora_run_learns_and_caches(tokenizer, tiny_model_dir, cache, tmp_path, capsys):
    """A real peft + Trainer run on a 2-layer random model: the loss falls, a rerun loads the same
    model from the cache, and training can continue from a saved adapter."""
    import torch

    folder = str(tiny_model_dir)
    ex = finetune.qa_examples([("How tall is the mast?", "three metres")] * 4, tokenizer)
    settings = SETTINGS
    first = finetune.train_lora("qa", ex, settings, generator=folder, verbose=False)
    assert not first.cached and len(first.losses) == 15 and first.device == models.pick_device()
    assert first.losses[-1] < first.losses[0]
    assert first.trainable_params == 2 * 2 * 8 * (32 + 32)       # layers x (q,v) x rank x (in+out)
    base, _ = models.load_generator(folder)
    assert not torch.allclose(_logits(first.model, ex[0]["input_ids"]), _logits(base, ex[0]["input_ids"]))
    again = finetune.train_lora("qa", ex, settings, generator=folder)
    assert again.cached and again.key == first.key and again.model is not first.model
    assert torch.allclose(_logits(again.model, ex[0]["input_ids"]), _logits(first.model, ex[0]["input_ids"]),
                          atol=1e-5)
    assert f"loaded cached adapter {again.adapter_dir.name} (trained on {first.device} in " in capsys.readouterr().out
    assert again.timing.endswith("(cached)") and f"on {first.device}" in again.timing
    meta = (again.adapter_dir / "meta.json").read_text()
    assert all(word in meta for word in ('"device"', '"versions"', '"base_fingerprint"', '"training_args"'))
    assert not list(again.adapter_dir.parent.glob(".*tmp"))    # no staging folder left behind

    more = finetune.train_lora("qa", ex, replace(settings, epochs=2), generator=folder, verbose=False,
                               start_from=first.adapter_dir)
    assert more.losses[0] < first.losses[0] and more.adapter_dir != first.adapter_dir   # continued, not restarted
    assert more.parent_key == first.key
    with pytest.raises(FileNotFoundError, match="no saved adapter"):
        finetune.train_lora("qa", ex, settings, generator=folder, start_from=tmp_path)
    top = finetune.train_lora("qa", ex, replace(settings, top_layers=1, epochs=1), generator=folder,
                              verbose=False, use_cache=False)
    assert top.trainable_params == first.trainable_params // 2    # one of the two layers adapted
    with pytest.raises(ValueError, match="top_layers=3: the model has 2 layers"):
        finetune.train_lora("qa", ex, replace(settings, top_layers=3), generator=folder, use_cache=False)
    with pytest.raises(ValueError, match="kind must be"):
        finetune.train_lora("rl", ex, settings, generator=folder)  # type: ignore[arg-type]


def test_cache_key_follows_the_weights_not_the_folder_name(tokenizer, tiny_model_dir, cache, tmp_path):
    import shutil

    from safetensors.torch import load_file, save_file

    ex = finetune.qa_examples([("How tall is the mast?", "three metres")] * 4, tokenizer)
    settings = replace(SETTINGS, epochs=1)
    first = finetune.train_lora("qa", ex, settings, generator=str(tiny_model_dir), verbose=False)
    copy = tmp_path / "renamed-copy"
    shutil.copytree(tiny_model_dir, copy)
    assert finetune.train_lora("qa", ex, settings, generator=str(copy), verbose=False).key == first.key
    weights = copy / "model.safetensors"
    tensors = load_file(str(weights))
    name = next(iter(tensors))
    tensors[name] = tensors[name] + 1.0
    save_file(tensors, str(weights), metadata={"format": "pt"})
    changed = finetune.train_lora("qa", ex, settings, generator=str(copy), verbose=False)
    assert changed.key != first.key and not changed.cached


def test_weight_hash_is_memoized_by_size_and_mtime(tmp_path, monkeypatch):
    import hashlib
    import os

    (tmp_path / "a").mkdir()
    weights = tmp_path / "a" / "w.safetensors"
    weights.write_bytes(b"abc")
    assert models.file_sha256(weights) == hashlib.sha256(b"abc").hexdigest()
    assert (tmp_path / "a" / "w.safetensors.sha256.json").is_file()
    reads = []
    real_open = Path.open
    monkeypatch.setattr(Path, "open", lambda self, *a, **k: reads.append(self) or real_open(self, *a, **k))
    assert models.file_sha256(weights) == hashlib.sha256(b"abc").hexdigest() and weights not in reads
    weights.write_bytes(b"abd")
    os.utime(weights, ns=(1, 1))                             # another mtime: the memo is stale
    assert models.file_sha256(weights) == hashlib.sha256(b"abd").hexdigest() and weights in reads
    (tmp_path / "b").mkdir()
    (tmp_path / "b" / "w.safetensors").write_bytes(b"abd")      # same content, other folder
    assert models.weights_fingerprint(str(tmp_path / "b")) == models.weights_fingerprint(str(tmp_path / "a"))
    (tmp_path / "b" / "w.safetensors").write_bytes(b"abe")
    os.utime(tmp_path / "b" / "w.safetensors", ns=(2, 2))   # same size: only the mtime tells
    assert models.weights_fingerprint(str(tmp_path / "b")) != models.weights_fingerprint(str(tmp_path / "a"))
    (tmp_path / "empty").mkdir()
    with pytest.raises(FileNotFoundError, match="no weight files"):
        models.weights_fingerprint(str(tmp_path / "empty"))


def test_two_threads_asking_for_one_adapter_train_it_once(tokenizer, tiny_model_dir, cache):
    ex = finetune.qa_examples([("How tall is the mast?", "three metres")] * 4, tokenizer)
    settings = replace(SETTINGS, epochs=2)
    out: list[finetune.FineTuneResult] = []
    threads = [threading.Thread(target=lambda: out.append(
        finetune.train_lora("qa", ex, settings, generator=str(tiny_model_dir), verbose=False))) for _ in range(2)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert sorted(r.cached for r in out) == [False, True]
    assert out[0].key == out[1].key


def test_epoch_snapshots_are_kept_and_cached(tokenizer, tiny_model_dir, cache):
    import torch

    ex = finetune.qa_examples([("How tall is the mast?", "three metres")] * 4, tokenizer)
    ids = ex[0]["input_ids"]
    settings = replace(SETTINGS, epochs=3)
    plain = finetune.train_lora("qa", ex, settings, generator=str(tiny_model_dir), verbose=False)
    assert plain.epochs_saved == ()
    with pytest.raises(ValueError, match="no snapshot of epoch 1"):
        plain.load_epoch(1)
    run = finetune.train_lora("qa", ex, settings, generator=str(tiny_model_dir), verbose=False,
                              save_epochs=[2, 1, 3])
    # snapshots are not in the key: the entry without them is trained again and saved with them
    assert run.key == plain.key and not run.cached and run.epochs_saved == (1.0, 2.0, 3.0)
    assert all((run.adapter_dir / f"epoch-{e}" / "adapter_model.safetensors").is_file() for e in (1, 2, 3))
    final = _logits(run.model, ids)
    assert torch.allclose(final, _logits(plain.model, ids), atol=1e-5)   # snapshots do not change training
    by_epoch = {e: _logits(run.load_epoch(e), ids) for e in run.epochs_saved}
    assert torch.allclose(by_epoch[3.0], final, atol=1e-6) and not torch.allclose(by_epoch[1.0], final)
    assert torch.allclose(_logits(run.load_final(), ids), final)
    cached = finetune.train_lora("qa", ex, settings, generator=str(tiny_model_dir), verbose=False,
                                 save_epochs=[1, 2, 3])
    assert cached.cached and cached.epochs_saved == run.epochs_saved
    for e in cached.epochs_saved:
        assert torch.allclose(_logits(cached.load_epoch(e), ids), by_epoch[e], atol=1e-5)
    assert finetune.train_lora("qa", ex, settings, generator=str(tiny_model_dir), verbose=False).cached
    with pytest.raises(ValueError, match="save_epochs 4: outside this run, which trains 3 epochs"):
        finetune.train_lora("qa", ex, settings, generator=str(tiny_model_dir), save_epochs=[4])


def test_a_retrained_entry_keeps_its_earlier_snapshots(tokenizer, tiny_model_dir, cache):
    ex = finetune.qa_examples([("How wide is the gate?", "two metres")] * 4, tokenizer)
    settings = replace(SETTINGS, epochs=3)
    first = finetune.train_lora("qa", ex, settings, generator=str(tiny_model_dir), verbose=False, save_epochs=[1])
    more = finetune.train_lora("qa", ex, settings, generator=str(tiny_model_dir), verbose=False, save_epochs=[3])
    assert not more.cached and more.key == first.key and more.epochs_saved == (1.0, 3.0)
    again = finetune.train_lora("qa", ex, settings, generator=str(tiny_model_dir), verbose=False, save_epochs=[1, 3])
    assert again.cached


def _fact(question: str, heldout: tuple[str, ...], answer: str = "42") -> Fact:
    return Fact(id=question[:8], doc="d", docs=("d",), answer=answer, aliases=(), question=question,
                heldout=heldout)


def test_fact_pairs_drop_rewordings_that_nearly_copy_any_heldout_question():
    cost = _fact("How much does the Hearth gateway cost?", ("Name the gateway's price.", "What does it cost?"))
    other = _fact("Who founded Skylark?", ("What is the price of a Hearth gateway station?", "Skylark's founder?"))
    alone = finetune.fact_pairs([cost], n_paraphrases=1)
    assert [q for q, _ in alone.pairs] == ["How much does the Hearth gateway cost?",
                                           "What is the price of the Hearth gateway?"]
    both = finetune.fact_pairs([cost, other], n_paraphrases=1)       # held-out question of another fact
    assert both.dropped == [("What is the price of the Hearth gateway?",
                             "What is the price of a Hearth gateway station?")] and both.n_dropped == 1
    assert ("How much does the Hearth gateway cost?", "42") in both.pairs    # training wording always kept
    assert finetune.jaccard("What is the price of the Hearth gateway?",
                            "What is the price of a Hearth gateway station?") >= finetune.NEAR_COPY_JACCARD


def test_augmentation_keeps_the_training_question_first_and_never_uses_heldout():
    from helpers import data

    def tokens(text):
        return set(data.normalize_text(text).split())

    facts = data.load_facts(1)
    heldout = [tokens(h) for f in facts for h in f.heldout]
    result = finetune.fact_pairs(facts, n_paraphrases=3)
    assert len(result.pairs) + result.n_dropped == sum(len(finetune.augment_question(f.question, 3)) for f in facts)
    assert [q for q, _ in finetune.fact_pairs(facts).pairs] == [f.question for f in facts]
    training = {f.question for f in facts}
    for q in {q for q, _ in result.pairs} - training:
        tq = tokens(q)
        assert all(len(tq & h) / len(tq | h) < finetune.NEAR_COPY_JACCARD for h in heldout), q


def test_micro_batches_accumulate_to_the_same_steps(tokenizer, tiny_model_dir, cache):
    with pytest.raises(ValueError, match="must divide batch_size"):
        finetune.LoraSettings(batch_size=8, micro_batch_size=3)
    ex = finetune.qa_examples([(f"How tall is mast {i}?", f"{i} metres") for i in range(6)], tokenizer)
    settings = replace(SETTINGS, epochs=2, batch_size=4)
    whole = finetune.train_lora("qa", ex, settings, generator=str(tiny_model_dir), verbose=False)
    parts = finetune.train_lora("qa", ex, replace(settings, micro_batch_size=2), generator=str(tiny_model_dir),
                                verbose=False)
    assert parts.key != whole.key and len(parts.losses) == len(whole.losses)
    plain = finetune.LoraSettings()
    assert finetune.adapter_key("qa", ex, plain, "b") == finetune.adapter_key("qa", ex, replace(plain, micro_batch_size=None), "b")
