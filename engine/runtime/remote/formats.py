"""Turn formats for a server that does not publish its chat template.

llama-server gives its template in ``/props`` and the format is probed from it as for a local
GGUF; vLLM and llama_cpp.server do not, so the format is named in the settings or guessed from
the model's name. A wrong format still runs, but a model answers worst in markup it was not
trained on: name the format when the guess is wrong.
"""

from __future__ import annotations

import logging

from engine.errors import InputError
from engine.runtime.chat_format import GEMMA_FORMAT, ChatFormat

log = logging.getLogger(__name__)

CHATML_FORMAT = ChatFormat(
    name="chatml",
    prefixes={"system": "<|im_start|>system\n", "user": "<|im_start|>user\n",
              "assistant": "<|im_start|>assistant\n"},
    suffixes={"system": "<|im_end|>\n", "user": "<|im_end|>\n", "assistant": "<|im_end|>\n"},
    generation_prompt="<|im_start|>assistant\n",
    stop=("<|im_end|>", "<|endoftext|>"),
)

LLAMA3_FORMAT = ChatFormat(
    name="llama3",
    prefixes={role: f"<|start_header_id|>{role}<|end_header_id|>\n\n" for role in ("system", "user", "assistant")},
    suffixes={role: "<|eot_id|>" for role in ("system", "user", "assistant")},
    generation_prompt="<|start_header_id|>assistant<|end_header_id|>\n\n",
    stop=("<|eot_id|>", "<|end_of_text|>"),
)

NAMED_FORMATS = {f.name: f for f in (GEMMA_FORMAT, CHATML_FORMAT, LLAMA3_FORMAT)}

_NAME_HINTS = (("gemma", GEMMA_FORMAT), ("llama-3", LLAMA3_FORMAT), ("llama3", LLAMA3_FORMAT),
               ("llama_3", LLAMA3_FORMAT))


def named_format(name: str) -> ChatFormat:
    """The format called ``name``; raises :class:`InputError` naming the known ones."""
    try:
        return NAMED_FORMATS[name.lower()]
    except KeyError:
        raise InputError(f"unknown chat format {name!r}; use one of {', '.join(NAMED_FORMATS)}") from None


def guessed_format(model_name: str) -> ChatFormat:
    """The format a model of this name most likely uses; ChatML (Qwen, SmolLM, many others) otherwise."""
    lowered = model_name.lower()
    for hint, fmt in _NAME_HINTS:
        if hint in lowered:
            return fmt
    log.warning("the server does not publish a chat template for %s; using ChatML (name another format "
                "in the settings if the model uses one)", model_name)
    return CHATML_FORMAT
