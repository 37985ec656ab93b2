"""The runtime options every model-running subcommand shares, paging mode included."""

import argparse

import pytest

from engine.cli.options import add_runtime_options, runtime_settings
from engine.runtime.settings import DEFAULT_PAGING_MODE, PAGING_MODES, RuntimeSettings


def _settings(*argv: str) -> RuntimeSettings:
    parser = argparse.ArgumentParser()
    add_runtime_options(parser)
    return runtime_settings(parser.parse_args(argv))


@pytest.mark.parametrize("mode", PAGING_MODES)
def test_every_paging_mode_can_be_chosen_on_the_command_line(mode):
    assert _settings("--paging", mode).paging_mode == mode


def test_without_the_option_the_default_paging_mode_is_used():
    assert _settings().paging_mode == DEFAULT_PAGING_MODE


def test_an_unknown_paging_mode_is_refused_by_the_parser_and_by_the_settings(capsys):
    with pytest.raises(SystemExit):
        _settings("--paging", "prefix")
    assert "invalid choice: 'prefix'" in capsys.readouterr().err
    with pytest.raises(ValueError, match="unknown paging mode 'prefix'"):
        RuntimeSettings(paging_mode="prefix")


def test_the_server_options_name_the_server_its_model_and_the_key_variable_only():
    settings = _settings("--server", "http://gpu-box:8080", "--server-model", "qwen2.5-32b",
                         "--api-key-env", "LLMOS_KEY", "--server-timeout", "30", "--server-slot", "2",
                         "--chat-format", "chatml")
    assert settings.remote and settings.server_url == "http://gpu-box:8080"
    assert (settings.server_model, settings.api_key_env, settings.server_timeout_s) == ("qwen2.5-32b", "LLMOS_KEY", 30)
    assert (settings.server_slot, settings.chat_format) == (2, "chatml")
    assert not _settings().remote


def test_the_api_key_is_read_from_the_named_variable_at_use(monkeypatch):
    settings = _settings("--server", "http://gpu-box:8080", "--api-key-env", "LLMOS_KEY")
    monkeypatch.delenv("LLMOS_KEY", raising=False)
    assert settings.api_key() is None
    monkeypatch.setenv("LLMOS_KEY", "k-123")
    assert settings.api_key() == "k-123"
    assert "k-123" not in repr(settings)
