"""Per-agent behaviour of the loop."""

from __future__ import annotations

from dataclasses import dataclass

from engine.runtime.model import GREEDY, SamplingParams


@dataclass(frozen=True)
class AgentSettings:
    max_steps: int = 5                 # function calls per turn (heartbeat chain bound)
    max_message_chars: int = 600       # longest send_message the grammar admits
    reply_reserve_tokens: int = 320    # room kept free in the window for the model's output
    recalled_fraction: float = 0.12    # share of the window for automatically paged-in memories
    message_fraction: float = 0.25     # a single message never takes more of the window than this
    summary_chars: int = 700           # bound of the recursive summary
    summarise_with_model: bool = True  # False: extractive summaries only (fast, deterministic)
    summary_max_tokens: int = 200
    sampling: SamplingParams = GREEDY
    # Greedy, without a repeat penalty: a step is a call and a reply that quotes memory word for
    # word, and every sampled token below the top one is a chance to miscopy a name ("Jill" for
    # "Jilla") or to drift from the line that answers; a penalty on recent tokens pushes a small
    # model off the names it copies ("Rebecca" for "Rebeka"). The grammar and the step plan bound
    # loops instead.
