"""Generated cases (schemathesis): the spec's examples, its coverage cases and fuzzing, positive and
negative data, sent to the run's target and judged by the custom checks in contract_suite/checks.py."""

from __future__ import annotations

import os
from contextlib import contextmanager

import pytest
import requests
import schemathesis

from contract_suite import generation
from contract_suite import checks  # registers the custom checks (schemathesis.toml's `hooks` names it too)
from contract_suite.client import RequestCapReached
from contract_suite.plugin import active_config, active_contract, active_profile
from contract_suite.spec import PROJECT_ROOT

pytestmark = pytest.mark.generated

SCHEMATHESIS_CONFIG = PROJECT_ROOT / "schemathesis.toml"
TOKEN_VARIABLE = "CONTRACT_TOKEN"  # what schemathesis.toml's [parameters] reads the token from


@contextmanager
def _environment(name: str, value: str):
    saved = os.environ.get(name)
    os.environ[name] = value
    try:
        yield
    finally:
        if saved is None:
            del os.environ[name]
        else:
            os.environ[name] = saved


def _schema(phase: str) -> schemathesis.BaseSchema:
    """The spec the run checks, with schemathesis.toml's settings, the run's options and token, and one phase."""
    config, contract, profile = active_config(), active_contract(), active_profile()
    token = profile.tokens.get("valid") or ""  # none: the cases skip (generated_target)
    # schemathesis.toml names the token as ${CONTRACT_TOKEN} for `st run`; here it is the profile's.
    with _environment(TOKEN_VARIABLE, token):
        settings = schemathesis.Config.from_path(SCHEMATHESIS_CONFIG)
    if config.getoption("generated_seed") is not None:
        settings.update(seed=config.getoption("generated_seed"), max_failures=None)
    schema = schemathesis.openapi.from_path(contract.spec_path, config=settings)
    schema.config.update(
        # the spec's token header, fixed (a profile's other token_header is added by _send_and_judge)
        parameters={**schema.config.parameters, f"header.{contract.token_header}": token},
        request_timeout=config.getoption("request_timeout"),
        tls_verify=not config.getoption("insecure"),
    )
    schema.config.generation.update(max_examples=config.getoption("generated_examples"))
    schema.config.phases.update(phases=[phase])
    return schema


@pytest.fixture(scope="session")  # hypothesis refuses function-scoped fixtures: they would not reset between cases
def generated_target(target):
    target.token("valid")  # skips, naming the profile key, when there is no token to send
    checks.mask_also(target.secrets)
    return target


def _carries_secret(case: schemathesis.Case, target) -> bool:
    """Whether a generated query holds one of the run's secrets (a profile's SMS code, a token)."""
    values = []
    for value in (case.query or {}).values():
        values.extend(value if isinstance(value, list) else [value])
    return any(target.secrets.label(str(v)) for v in values)


def _send_and_judge(case: schemathesis.Case, target) -> None:
    if _carries_secret(case, target):
        return  # never send a real SMS code (or token) in a generated case
    header = target.client.token_header
    extra = None if header == target.contract.token_header else {header: target.profile.tokens["valid"]}
    try:
        target.client.wait_turn()  # the run's rate limit and request cap hold for this layer too
    except RequestCapReached as exc:
        pytest.skip(str(exc))
    try:
        response = case.call(base_url=target.base_url, headers=extra)
    except requests.Timeout:
        target.note_timeout(True)
        raise
    target.note_timeout(False)
    if checks.about_operation(target.contract, response):
        target.coverage.saw(checks.answer_code(response))
    case.validate_response(response)


examples_phase = _schema("examples")
coverage_phase = _schema("coverage")
fuzzing_phase = generation.with_unusual_values(_schema("fuzzing"))


@examples_phase.parametrize()
def test_examples(case, generated_target):
    """The spec's own example request."""
    _send_and_judge(case, generated_target)


@coverage_phase.parametrize()
def test_coverage(case, generated_target):
    """Deterministic cases from the spec: each required parameter missing, the token missing, other methods."""
    _send_and_judge(case, generated_target)


@fuzzing_phase.parametrize()
def test_fuzzing(case, generated_target):
    """Random positive and negative requests, --generated-examples of them."""
    _send_and_judge(case, generated_target)
