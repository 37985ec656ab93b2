"""Turn markup for one message at a time, so the context can be tokenised segment by segment.

A chat template renders a whole conversation at once, but the KV pager needs every message as
its own run of tokens. We render the model's template on probe conversations with a sentinel
content and cut out the text around it: that gives each role's prefix and suffix. A base model
without a template (the embedded Gemma 3 270M) gets Gemma's turn format.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass

log = logging.getLogger(__name__)

_SENTINEL = "\u2063LLMOS-SENTINEL\u2063"


@dataclass(frozen=True)
class ChatFormat:
    """How a message of each role is wrapped, and how the model is asked to answer."""

    name: str
    prefixes: dict[str, str]
    suffixes: dict[str, str]
    generation_prompt: str
    stop: tuple[str, ...]
    system_as_user: bool = False

    def render(self, role: str, content: str) -> str:
        """One message with its turn markup (function results travel as user turns)."""
        prefix, suffix = self.wrap(role)
        return f"{prefix}{content}{suffix}"

    def wrap(self, role: str) -> tuple[str, str]:
        """The markup before and after a message of ``role``."""
        role = self._template_role(role)
        return self.prefixes[role], self.suffixes[role]

    def _template_role(self, role: str) -> str:
        if role in ("function", "tool"):
            return "user"
        if role == "system" and self.system_as_user:
            return "user"
        return role if role in self.prefixes else "user"


GEMMA_FORMAT = ChatFormat(
    name="gemma",
    prefixes={"user": "<start_of_turn>user\n", "assistant": "<start_of_turn>model\n"},
    suffixes={"user": "<end_of_turn>\n", "assistant": "<end_of_turn>\n"},
    generation_prompt="<start_of_turn>model\n",
    stop=("<end_of_turn>", "<start_of_turn>"),
    system_as_user=True,
)


def chat_format_for(template: str | None, bos: str, eos: str, architecture: str) -> ChatFormat:
    """The format from the GGUF's template metadata, or Gemma's turn format as the fallback."""
    if template:
        try:
            return _format_from_template(template, bos, eos)
        except Exception as exc:  # a template we cannot probe is not fatal: fall back
            log.warning("chat template could not be used (%s); using Gemma's turn format", exc)
    if not architecture.startswith("gemma"):
        log.warning("model has no chat template; using Gemma's turn format")
    return GEMMA_FORMAT


def _format_from_template(template: str, bos: str, eos: str) -> ChatFormat:
    import jinja2
    from jinja2.sandbox import ImmutableSandboxedEnvironment

    env = ImmutableSandboxedEnvironment(trim_blocks=True, lstrip_blocks=True, undefined=jinja2.Undefined)
    env.globals["raise_exception"] = _raise
    compiled = env.from_string(template)

    def render(messages: list[dict], add_generation_prompt: bool = False) -> str:
        return compiled.render(messages=messages, bos_token="", eos_token=eos,
                               add_generation_prompt=add_generation_prompt)

    user = {"role": "user", "content": _SENTINEL}
    exchange = [{"role": "user", "content": "hi"}, {"role": "assistant", "content": "ok"}]
    prefixes, suffixes = {}, {}
    prefixes["user"], suffixes["user"] = _turn_after(render, exchange, "user")
    prefixes["assistant"], suffixes["assistant"] = _turn_after(render, exchange[:1], "assistant")
    system = _probe_system_turn(render, prefixes["user"])
    if system:
        prefixes["system"], suffixes["system"] = system
    prefixes = {role: _without_start(prefix, bos, prefixes["user"]) for role, prefix in prefixes.items()}
    generation = render([user], add_generation_prompt=True)[len(render([user])):]
    stops = tuple(s for s in {eos, suffixes["assistant"].strip()} if s)
    return ChatFormat("template", prefixes, suffixes, generation, stops, system_as_user=system is None)


def _turn_after(render, earlier: list[dict], role: str) -> tuple[str, str]:
    """The markup of a ``role`` turn that follows ``earlier``: what rendering it adds.

    A turn is cut from a conversation rather than rendered alone, because many templates open a
    conversation with a default system turn ("You are Qwen, created by Alibaba Cloud...") when it
    has none; rendered alone, that turn would be repeated before every message.
    """
    head = render(earlier)
    whole = render([*earlier, {"role": role, "content": _SENTINEL}])
    return _split(whole[len(head):] if whole.startswith(head) else whole)


def _probe_system_turn(render, user_prefix: str) -> tuple[str, str] | None:
    """The system role's own markup, or None when the template has no separate system turn."""
    try:
        text = render([{"role": "system", "content": _SENTINEL}, {"role": "user", "content": "hi"}])
    except Exception:  # templates that reject a system role
        return None
    prefix, rest = _split(text)
    marker = user_prefix + "hi"
    if marker not in rest:
        return None
    return prefix, rest[: rest.index(marker)]


def _without_start(prefix: str, bos: str, user_prefix: str) -> str:
    """``prefix`` without a leading BOS the template writes literally (the runtime adds its own),
    unless BOS is part of every turn's markup: SmolLM2's BOS is ``<|im_start|>`` itself."""
    if bos and prefix.startswith(bos) and not user_prefix.startswith(bos):
        return prefix[len(bos):]
    return prefix


def _split(text: str) -> tuple[str, str]:
    if _SENTINEL not in text:
        raise ValueError("template drops message content")
    prefix, suffix = text.split(_SENTINEL, 1)
    return prefix, suffix


def _raise(message: str) -> None:
    raise ValueError(message)
