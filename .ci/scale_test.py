"""How the retrieval index behaves as a folder of documents grows (issue: "your own documents").

Two parts, both written to ``results/scale_test.json`` and quoted in docs/engineering.md:

1. **Real embeddings** of 1,000 and 10,000 synthetic chunks (sentences drawn from the knowledge base's
   own words, 60 words each): embedding time, index build time, index memory, and query latency
   (one query at a time, median and p90 of 200, after a warm-up) for exact search.
2. **Exact vs approximate search** on 10,000 to 300,000 synthetic unit vectors of the embedder's size,
   drawn around 1,000 random topic centres (real embeddings cluster by topic; uniform random vectors
   would be a pessimistic case for an approximate index). For each size: query latency of the exact
   index (``IndexFlatIP``) and of the approximate one ``helpers.retrieval`` switches to
   (``IndexIVFFlat``), and the approximate index's recall@10 against exact search.

    make scale      # or: python .ci/scale_test.py   (about 6.5 minutes on 2 cores)
"""
from __future__ import annotations

import random
import resource
import statistics
import time

import numpy as np

from helpers import config, data, models, results, retrieval

SEED = 0
REAL_SIZES = (1_000, 10_000)
SYNTHETIC_SIZES = (10_000, 100_000, 300_000)
N_QUERIES = 200


def _rss_mb() -> float:
    with open("/proc/self/status", encoding="ascii") as handle:
        for line in handle:
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) / 1024
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def _latencies(search, queries: np.ndarray) -> dict[str, float]:
    for q in queries[:10]:
        search(q[None, :])
    times = []
    for q in queries:
        start = time.perf_counter()
        search(q[None, :])
        times.append((time.perf_counter() - start) * 1000)
    times.sort()
    return {"median_ms": statistics.median(times), "p90_ms": times[int(0.9 * len(times)) - 1]}


def real_embeddings() -> dict[str, dict[str, float]]:
    # the knowledge base's words, without Markdown heading marks (a text starting with "#" would be
    # read as a title line)
    words = [w for w in " ".join(d.text for d in data.load_corpus(1)).split() if not w.startswith("#")]
    rng = random.Random(SEED)
    embedder = models.load_embedder()
    embedder.encode(["warm-up"])
    out = {}
    for n in REAL_SIZES:
        docs = [data.Document(f"synthetic-{i:05d}", f"Synthetic {i}", " ".join(rng.choices(words, k=60)))
                for i in range(n)]
        chunks = retrieval.chunk_documents(docs, "document")
        before = _rss_mb()
        start = time.perf_counter()
        vectors = retrieval.VectorIndex(embedder)._embed([c.text for c in chunks])
        embed_s = time.perf_counter() - start
        start = time.perf_counter()
        index = retrieval.VectorIndex.build(embedder, chunks)     # embeds again: build time = embed + add
        build_s = time.perf_counter() - start
        assert len(chunks) == n, f"{n} synthetic documents gave {len(chunks)} chunks"
        queries = vectors[rng.sample(range(n), N_QUERIES)]
        lat = _latencies(lambda q, index=index: index._index.search(q, 5), queries)
        out[str(n)] = {"chunks": n, "embed_seconds": embed_s, "chunks_per_second": n / embed_s,
                       "build_seconds": build_s, "index_kind": index.kind,
                       "index_mb": n * vectors.shape[1] * 4 / 2**20, "rss_growth_mb": _rss_mb() - before, **lat}
        print(f"{n} real chunks: embedded in {embed_s:.1f} s ({n / embed_s:.0f}/s), exact search "
              f"{lat['median_ms']:.2f} ms median, {lat['p90_ms']:.2f} ms p90", flush=True)
    return out


def exact_vs_approximate(dim: int) -> dict[str, dict[str, float]]:
    import faiss

    rng = np.random.default_rng(SEED)
    centres = rng.normal(size=(1000, dim)).astype("float32")
    out = {}
    for n in SYNTHETIC_SIZES:
        vectors = centres[rng.integers(0, len(centres), n)] + 0.6 * rng.normal(size=(n, dim)).astype("float32")
        vectors /= np.linalg.norm(vectors, axis=1, keepdims=True)
        queries = vectors[rng.choice(n, N_QUERIES, replace=False)] + 0.05 * rng.normal(size=(N_QUERIES, dim)).astype("float32")
        queries = np.ascontiguousarray(queries / np.linalg.norm(queries, axis=1, keepdims=True), dtype="float32")
        exact = faiss.IndexFlatIP(dim)
        exact.add(vectors)
        start = time.perf_counter()
        approx = retrieval.approximate_index(vectors)
        approx_build = time.perf_counter() - start
        approx.add(vectors)
        _, truth = exact.search(queries, 10)
        _, found = approx.search(queries, 10)
        recall = float(np.mean([len(set(t) & set(f)) / 10 for t, f in zip(truth, found, strict=True)]))
        row = {"vectors": n, "approx_build_seconds": approx_build, "recall_at_10": recall,
               "nlist": approx.nlist, "nprobe": approx.nprobe,
               **{f"exact_{k}": v for k, v in _latencies(lambda q, exact=exact: exact.search(q, 10), queries).items()},
               **{f"approx_{k}": v for k, v in _latencies(lambda q, approx=approx: approx.search(q, 10), queries).items()}}
        out[str(n)] = row
        print(f"{n} vectors: exact {row['exact_median_ms']:.2f} ms, approximate {row['approx_median_ms']:.2f} ms "
              f"(recall@10 {recall:.3f}, nlist {approx.nlist}, nprobe {approx.nprobe})", flush=True)
    return out


def main() -> None:
    real = real_embeddings()
    dim = models.load_embedder().get_embedding_dimension()
    synthetic = exact_vs_approximate(dim)
    results.save("scale_test", {"real_embeddings": real, "exact_vs_approximate": synthetic,
                                "exact_up_to": retrieval.EXACT_UP_TO},
                 folder=config.REPO_ROOT / "results")


if __name__ == "__main__":
    main()
