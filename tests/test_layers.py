"""The package's layering: no import cycle between files, and no layer imports one above it.

Every `import` of `kt_toolkit/` is read with `ast`, at module level and inside
functions, `from pkg import name` resolved to the file it runs (as
`shared/tools/import_cycles.py` does).
"""

import ast
import os

import pytest

ROOT = os.path.join(os.path.dirname(os.path.dirname(os.path.abspath(__file__))), "kt_toolkit")

# Lowest first; a file may import files of its own layer or of a lower one.
LAYERS = [
    ("errors", "_io", "_events", "_imports", "compat"),
    ("config",),
    ("data",),
    ("hypermodels", "schedules", "pruning", "callbacks"),
    ("rundir",),
    ("tuners", "_child"),
    ("analysis",),
    ("stages", "proxy", "checks", "experiment", "ablation"),
    ("cli", "_cli_output", "__main__", "__init__", "_keras_hook"),
]


def _module_file(module):
    path = os.path.join(os.path.dirname(ROOT), *module.split("."))
    for candidate in (path + ".py", os.path.join(path, "__init__.py")):
        if os.path.exists(candidate):
            return os.path.relpath(candidate, os.path.dirname(ROOT))
    return None


def _graph():
    graph = {}
    for folder, _, names in os.walk(ROOT):
        for name in names:
            if not name.endswith(".py"):
                continue
            path = os.path.join(folder, name)
            rel = os.path.relpath(path, os.path.dirname(ROOT))
            module = rel[:-3].replace(os.sep, ".")
            package = module if name == "__init__.py" else module.rsplit(".", 1)[0]
            if name == "__init__.py":
                module = module.rsplit(".", 1)[0]
                package = module
            targets = set()
            for node in ast.walk(ast.parse(open(path, encoding="utf-8").read())):
                if isinstance(node, ast.ImportFrom):
                    base = node.module or ""
                    if node.level:
                        parts = package.split(".")[: len(package.split(".")) - node.level + 1]
                        base = ".".join(parts + ([node.module] if node.module else []))
                    if not base.startswith("kt_toolkit"):
                        continue
                    for alias in node.names:
                        found = _module_file(f"{base}.{alias.name}") or _module_file(base)
                        if found:
                            targets.add(found)
                elif isinstance(node, ast.Import):
                    targets.update(_module_file(alias.name) for alias in node.names
                                   if alias.name.startswith("kt_toolkit")
                                   and _module_file(alias.name))
            targets.discard(rel)
            graph[rel] = targets
    return graph


def _layer(path):
    parts = path.split(os.sep)
    top = parts[1][:-3] if parts[1].endswith(".py") else parts[1]
    for index, names in enumerate(LAYERS):
        if top in names:
            return index
    raise AssertionError(f"{path} belongs to no layer: add it to LAYERS")


def test_no_import_cycle_between_files():
    graph = _graph()
    index, low, stack, on, cycles = {}, {}, [], set(), []

    def visit(node):  # Tarjan's strongly connected components
        index[node] = low[node] = len(index)
        stack.append(node)
        on.add(node)
        for other in graph.get(node, ()):
            if other not in index:
                visit(other)
                low[node] = min(low[node], low[other])
            elif other in on:
                low[node] = min(low[node], index[other])
        if low[node] == index[node]:
            component = []
            while True:
                other = stack.pop()
                on.discard(other)
                component.append(other)
                if other == node:
                    break
            if len(component) > 1:
                cycles.append(sorted(component))

    for node in sorted(graph):
        if node not in index:
            visit(node)
    assert cycles == []


def test_no_file_imports_a_layer_above_its_own():
    upward = sorted(f"{source} -> {target}" for source, targets in _graph().items()
                    for target in targets if _layer(target) > _layer(source))
    assert upward == []


@pytest.mark.parametrize("package", ["config", "rundir", "analysis", "pruning"])
def test_pure_layers_import_no_keras(package):
    found = []
    for folder, _, names in os.walk(os.path.join(ROOT, package)):
        for name in (n for n in names if n.endswith(".py")):
            tree = ast.parse(open(os.path.join(folder, name), encoding="utf-8").read())
            for node in ast.walk(tree):
                modules = ([a.name for a in node.names] if isinstance(node, ast.Import)
                           else [node.module or ""] if isinstance(node, ast.ImportFrom)
                           else [])
                found += [f"{name}: {m}" for m in modules
                          if m.split(".")[0] in ("keras", "keras_tuner", "tensorflow")]
    assert found == []


def test_only_compat_reaches_into_keras_tuner_and_keras_internals():
    offenders = []
    for folder, _, names in os.walk(ROOT):
        for name in (n for n in names if n.endswith(".py")):
            path = os.path.join(folder, name)
            text = open(path, encoding="utf-8").read()
            if ("keras_tuner.src" in text or "keras.src" in text) and \
                    os.path.join("kt_toolkit", "compat") not in path:
                offenders.append(os.path.relpath(path, ROOT))
    assert offenders == []
