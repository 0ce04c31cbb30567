"""The suite's own input is judged before the target (issue 36): a spec the suite cannot model, a missing-code the
spec does not document, a spec that disagrees with its knife4j page each end the run with exit 4, one line per
problem naming the rule and where, no traceback, and not one request sent; a correct spec that disagrees with the
target still ends BROKEN."""

from __future__ import annotations

import copy
import threading

import pytest
import yaml
from werkzeug.serving import make_server
from werkzeug.wrappers import Response

from contract_suite.openapi import spec
from tests.support.suite import PROFILE, run_pytest, target_args

pytestmark = pytest.mark.selftest

DOCUMENT = spec.load_document(spec.DEFAULT_SPEC)
PATH = next(iter(DOCUMENT["paths"]))
CONTRACT = spec.load()
CANCELLATION = CONTRACT.code_named("new-phone-in-cancellation")


def operation(doc: dict) -> dict:
    return doc["paths"][PATH]["put"]


def required_parameter_without_a_role(doc):
    parameter = {"name": "appId", "in": "query", "required": True, "schema": {"type": "string"}}
    operation(doc)["parameters"].append({**parameter, "x-missing-code": CONTRACT.required_parameters[0].missing_code})


def undocumented_missing_code(doc):
    new_code = next(p for p in operation(doc)["parameters"] if p.get("x-role") == "new.code")
    new_code["x-missing-code"] = 5999


def renumbered_against_the_page(doc):
    codes = operation(doc)["x-business-codes"]
    codes[str(CANCELLATION + 10)] = codes.pop(str(CANCELLATION))


@pytest.fixture
def counting_target():
    """A target that answers 404 to everything and counts what it was sent."""
    seen: list[str] = []

    def app(environ, start_response):
        seen.append(environ["PATH_INFO"])
        return Response("no", status=404)(environ, start_response)

    server = make_server("127.0.0.1", 0, app, threaded=True)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.port}", seen
    finally:
        server.shutdown()
        thread.join()


@pytest.mark.parametrize(
    ("edit", "rule", "where"),
    [
        (required_parameter_without_a_role, "business-codes-consistent", "/parameters/6/x-role"),
        (undocumented_missing_code, "business-codes-consistent", "/x-missing-code: missing-code 5999"),
        (renumbered_against_the_page, "no-drift-from-knife4j-page", f"Response Status row '{CANCELLATION}'"),
    ],
    ids=["parameter-without-role", "undocumented-missing-code", "code-renumbered-against-the-page"],
)
def test_a_wrong_spec_is_exit_4_before_any_request(tmp_path, counting_target, edit, rule, where):
    url, seen = counting_target
    doc = copy.deepcopy(DOCUMENT)
    edit(doc)
    path = tmp_path / "openapi.yaml"
    path.write_text(yaml.safe_dump(doc, sort_keys=False, allow_unicode=True), encoding="utf-8")
    run = run_pytest("contract_tests", "--spec", str(path), *target_args(url, PROFILE), timeout=120)
    assert run.returncode == 4, run.tail()
    assert seen == []  # not one request
    problems = [line for line in run.stdout.splitlines() if line.startswith(f"  {rule}: ")]
    assert problems and any(where in line for line in problems), run.tail()
    assert "INPUT WRONG (exit 4): the suite's own input" in run.stdout and "BROKEN" not in run.stdout
    assert "Traceback" not in run.output and " deselected" in run.stdout
