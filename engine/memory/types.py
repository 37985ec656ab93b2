"""Values that cross the memory layer's boundary: small, frozen, and free of DuckDB types."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from typing import Any, Generic, Literal, TypeVar

Role = Literal["user", "assistant", "system", "function"]
Author = Literal["model", "user", "system"]
Tier = Literal["recall", "archival"]

ROLES: tuple[str, ...] = ("user", "assistant", "system", "function")
AUTHORS: tuple[str, ...] = ("model", "user", "system")

T = TypeVar("T")


@dataclass(frozen=True)
class Agent:
    id: int
    name: str
    created_at: datetime
    settings: dict[str, Any] = field(default_factory=dict)


@dataclass(frozen=True)
class Message:
    """One turn in recall storage; ``name`` is the speaker or the function's name."""

    id: int
    agent_id: int
    role: str
    content: str
    created_at: datetime
    name: str | None = None


@dataclass(frozen=True)
class Passage:
    """One chunk of archival memory."""

    id: int
    agent_id: int
    text: str
    created_at: datetime
    source: str | None = None


@dataclass(frozen=True)
class Hit:
    """A search result from either tier; ``score`` is only comparable within one search."""

    tier: str
    id: int
    text: str
    score: float
    created_at: datetime
    name: str | None = None
    role: str | None = None


@dataclass(frozen=True)
class Page(Generic[T]):
    """One page of a ranked result; ``total`` counts every match, not just this page."""

    items: tuple[T, ...]
    page: int
    page_size: int
    total: int

    @property
    def pages(self) -> int:
        return max(1, -(-self.total // self.page_size))


@dataclass(frozen=True)
class Event:
    id: int
    agent_id: int | None
    at: datetime
    kind: str
    payload: dict[str, Any]


@dataclass(frozen=True)
class CoreBlock:
    """A core memory block as the model sees it: its text and how much room it has."""

    agent_id: int
    label: str
    value: str
    limit: int
    version: int


@dataclass(frozen=True)
class BlockVersion:
    agent_id: int
    label: str
    version: int
    value: str
    limit: int
    author: str
    reason: str | None
    created_at: datetime
