"""The package's layout holds what docs/engine.md says: the engine, the transport, the spec loader and the profile
code never import pytest; the engine reads no URL back and imports nothing above it (the reports, the pytest glue,
the generated layer); and no module of the package imports, at its top, one that imports it back."""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

from contract_suite.openapi.spec import PROJECT_ROOT

pytestmark = pytest.mark.selftest

PACKAGE = PROJECT_ROOT / "contract_suite"
FREE_OF_PYTEST = ("engine", "http", "openapi", "target_data", "outcomes.py", "secrets.py")
ABOVE_THE_ENGINE = ("contract_suite.reporting", "contract_suite.pytest", "contract_suite.schemathesis_layer")


def module_name(path: Path) -> str:
    parts = path.relative_to(PROJECT_ROOT).with_suffix("").parts
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


def top_level_imports(path: Path) -> set[str]:
    """The modules a file imports when it is imported (not those under `if TYPE_CHECKING:` or inside functions)."""
    found: set[str] = set()
    for node in ast.parse(path.read_text(encoding="utf-8")).body:
        if isinstance(node, ast.Import):
            found |= {alias.name for alias in node.names}
        elif isinstance(node, ast.ImportFrom) and node.module and not node.level:
            found.add(node.module)
            found |= {f"{node.module}.{alias.name}" for alias in node.names}
    return found


MODULES = {module_name(path): top_level_imports(path) for path in sorted(PACKAGE.rglob("*.py"))}


@pytest.mark.parametrize("part", FREE_OF_PYTEST)
def test_the_engine_transport_spec_and_profile_code_never_import_pytest(part):
    inside = [name for name in MODULES if name.startswith(f"contract_suite.{part.removesuffix('.py')}")]
    assert inside
    importing = [
        name for name in inside if any(i == "pytest" or i.startswith(("pytest.", "_pytest")) for i in MODULES[name])
    ]
    assert importing == []


def test_the_engine_imports_nothing_above_it_and_reads_no_url_back():
    for name, imports in MODULES.items():
        if not name.startswith("contract_suite.engine"):
            continue
        assert not [i for i in imports if i.startswith(ABOVE_THE_ENGINE)], name
        assert "urllib.parse.urlsplit" not in imports and "urllib.parse.parse_qsl" not in imports, name


def test_no_import_loop_among_the_packages_modules():
    graph = {name: {i for i in imports if i in MODULES and i != name} for name, imports in MODULES.items()}
    done: set[str] = set()

    def visit(name: str, path: tuple[str, ...]) -> None:
        if name in path:
            raise AssertionError(f"import loop: {' -> '.join(path[path.index(name) :] + (name,))}")
        if name in done:
            return
        for imported in graph[name]:
            visit(imported, path + (name,))
        done.add(name)

    for name in graph:
        visit(name, ())
