"""Grammar-constrained sampling that checks the grammar on the token drawn, not on the whole vocabulary.

llama-cpp-python puts the grammar in front of its sampler chain, so every token of a
constrained reply tests all of the vocabulary against the grammar: with Qwen's 151k tokens and
a grammar of several functions that costs far more than the model's own decode (1-6 tokens/s
instead of ~24 on two cores). Most tokens a model draws are allowed anyway, so we draw from the
plain chain first and ask the grammar about that one token; only when it is refused does the
grammar filter the whole vocabulary and the token get drawn again. The distribution sampled is
the same as grammar-first sampling, as llama.cpp's own samplers do it.

Installed on a ``Llama`` by :func:`install`, which hooks ``Llama._init_sampler`` so that
``Llama.generate`` keeps its prompt and cache handling and only the sampling changes.
"""

from __future__ import annotations

import ctypes
import math
import weakref

import numpy as np

_TOKEN_DATA = np.dtype([("id", np.intc), ("logit", np.single), ("p", np.single)], align=True)


class GrammarFirstCheckSampler:
    """One generation's sampler: the plain chain, a grammar, and the vocabulary-wide fallback."""

    def __init__(self, llama, grammar, chain_params: dict) -> None:
        import llama_cpp

        self._api = llama_cpp
        self._chain = llama._plain_init_sampler(**chain_params, grammar=None)
        self._grammar = _grammar_sampler(llama, grammar)
        self._n_vocab = llama.n_vocab()
        self._table = np.zeros(self._n_vocab, dtype=_TOKEN_DATA)
        self._ids = np.arange(self._n_vocab, dtype=np.intc)
        self._one = np.zeros(1, dtype=_TOKEN_DATA)

    def sample(self, ctx, idx: int = -1) -> int:
        """Draw the next token from the logits at ``idx`` and accept it into both samplers."""
        logits = self._logits(ctx, idx)
        token = self._draw(logits, with_grammar=False)
        if not self._allowed(token):
            token = self._draw(logits, with_grammar=True)
        self._api.llama_sampler_accept(self._chain.sampler, token)
        self._api.llama_sampler_accept(self._grammar, token)
        return token

    def _logits(self, ctx, idx: int) -> np.ndarray:
        pointer = self._api.llama_get_logits_ith(ctx.ctx, idx)
        if not pointer:
            raise RuntimeError(f"llama.cpp holds no logits for position {idx}: the last decode did not ask for them")
        return np.ctypeslib.as_array(pointer, shape=(self._n_vocab,))

    def _draw(self, logits: np.ndarray, with_grammar: bool) -> int:
        table = self._table
        table["id"], table["logit"], table["p"] = self._ids, logits, 0.0
        candidates = self._candidates(table)
        if with_grammar:
            self._api.llama_sampler_apply(self._grammar, ctypes.byref(candidates))
        self._api.llama_sampler_apply(self._chain.sampler, ctypes.byref(candidates))
        if candidates.selected < 0:
            raise RuntimeError("the sampler chose no token")
        return int(candidates.data[candidates.selected].id)

    def _allowed(self, token: int) -> bool:
        one = self._one
        one["id"], one["logit"], one["p"] = token, 0.0, 0.0
        candidates = self._candidates(one)
        self._api.llama_sampler_apply(self._grammar, ctypes.byref(candidates))
        return not math.isinf(float(one["logit"][0]))

    def _candidates(self, table: np.ndarray):
        data = table.ctypes.data_as(ctypes.POINTER(self._api.llama_token_data))
        return self._api.llama_token_data_array(data=data, size=len(table), selected=-1, sorted=False)


_PARSED: "weakref.WeakKeyDictionary" = weakref.WeakKeyDictionary()
"""llama.cpp's parsed form of each grammar, kept while the grammar lives: parsing a grammar that
lists a core block's lines takes longer than a step's decode, and the loop reuses grammars."""


def _grammar_sampler(llama, grammar):
    """A grammar sampler at its start state, parsed once per grammar and reset for each use."""
    import llama_cpp

    sampler = _PARSED.get(grammar)
    if sampler is None:
        sampler = llama_cpp.llama_sampler_init_grammar(
            llama._model.vocab, grammar._grammar.encode("utf-8"), grammar._root.encode("utf-8"))
        if not sampler:
            raise ValueError("llama.cpp rejected the grammar")
        _PARSED[grammar] = sampler
        weakref.finalize(grammar, llama_cpp.llama_sampler_free, sampler)
    else:
        llama_cpp.llama_sampler_reset(sampler)
    return sampler


def install(llama) -> None:
    """Make ``llama``'s constrained generations check the grammar on the drawn token first."""
    plain = llama._init_sampler
    llama._plain_init_sampler = plain

    def init_sampler(grammar=None, **params):
        if grammar is None:
            return plain(**params)
        return GrammarFirstCheckSampler(llama, grammar, params)

    llama._init_sampler = init_sampler
