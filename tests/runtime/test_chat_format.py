"""Turn markup derived from a GGUF chat template, one message at a time."""

from engine.runtime.chat_format import GEMMA_FORMAT, chat_format_for

CHATML = (
    "{% for message in messages %}{{'<|im_start|>' + message['role'] + '\n' + message['content'] + "
    "'<|im_end|>' + '\n'}}{% endfor %}{% if add_generation_prompt %}{{ '<|im_start|>assistant\n' }}{% endif %}"
)

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
