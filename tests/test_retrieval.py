from __future__ import annotations

import pytest

from helpers import retrieval
from helpers.data import Document
from helpers.retrieval import VectorIndex, chunk_documents


def test_paragraph_chunks_keep_title_and_source(tiny_docs):
    chunks = chunk_documents(tiny_docs, "paragraph")
    assert [c.chunk_id for c in chunks] == ["apples#0", "apples#1", "bees#0", "bees#1", "rain#0"]
    assert chunks[1].text == "Apples\nRed apples are sweet."
    assert all(c.doc_id == c.chunk_id.split("#")[0] for c in chunks)


def test_word_windows_overlap(tiny_docs):
    doc = Document("long", "Long", "# Long\n\n" + " ".join(f"w{i}" for i in range(25)))
    chunks = chunk_documents([doc], "words", size=10, overlap=5)
    assert chunks[0].text.split()[1:] == [f"w{i}" for i in range(10)]
    assert chunks[1].text.split()[1] == "w5"
    assert chunks[-1].text.split()[-1] == "w24"
    with pytest.raises(ValueError, match="overlap < size"):
        chunk_documents([doc], "words", size=5, overlap=5)


def test_unknown_strategy(tiny_docs):
    with pytest.raises(ValueError, match="unknown chunking strategy 'sentences'"):
        chunk_documents(tiny_docs, "sentences")


def test_search_returns_ranked_passages_with_sources(embedder, tiny_docs):
    index = VectorIndex.build(embedder, chunk_documents(tiny_docs))
    hits = index.search("how is rain measured in millimetres", k=2)
    assert [h.rank for h in hits] == [1, 2]
    assert hits[0].doc_id == "rain"
    assert hits[0].score >= hits[1].score
    assert len(index.search_many(["honey", "orchards"], k=10)[0]) == len(index)


def test_update_reembeds_only_changed_documents(embedder, tiny_docs):
    index = VectorIndex.build(embedder, chunk_documents(tiny_docs))
    before = embedder.texts_embedded
    changed = [tiny_docs[0], Document("bees", "Bees", "# Bees\n\nBees make wax."),
               Document("wind", "Wind", "# Wind\n\nWind is measured with an anemometer.")]
    report = index.update(chunk_documents(changed))
    assert report["added"] == ["wind"] and report["changed"] == ["bees"] and report["removed"] == ["rain"]
    assert report["unchanged"] == 1
    assert embedder.texts_embedded - before == report["chunks_embedded"] == 2
    assert {c.doc_id for c in index.chunks} == {"apples", "bees", "wind"}
    assert index.search("anemometer wind", k=1)[0].doc_id == "wind"
    assert all(h.doc_id != "rain" for h in index.search("rain gauge millimetres", k=5))


def test_save_and_load_roundtrip(embedder, tiny_docs, tmp_path):
    index = VectorIndex.build(embedder, chunk_documents(tiny_docs))
    index.save(tmp_path / "idx")
    again = VectorIndex.load(tmp_path / "idx", embedder)
    assert [h.chunk for h in again.search("queen bee", k=3)] == [h.chunk for h in index.search("queen bee", k=3)]
    with pytest.raises(FileNotFoundError, match="index.faiss"):
        VectorIndex.load(tmp_path / "nothing", embedder)


def test_empty_index_refuses_search(embedder):
    with pytest.raises(ValueError, match="empty"):
        VectorIndex(embedder).search("anything")
    with pytest.raises(ValueError, match="empty list of chunks"):
        VectorIndex.build(embedder, [])


def test_save_replaces_the_folder_whole_and_leaves_no_temporaries(embedder, tiny_docs, tmp_path):
    import threading

    index = VectorIndex.build(embedder, chunk_documents(tiny_docs))
    index.save(tmp_path / "idx")
    smaller = VectorIndex.build(embedder, chunk_documents(tiny_docs[:1]))
    smaller.save(tmp_path / "idx")                                   # overwrite an existing index
    assert len(VectorIndex.load(tmp_path / "idx", embedder)) == len(smaller)
    threads = [threading.Thread(target=i.save, args=(tmp_path / "idx",)) for i in (index, smaller) * 3]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert len(VectorIndex.load(tmp_path / "idx", embedder)) in {len(index), len(smaller)}
    assert {p.name for p in tmp_path.iterdir()} <= {"idx", "idx.lock"}   # no staging folders left
    with pytest.raises(ValueError, match="index is empty"):
        VectorIndex(embedder).save(tmp_path / "empty")


def test_big_index_is_approximate_and_still_updates_and_saves(embedder, tmp_path) -> None:
    from helpers.data import Document

    words = "tide harbour ferry lamp bread cheese river stone cloud orchard honey rain".split()
    docs = [Document(f"d{i:03d}", f"Doc {i}", f"# Doc {i}\n\n" + " ".join(words[(i + j) % len(words)] for j in range(6))
                     + f" item{i}") for i in range(120)]
    chunks = retrieval.chunk_documents(docs, "document")
    exact = retrieval.VectorIndex.build(embedder, chunks)
    approx = retrieval.VectorIndex.build(embedder, chunks, exact_up_to=50)
    assert exact.kind == "exact" and approx.kind == "approximate"
    queries = [c.text for c in chunks[:20]]
    overlap = [len({p.chunk.chunk_id for p in a} & {p.chunk.chunk_id for p in e}) / 5
               for a, e in zip(approx.search_many(queries, 5), exact.search_many(queries, 5), strict=True)]
    assert sum(overlap) / len(overlap) >= 0.6, "the approximate index finds most of what exact search finds"
    report = approx.update(retrieval.chunk_documents(docs[:100], "document"))
    assert report["removed"] == [d.doc_id for d in docs[100:]] and len(approx) == 100
    loaded = retrieval.VectorIndex.load(approx.save(tmp_path / "ivf"), embedder)
    assert loaded.kind == "approximate" and len(loaded) == 100
    assert [p.chunk.chunk_id for p in loaded.search(queries[0], 3)] == [p.chunk.chunk_id for p in approx.search(queries[0], 3)]


def test_a_document_that_is_only_a_title_line_gives_no_chunk():
    docs = [Document("t", "T", "# T"), Document("u", "U", "# U\n\nBody text.")]
    for strategy in ("paragraph", "document", "words"):
        chunks = retrieval.chunk_documents(docs, strategy)
        assert [c.doc_id for c in chunks] == ["u"], strategy


def test_text_directly_under_a_heading_is_kept():
    doc = Document("p", "Prices", "# Prices\n\n## Day tickets\nA day ticket costs 5 euros.\n\n## Notes\n\n#3 is a bus.")
    texts = [c.text for c in retrieval.chunk_documents([doc], "paragraph")]
    assert texts == ["Prices\nA day ticket costs 5 euros.", "Prices\n#3 is a bus."]
