"""Shared fixtures for the unit tests: tiny inputs, and the real tokenizer where format matters."""
from __future__ import annotations

import hashlib

import numpy as np
import pytest

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
