"""Switch every library we use to offline mode before it is imported.

llmos never touches the network at run time; these switches make the hub, transformers and
sentence-transformers fail fast instead of trying, silence telemetry, and keep their progress
bars off the user's terminal.
"""

from __future__ import annotations

import os

OFFLINE_SWITCHES = {
    "HF_HUB_OFFLINE": "1",
    "TRANSFORMERS_OFFLINE": "1",
    "HF_DATASETS_OFFLINE": "1",
    "HF_HUB_DISABLE_TELEMETRY": "1",
    "HF_HUB_DISABLE_IMPLICIT_TOKEN": "1",
    "DO_NOT_TRACK": "1",
    "TOKENIZERS_PARALLELISM": "false",
    "HF_HUB_DISABLE_PROGRESS_BARS": "1",  # transformers' "Loading weights" bar too
}


def enforce_offline() -> None:
    """Set the offline switches in this process's environment (idempotent)."""
    for key, value in OFFLINE_SWITCHES.items():
        os.environ[key] = value


enforce_offline()
