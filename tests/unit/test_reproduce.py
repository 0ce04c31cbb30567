"""Unit tests of contract_suite/engine/reproduce.py: the curl line that sends a request again with every secret a
shell variable, and one exchange written out as a report's evidence."""

from __future__ import annotations

import dataclasses
import json
import re

import pytest

from contract_suite.engine.exchange import OperationRequest
from contract_suite.engine.reproduce import exchange_text, query_pairs, reproduction, variable_for
from contract_suite.secrets import Secrets
from tests.support.engine_fakes import ACCOUNT, BASE_URL, CONTRACT, FREE, TOKEN, answer, lost, move

pytestmark = pytest.mark.selftest


def secrets() -> Secrets:
    made = Secrets()
    made.add("482913", "sms-code")
    made.add(TOKEN, "valid-token")
    return made


def test_query_pairs_flatten_as_requests_does():
    assert query_pairs({"a": "1", "b": ["2", None, 3], "c": None, "d": b"\xff", "e": True}) == [
        ("a", "1"),
        ("b", "2"),
        ("b", "3"),
        ("d", "\ufffd"),
        ("e", "True"),
    ]


def test_variables_are_named_after_their_parameter():
    assert variable_for("oldPhoneCode") == "OLD_PHONE_CODE" and variable_for("x2Y") == "X2_Y"


def test_a_secret_in_the_query_or_the_token_is_a_variable_with_a_hint():
    shown = reproduction(move(ACCOUNT, "482913", FREE, "1 1"), secrets())
    command, note = shown.command, shown.masked
    assert "482913" not in command and TOKEN not in command
    assert f"${{OLD_PHONE_CODE:?SMS code for {ACCOUNT.key}}}" in command
    assert "newPhoneCode=1%201" in command  # the other values as they are, quoted for the URL
    assert '-H "Authorization: ${CONTRACT_TOKEN:?the whole header value}"' in command
    assert note.startswith("(masked: set OLD_PHONE_CODE, CONTRACT_TOKEN in your shell first; SMS codes must be fresh")


def test_nothing_masked_says_nothing_and_transport_headers_are_left_out():
    request = dataclasses.replace(move(ACCOUNT, "1", FREE, "2", token="Bearer open"), headers={"X-Trace": "a'b"})
    shown = reproduction(request, Secrets())
    command, note = shown.command, shown.masked
    assert note == "" and command.startswith(f'curl -sS -X PUT "{BASE_URL}{CONTRACT.path}?')
    assert "-H 'Authorization: Bearer open'" in command and "Content-Length" not in command
    assert "-H 'X-Trace: a'\"'\"'b'" in command


def test_a_shell_special_character_stays_inside_the_quotes():
    command = reproduction(OperationRequest(CONTRACT, BASE_URL + '/$x"`', {}), Secrets()).command
    assert '\\$x\\"\\`' in command


def test_an_exchange_is_written_out_masked_and_cut():
    request = move(ACCOUNT, "482913", FREE, "2")
    text = exchange_text(answer(request, body=b"x" * 5000), secrets())
    assert text.startswith(f"PUT {BASE_URL}{CONTRACT.path}?") and "482913" not in text and TOKEN not in text
    assert "HTTP 200" in text and text.endswith("... (cut at 2048 bytes)")
    assert exchange_text(lost(request), secrets()).endswith("(no whole answer: closed)")


def test_a_transport_header_first_hides_no_header_after_it():
    request = dataclasses.replace(move(ACCOUNT, "1", FREE, "2", token=None), headers={"Accept": "*/*", "X-Trace": "7"})
    command = reproduction(request, Secrets()).command
    assert "-H 'X-Trace: 7'" in command and "Accept" not in command


@pytest.mark.parametrize(
    ("international_code", "masked"),
    [("86", ()), ("", ()), ("86", ("86",)), ("86", (FREE.phone,))],
    ids=["both-shown", "no-international-code", "international-code-masked", "phone-masked"],
)
def test_the_hint_names_the_number_only_when_both_its_parts_are_shown(international_code, masked):
    shown = secrets()
    for value in masked:
        shown.add(value, "other")
    request = move(ACCOUNT, "1", FREE.__class__(international_code, FREE.phone), "482913")
    command = reproduction(request, shown).command
    named = f"${{NEW_PHONE_CODE:?SMS code for {international_code}-{FREE.phone}}}"
    assert (named in command) is (international_code == "86" and not masked)
    assert "${NEW_PHONE_CODE:?SMS code" in command


def test_the_evidence_leaves_out_the_length_header_and_cuts_past_2048_bytes():
    request = dataclasses.replace(move(ACCOUNT, "1", FREE, "2"), body=b"{}", headers={"Content-Length": "2"})
    text = exchange_text(answer(request, body=b"y" * 2048), Secrets())
    assert "Content-Length" not in text and "Authorization: " in text and text.endswith("y" * 2048)


def test_a_body_is_reproduced_with_its_secrets_as_shell_variables():
    """Pasted into bash with the variable set, the -d argument is the body sent, quotes and all."""
    import subprocess

    from tests.support.operations import WITH_BODY

    shown = secrets()
    shown.add("d-secret-1", "sms-code")
    values = {"email": 'a"b$c@example.com', "device.deviceId": "d-secret-1"}
    request = OperationRequest(WITH_BODY, BASE_URL, values)
    reproduced = reproduction(request, shown)
    assert "d-secret-1" not in reproduced.command and "DEVICE_ID" in reproduced.masked
    assert reproduced.lines[-1].startswith("  -d ")
    script = "words() { printf '%s\\0' \"$@\"; }; " + reproduced.command.replace("curl ", "words ", 1)
    done = subprocess.run(["bash", "-c", script], env={"DEVICE_ID": "d-secret-1"}, capture_output=True)
    words = done.stdout.decode().split("\0")
    assert json.loads(words[words.index("-d") + 1]) == json.loads(request.wire().body)


def test_the_folded_lines_are_the_command_broken_where_bash_joins_it_again():
    """Each line but the last ends in a backslash: outside the quotes after a space (curl's words), inside the URL
    right after a closing quote, the next line opening it again at the parameter's `?` or `&`."""
    request = move(ACCOUNT, "482913", FREE, "1 1")
    shown = reproduction(request, secrets())
    lines = shown.lines
    assert lines[0] == "curl -sS -X PUT \\"
    assert lines[1] == f'"{BASE_URL}{CONTRACT.path}"\\' and lines[2].startswith('"?') and lines[3].startswith('"&')
    url = lines[1 : 1 + 7]  # the path, then the six parameters
    assert all(line.endswith('"\\') for line in url[:-1]) and url[-1].endswith('" \\')  # an option follows
    assert list(lines[8:]) == ['  -H "Authorization: ${CONTRACT_TOKEN:?the whole header value}"']  # no backslash
    joined = "".join(line[:-1] if line.endswith("\\") else line for line in lines).replace('""', "")
    assert re.sub(r"\s+", " ", joined) == re.sub(r"\s+", " ", shown.command)  # bash's join, words apart


def test_a_body_request_ends_with_its_options_each_on_a_line_the_last_without_a_backslash():
    from tests.support.operations import WITH_BODY

    request = OperationRequest(WITH_BODY, BASE_URL, {"email": "中文@example.com"})
    shown = reproduction(request, Secrets())
    assert list(shown.lines[-2:]) == [
        "  -H 'Content-Type: application/json' \\",
        '  -d "{\\"email\\": \\"中文@example.com\\"}"',
    ]
    assert shown.lines[1] == f'"{BASE_URL}/email" \\'  # no query: the URL alone, then the options
    generated = dataclasses.replace(request, body=b'{"lang": 5}')
    assert reproduction(generated, Secrets()).command.endswith("--data-raw '{\"lang\": 5}'")
