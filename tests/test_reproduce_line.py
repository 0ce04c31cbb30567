"""The reproduce line a failure prints: pasted into bash with a masked variable unset, it stops before sending,
naming the variable and what to put in it, instead of sending a request that gets another wrong answer."""

import shlex
import subprocess

import pytest

from contract_suite.engine.exchange import OperationRequest
from contract_suite.engine.reproduce import reproduction
from contract_suite.openapi import spec
from contract_suite.secrets import Secrets
from reference_server import create_app, start_embedded
from tests.support.catalogue.business import WrongNewCodeAccepted
from tests.support.suite import PROFILE, run_pytest, target_args

pytestmark = pytest.mark.selftest

CONTRACT = spec.load()
OLD_IC, OLD_PHONE, OLD_CODE = (
    CONTRACT.parameter_with_role(f"old.{role}").name for role in ("international_code", "phone", "code")
)


def line_and_note():
    secrets = Secrets()
    secrets.add("482913", "sms-code")
    secrets.add("Bearer t0k3n", "valid-token")
    params = {OLD_IC: "86", OLD_PHONE: "13800000001", OLD_CODE: "482913"}
    request = OperationRequest(
        CONTRACT, "http://127.0.0.1:9", params, token="Bearer t0k3n", token_header="Authorization"
    )
    return reproduction(request, secrets)


@pytest.mark.parametrize(
    ("unset", "message"),
    [
        (
            "OLD_PHONE_CODE",
            "OLD_PHONE_CODE: SMS code for 86-13800000001",
        ),
        ("CONTRACT_TOKEN", "CONTRACT_TOKEN: the whole header value"),
    ],
)
def test_an_unset_variable_stops_the_pasted_line_naming_it(unset, message):
    shown = line_and_note()
    command, note = shown.command, shown.masked
    env = {"PATH": "/usr/bin:/bin", "OLD_PHONE_CODE": "1", "CONTRACT_TOKEN": "Bearer x"}
    del env[unset]
    done = subprocess.run(["bash", "-c", command.replace("curl ", "echo ", 1)], env=env, capture_output=True, text=True)
    assert done.returncode != 0 and message in done.stderr and done.stdout == ""
    assert "482913" not in command + note and "t0k3n" not in command + note
    assert note.startswith("(masked: set OLD_PHONE_CODE, CONTRACT_TOKEN in your shell first")


def test_with_every_variable_set_the_line_sends_the_values():
    command = line_and_note().command
    env = {"PATH": "/usr/bin:/bin", "OLD_PHONE_CODE": "482913", "CONTRACT_TOKEN": "Bearer t0k3n"}
    done = subprocess.run(["bash", "-c", command.replace("curl ", "echo ", 1)], env=env, capture_output=True, text=True)
    assert done.returncode == 0
    assert f"{OLD_CODE}=482913" in done.stdout and "Authorization: Bearer t0k3n" in done.stdout


def test_the_folded_command_is_the_same_command_to_bash():
    """Allure shows the curl command over several lines (its panels do not wrap): pasted, bash reads the same words,
    the quoted URL broken at its parameters and joined again."""
    shown = line_and_note()
    env = {"PATH": "/usr/bin:/bin", "OLD_PHONE_CODE": "482913", "CONTRACT_TOKEN": "Bearer t0k3n"}
    words = "words() { printf '%s\\0' \"$@\"; }; "

    def argv(text: str) -> list[str]:
        done = subprocess.run(["bash", "-c", words + text.replace("curl ", "words ", 1)], env=env, capture_output=True)
        assert done.returncode == 0, done.stderr
        return done.stdout.decode().split("\0")

    assert len(shown.lines) > 3 and max(map(len, shown.lines)) <= 66  # Allure's panel at 1280 px
    assert argv("\n".join(shown.lines)) == argv(shown.command)
    assert f"{OLD_CODE}=482913" in argv(shown.command)[3]  # the URL, one word


def test_the_rerun_line_pasted_judges_just_that_case_again(tmp_path):
    """A failure's block ends with the suite's command for that one case (node id, target, profile, options): run as
    printed, it reaches the same verdict on the same case, the suite fetching its own SMS codes."""
    database = tmp_path / "broken.sqlite3"
    env = {"REFERENCE_SERVER_DB": str(database)}
    with start_embedded(create_app({"DATABASE": str(database), "DEFECTS": [WrongNewCodeAccepted]})) as server:
        case = "contract_tests/test_business_rules.py::test_wrong_new_phone_code"
        options = target_args(server.base_url, PROFILE, "--rate-limit", "0", destructive=True)  # the account put back
        first = run_pytest("contract_tests/test_business_rules.py", *options, env=env)
        assert first.returncode == 1, first.tail()
        # the failure block's line (with CI set, pytest repeats whole messages in its short summary too)
        reruns = {line.strip() for line in first.stdout.splitlines() if line.strip().startswith("rerun: ")}
        (line,) = [line for line in reruns if f" {case} " in line] or [first.tail()]
        command = shlex.split(line.removeprefix("rerun: "))
        assert command[:2] == ["pytest", case] and "--base-url" in command and "--profile" in command
        again = run_pytest(*command[1:], env=env)
    assert again.returncode == 1, again.tail()
    assert (
        f"FAILED {case}" in again.stdout
        and "1 failed" in again.stdout
        and f"BROKEN (exit 1): {CONTRACT.code_named('new-phone-verification-failed')}" in again.stdout
    )
