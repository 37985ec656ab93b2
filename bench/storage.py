"""Storage at the scale of years of daily chat: recall text/date search, archival vector search.

    python bench/storage.py [--quick] [--messages N] [--vectors N] [--json]

Default 1,000,000 messages and 1,000,000 archival vectors; --quick uses 100,000 of each. The
archival vectors of the scale test are random unit vectors (stated in the output); embedding
throughput is measured separately on real sentences with the real model. Recall@10 of the
vector index is measured against exact (brute-force) search in the same run.
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
    batch, t0 = 20_000, time.perf_counter()
    for offset in range(0, n, batch):
        rows = [("user" if i % 2 else "assistant", sentence(rng), None,
                 start_day + timedelta(minutes=7 * (offset + i))) for i in range(min(batch, n - offset))]
        store.recall.append_many(agent_id, rows)
    insert_s = time.perf_counter() - t0
    t0 = time.perf_counter()
    store.recall.fts.rebuild()
    fts_s = time.perf_counter() - t0
    for i in range(200):  # rows newer than the index, covered by the direct scan
        store.recall.append(agent_id, "user", sentence(rng))
    text_ms = _timed(lambda q: store.recall.search_text(agent_id, q, 1, 10),
                     [" ".join(rng.sample(WORDS, 2)) for _ in range(60)])
    spans = [(start_day + timedelta(days=rng.randint(0, 3000)),) for _ in range(60)]
    date_ms = _timed(lambda s: store.recall.search_date(agent_id, s[0], s[0] + timedelta(days=2), None, 1, 10), spans)
    return {"count": n, "insert_per_s": round(n / insert_s), "fts_rebuild_s": round(fts_s, 2),
            "text_search_ms": {"p50": round(percentile(text_ms, 50), 2), "p95": round(percentile(text_ms, 95), 2)},
            "date_search_ms": {"p50": round(percentile(date_ms, 50), 2), "p95": round(percentile(date_ms, 95), 2)}}


def _timed(fn, inputs) -> list[float]:
    fn(inputs[0])
    out = []
    for item in inputs:
        t0 = time.perf_counter()
        fn(item)
        out.append((time.perf_counter() - t0) * 1000)
    return out


def bench_vectors(index_path: Path, n: int, seed: int) -> dict:
    from engine.memory.vector_index import VectorIndex

    rng = np.random.default_rng(seed)
    data = rng.standard_normal((n, 384), dtype=np.float32)
    data /= np.linalg.norm(data, axis=1, keepdims=True)
    index = VectorIndex(index_path, dim=384)
    t0 = time.perf_counter()
    for offset in range(0, n, 50_000):
        index.add(np.arange(offset + 1, min(n, offset + 50_000) + 1), data[offset: offset + 50_000])
    build_s = time.perf_counter() - t0
    queries = rng.standard_normal((200, 384), dtype=np.float32)
    queries /= np.linalg.norm(queries, axis=1, keepdims=True)
    latencies, recalls = [], []
    for query in queries:
        t0 = time.perf_counter()
        found = index.search(query, 10)
        latencies.append((time.perf_counter() - t0) * 1000)
        exact = set((np.argpartition(-(data @ query), 10)[:10] + 1).tolist())
        recalls.append(len(exact & {i for i, _ in found}) / 10)
    return {"count": n, "vectors": "random unit vectors (384-d)", "build_per_s": round(n / build_s),
            "search_ms": {"p50": round(percentile(latencies, 50), 3), "p95": round(percentile(latencies, 95), 3)},
            "recall_at_10_vs_exact": round(statistics.mean(recalls), 4)}


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
    parser.add_argument("--json", action="store_true")
    args = parser.parse_args()
    size = 100_000 if args.quick else 1_000_000
    rng = random.Random(7)
    with tempfile.TemporaryDirectory() as tmp:
        data_dir = Path(tmp) / "data"
        with MemoryStore.open(data_dir) as store:
            agent = store.agents.ensure_default()
            messages = bench_messages(store, agent.id, args.messages or size, rng)
            embedding = bench_embedding(store, rng)
        result = {"messages": messages, "archival": bench_vectors(Path(tmp) / "bench.hnsw", args.vectors or size, 7),
                  "embedding": embedding, "cold_open_s": round(cold_open_s(data_dir), 3),
                  "peak_rss_mib": round(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024),
                  "targets": {"text_search_p95_ms": 50, "archival_search_p95_ms": 10,
                              "recall_at_10": 0.95, "cold_open_s": 1.0}}
    print(json.dumps(result) if args.json else json.dumps(result, indent=2))
    return 0


if __name__ == "__main__":
    sys.exit(main())
