"""What a spec change does (contract_suite/openapi/diff.py): pairs of specs built from spec/openapi.yaml by one small
edit each, every rule asserting its class, its pointers and its values; and the command's exit codes."""

import copy
import json
import subprocess
import sys

import pytest
import yaml

from contract_suite.openapi import spec
from contract_suite.openapi.diff import ATTENTION, BREAKING, COMPATIBLE, diff_specs

pytestmark = pytest.mark.selftest

DOCUMENT = spec.load_document(spec.DEFAULT_SPEC)
PATH = next(iter(DOCUMENT["paths"]))
OP = f"/paths/{PATH.replace('/', '~1')}/put"
CONTRACT = spec.load()
CANCELLATION = CONTRACT.code_named("new-phone-in-cancellation")
NEW_CODE_PARAM = CONTRACT.parameter_with_role("new.code")
OLD_IC_PARAM = CONTRACT.parameter_with_role("old.international_code")


def operation(doc: dict) -> dict:
    return doc["paths"][PATH]["put"]


def renumber(doc):
    codes = operation(doc)["x-business-codes"]
    codes[str(CANCELLATION + 100)] = codes.pop(str(CANCELLATION))


def remove_code(doc):
    del operation(doc)["x-business-codes"][str(CANCELLATION)]


def swap_missing_code(doc):
    param = next(p for p in operation(doc)["parameters"] if p["name"] == NEW_CODE_PARAM.name)
    param["x-missing-code"] = CONTRACT.code_named("missing-new-phone")


def add_required_parameter(doc):
    operation(doc)["parameters"].append(
        {"name": "appId", "in": "query", "required": True, "schema": {"type": "string"}, "x-missing-code": 5199}
    )


def add_optional_parameter(doc):
    operation(doc)["parameters"].append({"name": "lang", "in": "query", "schema": {"type": "string"}})


def code_as_string(doc):
    doc["components"]["schemas"]["Envelope"]["properties"]["code"] = {"type": "string"}


def msg_optional(doc):
    doc["components"]["schemas"]["Envelope"]["required"].remove("msg")


def token_header(doc):
    doc["components"]["securitySchemes"]["userToken"]["name"] = "X-Token"


def new_code(doc):
    operation(doc)["x-business-codes"]["5180"] = {"name": "phone-locked", "message": "Locked", "provoked-by": "x"}


def new_message(doc):
    operation(doc)["x-business-codes"][str(CANCELLATION)]["message"] = "New phone number is being cancelled"


def reworded_description(doc):
    param = next(p for p in operation(doc)["parameters"] if p["name"] == NEW_CODE_PARAM.name)
    param["description"] = param["description"] + "\nSee the SMS."


def old_international_code_optional(doc):
    param = next(p for p in operation(doc)["parameters"] if p["name"] == OLD_IC_PARAM.name)
    param["required"] = False


def new_code_longer(doc):
    param = next(p for p in operation(doc)["parameters"] if p["name"] == NEW_CODE_PARAM.name)
    param["schema"] = {**spec.resolve_refs(doc, param["schema"]), "maxLength": 12}


def add_required_parameter_without_code(doc):
    operation(doc)["parameters"].append(
        {"name": "appId", "in": "query", "required": True, "schema": {"type": "string"}}
    )


def drop_missing_code(doc):
    param = next(p for p in operation(doc)["parameters"] if p["name"] == NEW_CODE_PARAM.name)
    del param["x-missing-code"]


def another_outcome(doc):
    operation(doc)["x-business-codes"][str(CANCELLATION)]["name"] = "new-phone-frozen"


CODE_POINTER = f"{OP}/x-business-codes/{CANCELLATION}"
CASES = [
    pytest.param(renumber, BREAKING, "renumbered", CODE_POINTER, f"{OP}/x-business-codes/{CANCELLATION + 100}",
                 id="code-renumbered"),
    pytest.param(remove_code, BREAKING, f"documented code {CANCELLATION}", CODE_POINTER, "", id="code-removed"),
    pytest.param(another_outcome, BREAKING, "given to another outcome", CODE_POINTER, CODE_POINTER,
                 id="code-given-to-another-outcome"),
    pytest.param(swap_missing_code, BREAKING, f"the missing-code of parameter {NEW_CODE_PARAM.name}",
                 f"{OP}/parameters/{CONTRACT.parameters.index(NEW_CODE_PARAM)}",
                 f"{OP}/parameters/{CONTRACT.parameters.index(NEW_CODE_PARAM)}", id="missing-code-changed"),
    pytest.param(add_required_parameter, BREAKING, "new required parameter appId", "",
                 f"{OP}/parameters/{len(CONTRACT.parameters)}", id="required-parameter-added"),
    pytest.param(code_as_string, BREAKING, "the type of envelope field code",
                 f"{OP}/responses/200/content/application~1json/schema/properties/code",
                 f"{OP}/responses/200/content/application~1json/schema/properties/code", id="code-a-string"),
    pytest.param(msg_optional, BREAKING, "envelope field msg no longer always present",
                 f"{OP}/responses/200/content/application~1json/schema/required",
                 f"{OP}/responses/200/content/application~1json/schema/required", id="msg-optional"),
    pytest.param(token_header, BREAKING, "the token header changed", OP, OP, id="token-header"),
    pytest.param(new_code, ATTENTION, "new documented code 5180", "", f"{OP}/x-business-codes/5180", id="code-added"),
    pytest.param(new_message, ATTENTION, f"the message of code {CANCELLATION}", CODE_POINTER, CODE_POINTER,
                 id="message-changed"),
    pytest.param(add_optional_parameter, ATTENTION, "new optional parameter lang", "",
                 f"{OP}/parameters/{len(CONTRACT.parameters)}", id="optional-parameter-added"),
    pytest.param(old_international_code_optional, ATTENTION, f"parameter {OLD_IC_PARAM.name} became optional",
                 f"{OP}/parameters/{CONTRACT.parameters.index(OLD_IC_PARAM)}",
                 f"{OP}/parameters/{CONTRACT.parameters.index(OLD_IC_PARAM)}", id="required-parameter-made-optional"),
    pytest.param(new_code_longer, ATTENTION, f"the schema of parameter {NEW_CODE_PARAM.name}",
                 f"{OP}/parameters/{CONTRACT.parameters.index(NEW_CODE_PARAM)}",
                 f"{OP}/parameters/{CONTRACT.parameters.index(NEW_CODE_PARAM)}", id="parameter-schema-changed"),
    pytest.param(reworded_description, COMPATIBLE, "the description or example", f"{OP}/parameters/"
                 f"{CONTRACT.parameters.index(NEW_CODE_PARAM)}", f"{OP}/parameters/"
                 f"{CONTRACT.parameters.index(NEW_CODE_PARAM)}", id="description-reworded"),
]  # fmt: skip


def spec_with(tmp_path, edit) -> str:
    doc = copy.deepcopy(DOCUMENT)
    edit(doc)
    path = tmp_path / f"{edit.__name__}.yaml"
    path.write_text(yaml.safe_dump(doc, sort_keys=False, allow_unicode=True), encoding="utf-8")
    return str(path)


@pytest.mark.parametrize(("edit", "level", "rule", "old_pointer", "new_pointer"), CASES)
def test_each_rule_has_its_class_and_both_pointers(tmp_path, edit, level, rule, old_pointer, new_pointer):
    changes = diff_specs(spec.load_all(spec.DEFAULT_SPEC), spec.load_all(spec_with(tmp_path, edit)))
    found = [c for c in changes if rule in c.rule]
    assert len(found) == 1, [c.text() for c in changes]
    assert (found[0].level, found[0].old_pointer, found[0].new_pointer) == (level, old_pointer, new_pointer)
    if level != COMPATIBLE:
        assert found[0].old or found[0].new, found[0]
    if level == BREAKING:  # the class of the whole diff is its worst change
        assert all(c.level != BREAKING for c in changes if c is not found[0]), [c.text() for c in changes]


def run_diff(*args) -> subprocess.CompletedProcess:
    return subprocess.run(
        [sys.executable, "-m", "contract_suite.diff", *args], capture_output=True, text=True, timeout=60
    )


def test_the_spec_against_itself_is_no_change():
    done = run_diff(str(spec.DEFAULT_SPEC), str(spec.DEFAULT_SPEC))
    assert done.returncode == 0 and done.stdout.strip() == "no change", done.stdout + done.stderr


@pytest.mark.parametrize(
    ("edit", "fail_on", "status"),
    [
        (renumber, "breaking", 1),
        (reworded_description, "breaking", 0),
        (new_code, "breaking", 0),
        (new_code, "attention", 1),
    ],
)
def test_the_exit_code_follows_the_worst_change_and_fail_on(tmp_path, edit, fail_on, status):
    done = run_diff(str(spec.DEFAULT_SPEC), spec_with(tmp_path, edit), "--fail-on", fail_on)
    assert done.returncode == status, done.stdout + done.stderr


def test_json_and_github_formats_carry_the_same_changes(tmp_path):
    new = spec_with(tmp_path, renumber)
    listed = json.loads(run_diff(str(spec.DEFAULT_SPEC), new, "--format", "json").stdout)
    assert [c["level"] for c in listed] == [BREAKING] and listed[0]["new"] == str(CANCELLATION + 100)
    github = run_diff(str(spec.DEFAULT_SPEC), new, "--format", "github").stdout.splitlines()
    name = CONTRACT.codes[CANCELLATION].name
    assert github[0].startswith(f"::error title=breaking::documented code {name} renumbered")


@pytest.mark.parametrize("old", ["no-such.yaml", "no-such-revision:spec/openapi.yaml"])
def test_an_input_that_does_not_load_is_exit_4_in_one_line(old):
    done = run_diff(old, str(spec.DEFAULT_SPEC))
    assert done.returncode == 4, done.stdout + done.stderr
    assert done.stderr.startswith(f"contract_suite.diff: {old}") and "Traceback" not in done.stderr


def test_a_changed_code_names_the_hand_written_cases_it_touches(tmp_path):
    changes = diff_specs(spec.load_all(spec.DEFAULT_SPEC), spec.load_all(spec_with(tmp_path, renumber)))
    (renumbered,) = changes
    assert "(hand-written: test_business_rules.py::test_new_phone_in_cancellation)" in renumbered.impact


def test_no_python_none_and_advice_an_author_can_follow(tmp_path):
    added = diff_specs(
        spec.load_all(spec.DEFAULT_SPEC), spec.load_all(spec_with(tmp_path, add_required_parameter_without_code))
    )
    (change,) = [c for c in added if "new required parameter appId" in c.rule]
    assert change.new == "required" and "None" not in change.text() and "profile" not in change.impact
    assert "give it an `example`" in change.impact and "`x-missing-code`" in change.impact
    dropped = diff_specs(spec.load_all(spec.DEFAULT_SPEC), spec.load_all(spec_with(tmp_path, drop_missing_code)))
    (change,) = [c for c in dropped if "the missing-code of parameter" in c.rule]
    assert change.new == "(none)" and "None" not in change.text()


def test_the_help_says_its_whole_first_paragraph():
    shown = " ".join(run_diff("--help").stdout.split())
    assert (
        "classified by what it does to an app written against the old one (breaking, needs attention, compatible)"
        in shown
    )
    assert "a message per code." in shown
