"""Required fields: a fully valid request with one parameter absent or blank gets that parameter's missing-code."""

import pytest

from contract_suite.plugin import contract_of
from contract_suite.target import ABSENT


def pytest_generate_tests(metafunc):
    contract = contract_of(metafunc.config)
    required = contract.required_parameters
    if "required_param" in metafunc.fixturenames:
        metafunc.parametrize(
            "required_param",
            [pytest.param(p, id=p.name, marks=pytest.mark.exercises(p.missing_code)) for p in required],
        )
    if "absent_group" in metafunc.fixturenames:
        # every parameter absent, then pairs from both ends, so each parameter is in some pair
        groups = [tuple(required)] + [(required[i], required[-1 - i]) for i in range(len(required) // 2)]
        metafunc.parametrize(
            "absent_group",
            [
                pytest.param(g, id="+".join(p.name for p in g), marks=pytest.mark.exercises(*(p.missing_code for p in g)))
                for g in groups
            ],
        )


def test_absent(target, required_param):
    params = target.valid_request()
    params[required_param.name] = ABSENT
    answer = target.call(params, target.token("valid"))
    target.expect(answer, required_param.missing_code, f"required parameter {required_param.name} absent")


@pytest.mark.inferred
@pytest.mark.parametrize("blank", ["", "   ", "\t"], ids=["empty", "spaces", "tab"])
def test_blank(target, required_param, blank):
    params = target.valid_request()
    params[required_param.name] = blank
    answer = target.call(params, target.token("valid"))
    target.expect(answer, required_param.missing_code, f"required parameter {required_param.name} blank ({blank!r})")


def test_several_absent(target, absent_group):
    params = target.valid_request()
    for p in absent_group:
        params[p.name] = ABSENT
    answer = target.call(params, target.token("valid"))
    names = ", ".join(p.name for p in absent_group)
    target.expect(answer, {p.missing_code for p in absent_group}, f"required parameters {names} absent: one of their missing-codes")
