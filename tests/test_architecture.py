"""Dependencies point inward: the core imports no web or async framework, nor any outer layer."""
import ast
from pathlib import Path

import pytest

SRC = Path(__file__).resolve().parents[1] / "src" / "visage"
FORBIDDEN_IN_CORE = {"asyncio", "fastapi", "starlette", "uvicorn", "aiortc", "aiohttp", "httpx", "pipecat",
                     "websockets"}
LAYERS = ["core", "backends", "offline", "live", "server", "cli"]  # each may import only those to its left


def imports_of(path: Path) -> set[str]:
    tree = ast.parse(path.read_text(encoding="utf-8"))
    names = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            names |= {a.name for a in node.names}
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            names.add(node.module)
    return names


def test_core_is_plain_synchronous_python():
    for path in (SRC / "core").rglob("*.py"):
        bad = {n for n in imports_of(path) if n.split(".")[0] in FORBIDDEN_IN_CORE}
        assert not bad, f"{path.name} imports {bad}"


@pytest.mark.parametrize("layer", LAYERS)
def test_layers_import_inward_only(layer):
    outer = LAYERS[LAYERS.index(layer) + 1 :]
    for path in (SRC / layer).rglob("*.py"):
        for name in imports_of(path):
            parts = name.split(".")
            if parts[0] == "visage" and len(parts) > 1:
                assert parts[1] not in outer, f"{path.relative_to(SRC)} imports outer layer {name}"
