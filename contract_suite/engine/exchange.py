"""A request to an operation as one typed value, and the answer to it with its envelope parsed once.

The request's sides (old and new: international code, phone, SMS code) are read from the spec's `x-role` here and
nowhere else; `rewritten` is the one function that changes a request (fresh codes, a fresh token), and `wire` the
one that builds what the transport sends. Nothing above the transport reads a URL back.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import dataclass, field, replace
from functools import cached_property
from types import MappingProxyType
from typing import Any

from contract_suite.http.transport import NoAnswer, Request, Response
from contract_suite.openapi.spec import BODY, Operation, SpecError
from contract_suite.target_data.profile import Phone

SIDES = ("old", "new")
NOT_JSON = object()  # the body is not JSON (empty, not UTF-8, not JSON, or nested past Python's recursion limit)
_KEEP = object()


def parse_json(body: bytes) -> Any:
    """The JSON value of body, or NOT_JSON."""
    if not body:
        return NOT_JSON
    try:
        return json.loads(body)
    except (ValueError, UnicodeDecodeError, RecursionError):
        return NOT_JSON


@dataclass(frozen=True)
class Side:
    """One side of a request moving the account: the number (None unless both its parts were sent) and its code."""

    phone: Phone | None
    code: str | None


@dataclass(frozen=True, eq=False)
class OperationRequest:
    """One request to one operation, as the suite means it: its parameters' values by name, its token, and where
    it goes. Immutable: a rewrite is a new request."""

    operation: Operation
    base_url: str  # the target's address and path prefix, without a trailing slash
    values: Mapping[str, Any] = field(default_factory=dict)  # by parameter name; a name left out is absent
    token: str | None = None  # None: no token header
    token_header: str = ""  # the header the token goes in
    headers: Mapping[str, str] = field(default_factory=dict)  # other headers (a generated case's own)
    method: str = ""  # "": the operation's (the generated layer's probes send others)
    body: bytes | None = None  # a generated case's body, as schemathesis prepared it
    # a request that may change the test account: a gateway's 502 or 504 means it was forwarded, so it is not sent
    # again (the change could be made twice)
    changes_account: bool = False
    # the answer the request is sent for needs its SMS codes to pass the target's checks (a fully valid request, or
    # one whose one fault comes after them): a held code the target refuses is fetched again and the request sent
    # once more. False: any code does the job (a parameter missing or blank, a wrong token, an unusual value), and
    # no fresh code is spent on it unless its answer is wrong
    codes_must_pass: bool = True

    def __post_init__(self) -> None:
        object.__setattr__(self, "values", MappingProxyType(dict(self.values)))
        object.__setattr__(self, "headers", MappingProxyType(dict(self.headers)))

    def __repr__(self) -> str:  # nothing secret in a traceback's locals
        return f"OperationRequest({self.operation.label}: {len(self.values)} value(s))"

    @property
    def sent_method(self) -> str:
        return self.method or self.operation.method

    @property
    def of_the_operation(self) -> bool:
        """Whether the request is the operation itself (the generated layer also tries other methods on its path)."""
        return self.sent_method == self.operation.method

    def value(self, name: str) -> str | None:
        found = self.values.get(name)
        return found if isinstance(found, str) else None

    @cached_property
    def _roles(self) -> dict[str, str]:
        return {p.role: p.name for p in self.operation.parameters if p.role}

    def value_of_role(self, role: str) -> str | None:
        """The value sent for the parameter with this x-role (None: absent, or no parameter has the role)."""
        name = self._roles.get(role)
        return self.value(name) if name is not None and self.of_the_operation else None

    def side(self, side: str) -> Side:
        """The number and code of one side (old, new) as the request carries them."""
        ic, digits = self.value_of_role(f"{side}.international_code"), self.value_of_role(f"{side}.phone")
        return Side(Phone(ic, digits) if ic and digits else None, self.value_of_role(f"{side}.code"))

    @property
    def carries_token(self) -> bool:
        return self.token is not None and bool(self.token_header)

    @cached_property
    def _in_body(self) -> frozenset[str]:
        return frozenset(p.name for p in self.operation.parameters if p.location == BODY)

    @property
    def query_values(self) -> dict[str, Any]:
        """The values sent in the query (every one but the JSON body's properties)."""
        return {name: value for name, value in self.values.items() if name not in self._in_body}

    @property
    def json_body(self) -> dict[str, Any] | None:
        """The JSON body the typed values make (nested objects from dotted names); None: the operation takes none,
        or the request carries a body of its own (a generated case's)."""
        if self.body is not None or not self.operation.has_body or not self.of_the_operation:
            return None
        return nested({name: value for name, value in self.values.items() if name in self._in_body})

    def wire(self) -> Request:
        """What the transport sends: the query encoded as requests (and so curl and schemathesis) encodes it; the
        JSON body, when the operation takes one."""
        headers = dict(self.headers)
        if self.carries_token:
            headers[self.token_header] = self.token
        body = self.json_body
        if body is not None:
            headers.setdefault("Content-Type", "application/json")
        built = Request.build(self.sent_method, self.base_url + self.operation.path, self.query_values, headers)
        if body is not None:  # its length counted when it is sent (requests counted none: "Content-Length: 0")
            sent = {name: value for name, value in built.headers.items() if name.lower() != "content-length"}
            return replace(built, headers=sent, body=json.dumps(body, ensure_ascii=False).encode("utf-8"))
        return built if self.body is None else replace(built, body=self.body)


def nested(values: Mapping[str, Any]) -> dict[str, Any]:
    """A JSON object from values by dotted name ("device.deviceId" -> {"device": {"deviceId": ...}}); a value given
    for an object's own name that is not a mapping stands for the object as sent (a blank string, say)."""
    body: dict[str, Any] = {}
    for name, value in values.items():
        *parents, last = name.split(".")
        node = body
        for parent in parents:
            child = node.get(parent)
            if not isinstance(child, dict):
                child = node[parent] = {}
            node = child
        if isinstance(node.get(last), dict) and not isinstance(value, Mapping):
            continue  # its properties were given: the object is sent with them
        node[last] = value
    return body


def rewritten(
    request: OperationRequest, *, codes: Mapping[str, str] | None = None, token: Any = _KEEP
) -> OperationRequest:
    """The one rewrite of a request: each SMS code `codes` maps (the one sent, to the one to send) replaced wherever
    it stands among the operation's code parameters (a case may send a number's code as the other number's); the
    token replaced when one is given."""
    values = dict(request.values)
    for side in SIDES:
        name = request._roles.get(f"{side}.code")
        if codes and name is not None and values.get(name) in codes:
            values[name] = codes[values[name]]
    return replace(request, values=values, token=request.token if token is _KEEP else token)


def change_values(operation: Operation, old: Phone, old_code: str, new: Phone, new_code: str) -> dict[str, str]:
    """The parameter values of a request moving the account from `old` to `new`, by the parameters' x-role."""
    sides = {
        "old": {"international_code": old.international_code, "phone": old.phone, "code": old_code},
        "new": {"international_code": new.international_code, "phone": new.phone, "code": new_code},
    }
    values = {}
    for p in operation.parameters:
        side, _, what = (p.role or "").partition(".")
        if side not in sides or what not in sides[side]:
            raise SpecError(
                f"parameter {p.name!r} has x-role {p.role!r}; expected old|new . international_code|phone|code"
            )
        values[p.name] = sides[side][what]
    return values


@dataclass(frozen=True)
class Resent:
    """A request sent again with fresh SMS codes after the target refused a code the run held valid."""

    phone: Phone  # the number whose code was refused
    first: Answer  # the answer to the first try
    refused_again: bool  # the fresh code was refused too
    sends: int  # how many times the request was sent in all
    # the number was on both sides with one code, and a fresh one was refused at one of its two checks: on this
    # target a check spends the code, so no one code can pass both
    one_code_two_checks: bool = False


@dataclass(frozen=True, eq=False)
class Answer:
    """What came back to one OperationRequest: the transport's response, its body read as JSON once; and, when the
    request carried SMS codes the run held valid, which (`held_codes`) and whether a refusal of them made the stack
    send it again (`resent`: the first try)."""

    request: OperationRequest
    response: Response
    held_codes: Mapping[str, Phone] = field(default_factory=dict)  # by side: the number whose held code it carried
    resent: Resent | None = None

    def __repr__(self) -> str:
        return f"Answer({self.request.operation.label}: {self.failure.kind if self.failure else self.status})"

    # -- the response as it came --

    @property
    def status(self) -> int | None:
        return self.response.status

    @property
    def reason(self) -> str:
        return self.response.reason

    @property
    def headers(self) -> list[tuple[str, str]]:
        return self.response.headers

    @property
    def body(self) -> bytes:
        return self.response.body

    @property
    def truncated(self) -> bool:
        return self.response.truncated

    @property
    def elapsed(self) -> float:
        return self.response.elapsed

    @property
    def failure(self) -> NoAnswer | None:
        return self.response.failure

    def header(self, name: str) -> str | None:
        return self.response.header(name)

    @property
    def content_type(self) -> str:
        return self.response.content_type

    # -- the envelope, read once --

    @cached_property
    def json(self) -> Any:
        """The body's JSON value, or NOT_JSON."""
        return parse_json(self.response.body)

    @property
    def code(self) -> Any:
        """The envelope's `code` as it came, or None when the body is not a JSON object."""
        return self.json.get("code") if isinstance(self.json, dict) else None

    @property
    def speaks_envelope(self) -> bool:
        """A JSON object with a `code`: this API's envelope, right or wrong in its details."""
        return isinstance(self.json, dict) and "code" in self.json

    @property
    def from_endpoint(self) -> bool:
        """Whether the endpoint is speaking, rightly or wrongly: a JSON object with `code`, or with two of the
        envelope's other fields (a broken envelope is still the endpoint's). An HTML page, someone else's JSON, an
        empty body or no answer at all may be a gateway, a maintenance page or another service."""
        if self.failure is not None or not isinstance(self.json, dict):
            return False
        properties = (self.request.operation.envelope_schema.get("properties") or {}).keys()
        fields = set(properties) or {"code", "msg", "data", "extMsg"}
        return "code" in self.json or len(fields.intersection(self.json) - {"code"}) >= 2

    @property
    def whole(self) -> bool:
        """A whole answer (not the transport's failure)."""
        return self.failure is None
