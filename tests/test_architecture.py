"""The shape of the code, read from the source: dependencies point one way, no module imports
itself back, and access decisions live in the policy module alone.

Imports are read with ``ast`` (nothing is imported), from every module of the project's packages
except migrations. ``docs/architecture.md`` describes the layers checked here.
"""

from __future__ import annotations

import ast
import re
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
PACKAGES = (
    "accounts",
    "audit",
    "indicators",
    "assessments",
    "reports",
    "notifications",
    "demo",
    "govcloud_eval",
)

# Which part may import which: a module may import its own part and the parts of a lower or equal
# layer. accounts and audit are the foundation (who, and what happened) and use each other;
# indicators is above them; assessments above indicators; reports on top, in three parts that
# build on each other (scoring, then certified reports, then rankings); the demo data and the
# project package (urls, the dashboard and the menu) may use everything.
LAYERS: dict[str, float] = {
    # Reading stored files as streams (evidence, reports, objections): below everything, it
    # imports no project module, so that views of every layer may use it.
    "govcloud_eval.storage": -1,
    # The list toolkit (filters, pagination, XLSX/CSV exports): the same, for every list.
    "govcloud_eval.listing": -1,
    # How large a body each page accepts, and reading posted ids: the same, for every view.
    "govcloud_eval.limits": -1,
    "govcloud_eval.forms": -1,
    "govcloud_eval.clientip": -1,
    # The API's error shape, paging, throttles and schema hooks: the same, for every API view.
    "govcloud_eval.api": -1,
    "accounts": 0,
    "audit": 0,
    "indicators": 1,
    "assessments": 2,
    "reports.scoring": 3.0,
    "reports.certified": 3.1,
    "reports.rankings": 3.2,
    # OSCAL assessment results of an approved assessment and of a published ranking.
    "reports.oscal": 3.3,
    "reports": 3.9,  # the app's glue: models, admin, urls, apps, template tags, commands
    "demo": 4,
    # Notifications: told of every workflow event through audit.signals, so it may read all.
    "notifications": 4,
    "govcloud_eval": 4,
}


@dataclass(frozen=True)
class Import:
    source: str  # the importing module
    target: str  # the imported project module
    line: int
    module_level: bool  # runs when the module is imported (not inside a function)


def _module_name(path: Path) -> str:
    parts = list(path.relative_to(ROOT).with_suffix("").parts)
    if parts[-1] == "__init__":
        parts = parts[:-1]
    return ".".join(parts)


def _modules() -> dict[str, Path]:
    found = {}
    for package in PACKAGES:
        for path in (ROOT / package).rglob("*.py"):
            if "migrations" in path.parts:
                continue
            found[_module_name(path)] = path
    return found


MODULES = _modules()


def _resolve(name: str) -> str | None:
    """The project module ``name`` refers to, or the nearest enclosing one; None if outside."""
    while name:
        if name in MODULES:
            return name
        name = name.rpartition(".")[0]
    return None


def _is_type_checking(test: ast.expr) -> bool:
    return (isinstance(test, ast.Name) and test.id == "TYPE_CHECKING") or (
        isinstance(test, ast.Attribute) and test.attr == "TYPE_CHECKING"
    )


def _imports(module: str, path: Path) -> Iterator[Import]:
    tree = ast.parse(path.read_text(encoding="utf-8"))
    package = module if path.name == "__init__.py" else module.rpartition(".")[0]

    def visit(node: ast.AST, module_level: bool) -> Iterator[Import]:
        for child in ast.iter_child_nodes(node):
            if isinstance(child, ast.If) and _is_type_checking(child.test):
                continue  # annotations only: never runs
            if isinstance(child, ast.FunctionDef | ast.AsyncFunctionDef | ast.Lambda):
                yield from visit(child, False)
                continue
            if isinstance(child, ast.Import):
                for alias in child.names:
                    target = _resolve(alias.name)
                    if target:
                        yield Import(module, target, child.lineno, module_level)
            elif isinstance(child, ast.ImportFrom):
                base = child.module or ""
                if child.level:
                    anchor = package.split(".")
                    anchor = anchor[: len(anchor) - (child.level - 1)]
                    base = ".".join([*anchor, base] if base else anchor)
                for alias in child.names:
                    target = _resolve(f"{base}.{alias.name}") or _resolve(base)
                    if target:
                        yield Import(module, target, child.lineno, module_level)
            else:
                yield from visit(child, module_level)

    yield from visit(tree, True)


IMPORTS = [imp for module, path in MODULES.items() for imp in _imports(module, path)]


def _layer(module: str) -> tuple[str, float]:
    for part in sorted(LAYERS, key=len, reverse=True):
        if module == part or module.startswith(part + "."):
            return part, LAYERS[part]
    raise AssertionError(f"{module} belongs to no layer: add its package to LAYERS")


def test_dependencies_point_one_way() -> None:
    """No module imports a part above its own (at module level or inside a function)."""
    upward = []
    for imp in IMPORTS:
        source_part, source_layer = _layer(imp.source)
        target_part, target_layer = _layer(imp.target)
        if target_part != source_part and target_layer > source_layer:
            upward.append(f"{imp.source}:{imp.line} imports {imp.target}")
    assert upward == []


def test_no_module_level_import_cycle() -> None:
    graph: dict[str, set[str]] = {m: set() for m in MODULES}
    for imp in IMPORTS:
        if imp.module_level and imp.target != imp.source:
            graph[imp.source].add(imp.target)
    cycles = [sorted(c) for c in _strongly_connected(graph) if len(c) > 1]
    assert cycles == []


def _strongly_connected(graph: dict[str, set[str]]) -> list[list[str]]:
    """Tarjan's algorithm, iterative."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    on_stack: set[str] = set()
    stack: list[str] = []
    components: list[list[str]] = []
    counter = 0
    for root in graph:
        if root in index:
            continue
        work = [(root, iter(sorted(graph[root])))]
        index[root] = low[root] = counter
        counter += 1
        stack.append(root)
        on_stack.add(root)
        while work:
            node, children = work[-1]
            advanced = False
            for child in children:
                if child not in index:
                    index[child] = low[child] = counter
                    counter += 1
                    stack.append(child)
                    on_stack.add(child)
                    work.append((child, iter(sorted(graph[child]))))
                    advanced = True
                    break
                if child in on_stack:
                    low[node] = min(low[node], index[child])
            if advanced:
                continue
            work.pop()
            if work:
                parent = work[-1][0]
                low[parent] = min(low[parent], low[node])
            if low[node] == index[node]:
                component = []
                while True:
                    item = stack.pop()
                    on_stack.discard(item)
                    component.append(item)
                    if item == node:
                        break
                components.append(component)
    return components


def test_the_cycle_finder_finds_a_cycle() -> None:
    graph = {"a": {"b"}, "b": {"c"}, "c": {"a"}, "d": {"a"}}
    assert sorted(sorted(c) for c in _strongly_connected(graph) if len(c) > 1) == [["a", "b", "c"]]


# Comparisons of a user's role, in Python and in templates.
ROLE_COMPARISON = re.compile(
    r"\.role\s*(==|!=|\bin\b|\bnot in\b)|\bRole\.(ADMIN|ASSESSOR|VENDOR|OWNER|AUDITOR)\b.*"
    r"(==|!=)|user\.role\s*[=!]=|\brole\s+(==|!=)\s*[\"']"
)


def test_role_comparisons_appear_only_in_the_policy_module() -> None:
    allowed = {ROOT / "accounts" / "policy.py", ROOT / "accounts" / "models.py"}
    found = []
    files = [p for p in MODULES.values() if p not in allowed]
    files += list((ROOT / "templates").rglob("*.html"))
    for path in files:
        for number, line in enumerate(path.read_text(encoding="utf-8").splitlines(), 1):
            if ROLE_COMPARISON.search(line):
                found.append(f"{path.relative_to(ROOT)}:{number}: {line.strip()}")
    assert found == []


def test_the_role_comparison_pattern_sees_the_usual_spellings() -> None:
    for line in (
        "if user.role == User.Role.ADMIN:",
        "if user.role != User.Role.ADMIN:",
        "if user.role in (User.Role.ADMIN, User.Role.AUDITOR):",
        '{% if user.role == "admin" %}',
        "{% if user.role != 'vendor' %}",
    ):
        assert ROLE_COMPARISON.search(line), line
