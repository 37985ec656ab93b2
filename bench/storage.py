"""Storage at the scale of years of daily chat: recall text/date search, archival vector search.

    python bench/storage.py [--quick] [--messages N] [--vectors N] [--parts P,...] [--json]

Default 1,000,000 messages and 1,000,000 archival vectors; --quick uses 100,000 of each.
--parts picks what runs (messages, archival, embedding), so a long run can be split.

The archival scale test does not run the model on a million texts. It indexes synthetic
vectors of two kinds, each stated in the output: ``embedding-like`` vectors drawn from a
Gaussian with the mean and covariance of real all-MiniLM-L6-v2 embeddings of LoCoMo chat
messages (the same anisotropy as real embeddings, none of their clustering, so no easier
than real data), and ``random`` unit vectors (no structure at all: the worst case for any
graph index). Recall@10 is measured against exact search in the same run, at several
``ef`` values. Embedding throughput is measured on real sentences with the real model.
"""

from __future__ import annotations

import argparse
import json
import random
import resource
import statistics
import subprocess
import sys
import tempfile
import time
from datetime import datetime, timedelta
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

import engine.offline  # noqa: E402,F401
from engine.memory.recall import REBUILD_AFTER  # noqa: E402
from engine.memory.store import MemoryStore  # noqa: E402

WORDS = ("cat dog garden coffee morning hike mountain river book novel piano guitar dinner sister "
         "brother mother father friend office project deadline holiday beach paris tokyo recipe pasta "
         "soup movie concert painting running marathon doctor birthday gift wedding school teacher "
         "exam travel train flight hotel museum camera photo weather rain snow summer winter").split()


def sentence(rng: random.Random) -> str:
    return " ".join(rng.choice(WORDS) for _ in range(rng.randint(6, 18))).capitalize() + "."


def percentile(values: list[float], q: float) -> float:
    return float(np.percentile(values, q))


def bench_messages(store: MemoryStore, agent_id: int, n: int, rng: random.Random) -> dict:
    start_day = datetime(2022, 1, 1)
    store.recall.rebuild_threshold = n + 1  # no background rebuild while inserting: timed below
    batch, insert_s = 20_000, 0.0
    for offset in range(0, n, batch):
        rows = [("user" if i % 2 else "assistant", sentence(rng), None,
                 start_day + timedelta(minutes=7 * (offset + i))) for i in range(min(batch, n - offset))]
        t0 = time.perf_counter()
        store.recall.append_many(agent_id, rows)
        insert_s += time.perf_counter() - t0
    t0 = time.perf_counter()
    store.recall.fts.rebuild()
    fts_s = time.perf_counter() - t0
    queries = [" ".join(rng.sample(WORDS, 2)) for _ in range(60)]
    by_newer = {}
    for newer in NEWER_ROWS:  # rows newer than the index, scored by BM25 at query time
        while store.recall.fts.pending() < newer:
            store.recall.append(agent_id, "user", sentence(rng))
        ms = _timed(lambda q: store.recall.search_text(agent_id, q, 1, 10), queries)
        by_newer[newer] = {"p50": round(percentile(ms, 50), 2), "p95": round(percentile(ms, 95), 2)}
        if newer == 200:
            text_ms = ms
    spans = [(start_day + timedelta(days=rng.randint(0, 3000)),) for _ in range(60)]
    date_ms = _timed(lambda s: store.recall.search_date(agent_id, s[0], s[0] + timedelta(days=2), None, 1, 10), spans)
    lookup = bench_lookup(store, n, rng)
    return {"count": n, "insert_per_s": round(n / insert_s), "fts_rebuild_s": round(fts_s, 2),
            "lookup_50_ids_ms": lookup,
            "text_queries": "two random words of a 56-word vocabulary (each word in ~20% of messages)",
            "text_search_ms": {"p50": round(percentile(text_ms, 50), 2), "p95": round(percentile(text_ms, 95), 2)},
            "text_search_ms_by_rows_newer_than_index": by_newer,
            "date_search_ms": {"p50": round(percentile(date_ms, 50), 2), "p95": round(percentile(date_ms, 95), 2)}}


NEWER_ROWS = (0, 200, REBUILD_AFTER)
"""Rows outside the index when text search is timed: none, the headline's 200, and the most a
rebuild lets pile up (RecallStore's threshold)."""


def bench_lookup(store: MemoryStore, n: int, rng: random.Random) -> dict:
    """Fetching the messages behind 50 search hits: one ``IN`` list against one equality per id
    joined by ``UNION ALL`` (what each costs on a table of ``n`` rows, same ids for both)."""
    from engine.memory.recall import MESSAGE_COLUMNS

    one = f"SELECT {MESSAGE_COLUMNS} FROM messages WHERE id = ?"
    cursor = store.db.cursor()
    forms = {"in_list": store.recall.messages,  # what search hits use
             "union_all": lambda ids: cursor.execute(" UNION ALL ".join([one] * len(ids)), ids).fetchall()}
    id_sets = [rng.sample(range(1, n + 1), 50) for _ in range(40)]
    out = {}
    for name, fetch in forms.items():
        ms = _timed(fetch, id_sets)
        out[name] = {"p50": round(percentile(ms, 50), 2), "p95": round(percentile(ms, 95), 2)}
    out["union_all_over_in_list"] = round(out["union_all"]["p50"] / out["in_list"]["p50"], 2)
    return out


def _timed(fn, inputs) -> list[float]:
    fn(inputs[0])
    out = []
    for item in inputs:
        t0 = time.perf_counter()
        fn(item)
        out.append((time.perf_counter() - t0) * 1000)
    return out


LOCOMO = Path("/work/shared/eval/locomo_dev.json")


def embedding_like(embedder, n: int, rng: np.random.Generator) -> tuple[np.ndarray, str]:
    """``n`` unit vectors from a Gaussian fitted to real embeddings of chat messages."""
    texts = _chat_texts()
    real = embedder.embed(texts)
    mean, cov = real.mean(axis=0), np.cov(real, rowvar=False)
    values, vectors = np.linalg.eigh(cov)
    basis = (vectors * np.sqrt(np.clip(values, 0, None))).astype(np.float32)
    data = rng.standard_normal((n, real.shape[1]), dtype=np.float32) @ basis.T + mean.astype(np.float32)
    data /= np.linalg.norm(data, axis=1, keepdims=True)
    return data, f"embedding-like: Gaussian with mean and covariance of {len(texts)} real message embeddings"


def _chat_texts() -> list[str]:
    if LOCOMO.exists():
        convs = json.loads(LOCOMO.read_text())
        return [t["text"] for c in convs for k, v in c["conversation"].items() if isinstance(v, list) for t in v]
    rng = random.Random(3)
    return [sentence(rng) for _ in range(2000)]


def random_unit(n: int, rng: np.random.Generator) -> tuple[np.ndarray, str]:
    data = rng.standard_normal((n, 384), dtype=np.float32)
    data /= np.linalg.norm(data, axis=1, keepdims=True)
    return data, "random unit vectors (384-d)"


def bench_vectors(index_path: Path, data: np.ndarray, queries: np.ndarray, kind: str,
                  efs: list[int]) -> dict:
    from engine.memory.vector_index import EF_SEARCH, VectorIndex

    n = len(data)
    index = VectorIndex(index_path, dim=data.shape[1])
    t0 = time.perf_counter()
    for offset in range(0, n, 50_000):
        index.add(np.arange(offset + 1, min(n, offset + 50_000) + 1), data[offset: offset + 50_000])
    build_s = time.perf_counter() - t0
    exact = [set((np.argpartition(-(data @ q), 10)[:10] + 1).tolist()) for q in queries]
    by_ef = {}
    for ef in sorted(set(efs) | {EF_SEARCH}):
        index.ef_search = ef
        index.search(queries[0], 10)
        latencies, recalls = [], []
        for query, truth in zip(queries, exact):
            t0 = time.perf_counter()
            found = index.search(query, 10)
            latencies.append((time.perf_counter() - t0) * 1000)
            recalls.append(len(truth & {i for i, _ in found}) / 10)
        by_ef[ef] = {"p50": round(percentile(latencies, 50), 3), "p95": round(percentile(latencies, 95), 3),
                     "recall_at_10_vs_exact": round(statistics.mean(recalls), 4)}
    return {"count": n, "vectors": kind, "build_per_s": round(n / build_s), "default_ef": EF_SEARCH,
            "search_ms": {k: v for k, v in by_ef[EF_SEARCH].items() if k != "recall_at_10_vs_exact"},
            "recall_at_10_vs_exact": by_ef[EF_SEARCH]["recall_at_10_vs_exact"], "by_ef": by_ef}


def bench_embedding(store: MemoryStore, rng: random.Random) -> dict:
    embedder = store.embedder()
    texts = [sentence(rng) for _ in range(512)]
    embedder.embed(texts[:16])
    t0 = time.perf_counter()
    embedder.embed(texts)
    return {"model": embedder.model_id, "texts_per_s": round(len(texts) / (time.perf_counter() - t0), 1)}


def cold_open_s(data_dir: Path) -> float:
    code = ("import time,sys; t=time.perf_counter(); from engine.memory.store import MemoryStore; "
            "s=MemoryStore.open(sys.argv[1]); print(time.perf_counter()-t); s.close()")
    out = subprocess.run([sys.executable, "-c", code, str(data_dir)], capture_output=True, text=True,
                         cwd=Path(__file__).resolve().parents[1], check=True)
    return float(out.stdout.strip().splitlines()[-1])


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true")
    parser.add_argument("--messages", type=int, default=None)
    parser.add_argument("--vectors", type=int, default=None)
    parser.add_argument("--vector-kinds", default="embedding-like,random")
    parser.add_argument("--ef", default="64,128,256,500")
    parser.add_argument("--parts", default="messages,archival,embedding")
    parser.add_argument("--json", action="store_true")
    args = parser.parse_args()
    size, parts = (100_000 if args.quick else 1_000_000), set(args.parts.split(","))
    rng = random.Random(7)
    result: dict = {}
    with tempfile.TemporaryDirectory() as tmp:
        data_dir = Path(tmp) / "data"
        with MemoryStore.open(data_dir) as store:
            agent = store.agents.ensure_default()
            if "messages" in parts:
                result["messages"] = bench_messages(store, agent.id, args.messages or size, rng)
            if "embedding" in parts:
                result["embedding"] = bench_embedding(store, rng)
            if "archival" in parts:
                result["archival"] = _archival(store, Path(tmp), args.vectors or size, args)
        result["cold_open_s"] = round(cold_open_s(data_dir), 3)
        result["peak_rss_mib"] = round(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024)
        result["targets"] = {"text_search_p95_ms": 50, "archival_search_p95_ms": 10, "recall_at_10": 0.95,
                             "cold_open_s": 1.0}
    print(json.dumps(result) if args.json else json.dumps(result, indent=2))
    return 0


def _archival(store: MemoryStore, tmp: Path, n: int, args) -> list[dict]:
    nprng, out = np.random.default_rng(7), []
    efs = [int(e) for e in args.ef.split(",")]
    for kind in args.vector_kinds.split(","):
        make = (lambda m: embedding_like(store.embedder(), m, nprng)) if kind == "embedding-like" else (
            lambda m: random_unit(m, nprng))
        data, label = make(n + 200)
        out.append(bench_vectors(tmp / f"{kind}.hnsw", data[:n], data[n:], label, efs))
        del data
    return out


if __name__ == "__main__":
    sys.exit(main())
