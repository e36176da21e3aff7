"""No import cycles between the modules of ``monitor``, ``detectors`` and ``alerts``.

The graph is grimp's (the engine behind import-linter): every ``import`` in a module counts,
also those inside functions and under ``TYPE_CHECKING``, because a cycle hidden that way is
still two modules that cannot be understood, tested or moved one without the other.
"""

from __future__ import annotations

import itertools

import grimp

PACKAGES = ("monitor", "detectors", "alerts")


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
