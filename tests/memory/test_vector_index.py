import numpy as np

from engine.memory.vector_index import VectorIndex


def _unit(n: int, seed: int = 0) -> np.ndarray:
    data = np.random.default_rng(seed).standard_normal((n, 384), dtype=np.float32)
    return data / np.linalg.norm(data, axis=1, keepdims=True)


def _batches(ids, data):
    return lambda: iter([(np.asarray(ids), data)])


def test_index_grows_past_its_initial_capacity_and_finds_each_vector(tmp_path):
    data = _unit(3000)
    index = VectorIndex(tmp_path / "v.hnsw")
    index.add(range(1, 3001), data)
    assert index.count == 3000
    assert index.search(data[1234], 1)[0][0] == 1235


def test_saved_index_loads_without_rebuild_when_manifest_matches(tmp_path):
    data = _unit(50)
    index = VectorIndex(tmp_path / "v.hnsw")
    index.add(range(1, 51), data)
    index.save()
    reopened = VectorIndex(tmp_path / "v.hnsw")
    assert reopened.load_or_rebuild(lambda: iter([]), 50, 50) is False
    assert reopened.search(data[7], 1)[0][0] == 8


def test_stale_index_is_rebuilt_from_stored_rows_with_progress(tmp_path):
    data = _unit(60)
    index = VectorIndex(tmp_path / "v.hnsw")
    index.add(range(1, 51), data[:50])
    index.save()
    seen = []
    reopened = VectorIndex(tmp_path / "v.hnsw")
    rebuilt = reopened.load_or_rebuild(_batches(range(1, 61), data), 60, 60, lambda d, t: seen.append((d, t)))
    assert rebuilt and reopened.count == 60 and seen[-1] == (60, 60)
    assert reopened.search(data[55], 1)[0][0] == 56


def test_filter_limits_results_to_allowed_ids(tmp_path):
    data = _unit(100)
    index = VectorIndex(tmp_path / "v.hnsw")
    index.add(range(1, 101), data)
    found = index.search(data[0], 5, allowed=lambda i: i % 2 == 0, allowed_count=50)
    assert len(found) == 5 and all(i % 2 == 0 for i, _ in found)


def test_removed_id_is_not_returned(tmp_path):
    data = _unit(20)
    index = VectorIndex(tmp_path / "v.hnsw")
    index.add(range(1, 21), data)
    index.remove(3)
    assert 3 not in [i for i, _ in index.search(data[2], 5)]
    assert index.count == 19
