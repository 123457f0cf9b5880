"""Chunk documents, embed them with sentence-transformers, and search them with FAISS.

The index stores normalized embeddings in a FAISS inner-product index (cosine similarity) wrapped
in an ``IndexIDMap2``, so the chunks of one document can be removed and re-added without
rebuilding everything: :meth:`VectorIndex.update` re-embeds only documents whose text changed.

Up to :data:`EXACT_UP_TO` chunks the search is exact (``IndexFlatIP``); a bigger index built at once
is approximate (``IndexIVFFlat``, see :func:`approximate_index`). ``.ci/scale_test.py`` (``make
scale``) measures both and the recall the approximate index costs (``results/scale_test.json``).
"""
from __future__ import annotations

import hashlib
import json
import re
import time
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any, Iterable, Protocol, Sequence

import numpy as np

from .data import Document


class Embedder(Protocol):
    """What the index needs from an embedder (a ``SentenceTransformer`` fits)."""

    def encode(self, sentences: list[str], **kwargs: Any) -> Any: ...


@dataclass(frozen=True)
class Chunk:
    """A piece of a document: the unit that is embedded and retrieved."""

    chunk_id: str     # ``<doc_id>#<n>``
    doc_id: str
    title: str
    text: str         # what is embedded and shown to the reader: title line + body


@dataclass(frozen=True)
class Passage:
    """A search hit."""

    chunk: Chunk
    score: float      # cosine similarity
    rank: int         # 1 = best

    @property
    def doc_id(self) -> str:
        return self.chunk.doc_id

    @property
    def text(self) -> str:
        return self.chunk.text


STRATEGIES = ("paragraph", "words", "document")
_HEADING = re.compile(r"^\s{0,3}#{1,6}(\s|$)")   # a Markdown ATX heading line


def chunk_documents(docs: Sequence[Document], strategy: str = "paragraph", size: int = 80,
                    overlap: int = 20) -> list[Chunk]:
    """Split documents into chunks, each prefixed with its document's title.

    * ``paragraph``: one chunk per paragraph (blank-line separated); heading lines are dropped
      since the title is prefixed anyway (the text under a heading is kept).
    * ``words``: windows of ``size`` words overlapping by ``overlap`` words.
    * ``document``: one chunk per document.
    """
    if strategy not in STRATEGIES:
        raise ValueError(f"unknown chunking strategy {strategy!r}: expected one of {STRATEGIES}")
    if strategy == "words" and not 0 <= overlap < size:
        raise ValueError(f"need 0 <= overlap < size, got size={size}, overlap={overlap}")
    if not docs:
        raise ValueError("empty corpus: no documents to chunk")
    chunks: list[Chunk] = []
    for doc in docs:
        # the title line is dropped (every chunk is prefixed with the title); a document that is
        # only a title line has an empty body and gives no chunk
        body = doc.text.partition("\n")[2] if doc.text.startswith("# ") else doc.text
        if strategy == "document":
            pieces = [body.strip()] if body.strip() else []
        elif strategy == "paragraph":
            # heading lines are dropped (the title is prefixed anyway), the text under them kept, also
            # when a heading sits directly above its paragraph with no blank line between
            pieces = [text for text in ("\n".join(line for line in para.strip().splitlines()
                                                   if not _HEADING.match(line)).strip()
                                        for para in re.split(r"\n\s*\n", body)) if text]
        else:
            words = body.split()
            step = size - overlap
            pieces = [" ".join(words[i:i + size]) for i in range(0, max(len(words) - overlap, 1), step)] if words else []
        for n, piece in enumerate(pieces):
            chunks.append(Chunk(chunk_id=f"{doc.doc_id}#{n}", doc_id=doc.doc_id, title=doc.title,
                                text=f"{doc.title}\n{piece}"))
    return chunks


def _doc_hash(chunks: Iterable[Chunk]) -> str:
    digest = hashlib.sha256()
    for chunk in chunks:
        digest.update(chunk.text.encode("utf-8"))
    return digest.hexdigest()


# Exact search up to this many chunks; above it, build() makes an approximate (IVF) index.
# Measured by .ci/scale_test.py (make scale; results/scale_test.json) on 2 CPU cores, one query at a
# time, 384-dim vectors: exact search took 0.6 ms at 10,000 chunks, 15 ms at 100,000 and 43 ms at
# 300,000; the IVF index 0.5 ms and 1.4 ms at the last two, with recall@10 against exact search of
# 1.00 on clustered synthetic vectors (0.97 at 10,000). Up to 100,000 chunks exact search costs under
# a tenth of one generated answer (about 0.2-0.4 s) and loses nothing, so it stays exact; embedding
# is the real cost at that size (about 70 chunks/s: 100,000 chunks take about 25 minutes).
EXACT_UP_TO = 100_000


def approximate_index(vectors: np.ndarray, nprobe: int | None = None) -> Any:
    """An untrained-then-trained ``IndexIVFFlat`` (inner product) for ``vectors``, not yet filled.

    The vectors are split into ``nlist = 4 * sqrt(n)`` clusters (FAISS's rule of thumb, capped so
    that each cluster is trained on at least 39 vectors, as FAISS asks); a query
    scans the ``nprobe`` nearest clusters (default: one in 16, at least 8) instead of every vector.
    It supports ``add_with_ids`` and ``remove_ids``, so :meth:`VectorIndex.update` works on it.
    """
    import faiss

    n, dim = vectors.shape
    nlist = max(1, min(int(4 * n ** 0.5), n // 39))
    index = faiss.IndexIVFFlat(faiss.IndexFlatIP(dim), dim, nlist, faiss.METRIC_INNER_PRODUCT)
    rng = np.random.default_rng(0)
    sample = vectors[rng.choice(n, min(n, 256 * nlist), replace=False)]
    index.train(np.ascontiguousarray(sample, dtype="float32"))
    index.nprobe = nprobe or max(8, nlist // 16)
    return index


class VectorIndex:
    """A FAISS index over chunks, searchable by text."""

    def __init__(self, embedder: Embedder, batch_size: int = 64, show_progress: bool = False) -> None:
        self.embedder = embedder
        self.batch_size = batch_size
        self.show_progress = show_progress    # a progress bar while embedding (command-line tools)
        self._index: Any = None
        self._chunks: dict[int, Chunk] = {}
        self._next_id = 0

    # -- building -----------------------------------------------------------------------------
    def _embed(self, texts: list[str]) -> np.ndarray:
        vectors = self.embedder.encode(texts, batch_size=self.batch_size, normalize_embeddings=True,
                                       convert_to_numpy=True, show_progress_bar=self.show_progress)
        return np.ascontiguousarray(np.asarray(vectors, dtype="float32"))

    def add(self, chunks: Sequence[Chunk]) -> int:
        """Embed and add chunks; returns how many were embedded."""
        if not chunks:
            return 0
        return self._add_vectors(self._embed([c.text for c in chunks]), chunks)

    def _add_vectors(self, vectors: np.ndarray, chunks: Sequence[Chunk]) -> int:
        import faiss

        if self._index is None:
            self._index = faiss.IndexIDMap2(faiss.IndexFlatIP(vectors.shape[1]))
        ids = np.arange(self._next_id, self._next_id + len(chunks), dtype="int64")
        self._index.add_with_ids(vectors, ids)
        self._chunks.update(zip(ids.tolist(), chunks, strict=True))
        self._next_id += len(chunks)
        return len(chunks)

    def remove_docs(self, doc_ids: Iterable[str]) -> int:
        """Remove every chunk of the given documents; returns how many were removed."""
        wanted = set(doc_ids)
        ids = [i for i, c in self._chunks.items() if c.doc_id in wanted]
        if ids and self._index is not None:
            self._index.remove_ids(np.asarray(ids, dtype="int64"))
        for i in ids:
            del self._chunks[i]
        return len(ids)

    @classmethod
    def build(cls, embedder: Embedder, chunks: Sequence[Chunk], batch_size: int = 64,
              show_progress: bool = False, exact_up_to: int | None = None) -> "VectorIndex":
        """A new index over ``chunks``: exact search, or approximate past ``exact_up_to`` chunks
        (default :data:`EXACT_UP_TO`)."""
        if not chunks:
            raise ValueError("cannot build an index over an empty list of chunks")
        index = cls(embedder, batch_size=batch_size, show_progress=show_progress)
        vectors = index._embed([c.text for c in chunks])
        if len(chunks) > (EXACT_UP_TO if exact_up_to is None else exact_up_to):
            index._index = approximate_index(vectors)
        index._add_vectors(vectors, chunks)
        return index

    @property
    def kind(self) -> str:
        """``exact`` or ``approximate`` (see :data:`EXACT_UP_TO`)."""
        import faiss

        return "approximate" if isinstance(self._index, faiss.IndexIVF) else "exact"

    def update(self, chunks: Sequence[Chunk]) -> dict[str, Any]:
        """Make the index hold exactly ``chunks``, re-embedding only documents that changed.

        Returns counts of added, changed, removed and unchanged documents, chunks embedded and
        seconds taken.
        """
        start = time.perf_counter()
        new_by_doc: dict[str, list[Chunk]] = {}
        for chunk in chunks:
            new_by_doc.setdefault(chunk.doc_id, []).append(chunk)
        old_by_doc: dict[str, list[Chunk]] = {}
        for chunk in self._chunks.values():
            old_by_doc.setdefault(chunk.doc_id, []).append(chunk)
        added = sorted(set(new_by_doc) - set(old_by_doc))
        removed = sorted(set(old_by_doc) - set(new_by_doc))
        changed = sorted(d for d in set(new_by_doc) & set(old_by_doc)
                         if _doc_hash(new_by_doc[d]) != _doc_hash(old_by_doc[d]))
        self.remove_docs(removed + changed)
        embedded = self.add([c for d in added + changed for c in new_by_doc[d]])
        return {"added": added, "changed": changed, "removed": removed,
                "unchanged": len(new_by_doc) - len(added) - len(changed),
                "chunks_embedded": embedded, "seconds": time.perf_counter() - start}

    # -- searching ----------------------------------------------------------------------------
    def __len__(self) -> int:
        return len(self._chunks)

    @property
    def chunks(self) -> list[Chunk]:
        return list(self._chunks.values())

    def search_many(self, queries: Sequence[str], k: int = 3) -> list[list[Passage]]:
        """Top-``k`` passages for each query, best first."""
        if self._index is None or not self._chunks:
            raise ValueError("the index is empty: build it or add chunks first")
        k = min(k, len(self._chunks))
        scores, ids = self._index.search(self._embed(list(queries)), k)
        return [[Passage(self._chunks[int(i)], float(s), rank) for rank, (s, i) in enumerate(zip(row_s, row_i, strict=True), 1)
                 if i >= 0] for row_s, row_i in zip(scores, ids, strict=True)]

    def search(self, query: str, k: int = 3) -> list[Passage]:
        """Top-``k`` passages for one query, best first."""
        return self.search_many([query], k)[0]

    # -- persistence ----------------------------------------------------------------------------
    def save(self, folder: Path | str) -> Path:
        """Write the FAISS index and the chunk table to ``folder``.

        Both files are written to a temporary folder next to ``folder``, which then replaces it,
        under the lock ``<folder>.lock``: a concurrent :meth:`load` or a second kernel saving the
        same index sees either the old pair of files or the new one, never a mix.
        """
        import faiss

        from . import storage

        if self._index is None:
            raise ValueError("the index is empty: build it or add chunks first, then save")
        folder = Path(folder)
        table = {"next_id": self._next_id, "chunks": {str(i): asdict(c) for i, c in self._chunks.items()}}
        with storage.locked(folder, what=f"the index {folder}"), storage.staged_dir(folder) as tmp:
            faiss.write_index(self._index, str(tmp / "index.faiss"))
            (tmp / "chunks.json").write_text(json.dumps(table), encoding="utf-8")
        return folder

    @classmethod
    def load(cls, folder: Path | str, embedder: Embedder) -> "VectorIndex":
        """Read an index written by :meth:`save` (the same embedder must be used)."""
        import contextlib
        import os

        import faiss

        from . import storage

        folder = Path(folder)
        # Hold the writer's lock while reading, so a concurrent save cannot swap the folder between
        # the two reads; a folder we cannot write next to (read-only) has no writer to wait for.
        guard = (storage.locked(folder, what=f"the index {folder}") if os.access(folder.parent, os.W_OK)
                 else contextlib.nullcontext())
        with guard:
            for name in ("index.faiss", "chunks.json"):
                if not (folder / name).is_file():
                    raise FileNotFoundError(f"{folder / name}: missing; was the index saved here?")
            raw_index = faiss.read_index(str(folder / "index.faiss"))
            table = json.loads((folder / "chunks.json").read_text(encoding="utf-8"))
        index = cls(embedder)
        index._index = raw_index
        index._chunks = {int(i): Chunk(**c) for i, c in table["chunks"].items()}
        index._next_id = table["next_id"]
        return index
