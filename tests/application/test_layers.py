"""Dependencies point downward: the store persists without knowing its use cases, the use
cases run without the controller or the server, and core values import no layer at all."""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

import rollwise

ROOT = Path(rollwise.__file__).parent
ABOVE = {
    "core": {"stats", "sdk", "store", "notifiers", "application", "controller", "server", "cli"},
    "store": {"notifiers", "application", "controller", "server", "cli"},
    "notifiers": {"store", "application", "controller", "server", "cli"},
    "application": {"controller", "server", "cli"},
    "controller": {"server", "cli"},
}


def _imported_packages(path: Path) -> set[str]:
    """The rollwise subpackages a module imports (relative imports resolved)."""
    module = ".".join(path.relative_to(ROOT.parent).with_suffix("").parts)
    package = module.split(".")[:-1]  # a module's package; for __init__, its own
    found: set[str] = set()
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        names: list[str] = []
        if isinstance(node, ast.Import):
            names = [alias.name for alias in node.names]
        elif isinstance(node, ast.ImportFrom):
            if node.level:
                base = package[: len(package) - node.level + 1]
                target = ".".join([*base, node.module] if node.module else base)
                names = [target] + [f"{target}.{a.name}" for a in node.names]
            elif node.module:
                names = [node.module]
        for name in names:
            parts = name.split(".")
            if parts[0] == "rollwise" and len(parts) > 1:
                found.add(parts[1])
    return found


@pytest.mark.parametrize("layer", sorted(ABOVE))
def test_a_layer_imports_nothing_above_it(layer: str) -> None:
    wrong = {
        str(path.relative_to(ROOT)): sorted(_imported_packages(path) & ABOVE[layer])
        for path in sorted((ROOT / layer).rglob("*.py"))
    }
    assert {module: above for module, above in wrong.items() if above} == {}
