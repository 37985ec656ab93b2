import pytest

from engine.errors import InputError, NotFoundError
from engine.memory.archival import INDEX_FILE, ArchivalStore
from engine.memory.timeline import ARCHIVAL_INSERT, SEARCH


class CountingEmbedder:
    """Wraps the real embedder and counts the texts it was asked to embed."""

    def __init__(self, inner):
        self.inner, self.texts = inner, 0
        self.model_id, self.dim = inner.model_id, inner.dim

    def embed(self, texts):
        self.texts += len(texts)
        return self.inner.embed(texts)


FACTS = [
    "My sister Anna lives in Lisbon and works as a marine biologist.",
    "The user's favourite dish is mushroom risotto.",
    "Our team meeting moved to Thursdays at ten.",
    "The cat is called Pixel and is afraid of the vacuum cleaner.",
    "The user is training for a half marathon in October.",
]


@pytest.fixture
def counting(embedder):
    return CountingEmbedder(embedder)


@pytest.fixture
def archival(db, data_dir, counting, timeline):
    return ArchivalStore(db, data_dir, lambda: counting, timeline)


def test_search_ranks_passages_by_meaning_and_logs_events(archival, timeline):
    archival.insert_many(1, FACTS, source="notes")
    page = archival.search(1, "what pet does the user have?")
    assert page.items[0].text.startswith("The cat is called Pixel")
    assert page.items[0].tier == "archival" and page.total == 5
    assert timeline.count(1, ARCHIVAL_INSERT) == 5 and timeline.count(1, SEARCH) == 1


def test_search_pages_through_every_passage_without_repeats(archival):
    archival.insert_many(1, FACTS)
    pages = [archival.search(1, "hobbies", page=p, page_size=2) for p in (1, 2, 3)]
    ids = [h.id for p in pages for h in p.items]
    assert [len(p.items) for p in pages] == [2, 2, 1]
    assert len(set(ids)) == 5 and pages[0].pages == 3


def test_search_only_returns_the_agents_own_passages(archival):
    archival.insert(1, FACTS[0])
    archival.insert(2, "Agent two's sister lives in Lisbon too.")
    assert [h.text for h in archival.search(1, "sister in Lisbon").items] == [FACTS[0]]
    assert archival.count(2) == 1


def test_near_duplicate_is_found_and_unrelated_text_is_not(archival):
    stored = archival.insert(1, FACTS[1])
    assert archival.find_near_duplicate(1, FACTS[1]).id == stored.id
    assert archival.find_near_duplicate(1, "The user's favourite dish is mushroom risotto!").id == stored.id
    assert archival.find_near_duplicate(1, FACTS[2]) is None
    assert archival.find_near_duplicate(2, FACTS[1]) is None


def test_deleted_passage_is_no_longer_found(archival):
    passages = archival.insert_many(1, FACTS)
    archival.delete(passages[3].id)
    assert all(h.id != passages[3].id for h in archival.search(1, "cat Pixel").items)
    with pytest.raises(NotFoundError):
        archival.delete(passages[3].id)


def test_empty_passage_is_refused(archival):
    with pytest.raises(InputError):
        archival.insert(1, "   ")


def _reopen(db, data_dir, counting, timeline):
    return ArchivalStore(db, data_dir, lambda: counting, timeline)


def test_index_is_rebuilt_without_embedding_after_its_file_is_deleted(archival, db, data_dir, counting, timeline):
    archival.insert_many(1, FACTS)
    (data_dir / INDEX_FILE).unlink()
    before = counting.texts
    reopened = _reopen(db, data_dir, counting, timeline)
    assert reopened.index().count == 5
    assert counting.texts == before
    assert reopened.find_near_duplicate(1, FACTS[4]) is not None


def test_index_is_rebuilt_without_embedding_after_its_file_is_corrupted(archival, db, data_dir, counting, timeline):
    archival.insert_many(1, FACTS)
    path = data_dir / INDEX_FILE
    path.write_bytes(b"\x00garbage" * (path.stat().st_size // 8))
    before = counting.texts
    seen = []
    reopened = _reopen(db, data_dir, counting, timeline)
    assert reopened.index(lambda done, total: seen.append((done, total))).count == 5
    assert counting.texts == before and seen[-1] == (5, 5)
    assert reopened.search(1, "what pet does the user have?").items[0].text.startswith("The cat")
