"""The contract suite's pytest plugin: options, the spec and target fixtures, the run's header."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from contract_suite import knife4j, spec

DEFAULT_PAGE = spec.PROJECT_ROOT.parent / "shared" / "seed" / "setPhone.md"


def pytest_addoption(parser: pytest.Parser) -> None:
    group = parser.getgroup("contract", "setPhone contract suite")
    group.addoption(
        "--spec",
        default=os.environ.get("CONTRACT_SPEC"),
        metavar="PATH",
        help="OpenAPI document holding the contract (env CONTRACT_SPEC; default: spec/openapi.yaml of this project)",
    )
    group.addoption(
        "--knife4j-page",
        default=os.environ.get("CONTRACT_KNIFE4J_PAGE"),
        metavar="PATH",
        help=f"knife4j markdown page the spec is checked against for drift (env CONTRACT_KNIFE4J_PAGE; default: {DEFAULT_PAGE} when it exists)",
    )


@pytest.fixture(scope="session")
def spec_path(pytestconfig: pytest.Config) -> Path:
    return Path(pytestconfig.getoption("spec") or spec.DEFAULT_SPEC).resolve()


@pytest.fixture(scope="session")
def spec_document(spec_path: Path) -> dict:
    try:
        return spec.load_document(spec_path)
    except spec.SpecError as exc:
        pytest.fail(str(exc), pytrace=False)


@pytest.fixture(scope="session")
def knife4j_page(pytestconfig: pytest.Config) -> knife4j.Page:
    given = pytestconfig.getoption("knife4j_page")
    path = Path(given) if given else DEFAULT_PAGE
    if not path.is_file():
        if given:
            pytest.fail(f"--knife4j-page {path}: no such file", pytrace=False)
        pytest.skip(f"no knife4j page to check drift against: {path} does not exist (give one with --knife4j-page)")
    return knife4j.parse_file(path)
