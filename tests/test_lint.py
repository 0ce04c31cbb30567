"""Self-tests of the spec lint: each rule fails on a copy of the spec broken in one way, naming the place."""

import copy
import subprocess
import sys

import pytest
import yaml

from contract_suite.openapi import knife4j, lint, spec
from tests.support.suite import run_pytest

pytestmark = pytest.mark.selftest

OP = "/paths/~1v2~1enduser~1enduserapi~1setPhone/put"
# A knife4j-format page written for these tests, in step with the spec: the drift rules are tested on it,
# so no test here needs the real source page (contract_tests/test_spec_lint.py checks the spec against that).
FIXTURE_PAGE = spec.PROJECT_ROOT / "tests" / "fixtures" / "knife4j-setPhone.md"
CONTRACT = spec.load()
REGISTERED = str(CONTRACT.code_named("new-phone-registered"))  # keys of x-business-codes are strings
USER_GONE = str(CONTRACT.code_named("user-does-not-exist"))


@pytest.fixture
def doc():
    return copy.deepcopy(spec.load_document(spec.DEFAULT_SPEC))


def operation(doc):
    (path_item,) = doc["paths"].values()
    return path_item["put"]


def param_index(doc, name):
    return next(i for i, p in enumerate(operation(doc)["parameters"]) if p["name"] == name)


def page_text():
    return FIXTURE_PAGE.read_text(encoding="utf-8")


def wheres(problems):
    return [p.where for p in problems]


def test_the_project_spec_is_clean(doc):
    assert lint.lint(doc) == []


def test_the_project_spec_has_no_drift_from_the_fixture_page(doc):
    assert lint.drift(doc, knife4j.parse(page_text(), "seed")) == []


def test_invalid_openapi_is_reported(doc):
    operation(doc)["parameters"][0]["in"] = "body"
    problems = lint.openapi_validity(doc)
    assert problems and all("not valid OpenAPI 3.1.0" in p.message for p in problems)
    assert any(w.startswith(f"{OP}/parameters/0") for w in wheres(problems)), problems


def test_dropped_code_is_reported_at_the_enum(doc):
    victim = max(operation(doc)["x-business-codes"])
    del operation(doc)["x-business-codes"][victim]
    problems = lint.business_codes(doc)
    assert [str(p) for p in problems] == [
        "/components/schemas/Envelope/properties/code/enum: "
        f"enum allows codes that x-business-codes does not document: [{victim}]"
    ]


def test_dropped_code_is_reported_as_drift_at_the_page_row(doc):
    victim = max(operation(doc)["x-business-codes"])
    del operation(doc)["x-business-codes"][victim]
    problems = lint.drift(doc, knife4j.parse(page_text(), "seed"))
    assert len(problems) == 1
    assert problems[0].where.startswith("seed:") and f"row '{victim}'" in problems[0].where
    assert f"code {victim} is on the page but not in the spec" in problems[0].message


def test_extra_code_is_reported_as_drift(doc):
    operation(doc)["x-business-codes"]["5177"] = {"message": "New number is the same as the original"}
    problems = lint.drift(doc, knife4j.parse(page_text(), "seed"))
    assert [p.where for p in problems] == [f"{OP}/x-business-codes/5177"]
    assert "in the spec but not in seed" in problems[0].message


def test_duplicated_missing_code_is_reported_at_the_second_parameter(doc):
    params = operation(doc)["parameters"]
    params[1]["x-missing-code"] = params[0]["x-missing-code"]
    problems = lint.business_codes(doc)
    assert wheres(problems) == [f"{OP}/parameters/1/x-missing-code"]
    assert "expected distinct codes" in problems[0].message


def test_required_parameter_without_missing_code_is_reported(doc):
    del operation(doc)["parameters"][2]["x-missing-code"]
    problems = lint.business_codes(doc)
    assert wheres(problems) == [f"{OP}/parameters/2/x-missing-code"]


def test_undocumented_missing_code_is_reported(doc):
    operation(doc)["parameters"][0]["x-missing-code"] = 9999
    problems = lint.business_codes(doc)
    assert f"{OP}/parameters/0/x-missing-code" in wheres(problems)
    assert any("9999" in p.message and "not in x-business-codes" in p.message for p in problems)


def test_example_with_code_as_string_is_reported(doc):
    examples = operation(doc)["responses"]["200"]["content"]["application/json"]["examples"]
    examples["success"]["value"]["code"] = str(examples["success"]["value"]["code"])
    problems = lint.examples_match_schemas(doc)
    assert lint.business_codes(doc)  # and the success example no longer shows the success code
    where = f"{OP}/responses/200/content/application~1json/examples/success/value"
    assert where in wheres(problems)
    assert any("is not of type 'integer'" in p.message for p in problems)


def test_example_with_code_as_float_is_reported(doc):
    examples = operation(doc)["responses"]["200"]["content"]["application/json"]["examples"]
    examples["success"]["value"]["code"] = float(examples["success"]["value"]["code"])
    problems = lint.examples_match_schemas(doc)
    assert any("is not of type 'integer'" in p.message for p in problems)


def test_parameter_example_of_wrong_type_is_reported(doc):
    operation(doc)["parameters"][0]["example"] = 86
    problems = lint.examples_match_schemas(doc)
    assert wheres(problems) == [f"{OP}/parameters/0/example"]


def test_parameter_not_required_is_reported(doc):
    operation(doc)["parameters"][4]["required"] = False
    name = operation(doc)["parameters"][4]["name"]
    problems = lint.business_codes(doc)
    assert wheres(problems) == [f"{OP}/parameters/4/required"]
    assert "expected required: true" in problems[0].message
    drift = lint.drift(doc, knife4j.parse(page_text(), "seed"))
    assert wheres(drift) == [f"{OP}/parameters/4/required"]
    assert f"required=true for {name!r}; the spec says false" in drift[0].message


def test_changed_message_is_reported_against_the_seed_page(doc):
    entry = operation(doc)["x-business-codes"][REGISTERED]
    entry["message"] = "Phone taken"
    problems = lint.drift(doc, knife4j.parse(page_text(), "seed"))
    assert wheres(problems) == [f"{OP}/x-business-codes/{REGISTERED}/message"]
    assert f"{CONTRACT.message(int(REGISTERED))!r}; the spec says 'Phone taken'" in problems[0].message
    assert f"row '{REGISTERED}'" in problems[0].message


def test_missing_parameter_is_reported_as_drift(doc):
    operation(doc)["parameters"].pop(param_index(doc, "newPhoneCode"))
    problems = lint.drift(doc, knife4j.parse(page_text(), "seed"))
    assert len(problems) == 1 and "parameter 'newPhoneCode' is on the page but not in the spec" in problems[0].message


def test_empty_message_is_reported(doc):
    operation(doc)["x-business-codes"][USER_GONE]["message"] = ""
    assert wheres(lint.business_codes(doc)) == [f"{OP}/x-business-codes/{USER_GONE}/message"]


def test_code_without_named_example_is_reported(doc):
    examples = operation(doc)["responses"]["200"]["content"]["application/json"]["examples"]
    name, entry = max(operation(doc)["x-business-codes"].items())
    del examples[entry["name"]]
    problems = lint.business_codes(doc)
    assert [str(p) for p in problems] == [
        f"{OP}/responses/200/content/application~1json/examples: "
        f"expected a named example {entry['name']!r} of the envelope with code {name}"
    ]


def test_named_example_with_another_code_is_reported(doc):
    examples = operation(doc)["responses"]["200"]["content"]["application/json"]["examples"]
    codes = operation(doc)["x-business-codes"]
    first, second = list(codes)[:2]
    examples[codes[first]["name"]]["value"]["code"] = int(second)
    problems = lint.business_codes(doc)
    where = f"{OP}/responses/200/content/application~1json/examples/{codes[first]['name']}/value/code"
    assert wheres(problems) == [where]


def test_duplicated_code_name_is_reported(doc):
    codes = operation(doc)["x-business-codes"]
    first, second = list(codes)[:2]
    codes[second]["name"] = codes[first]["name"]
    assert f"{OP}/x-business-codes/{second}/name" in wheres(lint.business_codes(doc))


def run_lint_cli(tmp_path, doc, *extra):
    path = tmp_path / "openapi.yaml"
    path.write_text(yaml.safe_dump(doc, sort_keys=False), encoding="utf-8")
    return subprocess.run(
        [sys.executable, "-m", "contract_suite.lint", str(path), *extra],
        capture_output=True,
        text=True,
        timeout=60,
    )


def test_cli_passes_a_clean_spec_and_fails_a_broken_one(tmp_path, doc):
    clean = run_lint_cli(tmp_path, doc, "--knife4j", str(FIXTURE_PAGE))
    assert clean.returncode == 0, clean.stdout + clean.stderr
    operation(doc)["x-business-codes"][REGISTERED]["message"] = "Phone taken"
    broken = run_lint_cli(tmp_path, doc, "--knife4j", str(FIXTURE_PAGE))
    assert broken.returncode == 1
    assert f"{OP}/x-business-codes/{REGISTERED}/message" in broken.stdout


def test_cli_names_an_unreadable_spec_without_traceback(tmp_path):
    result = subprocess.run(
        [sys.executable, "-m", "contract_suite.lint", str(tmp_path / "nope.yaml")],
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert result.returncode == 2
    assert "cannot read spec" in result.stderr and "Traceback" not in result.stderr


def test_pytest_lint_fails_on_a_broken_spec_naming_the_place(tmp_path, doc):
    examples = operation(doc)["responses"]["200"]["content"]["application/json"]["examples"]
    examples["success"]["value"]["code"] = "200"
    path = tmp_path / "broken.yaml"
    path.write_text(yaml.safe_dump(doc, sort_keys=False), encoding="utf-8")
    result = run_pytest("contract_tests/test_spec_lint.py", "--spec", str(path), "-q", timeout=120)
    assert result.returncode == 4, result.stdout  # the suite's own input is wrong: exit 4, never BROKEN
    assert "FAILED contract_tests/test_spec_lint.py::test_spec_rule[examples-fit-schemas]" in result.stdout
    assert (
        "examples/success/value: example does not fit the response schema: code: '200' is not of type 'integer'"
        in result.stdout
    )


def test_duplicated_role_is_reported(doc):
    params = operation(doc)["parameters"]
    params[3]["x-role"] = params[0]["x-role"]
    problems = lint.business_codes(doc)
    assert wheres(problems) == [f"{OP}/parameters/3/x-role", f"{OP}/parameters"]
    assert "expected distinct roles" in problems[0].message
    assert problems[1].message.startswith("no parameter has x-role new.international_code: the suite builds")


# -- the codes shown to readers of rendered docs, which hide x- extensions --

CODE_ROW = f"{OP}/description: line"


def drop_table_row(doc, code):
    op = operation(doc)
    op["description"] = "\n".join(line for line in op["description"].splitlines() if not line.startswith(f"| {code} |"))


def test_code_missing_from_the_description_table_is_reported(doc):
    drop_table_row(doc, REGISTERED)
    entry = operation(doc)["x-business-codes"][REGISTERED]
    problems = lint.codes_shown_to_readers(doc)
    assert [str(p) for p in problems] == [
        f"{OP}/description: the Business codes table lacks code {REGISTERED}: expected the row "
        f"| {REGISTERED} | {entry['name']} | {entry['message']} | {entry['provoked-by']} |"
    ]


def test_code_message_changed_in_x_business_codes_is_reported_at_its_table_row(doc):
    operation(doc)["x-business-codes"][REGISTERED]["message"] = "Phone taken"
    problems = lint.codes_shown_to_readers(doc)
    assert len(problems) == 1
    assert problems[0].where.startswith(CODE_ROW) and problems[0].where.endswith(f"(Business codes row '{REGISTERED}')")
    assert "the row's message differs from x-business-codes" in problems[0].message
    assert f"| {REGISTERED} | new-phone-registered | Phone taken |" in problems[0].message


def test_table_row_of_an_undocumented_code_is_reported(doc):
    op = operation(doc)
    op["description"] += "| 5177 | same-number | New number is the same as the original | New phone is the old one |\n"
    problems = lint.codes_shown_to_readers(doc)
    assert [p.where for p in problems] == [f"{CODE_ROW} {op['description'].count(chr(10))} (Business codes row '5177')"]
    assert problems[0].message == "code 5177 is in the table but not in x-business-codes"


def test_description_without_the_code_table_is_reported(doc):
    operation(doc)["description"] = "Moves the signed-in user's account to a new phone number."
    problems = lint.codes_shown_to_readers(doc)
    assert wheres(problems) == [f"{OP}/description"]
    assert "expected a **Business codes**: table of every code in x-business-codes" in problems[0].message


def test_a_pipe_in_a_message_is_escaped_in_its_table_row(doc):
    entry = operation(doc)["x-business-codes"][USER_GONE]
    old_row = lint.code_table_row(USER_GONE, entry)
    entry["message"] = "User does not exist | was deleted"
    new_row = lint.code_table_row(USER_GONE, entry)
    assert "exist \\| was" in new_row
    operation(doc)["description"] = operation(doc)["description"].replace(old_row, new_row)
    assert lint.codes_shown_to_readers(doc) == []


def test_parameter_description_without_its_missing_code_is_reported(doc):
    param = operation(doc)["parameters"][2]
    code = param["x-missing-code"]
    param["description"] = param["description"].splitlines()[0]
    problems = lint.codes_shown_to_readers(doc)
    assert wheres(problems) == [f"{OP}/parameters/2/description"]
    assert f'expected the sentence Absent or blank: code {code}, "{CONTRACT.message(code)}".' in problems[0].message


def test_parameter_description_naming_another_code_is_reported(doc):
    params = operation(doc)["parameters"]
    params[4]["description"] = params[5]["description"].replace(
        params[5]["description"].splitlines()[0], params[4]["description"].splitlines()[0]
    )
    problems = lint.codes_shown_to_readers(doc)
    assert wheres(problems) == [f"{OP}/parameters/4/description"]
    assert f"code {params[4]['x-missing-code']}," in problems[0].message


def test_drift_reads_the_first_line_of_a_parameter_description(doc):
    param = operation(doc)["parameters"][0]
    assert lint.drift(doc, knife4j.parse(page_text(), "seed")) == []  # the lines after the first are the spec's own
    param["description"] = "International code of the original phone\n\n" + param["description"].split("\n", 1)[1]
    problems = lint.drift(doc, knife4j.parse(page_text(), "seed"))
    assert wheres(problems) == [f"{OP}/parameters/0/description"]
    said = "the first line of the spec's description says 'International code of the original phone'"
    assert said in problems[0].message


# -- blank is missing, in the schema too --


def test_schema_accepting_blank_values_is_reported(doc):
    del doc["components"]["schemas"]["NonBlankString"]["pattern"]
    problems = lint.blank_is_missing(doc)
    assert problems, "no problem reported (and no parameter to report one for?)"
    assert wheres(problems) == [f"{OP}/parameters/{i}/schema" for i in range(len(operation(doc)["parameters"]))]
    assert all("accepts the blank value(s) '\\t', '\\n', '\\x0b', '\\x0c', '\\r'" in p.message for p in problems)
    assert "''" not in problems[0].message  # minLength: 1 still rejects the empty value


def test_schema_accepting_the_empty_value_is_reported(doc):
    params = operation(doc)["parameters"]
    params[3]["schema"] = {"type": "string"}
    problems = lint.blank_is_missing(doc)
    assert wheres(problems) == [f"{OP}/parameters/3/schema"]
    assert f"the schema of {params[3]['name']!r} accepts the blank value(s) '', " in problems[0].message


def test_the_drift_check_runs_in_a_fresh_clone():
    """The upstream page the drift check reads by default is part of the project, beside the spec: a clone runs
    the drift case instead of skipping it (and the spec agrees with it)."""
    from contract_suite.engine.settings import DEFAULT_PAGE

    assert DEFAULT_PAGE.is_file() and DEFAULT_PAGE.parent == spec.PROJECT_ROOT / "spec"
    result = run_pytest("contract_tests/test_spec_lint.py", "-rs", timeout=120)
    assert result.returncode == 0, result.tail()
    assert "SKIPPED" not in result.stdout and "no knife4j page" not in result.stdout, result.tail()
