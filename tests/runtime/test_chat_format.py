"""Turn markup derived from a GGUF chat template, one message at a time."""

import pytest

from engine.runtime.chat_format import GEMMA_FORMAT, chat_format_for
from engine.runtime.embedded_models import SMOLLM2_135M
from engine.runtime.gguf_header import read_gguf_header
from engine.runtime.model_file import ensure_embedded_model

CHATML = (
    "{% for message in messages %}{{'<|im_start|>' + message['role'] + '\n' + message['content'] + "
    "'<|im_end|>' + '\n'}}{% endfor %}{% if add_generation_prompt %}{{ '<|im_start|>assistant\n' }}{% endif %}"
)

DEFAULT_SYSTEM = (
    "{% if messages[0]['role'] != 'system' %}<|im_start|>system\nYou are a helpful assistant.<|im_end|>\n"
    "{% endif %}" + CHATML
)
"""ChatML that opens a conversation without a system message with a default one (as Qwen2.5's does)."""

NO_SYSTEM = (
    "{{ bos_token }}{% for message in messages %}{% if message['role'] == 'system' %}"
    "{{ raise_exception('System role not supported') }}{% endif %}"
    "[{{ message['role'] }}]{{ message['content'] }}[/]{% endfor %}"
    "{% if add_generation_prompt %}[assistant]{% endif %}"
)


def test_chatml_template_gives_each_role_its_markup():
    fmt = chat_format_for(CHATML, bos="", eos="<|im_end|>", architecture="qwen2")
    assert fmt.render("user", "hi") == "<|im_start|>user\nhi<|im_end|>\n"
    assert fmt.render("assistant", "yo") == "<|im_start|>assistant\nyo<|im_end|>\n"
    assert fmt.render("system", "be kind") == "<|im_start|>system\nbe kind<|im_end|>\n"
    assert fmt.generation_prompt == "<|im_start|>assistant\n"
    assert "<|im_end|>" in fmt.stop


def test_a_default_system_turn_is_not_repeated_before_each_message():
    fmt = chat_format_for(DEFAULT_SYSTEM, bos="", eos="<|im_end|>", architecture="qwen2")
    assert fmt.render("user", "hi") == "<|im_start|>user\nhi<|im_end|>\n"
    assert fmt.render("assistant", "yo") == "<|im_start|>assistant\nyo<|im_end|>\n"
    assert fmt.render("system", "be kind") == "<|im_start|>system\nbe kind<|im_end|>\n"
    assert not fmt.system_as_user


@pytest.fixture(scope="module")
def smollm2_template(tmp_path_factory) -> tuple[str, str]:
    """The real SmolLM2 chat template, and its BOS text (which is ``<|im_start|>``)."""
    path = ensure_embedded_model(tmp_path_factory.mktemp("models"), None, SMOLLM2_135M)
    header = read_gguf_header(path)
    return header.chat_template, "<|im_start|>"


def test_smollm2_turns_have_their_own_markup_only(smollm2_template):
    template, bos = smollm2_template
    fmt = chat_format_for(template, bos=bos, eos="<|im_end|>", architecture="llama")
    assert fmt.render("system", "rules") == "<|im_start|>system\nrules<|im_end|>\n"
    assert fmt.render("user", "hi") == "<|im_start|>user\nhi<|im_end|>\n"
    assert fmt.generation_prompt == "<|im_start|>assistant\n"


def test_template_without_system_role_sends_system_text_as_a_user_turn():
    fmt = chat_format_for(NO_SYSTEM, bos="<s>", eos="</s>", architecture="mistral")
    assert fmt.system_as_user
    assert fmt.render("system", "rules") == "[user]rules[/]"
    assert fmt.generation_prompt == "[assistant]"


def test_model_without_template_falls_back_to_gemma_turns():
    assert chat_format_for(None, "<bos>", "<eos>", "gemma3") is GEMMA_FORMAT
    assert GEMMA_FORMAT.render("system", "x") == "<start_of_turn>user\nx<end_of_turn>\n"
    assert GEMMA_FORMAT.render("function", "r") == "<start_of_turn>user\nr<end_of_turn>\n"


def test_broken_template_falls_back_instead_of_failing():
    assert chat_format_for("{% for %}", "", "", "llama") is GEMMA_FORMAT
