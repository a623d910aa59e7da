"""The dependency rules of the layers, read from the source with ``ast``.

Infrastructure is what every command stands on, capabilities are the commands' cores,
``render`` turns their reports into text and ``cli`` parses arguments and calls the rest.
Every import counts, wherever it sits: at the top of a module, inside a function or under
``if TYPE_CHECKING:``. ``from cio_sec import x`` where ``x`` is a module counts as importing
``cio_sec.x``; importing ``cio_sec.a.b`` does not count as importing the package ``cio_sec.a``
(its ``__init__`` is an edge of its own when it re-exports).
"""

from __future__ import annotations

import ast
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
PACKAGE = ROOT / "cio_sec"

# The layers, by the first name under ``cio_sec`` (a module or a package).
INFRASTRUCTURE = frozenset(
    {
        "",  # cio_sec/__init__.py
        "atomicfile",
        "bounds",
        "client",
        "errors",
        "logs",
        "machine_key",
        "redact",
        "results",
        "schemas",
        "settings",
        "stores",
        "terminal",
    }
)
CAPABILITIES = frozenset(
    {
        "audit",
        "completion",
        "credentials",
        "erase",
        "pseudonym",
        "purge",
        "rotate",
        "sandbox",
        "sanitize",
        "scan_repo",
        "trail",
        "webhook",
    }
)
PRESENTATION = frozenset({"render"})
# The command line and the two ways into it (``python -m cio_sec`` and the console script).
CLI = frozenset({"cli", "__main__", "fastpath"})
LAYERS = {
    "infrastructure": INFRASTRUCTURE,
    "capability": CAPABILITIES,
    "presentation": PRESENTATION,
    "cli": CLI,
}
#: Third-party packages only the presentation and the command line may import.
USER_INTERFACE_LIBRARIES = frozenset({"typer", "click", "rich"})


@dataclass(frozen=True)
class Import:
    """One import statement's target, as written in one module."""

    source: str
    target: str
    path: Path
    line: int
    where: str  # "top-level", "function-level" or "TYPE_CHECKING"

    def __str__(self) -> str:
        return f"{self.path.relative_to(ROOT)}:{self.line} ({self.where}) imports {self.target}"


def _module_name(path: Path) -> str:
    parts = path.relative_to(ROOT).with_suffix("").parts
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


MODULES = {_module_name(path): path for path in sorted(PACKAGE.rglob("*.py"))}


def _top_name(module: str) -> str:
    """``cio_sec.rotate.flow`` → ``rotate``; the package itself → ``""``."""
    parts = module.split(".")
    return parts[1] if len(parts) > 1 else ""


def layer_of(module: str) -> str | None:
    """The layer a ``cio_sec`` module belongs to, or None when no list names it."""
    top = _top_name(module)
    return next((layer for layer, tops in LAYERS.items() if top in tops), None)


def _is_type_checking(test: ast.expr) -> bool:
    return (isinstance(test, ast.Name) and test.id == "TYPE_CHECKING") or (
        isinstance(test, ast.Attribute) and test.attr == "TYPE_CHECKING"
    )


def _import_nodes(
    node: ast.AST, where: str = "top-level"
) -> Iterator[tuple[ast.Import | ast.ImportFrom, str]]:
    """Every import statement under ``node``, with where it sits."""
    for child in ast.iter_child_nodes(node):
        if isinstance(child, (ast.Import, ast.ImportFrom)):
            yield child, where
        elif isinstance(child, (ast.FunctionDef, ast.AsyncFunctionDef, ast.Lambda)):
            yield from _import_nodes(child, "function-level")
        elif isinstance(child, ast.If) and _is_type_checking(child.test):
            yield from _import_nodes(child, "TYPE_CHECKING" if where == "top-level" else where)
        else:
            yield from _import_nodes(child, where)


def _absolute(node: ast.ImportFrom, source: str, path: Path) -> str:
    if not node.level:
        return node.module or ""
    package = source.split(".") if path.name == "__init__.py" else source.split(".")[:-1]
    base = package[: len(package) - node.level + 1]
    return ".".join([*base, node.module] if node.module else base)


def _targets(node: ast.Import | ast.ImportFrom, source: str, path: Path) -> Iterator[str]:
    if isinstance(node, ast.Import):
        yield from (alias.name for alias in node.names)
        return
    module = _absolute(node, source, path)
    for alias in node.names:
        submodule = f"{module}.{alias.name}"
        # ``from cio_sec import x`` imports the module ``cio_sec.x`` when there is one.
        yield submodule if submodule in MODULES else module


def imports_of(source: str, path: Path, text: str) -> list[Import]:
    """Every import the module ``source`` makes, to ``cio_sec`` modules and to others."""
    tree = ast.parse(text, filename=str(path))
    found = {
        Import(source, target, path, node.lineno, where)
        for node, where in _import_nodes(tree)
        for target in _targets(node, source, path)
    }
    return sorted(found, key=lambda edge: (edge.line, edge.target))


IMPORTS = {source: imports_of(source, path, path.read_text()) for source, path in MODULES.items()}


def _internal(edge: Import) -> bool:
    return edge.target == "cio_sec" or edge.target.startswith("cio_sec.")


def _resolved(target: str) -> str:
    """The ``cio_sec`` module an import lands in (``import cio_sec.a.b.C`` is not valid
    Python, but ``from cio_sec.a import missing`` resolves to ``cio_sec.a``)."""
    while target not in MODULES and "." in target:
        target = target.rsplit(".", 1)[0]
    return target


def _violations(
    sources: Iterable[str], forbidden: str, is_forbidden: Callable[[Import], bool]
) -> list[str]:
    return [
        f"{edge} ({forbidden})"
        for source in sources
        for edge in IMPORTS[source]
        if is_forbidden(edge)
    ]


def _in_layers(*layers: str) -> list[str]:
    """The modules of these layers; a module no list names is held to infrastructure's rules."""
    return [module for module in MODULES if (layer_of(module) or "infrastructure") in layers]


def _fail_on(violations: list[str], rule: str) -> None:
    if violations:
        lines = "\n  ".join(violations)
        pytest.fail(f"{rule}; {len(violations)} import(s) break it:\n  {lines}", pytrace=False)


def test_every_module_belongs_to_a_layer() -> None:
    """A new top-level module or package is placed in a layer on purpose."""
    unplaced = sorted(
        {str(MODULES[module].relative_to(ROOT)) for module in MODULES if layer_of(module) is None}
    )
    if unplaced:
        pytest.fail(
            "these belong to no layer in tests/test_architecture.py (a module no list names "
            "is held to the infrastructure rules):\n  " + "\n  ".join(unplaced),
            pytrace=False,
        )


def test_core_and_infrastructure_never_import_the_user_interface() -> None:
    """No capability or infrastructure module imports cli, render, typer, click or rich."""

    def user_interface(edge: Import) -> bool:
        if _internal(edge):
            return layer_of(_resolved(edge.target)) in ("cli", "presentation")
        return edge.target.split(".")[0] in USER_INTERFACE_LIBRARIES

    violations = _violations(
        _in_layers("infrastructure", "capability"), "the user interface", user_interface
    )
    _fail_on(violations, "core and infrastructure never import cli, render, typer, click or rich")


def test_only_the_cli_and_render_import_typer_click_or_rich() -> None:
    """Nor do the entry points: ``fastpath`` answers completion without loading them."""
    outside = [module for module in MODULES if _top_name(module) not in ("cli", *PRESENTATION)]
    violations = _violations(
        outside,
        "a user-interface library",
        lambda edge: edge.target.split(".")[0] in USER_INTERFACE_LIBRARIES,
    )
    _fail_on(violations, "only cio_sec/cli/ and cio_sec/render/ import typer, click or rich")


def test_the_presentation_never_imports_the_cli() -> None:
    violations = _violations(
        _in_layers("presentation"),
        "the command line",
        lambda edge: _internal(edge) and layer_of(_resolved(edge.target)) == "cli",
    )
    _fail_on(violations, "render never imports cli")


def test_infrastructure_never_imports_a_capability() -> None:
    violations = _violations(
        _in_layers("infrastructure"),
        "a capability",
        lambda edge: _internal(edge) and layer_of(_resolved(edge.target)) == "capability",
    )
    _fail_on(violations, "infrastructure never imports a capability")


def _graph() -> dict[str, dict[str, Import]]:
    """Module → the modules it imports, each with the first statement that does it."""
    graph: dict[str, dict[str, Import]] = {}
    for source, edges in IMPORTS.items():
        targets = graph.setdefault(source, {})
        for edge in edges:
            if _internal(edge):
                targets.setdefault(_resolved(edge.target), edge)
    return graph


def strongly_connected(graph: dict[str, dict[str, Import]]) -> list[list[str]]:
    """Tarjan's components with more than one module, or one that imports itself."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    on_stack: set[str] = set()
    components: list[list[str]] = []

    def visit(node: str) -> None:
        index[node] = low[node] = len(index)
        stack.append(node)
        on_stack.add(node)
        for target in graph.get(node, {}):
            if target not in index:
                visit(target)
                low[node] = min(low[node], low[target])
            elif target in on_stack:
                low[node] = min(low[node], index[target])
        if low[node] == index[node]:
            component = []
            while True:
                member = stack.pop()
                on_stack.discard(member)
                component.append(member)
                if member == node:
                    break
            if len(component) > 1 or node in graph.get(node, {}):
                components.append(sorted(component))

    for node in sorted(graph):
        if node not in index:
            visit(node)
    return sorted(components)


def shortest_cycle(graph: dict[str, dict[str, Import]], component: list[str]) -> list[Import]:
    """The shortest chain of imports from the component's first module back to itself."""
    start = component[0]
    members = set(component)
    came_from: dict[str, Import] = {}
    frontier = [start]
    while frontier:
        following = []
        for node in frontier:
            for target, edge in sorted(graph[node].items()):
                if target not in members or target in came_from:
                    continue
                came_from[target] = edge
                if target == start:
                    chain = [edge]
                    while chain[0].source != start:
                        chain.insert(0, came_from[chain[0].source])
                    return chain
                following.append(target)
        frontier = following
    raise AssertionError(f"{component} is not a cycle")


def _describe(component: list[str], chain: list[Import]) -> str:
    described = " -> ".join([chain[0].source, *(edge.target for edge in chain)])
    if len(component) > len(chain):
        described += f"\n    (one cycle of {len(component)} modules tied together: "
        described += ", ".join(component) + ")"
    return described + "".join(f"\n      {edge}" for edge in chain)


def test_the_module_import_graph_has_no_cycle() -> None:
    graph = _graph()
    components = strongly_connected(graph)
    if components:
        described = [_describe(c, shortest_cycle(graph, c)) for c in components]
        pytest.fail(
            f"{len(components)} import cycle(s):\n  " + "\n  ".join(described), pytrace=False
        )


# The checker itself, on a small made-up graph, so a rule cannot pass by seeing nothing.


def _edge(source: str, target: str) -> Import:
    return Import(source, target, ROOT / "cio_sec" / "x.py", 1, "top-level")


def test_a_cycle_is_found_and_told_as_a_chain() -> None:
    graph = {
        "a": {"b": _edge("a", "b")},
        "b": {"c": _edge("b", "c")},
        "c": {"a": _edge("c", "a"), "d": _edge("c", "d")},
        "d": {},
        "e": {"e": _edge("e", "e")},
    }
    assert strongly_connected(graph) == [["a", "b", "c"], ["e"]]
    assert [edge.target for edge in shortest_cycle(graph, ["a", "b", "c"])] == ["b", "c", "a"]
    assert [edge.target for edge in shortest_cycle(graph, ["e"])] == ["e"]


_SAMPLE = """
from __future__ import annotations
import json
from typing import TYPE_CHECKING
from cio_sec import errors
from cio_sec.errors import ConfigError
from . import redact
from .stores import memory

if TYPE_CHECKING:
    from rich.console import Console

def run() -> None:
    import cio_sec.cli
    if True:
        from cio_sec.rotate import flow
"""


def test_every_kind_of_import_is_counted() -> None:
    path = PACKAGE / "sample.py"
    found = {
        (edge.target, edge.where, edge.line) for edge in imports_of("cio_sec.sample", path, _SAMPLE)
    }
    assert found == {
        ("__future__", "top-level", 2),
        ("json", "top-level", 3),
        ("typing", "top-level", 4),
        ("cio_sec.errors", "top-level", 5),
        ("cio_sec.errors", "top-level", 6),
        ("cio_sec.redact", "top-level", 7),
        ("cio_sec.stores.memory", "top-level", 8),
        ("rich.console", "TYPE_CHECKING", 11),
        ("cio_sec.cli", "function-level", 14),
        ("cio_sec.rotate.flow", "function-level", 16),
    }


def test_an_import_names_its_file_and_line() -> None:
    edge = Import("cio_sec.output", "cio_sec.erase", PACKAGE / "output.py", 12, "function-level")
    assert str(edge) == "cio_sec/output.py:12 (function-level) imports cio_sec.erase"


@pytest.mark.parametrize(
    ("module", "layer"),
    [
        ("cio_sec", "infrastructure"),
        ("cio_sec.stores.chain", "infrastructure"),
        ("cio_sec.rotate.flow", "capability"),
        ("cio_sec.render.sarif", "presentation"),
        ("cio_sec.cli.erase", "cli"),
        ("cio_sec.fastpath", "cli"),
        ("cio_sec.output", None),
    ],
)
def test_layer_of(module: str, layer: str | None) -> None:
    assert layer_of(module) == layer
