"""An operation with a JSON body is judged as a query one is: the example POST setEmail (examples/, imported from
its knife4j page) beside setPhone gets the generic cases for each required body property, nested ones too
(absent, blank, several absent), the token cases, the envelope and the generated layer; a server that answers
one property's absence with another's code is BROKEN naming that case; the failure's reproduce line, pasted,
sends the same body and gets the same answer. And the knife4j importer gives back what the pages say."""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys

import pytest
import yaml

from contract_suite.openapi import knife4j, lint, spec
from contract_suite.openapi.importer import import_page
from tests.support.email_operation import (
    EMAIL_PATH,
    EXAMPLE,
    MISSING_DEVICE_ID,
    MISSING_EMAIL,
    MISSING_EMAIL_CODE,
    MissingDeviceIdSaysEmailCode,
    ServesEmail,
    spec_with_email,
)
from tests.support.suite import reference_servers
from tests.test_operations import ALL_JUDGED, outcomes, run_suite

pytestmark = pytest.mark.selftest

REQUIRED = ("email", "emailCode", "device", "device.deviceId")
TOKEN = "Bearer ref-valid-5d1f0c7a9b3e"  # profiles/reference-in-process.toml's valid token
SETPHONE_PAGE = spec.PROJECT_ROOT / "spec" / "knife4j-setPhone.md"
EMAIL_PAGE = spec.PROJECT_ROOT / "examples" / "knife4j-setEmail.md"


@pytest.fixture
def serve(tmp_path):
    """Start the reference server serving setEmail beside setPhone, with defects; (url, env)."""
    with reference_servers(tmp_path, ServesEmail) as start:
        yield start


def test_the_loader_reads_the_body_properties_as_parameters_nested_ones_too(tmp_path):
    operation = spec.load_all(spec_with_email(tmp_path)).operation("post", EMAIL_PATH)
    body = {p.name: p for p in operation.parameters if p.location == spec.BODY}
    assert set(body) == {"email", "emailCode", "device", "device.deviceId", "device.model", "lang"}
    assert tuple(p.name for p in operation.required_parameters) == REQUIRED
    assert body["device.deviceId"].missing_code == MISSING_DEVICE_ID and body["email"].example
    assert operation.has_body and not body["lang"].required and not body["device.model"].required


def test_a_json_body_operation_holds_each_required_property_judged(serve, tmp_path):
    url, env = serve()
    run = run_suite(url, env, spec_with_email(tmp_path), tmp_path / "junit.xml", "--generated-examples", "5")
    assert run.returncode == 0, run.tail()
    verdict = next(line for line in run.stdout.splitlines() if line.startswith(("HOLDS", "BROKEN", "CANNOT")))
    assert verdict.startswith(f"HOLDS (exit 0) on what was judged: {ALL_JUDGED}") and "setEmail: judged " in verdict
    found = outcomes(tmp_path / "junit.xml")
    for name in REQUIRED:
        assert found[f"contract_tests/test_required_fields.py::test_absent[setEmail-{name}]"][0] == "passed"
    for name in ("email", "emailCode", "device.deviceId"):
        assert found[f"contract_tests/test_required_fields.py::test_blank[setEmail-{name}-spaces]"][0] == "passed"
    assert found["contract_tests/test_token.py::test_wrong_token[setEmail]"][0] == "passed"
    assert any(key.startswith("contract_tests/test_generated.py::test_fuzzing[setEmail") for key in found), found
    table = run.stdout.split("operation setEmail (POST /v2/enduser/enduserapi/setEmail):")[1]
    for code, name in (
        (MISSING_EMAIL, "missing-new-email"),
        (MISSING_EMAIL_CODE, "missing-email-code"),
        (MISSING_DEVICE_ID, "missing-device-id"),
    ):
        assert re.search(rf"{code}\s+{name}\s+seen ", table), table  # judged: a case expected it, and it came


def test_one_propertys_absence_answered_with_anothers_code_is_broken_and_its_line_sends_the_same_body(serve, tmp_path):
    url, env = serve(MissingDeviceIdSaysEmailCode)
    run = run_suite(url, env, spec_with_email(tmp_path), tmp_path / "junit.xml", "-m", "not generated")
    assert run.returncode == 1, run.tail()
    found = outcomes(tmp_path / "junit.xml")
    failed = sorted(test for test, (outcome, _) in found.items() if outcome == "failed")
    assert "contract_tests/test_required_fields.py::test_absent[setEmail-device.deviceId]" in failed, failed
    assert all("setEmail" in test for test in failed), failed
    text = found["contract_tests/test_required_fields.py::test_absent[setEmail-device.deviceId]"][1]
    assert f"expected: {MISSING_DEVICE_ID}" in text and f"actual:   {MISSING_EMAIL_CODE}" in text
    line = next(line.strip() for line in text.splitlines() if line.strip().startswith("reproduce: curl "))
    command = line.removeprefix("reproduce: ")
    assert " -d " in command and '-H "Content-Type: application/json"' in command.replace("'", '"')
    pasted = subprocess.run(
        ["bash", "-c", command], env={**os.environ, "CONTRACT_TOKEN": TOKEN}, capture_output=True, text=True
    )
    assert pasted.returncode == 0, pasted.stderr
    assert json.loads(pasted.stdout)["code"] == MISSING_EMAIL_CODE  # the same body, the same wrong answer


# -- the importer -------------------------------------------------------------------------------------------


def test_importing_the_setphone_page_gives_back_the_operation_the_spec_has():
    text = SETPHONE_PAGE.read_text(encoding="utf-8")
    imported = import_page(knife4j.parse(text, str(SETPHONE_PAGE)), text)
    contract = spec.load()
    assert (imported.path, imported.method.upper()) == (contract.path, contract.method)
    parameters = {p["name"]: p for p in imported.operation["parameters"]}
    assert set(parameters) == {p.name for p in contract.parameters}
    for p in contract.parameters:
        got = parameters[p.name]
        assert (got["in"], got["required"], got["schema"]["type"]) == (p.location, p.required, "string")
        assert got["x-missing-code"] == p.missing_code  # inferred from "Please enter <its description>"
    codes = imported.operation["x-business-codes"]
    assert {int(c): e["message"] for c, e in codes.items()} == {c: e.message for c, e in contract.codes.items()}
    assert codes["200"]["success"] is True and len(codes) == 15


def test_a_nested_body_page_imports_into_an_operation_the_loader_and_the_lint_take(tmp_path):
    done = subprocess.run(
        [sys.executable, "-m", "contract_suite.knife4j", "import", str(EMAIL_PAGE)],
        capture_output=True,
        text=True,
        cwd=spec.PROJECT_ROOT,
    )
    assert done.returncode == 0, done.stderr
    operation = yaml.safe_load(done.stdout)[EMAIL_PATH]["post"]
    schema = operation["requestBody"]["content"]["application/json"]["schema"]
    assert schema["required"] == ["email", "emailCode", "device"]
    assert schema["properties"]["device"]["properties"]["deviceId"]["x-missing-code"] == MISSING_DEVICE_ID
    assert "the x-missing-code of device" in done.stderr and "security: the token header" in done.stderr
    target = tmp_path / "openapi.yaml"
    target.write_text(spec.DEFAULT_SPEC.read_text(encoding="utf-8"), encoding="utf-8")
    added = subprocess.run(
        [sys.executable, "-m", "contract_suite.knife4j", "import", str(EMAIL_PAGE), "--into", str(target)],
        capture_output=True,
        text=True,
        cwd=spec.PROJECT_ROOT,
    )
    assert added.returncode == 0, added.stderr
    loaded = spec.load_all(target).operation("post", EMAIL_PATH)
    assert loaded is not None and loaded.has_body and not loaded.primary
    assert "# " in target.read_text(encoding="utf-8")  # the spec's own comments kept
    problems = [str(p) for rule in lint.RULES for p in rule(spec.load_document(target))]
    assert problems and all("setEmail" in p for p in problems), problems  # named for the author, setPhone clean
    body = "/requestBody/content/application~1json/schema/properties/device/properties/deviceId"
    assert any(body in p and "does not name its missing-code" in p for p in problems), problems  # nested ones too
    assert any(body in p and "accepts the blank value(s)" in p for p in problems), problems
    assert "the spec lint finds" in added.stderr
    again = subprocess.run(
        [sys.executable, "-m", "contract_suite.knife4j", "import", str(EMAIL_PAGE), "--into", str(target)],
        capture_output=True,
        text=True,
        cwd=spec.PROJECT_ROOT,
    )
    assert again.returncode == 4 and "already has POST /v2/enduser/enduserapi/setEmail" in again.stderr


def test_a_file_that_is_no_knife4j_page_is_refused_in_one_line(tmp_path):
    page = tmp_path / "notes.md"
    page.write_text("# Notes\n\nnothing here\n", encoding="utf-8")
    done = subprocess.run(
        [sys.executable, "-m", "contract_suite.knife4j", "import", str(page)], capture_output=True, text=True
    )
    assert done.returncode == 4 and done.stdout == ""
    assert done.stderr.strip() == f"error: {page}: no **Interface Address** or **Request Method** (not a knife4j page?)"


def test_x_role_on_body_properties_makes_the_primary_operation_and_its_sides_are_read_from_the_body(tmp_path):
    """setPhone's six parameters moved into a JSON body, each keeping its x-role: the loader finds the primary
    operation by them, and the typed request reads a side's number and code from the body it sends."""
    from contract_suite.engine.exchange import OperationRequest, change_values
    from contract_suite.target_data.profile import Phone

    doc = yaml.safe_load(spec.DEFAULT_SPEC.read_text(encoding="utf-8"))
    operation = next(iter(doc["paths"].values()))["put"]
    non_blank = doc["components"]["schemas"]["NonBlankString"]  # inline: a $ref's siblings would be dropped
    properties = {
        p["name"]: {**non_blank, "x-role": p["x-role"], "x-missing-code": p["x-missing-code"]}
        for p in operation.pop("parameters")
    }
    body = {"type": "object", "required": list(properties), "properties": properties}
    operation["requestBody"] = {"required": True, "content": {"application/json": {"schema": body}}}
    doc["paths"].update(yaml.safe_load(EXAMPLE.read_text(encoding="utf-8")))  # a second operation, without roles
    path = tmp_path / "body-roles.yaml"
    path.write_text(yaml.safe_dump(doc, sort_keys=False), encoding="utf-8")
    loaded = spec.load_all(path).primary
    assert loaded.has_body and {p.location for p in loaded.parameters} == {spec.BODY}
    values = change_values(loaded, Phone("86", "1"), "111111", Phone("86", "2"), "222222")
    request = OperationRequest(loaded, "http://target.test", values)
    assert request.side("old").phone == Phone("86", "1") and request.side("new").code == "222222"
    assert json.loads(request.wire().body)["oldPhoneCode"] == "111111"
