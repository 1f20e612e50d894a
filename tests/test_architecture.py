"""Dependencies point inward and form no circle.

Every import counts: at module level, inside functions (lazy imports hide a dependency, they do not
remove it) and relative ones, resolved to the module they name. The layers are
core <- backends <- config <- {offline, live} <- server <- cli, with offline and live as siblings
(neither imports the other); `visage.config` (settings and the builders of voice, brain and renderer)
is shared by every outer layer; `visage.errors` sits under everything and the package facade above
everything.
"""
import ast
from pathlib import Path

import pytest

SRC = Path(__file__).resolve().parents[1] / "src" / "visage"
FORBIDDEN_IN_CORE = {"asyncio", "fastapi", "starlette", "uvicorn", "aiortc", "aiohttp", "httpx", "pipecat",
                     "websockets"}
RANK = {"errors": 0, "core": 1, "backends": 2, "config": 3, "offline": 4, "live": 4, "server": 5, "cli": 6}
FACADE = "visage"  # visage/__init__.py may gather from every layer


def module_files() -> dict[str, Path]:
    mods = {}
    for path in SRC.rglob("*.py"):
        parts = list(path.relative_to(SRC.parent).with_suffix("").parts)
        if parts[-1] == "__init__":
            parts = parts[:-1]
        mods[".".join(parts)] = path
    return mods


MODULES = module_files()


def imported_names(module: str, path: Path) -> set[str]:
    """Every name `module` imports anywhere in its body, relative imports made absolute; for
    `from a import b` both a.b (it may be a module) and a."""
    package = module.split(".") if path.name == "__init__.py" else module.split(".")[:-1]
    names: set[str] = set()
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.Import):
            names |= {a.name for a in node.names}
        elif isinstance(node, ast.ImportFrom):
            base = ".".join(package[: len(package) - node.level + 1]) if node.level else ""
            source = ".".join(x for x in (base, node.module or "") if x)
            names.add(source)
            names |= {f"{source}.{a.name}" for a in node.names}
    return names


def resolve(name: str) -> str:
    """The visage module a dotted name lives in ("" for other packages)."""
    while name and name not in MODULES:
        name = name.rsplit(".", 1)[0] if "." in name else ""
    return name


def dependency_graph() -> dict[str, set[str]]:
    """Module -> the visage modules it imports (a package's own parents excluded: importing
    visage.backends.tts.base runs visage.backends.tts first, which is not a dependency of choice)."""
    graph = {}
    for module, path in MODULES.items():
        targets = {resolve(n) for n in imported_names(module, path)}
        graph[module] = {t for t in targets if t and t != module and not module.startswith(t + ".")}
    return graph


GRAPH = dependency_graph()


def find_cycle(graph: dict[str, set[str]]) -> list[str] | None:
    done, on_path, path = set(), set(), []

    def visit(node):
        on_path.add(node)
        path.append(node)
        for nxt in sorted(graph.get(node, ())):
            if nxt in on_path:
                return path[path.index(nxt):] + [nxt]
            if nxt not in done and (found := visit(nxt)):
                return found
        on_path.discard(node)
        path.pop()
        done.add(node)
        return None

    for node in sorted(graph):
        if node not in done and (found := visit(node)):
            return found
    return None


def layer_of(module: str) -> str:
    parts = module.split(".")
    return FACADE if len(parts) == 1 else parts[1]


def test_every_module_is_in_a_layer():
    unknown = {m for m in MODULES if layer_of(m) not in RANK and m != FACADE}
    assert not unknown, f"modules outside the layers {sorted(RANK)}: {sorted(unknown)}"


def test_core_is_plain_synchronous_python():
    for module, path in MODULES.items():
        if layer_of(module) == "core":
            bad = {n for n in imported_names(module, path) if n.split(".")[0] in FORBIDDEN_IN_CORE}
            assert not bad, f"{path.name} imports {bad}"


@pytest.mark.parametrize("layer", sorted(RANK))
def test_layers_import_inward_only(layer):
    for module, targets in GRAPH.items():
        if layer_of(module) != layer:
            continue
        for target in targets:
            other = layer_of(target)
            assert other != FACADE, f"{module} imports the facade {target}: import from the layer itself"
            assert RANK[other] < RANK[layer] or other == layer, f"{module} imports {target} (layer {other})"


def test_there_is_no_import_cycle():
    cycle = find_cycle(GRAPH)
    assert cycle is None, "import cycle: " + " -> ".join(cycle)


def test_backend_kinds_do_not_import_each_other_in_a_circle():
    """tts, align, llm, ... (and shared pieces such as espeak and http) as nodes: a voice may use an
    aligner, but then no aligner may reach back into the voices."""
    def kind(module: str) -> str | None:
        parts = module.split(".")
        return parts[2] if len(parts) > 2 and parts[1] == "backends" else None

    kinds: dict[str, set[str]] = {}
    for module, targets in GRAPH.items():
        if (k := kind(module)) is not None:
            kinds.setdefault(k, set()).update(t for t in map(kind, targets) if t is not None and t != k)
    cycle = find_cycle(kinds)
    assert cycle is None, "backend kinds in a circle: " + " -> ".join(cycle)


def test_the_graph_sees_lazy_and_relative_imports(tmp_path):
    """The checks above can fail: an import inside a function counts, and a relative one is resolved."""
    assert "visage.backends.align" in GRAPH["visage.backends.tts"]  # create_tts imports it lazily
    assert find_cycle({"a": {"b"}, "b": {"c"}, "c": {"a"}}) == ["a", "b", "c", "a"]
    source = tmp_path / "__init__.py"
    source.write_text("def f():\n    from .core import types\n    from ..elsewhere import x\n")
    names = imported_names("visage", source)
    assert "visage.core.types" in names and resolve("visage.core.types") == "visage.core.types"
