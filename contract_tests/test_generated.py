"""Generated cases (schemathesis): the spec's examples, its coverage cases and fuzzing, positive and negative data,
sent to the run's target through the run's bounded transport and judged by the custom checks in
contract_suite/schemathesis_layer/checks.py (the engine: contract_suite/schemathesis_layer/cases.py)."""

from __future__ import annotations

import pytest

from contract_suite.pytest.translation import as_pytest_outcomes
from contract_suite.schemathesis_layer.cases import phase_schemas, send_and_judge

pytestmark = pytest.mark.generated


@pytest.fixture(scope="session")  # hypothesis refuses function-scoped fixtures: they would not reset between cases
def generated_target(target):
    with as_pytest_outcomes():
        target.token("valid")  # skips, naming the profile key, when there is no token to send
    return target


def cases_for(session) -> dict:
    """The generated layer's tests, built from the session's settings (the spec, its seed and budget, the options):
    the plugin's collector calls this with the run's session, since schemathesis builds its tests from a schema
    loaded before any fixture exists."""
    phases = phase_schemas(session.settings)

    @phases["examples"].parametrize()
    def test_examples(case, generated_target):
        """The spec's own example request."""
        with as_pytest_outcomes():  # inside hypothesis: a case that cannot be judged stops the phase at once
            send_and_judge(case, generated_target)

    @phases["coverage"].parametrize()
    def test_coverage(case, generated_target):
        """Deterministic cases from the spec: each required parameter missing, the token missing, other methods."""
        with as_pytest_outcomes():
            send_and_judge(case, generated_target)

    @phases["fuzzing"].parametrize()
    def test_fuzzing(case, generated_target):
        """Random positive and negative requests, --generated-examples of them."""
        with as_pytest_outcomes():
            send_and_judge(case, generated_target)

    return {"test_examples": test_examples, "test_coverage": test_coverage, "test_fuzzing": test_fuzzing}
