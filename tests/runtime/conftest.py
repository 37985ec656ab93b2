"""One real embedded model, loaded once for the runtime tests."""

import pytest

from engine.runtime.model import ModelRuntime
from engine.runtime.settings import RuntimeSettings


@pytest.fixture(scope="session")
def runtime() -> ModelRuntime:
    model = ModelRuntime(RuntimeSettings(n_ctx=2048, seed=1))
    yield model
    model.close()
