"""Low-level operations on one llama.cpp KV-cache sequence, each named for what it does.

Every method wraps one llama.cpp call (named in its docstring) or a short, fixed series of them.
Positions are explicit everywhere: llama-cpp-python's ``Llama.eval`` only appends at
``n_tokens``, while paging needs to drop, shift and fill holes in the middle of the window.
This layer knows nothing about segments; :mod:`engine.runtime.kv_pager` decides what to do.

With a unified cache of three or more sequences (``RuntimeSettings.n_seq_max``) the
conversation's cells are also tagged with a second sequence, the *pin*. llama.cpp's
sliding-window cache reuses a cell that one sequence alone holds once it lies outside that
sequence's window, so without the pin the cells of the first positions were overwritten as the
conversation grew, and a change near the head had to re-evaluate them. A third sequence *parks*
the cells after a hole while the hole is decoded (llama.cpp decodes a sequence only past its last
position). Tagging a cell with another sequence copies no data.
"""

from __future__ import annotations

import ctypes
import logging
from typing import Sequence

import llama_cpp
import numpy as np

from engine.runtime.kv_cells import SequenceCells

log = logging.getLogger(__name__)

SEQ = 0
PIN = 1
PARK = 2


class KVError(RuntimeError):
    """llama.cpp refused a cache operation; the caller re-evaluates instead of trusting the cache."""


class SequenceCache:
    """Sequence 0 of a ``Llama``'s context, driven through the low-level API."""

    def __init__(self, llama: llama_cpp.Llama) -> None:
        self.llama = llama
        self._ctx = llama._ctx.ctx
        self._mem = llama_cpp.llama_get_memory(self._ctx)
        self._batch = llama_cpp.llama_batch_init(llama.n_batch, 0, 1)
        self._shift_pending = False
        self.logits_at: int | None = None
        """The position whose logits the context holds now, if a decode just computed them."""
        self.n_vocab = llama.n_vocab()
        self.pinning = (llama_cpp.llama_n_seq_max(self._ctx) > PARK
                        and llama_cpp.llama_n_ctx_seq(self._ctx) == llama_cpp.llama_n_ctx(self._ctx))
        """Whether the context has the pin and parking sequences in one unified cache."""

    def close(self) -> None:
        if self._batch is not None:
            llama_cpp.llama_batch_free(self._batch)
            self._batch = None

    # -- queries ------------------------------------------------------------------------------

    @property
    def can_shift(self) -> bool:
        """Whether positions can move (``llama_memory_can_shift``); false for a small SWA cache."""
        return bool(llama_cpp.llama_memory_can_shift(self._mem))

    @property
    def n_swa(self) -> int:
        """The sliding-window size (``llama_model_n_swa``); 0 when every layer sees everything."""
        return int(llama_cpp.llama_model_n_swa(self.llama._model.model))

    def pos_max(self) -> int:
        """The highest position held (``llama_memory_seq_pos_max``); -1 when empty."""
        return int(llama_cpp.llama_memory_seq_pos_max(self._mem, SEQ))

    def pos_min(self) -> int:
        """The lowest position held (``llama_memory_seq_pos_min``); above 0 once SWA cells were pruned."""
        return int(llama_cpp.llama_memory_seq_pos_min(self._mem, SEQ))

    def window_start(self, start: int) -> int:
        """Where evaluation must begin so that a token at ``start`` sees its whole sliding window.

        ``start`` itself while the window cells before it are still held (``pos_min``); else
        ``start - n_swa`` (0 for the head of the context), re-creating them.
        """
        if not self.pinning:
            self.settle()  # a save decodes a token, which may reuse window cells
        floor = max(0, start - self.n_swa)
        return start if not self.n_swa or self.pos_min() <= floor else floor

    def last_logits(self) -> np.ndarray:
        """A copy of the logits of the last decoded output (``llama_get_logits_ith(-1)``).

        Only valid right after a decode through this object that asked for them
        (:attr:`logits_at`): a decode without outputs (a hole filled by :meth:`evaluate_inside`,
        :meth:`settle`) leaves llama.cpp nothing to return, and its NULL pointer must not be read.
        """
        if self.logits_at is None:
            raise KVError("no logits: the last decode did not compute any")
        pointer = llama_cpp.llama_get_logits_ith(self._ctx, -1)
        if not pointer:
            raise KVError("llama.cpp returned no logits for the last decode")
        return np.ctypeslib.as_array(pointer, shape=(self.n_vocab,)).copy()

    # -- moving cells -------------------------------------------------------------------------

    def drop(self, p0: int, p1: int = -1) -> None:
        """Remove the cells at positions [p0, p1) (``llama_memory_seq_rm``, with their pin); p1 = -1
        means to the end."""
        self.logits_at = None
        if not llama_cpp.llama_memory_seq_rm(self._mem, SEQ, p0, p1):
            raise KVError(f"llama.cpp could not drop positions [{p0}, {p1})")
        if self.pinning:
            llama_cpp.llama_memory_seq_rm(self._mem, PIN, p0, p1)

    def clear(self) -> None:
        """Remove every cell of the sequence (``llama_memory_seq_rm`` over all positions)."""
        self.drop(-1, -1)
        self._shift_pending = False

    def pin(self) -> None:
        """Tag every cell of the sequence with the pin sequence too (``llama_memory_seq_cp``).

        llama.cpp never reuses a cell that two sequences hold, so the sliding-window cells of
        early positions survive later decodes. Cells decoded outside this class (``Llama.eval``
        during generation) are pinned at the next operation here.
        """
        if self.pinning:
            llama_cpp.llama_memory_seq_cp(self._mem, SEQ, PIN, -1, -1)

    def shift(self, p0: int, p1: int, delta: int) -> None:
        """Move the cells at [p0, p1) by ``delta`` (``llama_memory_seq_add``; RoPE K-shift).

        llama.cpp rotates the keys lazily, at the next decode; until then the cells' data does not
        match their positions, so :meth:`save` settles pending shifts first.
        """
        if delta:
            self.logits_at = None
            llama_cpp.llama_memory_seq_add(self._mem, SEQ, p0, p1, delta)
            self._shift_pending = True

    # -- evaluating ---------------------------------------------------------------------------

    def evaluate_at(self, tokens: Sequence[int], start: int, logits: bool = True) -> None:
        """Decode ``tokens`` at positions start.. (``llama_decode`` with a positioned ``llama_batch``).

        llama.cpp accepts this only past the sequence's last position; see :meth:`evaluate_inside`.
        Only the last token's logits are computed, and none without ``logits`` (the output layer
        over Gemma's 262k-token vocabulary costs about as much as six more tokens).
        """
        if not tokens:
            return
        for offset in range(0, len(tokens), self.llama.n_batch):
            chunk = tokens[offset:offset + self.llama.n_batch]
            last = offset + len(chunk) == len(tokens)
            self._fill_batch(chunk, start + offset, logits_last=logits and last)
            self._decode(start + offset)
        self._shift_pending = False
        self.logits_at = start + len(tokens) - 1 if logits else None
        self.pin()

    def evaluate_choosing_at(self, tokens: Sequence[int], start: int) -> list[int]:
        """Decode like :meth:`evaluate_at` and return the top token after each position.

        Teacher forcing for measurements: every token's logits are computed
        (``llama_get_logits_ith``), which costs the output layer once per token.
        """
        choices: list[int] = []
        for offset in range(0, len(tokens), self.llama.n_batch):
            chunk = tokens[offset:offset + self.llama.n_batch]
            self._fill_batch(chunk, start + offset, logits_last=True, logits_all=True)
            self._decode(start + offset)
            rows = np.ctypeslib.as_array(llama_cpp.llama_get_logits(self._ctx), shape=(len(chunk), self.n_vocab))
            choices += rows.argmax(axis=1).tolist()
        self._shift_pending = False
        self.logits_at = start + len(tokens) - 1 if tokens else self.logits_at
        return choices

    def evaluate_inside(self, tokens: Sequence[int], start: int) -> None:
        """Decode ``tokens`` into the hole at [start, start + len) with cells after it.

        llama.cpp only decodes past the last position, so the later cells are set aside first.
        With :attr:`pinning` they are parked: tagged with the parking sequence and untagged from
        this one (``llama_memory_seq_cp``, ``llama_memory_seq_rm``), then tagged back after the
        decode; no data moves. Without it they go through the sequence state (see
        :meth:`_evaluate_inside_by_state`). Cells already at [start, start + len) are replaced.

        The new tokens attend to the sliding-window cells before ``start`` as they are; a caller
        checks :meth:`window_start` first. No logits are computed: the next token follows the end
        of the sequence, not the hole.
        """
        end = start + len(tokens)
        if not self.pinning:
            self._evaluate_inside_by_state(tokens, start)
            return
        self.drop(start, end)
        self.pin()
        llama_cpp.llama_memory_seq_cp(self._mem, SEQ, PARK, end, -1)
        llama_cpp.llama_memory_seq_rm(self._mem, SEQ, end, -1)
        try:
            self.evaluate_at(tokens, start, logits=False)
        finally:
            llama_cpp.llama_memory_seq_cp(self._mem, PARK, SEQ, end, -1)
            llama_cpp.llama_memory_seq_rm(self._mem, PARK, -1, -1)
        self.pin()

    def _evaluate_inside_by_state(self, tokens: Sequence[int], start: int) -> None:
        """:meth:`evaluate_inside` with one sequence: save the state (``llama_state_seq_get_data``),
        drop the later cells, decode, and load the cells joined with the later ones
        (``llama_state_seq_set_data``). Costs state copies, no re-evaluation; llama.cpp keeps
        only the last ``n_swa`` positions of the window cells then."""
        later = SequenceCells.parse(self.save()).at_or_after(start + len(tokens))
        self.drop(start)
        self.evaluate_at(tokens, start, logits=False)
        self.load(SequenceCells.parse(self.save()).join(later).to_bytes())

    def _decode(self, position: int) -> None:
        """``llama_decode`` of the filled batch, with every earlier cell pinned first."""
        self.pin()
        code = llama_cpp.llama_decode(self._ctx, self._batch)
        if code != 0:
            raise KVError(f"llama_decode returned {code} at position {position}")

    def _fill_batch(self, tokens: Sequence[int], start: int, logits_last: bool, logits_all: bool = False) -> None:
        batch = self._batch
        batch.n_tokens = len(tokens)
        for i, token in enumerate(tokens):
            batch.token[i] = token
            batch.pos[i] = start + i
            batch.n_seq_id[i] = 1
            batch.seq_id[i][0] = SEQ
            batch.logits[i] = logits_all
        batch.logits[len(tokens) - 1] = logits_last

    def settle(self) -> None:
        """Apply pending K-shifts now: decode one throwaway token past the end, then drop it.

        ``llama_memory_seq_add`` only records the shift; the rotation runs inside the next
        ``llama_decode``. The throwaway token's logits replace the last output.
        """
        if not self._shift_pending:
            return
        end = self.pos_max() + 1
        if end > 0:
            self._fill_batch([self.llama.token_bos()], end, logits_last=False)
            self._decode(end)
            self.drop(end)
        self._shift_pending = False
        self.logits_at = None

    # -- whole-sequence state -----------------------------------------------------------------

    def save(self) -> bytes:
        """The sequence's cells as bytes (``llama_state_seq_get_size`` + ``llama_state_seq_get_data``)."""
        self.settle()
        size = llama_cpp.llama_state_seq_get_size(self._ctx, SEQ)
        buffer = (ctypes.c_uint8 * size)()
        written = llama_cpp.llama_state_seq_get_data(self._ctx, buffer, size, SEQ)
        if written == 0 or written > size:
            raise KVError("llama.cpp could not copy the sequence state")
        return ctypes.string_at(buffer, written)

    def load(self, blob: bytes) -> None:
        """Replace the sequence's cells with ``blob`` (``llama_state_seq_set_data``)."""
        self.drop(-1, -1)
        buffer = (ctypes.c_uint8 * len(blob)).from_buffer_copy(blob)
        if llama_cpp.llama_state_seq_set_data(self._ctx, buffer, len(blob), SEQ) == 0:
            self.clear()
            raise KVError("llama.cpp rejected the sequence state")
        self._shift_pending = False
        self.logits_at = None
        self.pin()

    def compact(self) -> None:
        """Move every cell to the front of the cache: copy the whole context's state out and load
        it back (``llama_state_get_data``, ``llama_state_set_data``).

        llama.cpp never moves a cell, and a decode attends over every cell up to the highest one
        in use, free or not. After the oldest messages are dropped from the middle of the window
        the kept cells stay where they were, and every later decode pays for the gap (a 53-token
        decode cost a fifth more with 1,000 cells spread over 1,900). A whole-context state loads
        from the first cell on and keeps each cell's sequences (the pin) and every sliding-window
        cell; a sequence's own state would keep only the last window's. About 10 ms for 1,000
        cells on two cores.
        """
        self.load_context(self.save_context())

    def save_context(self) -> bytes:
        """The whole context's state as bytes (``llama_state_get_data``): every cell with its
        sequences (the pin) and, for a sliding-window model, every window cell, which a sequence's
        own state (:meth:`save`) would cut to the last window's. What a restart resumes from."""
        self.settle()
        size = llama_cpp.llama_state_get_size(self._ctx)
        buffer = (ctypes.c_uint8 * size)()
        written = llama_cpp.llama_state_get_data(self._ctx, buffer, size)
        if not 0 < written <= size:
            raise KVError("llama.cpp could not copy the context state")
        return ctypes.string_at(buffer, written)

    def load_context(self, blob: bytes) -> None:
        """Replace the whole context's state with ``blob`` (``llama_state_set_data``)."""
        self.logits_at = None
        self._shift_pending = False
        buffer = (ctypes.c_uint8 * len(blob)).from_buffer_copy(blob)
        if llama_cpp.llama_state_set_data(self._ctx, buffer, len(blob)) != len(blob):
            self.clear()
            raise KVError("llama.cpp could not load the context state")
        self.pin()
