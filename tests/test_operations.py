"""A contract per operation: a spec with a second, synthetic operation (GET getNickname, two required query
parameters, codes of its own) gets the generic cases (required fields absent and blank, the token, the envelope,
the generated layer) for that operation with no new test code, and a defect in it fails the right generic case.

The synthetic operation is lint-clean (the suite judges its own input before any request); the lint cases are left
out of these runs to keep them short."""

from __future__ import annotations

import copy
import html
import importlib.util
import json
import re
import xml.etree.ElementTree as ET
from pathlib import Path

import pytest
import yaml

from contract_suite.openapi import lint, spec
from reference_server.app import SUCCESS, TOKEN_FAILED, USER_NOT_FOUND, SetPhoneService
from tests.support.suite import PROFILE, reference_servers, run_pytest, target_args

pytestmark = pytest.mark.selftest

_EXERCISABLE = sum(entry.exercisable for entry in spec.load(spec.DEFAULT_SPEC).codes.values())
ALL_JUDGED = f"judged {_EXERCISABLE} of {_EXERCISABLE} exercisable documented codes"  # from the spec, never typed

NICKNAME_PATH = "/v2/enduser/enduserapi/getNickname"
KNOWN_APP = "ref-app"
MISSING_APP_ID, MISSING_LANG, APP_NOT_FOUND = 5201, 5202, 5203
NICKNAME_MESSAGES = {
    SUCCESS: "Nickname read successfully",
    TOKEN_FAILED: "Token verification failed",
    USER_NOT_FOUND: "User does not exist",
    MISSING_APP_ID: "Please enter app ID",
    MISSING_LANG: "Please enter language",
    APP_NOT_FOUND: "App does not exist",
}
NICKNAME_CODES = {  # code -> (name, provoked-by)
    SUCCESS: ("success", "A valid request naming a known app."),
    TOKEN_FAILED: ("token-verification-failed", "No token, or a token the platform did not issue."),
    USER_NOT_FOUND: ("user-does-not-exist", "A token that verifies but whose user no longer exists."),
    MISSING_APP_ID: ("missing-app-id", "appId absent or blank."),
    MISSING_LANG: ("missing-language", "lang absent or blank."),
    APP_NOT_FOUND: ("app-not-found", "appId names no app."),
}
# The generic hand-written cases the synthetic operation must get, by test id (no contract test names the operation).
GENERIC_CASES = {
    *(f"contract_tests/test_required_fields.py::test_absent[getNickname-{p}]" for p in ("appId", "lang")),
    *(
        f"contract_tests/test_required_fields.py::test_blank[getNickname-{p}-{blank}]"
        for p in ("appId", "lang")
        for blank in ("empty", "spaces", "tab")
    ),
    "contract_tests/test_required_fields.py::test_several_absent[getNickname-appId+lang]",
    *(
        f"contract_tests/test_token.py::test_{case}[getNickname]"
        for case in ("wrong_token", "no_token", "orphan_token")
    ),
}
GENERATED = ("test_examples", "test_coverage", "test_fuzzing")
NON_BLANK = "[^\\t\\n\\v\\f\\r ]"  # a character that is not ASCII whitespace, as the spec's own parameters say


# -- the spec with a second operation -----------------------------------------------------------------------


def nickname_operation() -> dict:
    """A lint-clean operation: its codes tabled in its description, each parameter naming its missing-code, its
    schemas refusing blank values (the suite judges its own input before any request)."""
    parameters = [
        {
            "name": name,
            "in": "query",
            "required": True,
            "description": f"{description}. {lint.missing_code_sentence(code, NICKNAME_MESSAGES[code])}",
            "schema": {"type": "string", "minLength": 1, "pattern": NON_BLANK},
            "example": example,
            "x-missing-code": code,
        }
        for name, description, example, code in (
            ("appId", "App the nickname is read in", KNOWN_APP, MISSING_APP_ID),
            ("lang", "Language of the answer", "en", MISSING_LANG),
        )
    ]
    examples = {
        name: {
            "summary": f"{code}: {NICKNAME_MESSAGES[code]}",
            "value": {"code": code, "msg": NICKNAME_MESSAGES[code], "data": None, "extMsg": None},
        }
        for code, (name, _) in NICKNAME_CODES.items()
    }
    codes = {
        str(code): {
            "name": name,
            "message": NICKNAME_MESSAGES[code],
            "provoked-by": provoked_by,
            **({"success": True} if code == SUCCESS else {}),
        }
        for code, (name, provoked_by) in NICKNAME_CODES.items()
    }
    table = [f"**{lint.CODE_TABLE}**:", "", "| code | name | message | provoked by |", "| --- | --- | --- | --- |"]
    table += [lint.code_table_row(code, entry) for code, entry in codes.items()]
    return {
        "operationId": "getNickname",
        "summary": "Read the signed-in user's nickname in an app (synthetic: the self-tests' second operation)",
        "description": "\n".join(table) + "\n",
        "parameters": parameters,
        "responses": {
            "200": {
                "description": "Every outcome, as for setPhone.",
                "content": {
                    "application/json": {
                        "schema": {"$ref": "#/components/schemas/NicknameEnvelope"},
                        "examples": examples,
                    }
                },
            }
        },
        "x-business-codes": codes,
    }


def spec_with_nickname(folder: Path, **changes) -> Path:
    """spec/openapi.yaml plus GET getNickname (its keys replaced by `changes`), written into folder."""
    doc = yaml.safe_load(spec.DEFAULT_SPEC.read_text(encoding="utf-8"))
    doc["paths"][NICKNAME_PATH] = {"get": {**nickname_operation(), **changes}}
    envelope = copy.deepcopy(doc["components"]["schemas"]["Envelope"])
    envelope["properties"]["code"]["enum"] = sorted(NICKNAME_CODES)
    doc["components"]["schemas"]["NicknameEnvelope"] = envelope
    path = folder / "openapi-two-operations.yaml"
    path.write_text(yaml.safe_dump(doc, sort_keys=False, allow_unicode=True), encoding="utf-8")
    return path


# -- a server for both operations ---------------------------------------------------------------------------


class ServesNickname(SetPhoneService):
    """The reference app, plus GET getNickname on the same accounts and tokens."""

    NICKNAME_PARAMS = (("appId", MISSING_APP_ID), ("lang", MISSING_LANG))

    def dispatch(self, request):
        if request.path != NICKNAME_PATH:
            return super().dispatch(request)
        if request.method != "GET":
            body = {"code": 405, "msg": "Method Not Allowed", "data": None, "extMsg": None}
            return self.respond(body, status=405, headers={"Allow": "GET"})
        code = self.nickname(request)
        data = {"nickname": "Reference user"} if code == SUCCESS else None
        return self.respond({"code": code, "msg": NICKNAME_MESSAGES[code], "data": data, "extMsg": None})

    def nickname(self, request) -> int:
        db = self.connect()
        try:
            token = self.read_token(request)
            owner = None if token is None else self.token_owner(db, token)
            if owner is None:
                return TOKEN_FAILED
            if not self.user_exists(db, owner, self.now()):
                return USER_NOT_FOUND
            code = self.nickname_missing(request.args)
            if code is not None:
                return code
            return SUCCESS if request.args["appId"] == KNOWN_APP else APP_NOT_FOUND
        finally:
            db.close()

    def nickname_missing(self, args) -> int | None:
        for name, code in self.NICKNAME_PARAMS:
            if self.is_blank(args.get(name)):
                return code
        return None


class LangMissingSaysAppId:
    """getNickname answers 5201 (app ID) when lang is missing or blank."""

    def nickname_missing(self, args):
        code = super().nickname_missing(args)
        return MISSING_APP_ID if code == MISSING_LANG else code


@pytest.fixture
def serve(tmp_path):
    """Start the two-operation server with defects; (url, env for the profile's code command)."""
    with reference_servers(tmp_path, ServesNickname) as start:
        yield start


def run_suite(url, env, spec_path: Path, junit: Path, *args: str):
    return run_pytest(
        "contract_tests",
        "--ignore",
        "contract_tests/test_spec_lint.py",
        "--spec",
        str(spec_path),
        *target_args(url, str(PROFILE)),
        "--allow-destructive",
        "--rate-limit",
        "0",
        "--junitxml",
        str(junit),
        *args,
        env=env,
        timeout=240,
    )


def outcomes(junit: Path) -> dict[str, tuple[str, str]]:
    """Test id -> (passed | failed | error | skipped, the failure's whole text)."""
    found = {}
    for case in ET.parse(junit).getroot().iter("testcase"):
        test_id = f"{case.get('classname', '').replace('.', '/')}.py::{case.get('name')}"
        assert test_id not in found, f"two cases named {test_id}"
        outcome, text = "passed", ""
        for kind in ("failure", "error", "skipped"):
            child = case.find(kind)
            if child is not None:
                outcome, text = {"failure": "failed"}.get(kind, kind), child.text or child.get("message") or ""
                break
        found[test_id] = (outcome, text)
    return found


GENERATED_OF_NICKNAME = {f"contract_tests/test_generated.py::{name}[getNickname]" for name in GENERATED}


# -- the loader ---------------------------------------------------------------------------------------------


def test_the_loader_yields_a_contract_per_operation(tmp_path):
    path = spec_with_nickname(tmp_path)
    loaded = spec.load_all(path)
    assert [c.label for c in loaded.operations] == ["setPhone", "getNickname"]
    assert [c.label for c in loaded.with_codes] == ["setPhone", "getNickname"]
    nickname = loaded.operation("get", NICKNAME_PATH)
    assert nickname is not None and not nickname.primary
    assert nickname.missing_codes == {"appId": MISSING_APP_ID, "lang": MISSING_LANG}
    assert nickname.success_code == SUCCESS and nickname.code_named("app-not-found") == APP_NOT_FOUND
    assert nickname.token_header == "Authorization"
    assert spec.load(path) is loaded.primary and loaded.primary.label == "setPhone"  # the primary: x-role


def test_two_operations_with_x_role_name_both(tmp_path):
    roles = nickname_operation()["parameters"]
    for parameter, role in zip(roles, ("old.phone", "new.phone"), strict=True):
        parameter["x-role"] = role
    with pytest.raises(spec.SpecError) as raised:
        spec.load_all(spec_with_nickname(tmp_path, parameters=roles))
    message = str(raised.value)
    assert "exactly one, the primary operation, must carry x-role" in message
    assert f"PUT /v2/enduser/enduserapi/setPhone, GET {NICKNAME_PATH}" in message


# -- the suite against both operations ----------------------------------------------------------------------


def test_generic_cases_run_for_a_second_operation(serve, tmp_path):
    url, env = serve()
    run = run_suite(url, env, spec_with_nickname(tmp_path), tmp_path / "junit.xml", "-rA")
    assert run.returncode == 0, run.tail(60)
    found = outcomes(tmp_path / "junit.xml")
    assert {test_id: found.get(test_id, ("not run", ""))[0] for test_id in GENERIC_CASES} == dict.fromkeys(
        GENERIC_CASES, "passed"
    )
    # the primary operation's ids are the ones the variant catalogue names
    for test_id in (
        "contract_tests/test_required_fields.py::test_absent[newPhone]",
        "contract_tests/test_token.py::test_wrong_token",
        "contract_tests/test_success.py::test_change_is_made_and_restored",
    ):
        assert found[test_id][0] == "passed", test_id
    assert {test_id: found.get(test_id, ("not run", ""))[0] for test_id in GENERATED_OF_NICKNAME} == dict.fromkeys(
        GENERATED_OF_NICKNAME, "passed"
    )
    out = run.stdout
    assert "contract operations judged: setPhone (PUT /v2/enduser/enduserapi/setPhone, primary); getNickname" in out
    primary, _, others = out.partition(f"\n{ALL_JUDGED}\n")
    assert others, "the primary operation's judged line must stay as it was"
    section = others.split(f"operation getNickname (GET {NICKNAME_PATH}):\n", 1)[1]
    for code in (TOKEN_FAILED, USER_NOT_FOUND, MISSING_APP_ID, MISSING_LANG):
        row = next(line for line in section.splitlines() if line.lstrip().startswith(f"{code} "))
        assert " seen " in row, row
    assert "judged 4 of 6 exercisable documented codes; not judged: 200, 5203" in section
    assert (f"HOLDS (exit 0) on what was judged: {ALL_JUDGED}; getNickname: judged 4 of 6; not judged: ") in out


def test_a_wrong_missing_code_in_the_second_operation_fails_its_generic_cases(serve, tmp_path):
    url, env = serve(LangMissingSaysAppId)
    run = run_suite(url, env, spec_with_nickname(tmp_path), tmp_path / "junit.xml")
    assert run.returncode == 1, run.tail(60)
    found = outcomes(tmp_path / "junit.xml")
    failed = {test_id for test_id, (o, _) in found.items() if o != "passed"}
    generated = GENERATED_OF_NICKNAME
    lang_cases = {
        "contract_tests/test_required_fields.py::test_absent[getNickname-lang]",
        *(
            f"contract_tests/test_required_fields.py::test_blank[getNickname-lang-{blank}]"
            for blank in ("empty", "spaces", "tab")
        ),
    }
    assert failed - generated == lang_cases, sorted(failed)  # setPhone's cases and the other getNickname ones pass
    text = found["contract_tests/test_required_fields.py::test_absent[getNickname-lang]"][1]
    assert "required parameter lang absent" in text
    assert 'expected: 5202 "Please enter language"' in text and 'actual:   5201 "Please enter app ID"' in text
    coverage_phase = found["contract_tests/test_generated.py::test_coverage[getNickname]"]
    assert coverage_phase[0] == "failed", coverage_phase
    assert "lacks or blanks required parameter lang" in coverage_phase[1]
    assert 'expected: its missing-code 5202 "Please enter language"' in coverage_phase[1]


def test_require_all_codes_names_the_second_operations_unjudged_codes(serve, tmp_path):
    """A new operation's own business codes (and its success) need hand-written cases: until then, a run that
    must judge every code cannot, and says which."""
    url, env = serve()
    run = run_suite(
        url, env, spec_with_nickname(tmp_path), tmp_path / "junit.xml", "-m", "not generated", "--require-all-codes"
    )
    assert run.returncode == 2, run.tail(60)
    line = next(line for line in run.stdout.splitlines() if line.startswith("CANNOT JUDGE (exit 2): "))
    assert line.startswith(
        f"CANNOT JUDGE (exit 2): --require-all-codes: {ALL_JUDGED.removesuffix(' codes')} "
        "codes; getNickname: judged 4 of 6 exercisable documented codes; not judged: 200, 5203 "
        "(no case selected in this run expects it)"
    ), line


@pytest.mark.skipif(
    not (importlib.util.find_spec("pytest_html") and importlib.util.find_spec("allure_pytest")),
    reason="the reports extra is not installed (pip install -e '.[reports]')",
)
def test_each_operations_cases_carry_its_own_operation_in_both_reports(serve, tmp_path):
    """Allure labels and the HTML case blocks name the operation each case is about, not the primary one."""
    url, env = serve(LangMissingSaysAppId)
    html_path, allure_dir = tmp_path / "report.html", tmp_path / "allure"
    run = run_suite(
        url, env, spec_with_nickname(tmp_path), tmp_path / "junit.xml", "-m", "not generated",
        "--html", str(html_path), "--self-contained-html", "--alluredir", str(allure_dir),
    )  # fmt: skip
    assert run.returncode == 1, run.tail(60)
    results = [json.loads(p.read_text(encoding="utf-8")) for p in allure_dir.glob("*-result.json")]
    labelled = {}
    for result in results:
        labels = {label["name"]: label["value"] for label in result.get("labels", [])}
        labelled[result["name"]] = (labels.get("operationId"), labels.get("feature"))
    lang = labelled["required parameter lang absent"]  # lang: a parameter of getNickname alone
    assert lang == ("getNickname", f"GET {NICKNAME_PATH}"), lang
    old_phone = labelled["required parameter oldPhone absent"]
    assert old_phone == ("setPhone", f"PUT {spec.load().path}"), old_phone
    page = html_path.read_text(encoding="utf-8")
    blob = json.loads(html.unescape(re.search(r'data-jsonblob="([^"]*)"', page).group(1)))
    blocks = {
        test_id: "".join(x["content"] for x in entries[0]["extras"] if x["format_type"] == "html")
        for test_id, entries in blob["tests"].items()
    }
    lang = blocks["contract_tests/test_required_fields.py::test_absent[getNickname-lang]"]
    assert "operation: getNickname" in lang, lang
    assert "operation: setPhone" in blocks["contract_tests/test_business_rules.py::test_new_phone_registered"]
