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
