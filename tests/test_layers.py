"""The engine's import graph points downward: runtime, memory -> context -> agent -> api -> front doors.

A lower layer never imports a higher one, so each can be read, tested and replaced on its own.
Imports are read from the source (a function's lazy import counts too).
"""

import ast
from pathlib import Path

import pytest

ENGINE = Path(__file__).resolve().parents[1] / "engine"
ABOVE = {
    "runtime": {"memory", "context", "agent", "agentfile", "api", "cli", "eval", "selftest", "server"},
    "memory": {"runtime", "context", "agent", "agentfile", "api", "cli", "eval", "selftest", "server"},
    "context": {"agent", "agentfile", "api", "cli", "eval", "selftest", "server"},
    "agent": {"agentfile", "api", "cli", "eval", "selftest", "server"},
    "agentfile": {"runtime", "agent", "api", "cli", "eval", "selftest", "server"},
    "server": {"runtime", "memory", "context", "agent", "cli", "eval", "selftest"},
}
"""What each layer must not import. memory uses no runtime either: it needs no model to store or search;
the server, a front door like the CLI, goes through the engine's api only."""


def _imported_layers(path: Path) -> set[str]:
    layers = set()
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        names = [a.name for a in node.names] if isinstance(node, ast.Import) else (
            [node.module] if isinstance(node, ast.ImportFrom) and node.module and node.level == 0 else [])
        layers |= {name.split(".")[1] for name in names if name.startswith("engine.") and name.count(".") >= 1}
    return layers


@pytest.mark.parametrize("layer", sorted(ABOVE))
def test_a_layer_imports_nothing_from_the_layers_above_it(layer):
    wrong = {f"{path.relative_to(ENGINE.parent)}: engine.{imported}"
             for path in (ENGINE / layer).rglob("*.py")
             for imported in _imported_layers(path) & ABOVE[layer]}
    assert not wrong, sorted(wrong)
