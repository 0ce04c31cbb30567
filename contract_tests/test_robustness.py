"""Robustness: a fully valid request with one parameter holding a value far outside the usual shape
(very long, non-ASCII, control characters, quotes, markup) still gets HTTP 200, the envelope and a
documented code, and never success: the page implies it (every outcome is one of its codes) but does
not state it."""

import pytest

from contract_suite.pytest.cases import primary_operation
from contract_suite.schemathesis_layer.unusual_values import UNUSUAL_VALUES

pytestmark = pytest.mark.inferred


def pytest_generate_tests(metafunc):
    if "parameter" in metafunc.fixturenames:
        names = [p.name for p in primary_operation(metafunc.config).required_parameters]
        metafunc.parametrize("parameter", names)
    if "unusual" in metafunc.fixturenames:
        metafunc.parametrize("unusual", list(UNUSUAL_VALUES.values()), ids=list(UNUSUAL_VALUES))


# No `exercises` mark: the case provokes no code in particular, so the coverage table counts none for it.
def test_unusual_value(target, operation, parameter, unusual):
    params = target.valid_request()
    params[parameter] = unusual
    # any documented error is right, a code refusal too: the codes held do the job, none is fetched for it
    answer = target.call(params, target.token("valid"), codes_must_pass=False)
    errors = set(operation.codes) - {operation.success_code}
    shown = repr(unusual) if len(unusual) <= 40 else f"{unusual[:12]!r}... ({len(unusual)} characters)"
    target.expect(
        answer,
        errors,
        f"{parameter} = {shown}: any documented code but success, in the envelope",
        counts_as_judged=False,
    )
