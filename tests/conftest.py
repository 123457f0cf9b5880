"""Shared fixtures for the unit tests: tiny inputs, and the real tokenizer where format matters."""
from __future__ import annotations

import hashlib
from pathlib import Path

import numpy as np
import pytest

from helpers import models
from helpers.data import Document


class BagOfWordsEmbedder:
    """A deterministic stand-in for a sentence-transformers model: hashed bag of words.

    Keeps retrieval tests fast and independent of model files; texts sharing words get similar
    vectors, which is all the index logic needs.
    """

    dim = 64

    def __init__(self) -> None:
        self.calls = 0
        self.texts_embedded = 0

    def encode(self, sentences, **kwargs):
        self.calls += 1
        self.texts_embedded += len(sentences)
        out = np.zeros((len(sentences), self.dim), dtype="float32")
        for row, text in enumerate(sentences):
            for word in text.lower().split():
                word = word.strip(".,?!:;")
                out[row, int(hashlib.md5(word.encode()).hexdigest(), 16) % self.dim] += 1.0
        if kwargs.get("normalize_embeddings"):
            out /= np.maximum(np.linalg.norm(out, axis=1, keepdims=True), 1e-9)
        return out


@pytest.fixture()
def embedder() -> BagOfWordsEmbedder:
    return BagOfWordsEmbedder()


@pytest.fixture()
def tiny_docs() -> list[Document]:
    return [
        Document("apples", "Apples", "# Apples\n\nApples grow on trees in orchards.\n\nRed apples are sweet."),
        Document("bees", "Bees", "# Bees\n\nBees make honey in hives.\n\nA queen bee leads the hive."),
        Document("rain", "Rain", "# Rain\n\nRain is measured with a gauge in millimetres."),
    ]


@pytest.fixture(scope="session")
def tokenizer():
    from helpers import models

    return models.load_tokenizer()


# a tiny random model with the real tokenizer (real code paths, seconds instead of minutes)
@pytest.fixture(scope="session")
def tiny_model_dir(tokenizer, tmp_path_factory) -> Path:
    """A 2-layer random Llama saved with the real tokenizer."""
    import torch
    from transformers import LlamaConfig, LlamaForCausalLM

    torch.manual_seed(0)
    tiny = LlamaForCausalLM(LlamaConfig(vocab_size=len(tokenizer), hidden_size=32, intermediate_size=64,
                                        num_hidden_layers=2, num_attention_heads=2, num_key_value_heads=2))
    folder = tmp_path_factory.mktemp("tiny") / "tiny-model"
    tiny.save_pretrained(folder)
    tokenizer.save_pretrained(folder)
    return folder


@pytest.fixture()
def cache(tmp_path, monkeypatch) -> Path:
    """A fresh adapter cache for one test, and no models left loaded after it."""
    monkeypatch.setenv("RAGFT_CACHE_DIR", str(tmp_path / "cache"))
    models.clear_cache()
    yield tmp_path / "cache"
    models.clear_cache()
