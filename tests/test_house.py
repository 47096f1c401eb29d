"""The house stays one a newcomer can read: no module over 400 lines and no function over 60 in
app/ (the method's definition, which is data, aside), and no cycle among the modules' top-level
imports (a cycle is a sign that a piece sits in the wrong module)."""

from __future__ import annotations

import ast
from pathlib import Path

APP = Path(__file__).resolve().parent.parent / "app"
DATA_MODULES = {"method/definition.py"}


def _modules():
    for path in sorted(APP.rglob("*.py")):
        yield path, path.relative_to(APP).as_posix()


def test_no_module_over_400_lines_and_no_function_over_60():
    long_modules = [name for path, name in _modules() if name not in DATA_MODULES and len(path.read_text().splitlines()) > 400]
    long_functions = [f"{name}:{node.name} ({node.end_lineno - node.lineno + 1})" for path, name in _modules()
                      for node in ast.walk(ast.parse(path.read_text()))
                      if isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef) and node.end_lineno - node.lineno + 1 > 60]
    assert long_modules == [] and long_functions == []


def _module_name(name: str) -> str:
    parts = ["app", *name[:-3].split("/")]
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


def _top_level_imports(path: Path, module: str, known: set[str]) -> set[str]:
    found = set()
    for node in ast.parse(path.read_text()).body:  # module level only: a function's import runs when it is called
        if isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            for alias in node.names:
                candidate = f"{node.module}.{alias.name}"
                found.add(candidate if candidate in known else node.module)
        elif isinstance(node, ast.Import):
            found.update(a.name for a in node.names)
    return {m for m in found if m in known and m != module}


def test_no_cycle_among_top_level_imports():
    modules = {_module_name(name): path for path, name in _modules()}
    graph = {m: _top_level_imports(p, m, set(modules)) for m, p in modules.items()}
    packages = {m for m, p in modules.items() if p.name == "__init__.py"}
    cycles = []

    def visit(node: str, trail: list[str]) -> None:
        for nxt in graph[node]:
            if nxt in packages or node in packages:
                continue  # a package re-exporting its modules is no cycle of the code
            if nxt in trail:
                cycles.append(" -> ".join(trail[trail.index(nxt):] + [nxt]))
            elif len(trail) < 12:
                visit(nxt, trail + [nxt])

    for start in graph:
        visit(start, [start])
    assert sorted(set(cycles)) == []
