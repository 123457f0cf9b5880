"""``helpers.lexical``: BM25 finds identifiers, versions and option names; rank fusion combines
two rankings; both answer like the dense index, so the RAG reader can use either."""
from __future__ import annotations

import math

import pytest

from helpers import lexical, retrieval
from helpers.retrieval import Chunk, Passage


def chunk(n: int, text: str, doc: str = "d.md") -> Chunk:
    return Chunk(chunk_id=f"{doc}#{n}", doc_id=doc, title="T", text=text)


CHUNKS = [chunk(0, "Install with pip install ferrylib and read the guide."),
          chunk(1, "Set max_length to 512 tokens for long timetables."),
          chunk(2, "Version 3.11 adds the --no-deps option to the installer."),
          chunk(3, "The harbour opens at dawn and closes at dusk.")]


def test_tokenize_keeps_identifiers_whole_and_split() -> None:
    assert lexical.tokenize("Set max_length to 3.11 with --no-deps, the ＦＵＬＬ way") == [
        "set", "max_length", "max", "length", "3.11", "3", "11", "no-deps", "no", "deps", "full", "way"]


def test_bm25_ranks_exact_identifiers_first() -> None:
    index = lexical.BM25Index(CHUNKS)
    assert len(index) == 4
    assert index.search("what does max_length do?", k=1)[0].chunk.chunk_id == "d.md#1"
    assert index.search("which version adds --no-deps", k=1)[0].chunk.chunk_id == "d.md#2"
    assert index.search("3.11", k=1)[0].chunk.chunk_id == "d.md#2"
    hits = index.search("harbour dawn", k=4)
    assert [p.rank for p in hits] == [1] and hits[0].chunk.chunk_id == "d.md#3", "chunks with no shared term are left out"
    assert index.search_many(["zebra"], k=3) == [[]]


def test_bm25_scores_match_the_formula() -> None:
    docs = [chunk(0, "apple apple pear"), chunk(1, "pear plum"), chunk(2, "plum")]
    index = lexical.BM25Index(docs, k1=1.2, b=0.75)
    n, avg = 3, (3 + 2 + 1) / 3
    idf = math.log(1 + (n - 1 + 0.5) / (1 + 0.5))                       # "apple" is in one chunk
    tf, length = 2, 3
    expected = idf * tf * 2.2 / (tf + 1.2 * (1 - 0.75 + 0.75 * length / avg))
    assert index.scores("apple")[0] == pytest.approx(expected)
    assert list(index.scores("apple")[1:]) == [0.0, 0.0]


def test_bm25_refuses_bad_input() -> None:
    with pytest.raises(ValueError, match="empty list of chunks"):
        lexical.BM25Index([])
    with pytest.raises(ValueError, match="0 <= b <= 1"):
        lexical.BM25Index(CHUNKS, b=2)


def test_reciprocal_rank_fusion() -> None:
    a, b, c = CHUNKS[:3]
    fused = lexical.fuse([[Passage(a, 0.9, 1), Passage(b, 0.8, 2)], [Passage(b, 5.0, 1), Passage(c, 4.0, 2)]], k=3)
    assert [p.chunk.chunk_id for p in fused] == ["d.md#1", "d.md#0", "d.md#2"]
    assert fused[0].score == pytest.approx(1 / 62 + 1 / 61) and [p.rank for p in fused] == [1, 2, 3]


def test_hybrid_combines_dense_and_bm25(embedder) -> None:
    dense = retrieval.VectorIndex.build(embedder, CHUNKS)
    bm25 = lexical.BM25Index(CHUNKS)
    hybrid = lexical.HybridIndex(dense, bm25, depth=4)
    assert len(hybrid) == 4
    (hits,) = hybrid.search_many(["max_length tokens"], k=2)
    assert len(hits) == 2 and hits[0].chunk.chunk_id == "d.md#1"
    with pytest.raises(ValueError, match="different chunks"):
        lexical.HybridIndex(dense, lexical.BM25Index(CHUNKS[:2]))


def test_rag_reads_from_any_retriever(tokenizer) -> None:
    """The series' RAG prompt is built from BM25 passages the same way as from dense ones."""
    from helpers import generation

    (hits,) = lexical.BM25Index(CHUNKS).search_many(["max_length"], k=1)
    messages = generation.rag_messages("What is max_length?", hits)
    assert "[d.md] Set max_length to 512 tokens" in messages[1]["content"]
