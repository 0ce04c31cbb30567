"""Spec lint: the contract document is valid, self-consistent, and says what its source page says.

Alone on any spec: `pytest contract_tests/test_spec_lint.py --spec PATH [--knife4j-page PAGE]`.
"""

import pytest

from contract_suite.openapi import lint

pytestmark = pytest.mark.lint


def _report(problems: list) -> str:
    return f"{len(problems)} problem(s):\n" + "\n".join(f"  {p}" for p in problems)


@pytest.mark.parametrize(
    "rule",
    [
        pytest.param(lint.openapi_validity, id="openapi-valid"),
        pytest.param(lint.examples_match_schemas, id="examples-fit-schemas"),
        pytest.param(lint.business_codes, id="business-codes-consistent"),
        pytest.param(lint.codes_shown_to_readers, id="codes-shown-to-readers"),
        pytest.param(lint.blank_is_missing, id="blank-is-missing"),
    ],
)
def test_spec_rule(rule, spec_document):
    problems = rule(spec_document)
    if problems:
        pytest.fail(_report(problems), pytrace=False)


def test_no_drift_from_knife4j_page(spec_document, knife4j_page):
    problems = lint.drift(spec_document, knife4j_page)
    if problems:
        pytest.fail(_report(problems), pytrace=False)
