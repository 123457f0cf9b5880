"""Lexical retrieval (BM25) and hybrid retrieval (reciprocal rank fusion) over the series' chunks.

A small dense embedder misses what real documentation is full of: identifiers (``max_length``),
version numbers (``3.11``), option names (``--no-deps``). BM25 matches them word for word.
:class:`BM25Index` and :class:`HybridIndex` answer ``search_many(queries, k)`` with
:class:`helpers.retrieval.Passage` lists like :class:`helpers.retrieval.VectorIndex`, so
``helpers.generation.answer_with_rag`` reads from any of them.

BM25 is written out here (Robertson and Zaragoza 2009, "The Probabilistic Relevance Framework:
BM25 and Beyond", with Lucene's non-negative idf) rather than taken from a package: it is some thirty
lines, the tokenization must be ours (identifiers and version numbers kept whole, and split), and
the pure-Python packages (``rank-bm25``) have had no release since 2022.
Rank fusion: Cormack, Clarke and Buettcher 2009, "Reciprocal rank fusion outperforms Condorcet and
individual rank learning methods" (score = sum over rankings of 1 / (60 + rank)).
"""
from __future__ import annotations

import math
import re
import unicodedata
from collections import Counter
from typing import Protocol, Sequence

import numpy as np

from .retrieval import Chunk, Passage

# common English words that carry no retrieval signal; BM25's idf weighs them down anyway, and
# dropping them keeps the postings short
STOPWORDS = frozenset("""a an and are as at be by for from has have how i if in into is it its of on or so such
    than that the their then there these this to was what when where which who why will with do does did can
    you your""".split())
_TOKEN = re.compile(r"\w+(?:[.\-/:]\w+)*")


def tokenize(text: str) -> list[str]:
    """Lower-cased NFKC tokens for BM25: runs of letters and digits, with identifiers, version
    numbers and option names kept whole ("max_length", "3.11", "no-deps") *and* split into their
    parts ("max", "length"); stopwords dropped."""
    out: list[str] = []
    for match in _TOKEN.finditer(unicodedata.normalize("NFKC", text).lower()):
        token = match.group(0)
        parts = [p for p in re.split(r"[._\-/:]+", token) if p]
        if token not in STOPWORDS:
            out.append(token)
        if len(parts) > 1:
            out += [p for p in parts if p not in STOPWORDS]
    return out


class Retriever(Protocol):
    """What the comparison needs from a retriever."""

    def __len__(self) -> int: ...

    def search_many(self, queries: Sequence[str], k: int = 3) -> list[list[Passage]]: ...


class BM25Index:
    """Okapi BM25 over chunks (``k1`` = 1.5, ``b`` = 0.75, the usual defaults)."""

    def __init__(self, chunks: Sequence[Chunk], k1: float = 1.5, b: float = 0.75) -> None:
        if not chunks:
            raise ValueError("cannot build a BM25 index over an empty list of chunks")
        if k1 < 0 or not 0 <= b <= 1:
            raise ValueError(f"need k1 >= 0 and 0 <= b <= 1, got k1={k1}, b={b}")
        self.chunks = list(chunks)
        self.k1, self.b = k1, b
        counts = [Counter(tokenize(c.text)) for c in self.chunks]
        self.lengths = np.array([sum(c.values()) for c in counts], dtype="float64")
        self.avg_length = float(self.lengths.mean()) or 1.0
        self.postings: dict[str, list[tuple[int, int]]] = {}
        for i, c in enumerate(counts):
            for term, tf in c.items():
                self.postings.setdefault(term, []).append((i, tf))
        n = len(self.chunks)
        self.idf = {t: math.log(1 + (n - len(p) + 0.5) / (len(p) + 0.5)) for t, p in self.postings.items()}

    def __len__(self) -> int:
        return len(self.chunks)

    def scores(self, query: str) -> np.ndarray:
        """The BM25 score of every chunk for ``query`` (0 where no query term occurs)."""
        out = np.zeros(len(self.chunks))
        norm = self.k1 * (1 - self.b + self.b * self.lengths / self.avg_length)
        for term in set(tokenize(query)):
            for i, tf in self.postings.get(term, ()):
                out[i] += self.idf[term] * tf * (self.k1 + 1) / (tf + norm[i])
        return out

    def search_many(self, queries: Sequence[str], k: int = 3) -> list[list[Passage]]:
        """Top-``k`` chunks for each query, best first; chunks that share no term with the query
        are not returned, so a list may be shorter than ``k``. Ties keep chunk order."""
        results = []
        for query in queries:
            scores = self.scores(query)
            order = np.argsort(-scores, kind="stable")[:k]
            results.append([Passage(self.chunks[i], float(scores[i]), rank)
                            for rank, i in enumerate(order, 1) if scores[i] > 0])
        return results

    def search(self, query: str, k: int = 3) -> list[Passage]:
        return self.search_many([query], k)[0]


RRF_K = 60   # the constant of reciprocal rank fusion (Cormack et al. 2009)


def fuse(rankings: Sequence[Sequence[Passage]], k: int, rrf_k: int = RRF_K) -> list[Passage]:
    """Reciprocal rank fusion of several rankings of the same chunks: each chunk scores the sum of
    ``1 / (rrf_k + rank)`` over the rankings it appears in; the top ``k``, best first (ties: the
    order of first appearance)."""
    scores: dict[str, float] = {}
    chunk_of: dict[str, Chunk] = {}
    for ranking in rankings:
        for rank, p in enumerate(ranking, 1):
            scores[p.chunk.chunk_id] = scores.get(p.chunk.chunk_id, 0.0) + 1.0 / (rrf_k + rank)
            chunk_of.setdefault(p.chunk.chunk_id, p.chunk)
    best = sorted(scores, key=lambda cid: -scores[cid])[:k]
    return [Passage(chunk_of[cid], scores[cid], rank) for rank, cid in enumerate(best, 1)]


class HybridIndex:
    """Dense and BM25 rankings fused by reciprocal rank (each ranked ``depth`` deep)."""

    def __init__(self, dense: Retriever, lexical: Retriever, depth: int = 50) -> None:
        if len(dense) != len(lexical):
            raise ValueError(f"the two indexes hold different chunks ({len(dense)} and {len(lexical)})")
        if depth < 1:
            raise ValueError(f"depth must be at least 1, got {depth}")
        self.dense, self.lexical, self.depth = dense, lexical, depth

    def __len__(self) -> int:
        return len(self.dense)

    def search_many(self, queries: Sequence[str], k: int = 3) -> list[list[Passage]]:
        depth = min(len(self), max(self.depth, k))
        dense = self.dense.search_many(queries, k=depth)
        lexical = self.lexical.search_many(queries, k=depth)
        return [fuse([d, w], k) for d, w in zip(dense, lexical, strict=True)]

    def search(self, query: str, k: int = 3) -> list[Passage]:
        return self.search_many([query], k)[0]
