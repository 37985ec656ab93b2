"""The least-recently-used map behind the token, grammar and embedding caches."""

from engine.lru import LruCache


def test_the_entry_used_longest_ago_leaves_first():
    cache: LruCache[str, int] = LruCache(2)
    cache.put("a", 1)
    cache.put("b", 2)
    assert cache.get("a") == 1  # "a" is now the newest
    cache.put("c", 3)
    assert cache.get("b") is None and cache.get("a") == 1 and cache.get("c") == 3 and len(cache) == 2


def test_get_or_make_makes_a_value_once():
    cache: LruCache[str, list] = LruCache(4)
    made = []
    first = cache.get_or_make("k", lambda: made.append(1) or ["v"])
    second = cache.get_or_make("k", lambda: made.append(1) or ["w"])
    assert first is second and made == [1]
