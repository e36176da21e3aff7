"""No import cycles between the modules of ``monitor``, ``detectors`` and ``alerts``, and the
packages layered: a lower layer never imports a higher one.

The graph is grimp's (the engine behind import-linter): every ``import`` in a module counts,
also those inside functions and under ``TYPE_CHECKING``, because a cycle hidden that way is
still two modules that cannot be understood, tested or moved one without the other.
"""

from __future__ import annotations

import itertools

import grimp

PACKAGES = ("monitor", "detectors", "alerts")

# Highest first; each layer may import those below it, never one above. Packages in one layer
# are independent of each other (neither imports the other). Shared building blocks that every
# layer uses (the models, the metrics registry, the HTTP message types) sit at the bottom.
LAYERS = (
    ("monitor.__main__",),
    ("monitor.cli",),  # the commands: may use everything
    ("monitor.runtime", "monitor.offline"),  # the daemon; replay, backtest and other tools
    ("monitor.pipeline",),  # ingest, buckets, detection, notification, delivery
    ("alerts",),  # what a notification looks like and where it is sent
    ("monitor.credentials",),
    ("monitor.settings",),
    ("monitor.settings_values",),
    ("monitor.sources", "monitor.sentiment", "monitor.store", "detectors"),
    ("monitor.secrets", "monitor.metrics", "monitor.http_messages"),
    ("monitor.models",),
)


def cycles(graph: grimp.ImportGraph) -> list[list[str]]:
    """One shortest cycle per strongly connected group of modules, each as ``[a, b, ..., a]``."""
    found = []
    for group in _strongly_connected(graph):
        start = min(group)
        candidates = []
        for imported in sorted(graph.find_modules_directly_imported_by(start) & group):
            back = graph.find_shortest_chain(importer=imported, imported=start)
            if back is not None:
                candidates.append([start, *back])
        found.append(min(candidates, key=len))
    return sorted(found)


def describe(graph: grimp.ImportGraph, cycle: list[str]) -> str:
    """The cycle with the line that makes each step, e.g. ``a:12 imports b``."""
    steps = []
    for importer, imported in itertools.pairwise(cycle):
        details = graph.get_import_details(importer=importer, imported=imported)
        line = details[0]["line_number"] if details else "?"
        steps.append(f"  {importer}:{line} imports {imported}")
    return " → ".join(cycle) + "\n" + "\n".join(steps)


def layer_violations(graph: grimp.ImportGraph, layers: tuple[tuple[str, ...], ...]) -> list[str]:
    """Each import that goes up a layer (or across one layer's packages), as
    ``low.module:12 imports high.module``; one through modules outside every layer names the
    whole chain (``... imports outside → high.module``)."""
    found = set()
    for dependency in graph.find_illegal_dependencies_for_layers(
        [grimp.Layer(*layer, independent=True) for layer in layers]
    ):
        for route in dependency.routes:
            for importer in sorted(route.heads):
                imported = route.middle[0] if route.middle else min(route.tails)
                details = graph.get_import_details(importer=importer, imported=imported)
                line = details[0]["line_number"] if details else "?"
                rest = [*route.middle[1:], min(route.tails)] if route.middle else []
                found.add(" → ".join([f"{importer}:{line} imports {imported}", *rest]))
    return sorted(found)


def _strongly_connected(graph: grimp.ImportGraph) -> list[set[str]]:
    """Tarjan's algorithm, iteratively (no recursion limit); groups of two or more modules."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    on_stack: set[str] = set()
    groups: list[set[str]] = []
    for root in sorted(graph.modules):
        if root in index:
            continue
        work = [(root, iter(sorted(graph.find_modules_directly_imported_by(root))))]
        index[root] = low[root] = len(index)
        stack.append(root)
        on_stack.add(root)
        while work:
            module, imports = work[-1]
            for imported in imports:
                if imported not in index:
                    index[imported] = low[imported] = len(index)
                    stack.append(imported)
                    on_stack.add(imported)
                    work.append(
                        (imported, iter(sorted(graph.find_modules_directly_imported_by(imported))))
                    )
                    break
                if imported in on_stack:
                    low[module] = min(low[module], index[imported])
            else:
                work.pop()
                if work:
                    parent = work[-1][0]
                    low[parent] = min(low[parent], low[module])
                if low[module] == index[module]:
                    group = set()
                    while True:
                        member = stack.pop()
                        on_stack.discard(member)
                        group.add(member)
                        if member == module:
                            break
                    if len(group) > 1:
                        groups.append(group)
    return groups


def test_the_packages_import_each_other_without_cycles() -> None:
    graph = grimp.build_graph(*PACKAGES, cache_dir=None)
    assert len(graph.modules) > 50  # the packages were found, not an empty graph
    found = cycles(graph)
    assert not found, "import cycles:\n" + "\n".join(describe(graph, c) for c in found)


def test_no_package_imports_one_from_a_higher_layer() -> None:
    graph = grimp.build_graph(*PACKAGES, cache_dir=None)
    found = layer_violations(graph, LAYERS)
    assert not found, "imports against the layering:\n" + "\n".join(found)


def test_a_lower_layer_importing_a_higher_one_is_named() -> None:
    graph = grimp.ImportGraph()
    for package in ("pkg", "pkg.top", "pkg.low"):  # grimp checks layers that are modules
        graph.add_module(package)
    for importer, imported in [
        ("pkg.top.a", "pkg.low.b"),  # allowed: down a layer
        ("pkg.low.b", "pkg.base"),
        ("pkg.low.c", "pkg.top.a"),  # up a layer
        ("pkg.left", "pkg.right"),  # across two independent packages of one layer
        ("pkg.base", "pkg.outside"),  # up again, through a module in no layer
        ("pkg.outside", "pkg.low.b"),
    ]:
        graph.add_import(importer=importer, imported=imported, line_number=3, line_contents="")
    layers = (("pkg.top",), ("pkg.low", "pkg.left", "pkg.right"), ("pkg.base",))
    assert layer_violations(graph, layers) == [
        "pkg.base:3 imports pkg.outside → pkg.low.b",
        "pkg.left:3 imports pkg.right",
        "pkg.low.c:3 imports pkg.top.a",
    ]


def test_a_cycle_is_found_and_named_by_its_shortest_loop() -> None:
    graph = grimp.ImportGraph()
    for importer, imported in [
        ("pkg.a", "pkg.b"),
        ("pkg.b", "pkg.c"),
        ("pkg.c", "pkg.a"),  # a → b → c → a
        ("pkg.b", "pkg.a"),  # and the shorter a → b → a
        ("pkg.c", "pkg.d"),
        ("pkg.e", "pkg.f"),
        ("pkg.f", "pkg.e"),  # a second, separate cycle
    ]:
        graph.add_import(importer=importer, imported=imported, line_number=7, line_contents="")
    assert cycles(graph) == [["pkg.a", "pkg.b", "pkg.a"], ["pkg.e", "pkg.f", "pkg.e"]]
    assert "  pkg.a:7 imports pkg.b" in describe(graph, ["pkg.a", "pkg.b", "pkg.a"])


def test_a_graph_without_cycles_passes() -> None:
    graph = grimp.ImportGraph()
    graph.add_import(importer="pkg.a", imported="pkg.b")
    graph.add_import(importer="pkg.b", imported="pkg.c")
    graph.add_import(importer="pkg.a", imported="pkg.c")
    assert cycles(graph) == []
