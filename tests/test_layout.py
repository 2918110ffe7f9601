"""The package's shape: module and function sizes, no private names across modules, docstrings.

Parsed with :mod:`ast`, so nothing is imported. A function may exceed the limit only with a
one-line reason in a comment on the line above its ``def`` starting with ``# long:``.
"""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

PACKAGE = Path(__file__).resolve().parent.parent / "toolkit"
MODULE_LIMIT = 600
FUNCTION_LIMIT = 80


def _modules() -> list[Path]:
    return sorted(PACKAGE.rglob("*.py"))


def _module_name(path: Path) -> str:
    parts = list(path.relative_to(PACKAGE.parent).with_suffix("").parts)
    if parts[-1] == "__init__":
        parts.pop()
    return ".".join(parts)


def _functions(tree: ast.AST):
    for node in ast.walk(tree):
        if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef)):
            yield node


def _excused(lines: list[str], node: ast.AST) -> bool:
    first = min([node.lineno, *(decorator.lineno for decorator in node.decorator_list)])
    return first >= 2 and lines[first - 2].strip().startswith("# long:")


@pytest.mark.parametrize("path", _modules(), ids=lambda p: str(p.relative_to(PACKAGE)))
def test_module_is_short_and_says_what_it_does(path: Path) -> None:
    text = path.read_text(encoding="utf-8")
    assert len(text.splitlines()) <= MODULE_LIMIT, f"{path.name}: {len(text.splitlines())} lines"
    docstring = ast.get_docstring(ast.parse(text))
    assert docstring, f"{path}: no module docstring"


def test_no_function_over_the_limit_without_a_reason() -> None:
    too_long = []
    for path in _modules():
        text = path.read_text(encoding="utf-8")
        lines = text.splitlines()
        for node in _functions(ast.parse(text)):
            length = node.end_lineno - node.lineno + 1
            if length > FUNCTION_LIMIT and not _excused(lines, node):
                too_long.append(f"{path.relative_to(PACKAGE)}:{node.lineno} {node.name} ({length} lines)")
    assert not too_long, "functions over 80 lines:\n" + "\n".join(too_long)


def _resolve(module: str, node: ast.ImportFrom) -> str:
    if not node.level:
        return node.module or ""
    package = module.split(".")
    # A module's own package is its name minus the last part; __init__ modules are the package.
    base = package[: len(package) - node.level + (1 if _is_package(module) else 0)]
    return ".".join(base + ([node.module] if node.module else []))


def _is_package(module: str) -> bool:
    return (PACKAGE.parent / module.replace(".", "/") / "__init__.py").exists()


def _private(name: str) -> bool:
    return name.startswith("_") and not name.startswith("__")


#: Private names of other libraries used on purpose, each with the reason (reviewed; keep short).
THIRD_PARTY_PRIVATE = {
    # accelerate keeps its settings in a per-process singleton and offers no public way to change
    # the mixed precision of a later Accelerator; one process fits models with different settings.
    "AcceleratorState._reset_state",
}


def test_no_private_name_is_imported_across_modules() -> None:
    offenders = []
    for path in _modules():
        module = _module_name(path)
        tree = ast.parse(path.read_text(encoding="utf-8"))
        imported_modules: set[str] = set()
        for node in ast.walk(tree):
            if isinstance(node, ast.ImportFrom):
                source = _resolve(module, node)
                for alias in node.names:
                    if _private(alias.name):
                        offenders.append(f"{module}: from {source} import {alias.name}")
                    imported_modules.add(alias.asname or alias.name)
                if any(_private(part) for part in source.split(".")):
                    offenders.append(f"{module}: imports private module {source}")
            elif isinstance(node, ast.Import):
                imported_modules.update(alias.asname or alias.name.split(".")[0] for alias in node.names)
        toolkit_names = {name for name in imported_modules}
        for node in ast.walk(tree):
            # `imported_module._name`: reaching into another module's private parts
            if isinstance(node, ast.Attribute) and isinstance(node.value, ast.Name) and node.value.id in toolkit_names:
                if _private(node.attr) and f"{node.value.id}.{node.attr}" not in THIRD_PARTY_PRIVATE:
                    offenders.append(f"{module}: {node.value.id}.{node.attr}")
    assert not offenders, "private names used across modules:\n" + "\n".join(sorted(set(offenders)))
