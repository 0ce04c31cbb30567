"""Unit tests of contract_suite/engine/exchange.py: a request's sides read by x-role, the one rewrite, the one wire
builder, and an answer's envelope read once."""

from __future__ import annotations

import dataclasses
import json

import pytest

from contract_suite.engine.exchange import (
    NOT_JSON,
    Answer,
    OperationRequest,
    Resent,
    Side,
    change_values,
    parse_json,
    rewritten,
)
from contract_suite.http.transport import Response
from contract_suite.openapi.spec import SpecError
from contract_suite.target_data.profile import Phone
from tests.support.engine_fakes import ACCOUNT, BASE_URL, CONTRACT, FREE, INCORRECT, TOKEN, answer, lost, move
from tests.support.operations import OTHER

pytestmark = pytest.mark.selftest

NAME = {p.role: p.name for p in CONTRACT.parameters}


def test_change_values_put_each_side_under_its_roles_parameter():
    values = change_values(CONTRACT, ACCOUNT, "111", FREE, "222")
    assert values == {
        NAME["old.international_code"]: "86",
        NAME["old.phone"]: ACCOUNT.phone,
        NAME["old.code"]: "111",
        NAME["new.international_code"]: "86",
        NAME["new.phone"]: FREE.phone,
        NAME["new.code"]: "222",
    }


def test_a_parameter_without_a_known_role_cannot_be_built():
    broken = type(CONTRACT.parameters[0])("extra", "query", True, None, None, "", role="old.email")
    operation = dataclasses.replace(CONTRACT, parameters=(*CONTRACT.parameters, broken))
    with pytest.raises(SpecError, match="'extra' has x-role 'old.email'"):
        change_values(operation, ACCOUNT, "1", FREE, "2")


def test_the_sides_are_read_by_role_and_a_number_needs_both_its_parts():
    request = move(ACCOUNT, "111", FREE, "222")
    assert request.side("old") == Side(ACCOUNT, "111") and request.side("new") == Side(FREE, "222")
    for part in ("international_code", "phone"):
        blank = rewritten_value(request, NAME[f"new.{part}"], "")
        assert blank.side("new") == Side(None, "222")
        absent = OperationRequest(
            CONTRACT, BASE_URL, {k: v for k, v in request.values.items() if k != NAME[f"new.{part}"]}
        )
        assert absent.side("new").phone is None
    assert OperationRequest(CONTRACT, BASE_URL, {}).side("old") == Side(None, None)


def rewritten_value(request: OperationRequest, name: str, value: str) -> OperationRequest:
    return OperationRequest(request.operation, request.base_url, {**request.values, name: value})


def test_another_method_on_the_path_has_no_sides():
    """The generated layer tries other methods on the operation's path: they are not the operation."""
    probe = OperationRequest(CONTRACT, BASE_URL, move(ACCOUNT, "1", FREE, "2").values, method="GET")
    assert not probe.of_the_operation and probe.side("old") == Side(None, None) and probe.sent_method == "GET"
    assert move(ACCOUNT, "1", FREE, "2").of_the_operation


def test_an_operation_without_roles_has_no_sides():
    request = OperationRequest(OTHER, BASE_URL, {"appId": "x"})
    assert request.side("old") == Side(None, None) and request.value_of_role("old.code") is None


def test_the_rewrite_replaces_the_codes_it_maps_wherever_they_stand():
    """A case may send one number's code as the other number's: the code is replaced on whichever side it stands."""
    request = move(ACCOUNT, "111", FREE, "111")
    again = rewritten(request, codes={"111": "999"})
    assert again.side("old").code == again.side("new").code == "999"
    assert again.side("old").phone == ACCOUNT and again.token == TOKEN
    assert rewritten(move(ACCOUNT, "111", FREE, "222"), codes={"222": "333"}).side("old").code == "111"
    assert request.side("old").code == "111"  # the request itself is left as it was


def test_the_rewrite_replaces_the_token_only_when_given_one():
    request = move(ACCOUNT, "1", FREE, "2")
    assert rewritten(request, token="Bearer fresh").token == "Bearer fresh"
    assert rewritten(request).token == TOKEN
    assert rewritten(request, token=None).token is None
    assert rewritten(request, codes={"1": "5"}).changes_account == request.changes_account


def test_the_wire_carries_the_values_in_the_query_and_the_token_in_its_header():
    request = move(ACCOUNT, "1 1", Phone("+86", FREE.phone), "2")
    wire = request.wire()
    assert wire.method == CONTRACT.method and wire.url.startswith(BASE_URL + CONTRACT.path + "?")
    assert f"{NAME['old.code']}=1+1" in wire.url and f"{NAME['new.international_code']}=%2B86" in wire.url
    assert wire.headers[CONTRACT.token_header] == TOKEN
    no_token = move(ACCOUNT, "1", FREE, "2", token=None).wire()
    assert CONTRACT.token_header not in no_token.headers
    nowhere = OperationRequest(CONTRACT, BASE_URL, {}, token=TOKEN, token_header="")
    assert not nowhere.carries_token and TOKEN not in nowhere.wire().headers.values()


def test_the_wire_keeps_a_generated_cases_headers_method_and_body():
    request = OperationRequest(
        CONTRACT, BASE_URL, {"a": ["1", "2"]}, headers={"X-Case": "7"}, method="POST", body=b"{}"
    )
    wire = request.wire()
    assert wire.method == "POST" and wire.body == b"{}" and wire.headers["X-Case"] == "7"
    assert wire.url.endswith("?a=1&a=2")


def test_a_request_shows_no_value_in_its_repr():
    request = move(ACCOUNT, "482913", FREE, "482914")
    assert "482913" not in repr(request) and TOKEN not in repr(request)


def test_the_envelope_is_read_once_and_its_code_as_it_came():
    got = answer(move(ACCOUNT, "1", FREE, "2"), INCORRECT)
    assert got.code == INCORRECT and got.speaks_envelope and got.from_endpoint and got.whole
    assert got.json is got.json  # parsed once
    assert answer(got.request, body=f'{{"code": "{INCORRECT}"}}'.encode()).code == str(INCORRECT)
    assert answer(got.request, body=b"[1]").code is None
    assert answer(got.request, body=b"").json is NOT_JSON


@pytest.mark.parametrize(
    ("body", "spoke"),
    [
        (b'{"code": 1}', True),
        (b'{"msg": "m", "data": null}', True),  # a broken envelope: two of its other fields, no code
        (b'{"msg": "m"}', False),  # someone else's JSON
        (b"<html>", False),
        (b"", False),
    ],
)
def test_the_endpoint_speaks_when_the_body_is_its_envelope_however_broken(body, spoke):
    assert answer(move(ACCOUNT, "1", FREE, "2"), body=body).from_endpoint is spoke


def test_a_lost_answer_is_not_the_endpoint_speaking():
    got = lost(move(ACCOUNT, "1", FREE, "2"))
    assert not got.whole and not got.from_endpoint and got.code is None and got.status is None


@pytest.mark.parametrize("body", [b"", b"\xff", b"{", json.dumps(1).encode(), b"[" * 100000])
def test_parse_json_never_raises(body):
    assert parse_json(body) is NOT_JSON or parse_json(body) == 1


def test_the_answer_shows_the_response_as_it_came():
    request = move(ACCOUNT, "1", FREE, "2")
    response = Response(
        request.wire(), 404, "Not Found", [("Content-Type", "text/plain"), ("X-A", "1"), ("x-a", "2")], b"no", True, 0.5
    )
    got = Answer(request, response)
    assert (got.status, got.reason, got.body, got.truncated, got.elapsed) == (404, "Not Found", b"no", True, 0.5)
    assert got.headers == response.headers and got.header("x-A") == "1, 2" and got.content_type == "text/plain"
    assert got.failure is None and repr(got) == "Answer(setPhone: 404)"
    assert repr(lost(request)) == "Answer(setPhone: reset)" and lost(request).failure.kind == "reset"


def test_requests_and_answers_are_values_never_changed_in_place():
    request = move(ACCOUNT, "1", FREE, "2")
    got = answer(request, 0)
    tries = Resent(ACCOUNT, got, refused_again=False, sends=2)
    for made, name in ((request, "token"), (got, "request"), (tries, "sends"), (Side(ACCOUNT, "1"), "code")):
        with pytest.raises(dataclasses.FrozenInstanceError):
            setattr(made, name, None)
    with pytest.raises(TypeError):
        request.values["x"] = "1"  # a read-only view
    assert not request.changes_account and got.held_codes == {} and got.resent is None


def test_only_a_json_object_with_a_code_speaks_the_envelope():
    request = move(ACCOUNT, "1", FREE, "2")
    assert not answer(request, body=b'["code"]').speaks_envelope
    assert not answer(request, body=b'{"msg": "m"}').speaks_envelope and not answer(request, body=b"").speaks_envelope


def test_the_endpoint_speaks_in_its_own_operations_envelope_fields():
    """Another operation's envelope has other fields: two of them, without a code, are still its envelope."""
    own = dataclasses.replace(CONTRACT, envelope_schema={"properties": {"status": {}, "message": {}, "payload": {}}})
    request = OperationRequest(own, BASE_URL, {})
    assert answer(request, body=b'{"message": "m", "payload": 1}').from_endpoint
    assert not answer(request, body=b'{"msg": "m", "data": 1}').from_endpoint
    bare = OperationRequest(dataclasses.replace(CONTRACT, envelope_schema={}), BASE_URL, {})
    assert answer(bare, body=b'{"msg": "m", "data": 1}').from_endpoint  # no schema: this API's own fields


def test_a_body_operations_values_go_in_a_json_body_nested_by_their_dotted_names():
    from tests.support.operations import WITH_BODY

    values = {"email": "a@example.com", "device.deviceId": "d-1", "lang": "en"}
    wire = OperationRequest(WITH_BODY, BASE_URL, values, token=TOKEN, token_header="Authorization").wire()
    assert json.loads(wire.body) == {"email": "a@example.com", "device": {"deviceId": "d-1"}, "lang": "en"}
    assert wire.headers["Content-Type"] == "application/json" and wire.url == BASE_URL + "/email"
    assert "Content-Length" not in wire.headers  # counted when sent: requests had counted none
    blank_object = OperationRequest(WITH_BODY, BASE_URL, {"email": "x", "device": ""}).wire()
    assert json.loads(blank_object.body) == {"email": "x", "device": ""}
    assert json.loads(OperationRequest(WITH_BODY, BASE_URL, {}).wire().body) == {}  # every property absent


def test_the_loader_names_body_properties_by_path_and_requires_them_under_required_objects():
    from tests.support.operations import WITH_BODY

    found = {p.name: (p.location, p.required, p.missing_code) for p in WITH_BODY.parameters}
    assert found == {
        "email": ("body", True, 7101),
        "device": ("body", True, None),
        "device.deviceId": ("body", True, 7103),
        "lang": ("body", False, None),
    }
    assert WITH_BODY.has_body and not CONTRACT.has_body


def test_a_request_needs_its_codes_to_pass_unless_told_and_was_not_sent_again_with_one_code():
    request = OperationRequest(CONTRACT, BASE_URL, {})
    assert request.codes_must_pass is True
    assert Resent(ACCOUNT, answer(request, INCORRECT), False, 2).one_code_two_checks is False


def test_a_json_body_is_built_only_for_the_operation_itself_and_in_its_own_text():
    from tests.support.operations import WITH_BODY

    values = {"device.deviceId": "d", "device": "", "lang": "中文"}
    request = OperationRequest(WITH_BODY, BASE_URL, values)
    assert request.json_body == {"device": {"deviceId": "d"}, "lang": "中文"}  # an object given its properties
    assert "中文".encode() in request.wire().body  # UTF-8 as it is, not \\u escapes
    other_method = dataclasses.replace(request, method="GET")
    assert other_method.json_body is None and other_method.wire().body in (None, b"")
    own = dataclasses.replace(request, body=b"raw")
    assert own.json_body is None and own.wire().body == b"raw"  # a generated case's body, as made
    assert OperationRequest(CONTRACT, BASE_URL, {"oldPhone": "1"}).json_body is None
