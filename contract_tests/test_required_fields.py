"""Required fields: a fully valid request with one parameter absent or blank gets that parameter's missing-code.

Generic: the cases run for every operation whose parameters carry x-missing-code (ids of an operation other
than the primary one start with its operationId: `test_absent[getNickname-appId]`)."""

import pytest

from contract_suite.engine.case_toolkit import ABSENT
from contract_suite.pytest.cases import operation_param, operations_of


def pytest_generate_tests(metafunc):
    for name, which in (("required_param", _with_missing_codes), ("blankable_param", _blankable)):
        if name in metafunc.fixturenames:
            metafunc.parametrize(
                ("operation", name),
                [
                    operation_param(op, op, p, part=p.name, marks=[pytest.mark.exercises(p.missing_code)])
                    for op in operations_of(metafunc.config)
                    for p in which(op)
                ],
            )
    if "absent_group" in metafunc.fixturenames:
        params = []
        for op in operations_of(metafunc.config):
            required = _with_missing_codes(op)
            # every parameter absent, then pairs from both ends, so each parameter is in some pair
            groups = [tuple(required)] + [(required[i], required[-1 - i]) for i in range(len(required) // 2)]
            params += [
                operation_param(
                    op,
                    op,
                    g,
                    part="+".join(p.name for p in g),
                    marks=[pytest.mark.exercises(*(p.missing_code for p in g))],
                )
                for g in dict.fromkeys(groups)  # two parameters: all of them is the one pair
                if g
            ]
        metafunc.parametrize(("operation", "absent_group"), params)


def _with_missing_codes(operation):
    return tuple(p for p in operation.required_parameters if p.missing_code is not None)


def _blankable(operation):
    """Those that a blank string can stand for: not a JSON body's object (absent, it is judged as the others)."""
    return tuple(p for p in _with_missing_codes(operation) if p.schema.get("type", "string") == "string")


def test_absent(target, operation, required_param):
    params = target.valid_request(operation)
    params[required_param.name] = ABSENT
    answer = target.call(params, target.token("valid"), operation=operation)
    target.expect(answer, required_param.missing_code, f"required parameter {required_param.name} absent", operation)


@pytest.mark.inferred
@pytest.mark.parametrize("blank", ["", "   ", "\t"], ids=["empty", "spaces", "tab"])
def test_blank(target, operation, blankable_param, blank):
    params = target.valid_request(operation)
    params[blankable_param.name] = blank
    answer = target.call(params, target.token("valid"), operation=operation)
    target.expect(
        answer, blankable_param.missing_code, f"required parameter {blankable_param.name} blank ({blank!r})", operation
    )


def test_several_absent(target, operation, absent_group):
    params = target.valid_request(operation)
    for p in absent_group:
        params[p.name] = ABSENT
    answer = target.call(params, target.token("valid"), operation=operation)
    names = ", ".join(p.name for p in absent_group)
    target.expect(
        answer,
        {p.missing_code for p in absent_group},
        f"required parameters {names} absent: one of their missing-codes",
        operation,
    )
