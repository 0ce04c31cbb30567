"""How to send a request again by hand: a curl line with every secret replaced by a shell variable it names, and
one exchange written out as evidence for a report. Read from the typed request: nothing parses a URL back."""

from __future__ import annotations

import json
import re
import shlex
from collections.abc import Mapping
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any
from urllib.parse import quote

from contract_suite.secrets import Secrets
from contract_suite.target_data.profile import ENV_OVERRIDES

if TYPE_CHECKING:
    from contract_suite.engine.exchange import Answer, OperationRequest

# Headers a reproduction leaves out: curl makes its own, and a generated case's tool name and case id say nothing.
TRANSPORT_HEADERS = frozenset(
    ("content-length", "user-agent", "accept", "accept-encoding", "connection", "x-schemathesis-testcaseid")
)
# Shell variables a reproduction line names for masked values, by the secret's label.
# a masked token shows as its role's variable: the label of a token is "<role>-token" (contract_suite.pytest.plugin)
TOKEN_VARIABLES = {f"{role}-token": variable for role, variable in ENV_OVERRIDES.items()}
EVIDENCE_BODY_BYTES = 2048


def query_pairs(values: Mapping[str, Any]) -> list[tuple[str, str]]:
    """The query's name and value pairs in the order sent, as requests flattens them (a list value is the name
    repeated, None is left out)."""
    pairs = []
    for name, given in values.items():
        for value in [given] if isinstance(given, (str, bytes)) or not hasattr(given, "__iter__") else given:
            if value is not None:
                pairs.append((name, value.decode("utf-8", "replace") if isinstance(value, bytes) else str(value)))
    return pairs


def variable_for(parameter: str) -> str:
    """oldPhoneCode -> OLD_PHONE_CODE"""
    return re.sub(r"(?<=[a-z0-9])(?=[A-Z])", "_", parameter).upper()


def _double_quoted(text: str) -> str:
    return re.sub(r'(["\\$`])', r"\\\1", text)


@dataclass(frozen=True)
class Reproduction:
    """A curl command that sends a request again: on one line (`command`), and folded for displays that do not wrap
    (`lines`: each but the last ends with a backslash; a break inside the quoted URL closes the quote and opens it
    again at the start of the next line, so bash reads the lines as the one command); `masked` says which shell
    variables to set first ("" when none)."""

    command: str
    masked: str
    lines: tuple[str, ...]

    def failure_fields(self) -> dict[str, Any]:
        """As a Failure's fields (contract_suite.engine.evidence)."""
        return {"reproduce": self.command, "masked": self.masked, "reproduce_lines": self.lines}


def reproduction(request: OperationRequest, secrets: Secrets) -> Reproduction:
    """A curl command that sends the request again, every secret replaced by a shell variable it names, written so
    that bash stops with a message naming what to set when the variable is unset (`${OLD_PHONE_CODE:?...}`); and the
    note saying which variables to set."""
    base = request.base_url + request.operation.path
    params = query_pairs(request.query_values)
    variables: list[str] = []

    def shown(name: str, value: str) -> str:
        if secrets.label(value) is None:
            return _double_quoted(quote(value, safe=""))
        variable = variable_for(name)
        variables.append(variable)
        return "${" + variable + ":?" + _code_hint(request, name, secrets) + "}"

    pairs = [f"{_double_quoted(quote(name, safe=''))}={shown(name, value)}" for name, value in params]
    url_parts = [_double_quoted(base), *(("?" if n == 0 else "&") + pair for n, pair in enumerate(pairs))]
    head = f"curl -sS -X {shlex.quote(request.sent_method)}"
    options = []
    for name, value in request.wire().headers.items():
        if name.lower() in TRANSPORT_HEADERS:
            continue  # curl sends its own; they say nothing about the case
        label = secrets.label(value)
        if label is None:
            options.append("-H " + shlex.quote(f"{name}: {secrets.mask(value)}"))
        else:
            variable = TOKEN_VARIABLES.get(label, variable_for(name.replace("-", "")))
            variables.append(variable)
            hint = "the whole header value"
            options.append(f'-H "{_double_quoted(name)}: ${{{variable}:?{hint}}}"')
    body = request.json_body
    if body is not None:
        options.append(f'-d "{_body_shown(body, request, secrets, variables)}"')
    elif request.body is not None:  # a generated case's own body, as schemathesis made it
        options.append("--data-raw " + shlex.quote(secrets.mask(request.body.decode("utf-8", "replace"))))
    command = " ".join([head, '"' + "".join(url_parts) + '"', *options])
    lines = (
        f"{head} \\",
        *(f'"{part}"\\' for part in url_parts[:-1]),
        f'"{url_parts[-1]}"' + (" \\" if options else ""),
        *(f"  {option}" + (" \\" if n < len(options) - 1 else "") for n, option in enumerate(options)),
    )
    if not variables:
        return Reproduction(command, "", lines)
    names = ", ".join(dict.fromkeys(variables))
    sms = any(name not in TOKEN_VARIABLES.values() for name in variables)
    codes = "; SMS codes must be fresh ones, from the profile's [codes] command (or the SMS)" if sms else ""
    masked = f"(masked: set {names} in your shell first{codes}; an unset one stops the command, naming it)"
    return Reproduction(command, masked, lines)


def _body_shown(body: dict[str, Any], request: OperationRequest, secrets: Secrets, variables: list[str]) -> str:
    """The JSON body for inside double quotes, each secret value (a string the run holds secret) replaced by the
    shell variable it names, as in the query."""
    masked: dict[str, str] = {}

    def walk(node: Any, path: str) -> Any:
        if isinstance(node, dict):
            return {key: walk(value, f"{path}.{key}" if path else key) for key, value in node.items()}
        if isinstance(node, str) and secrets.label(node) is not None:
            variable = variable_for(path.rsplit(".", 1)[-1])
            variables.append(variable)
            marker = f"@@masked-{len(masked)}@@"
            masked[marker] = "${" + variable + ":?" + _code_hint(request, path, secrets) + "}"
            return marker
        return node

    text = _double_quoted(json.dumps(walk(body, ""), ensure_ascii=False))
    for marker, shown in masked.items():
        text = text.replace(marker, shown)
    return text


def _code_hint(request: OperationRequest, name: str, secrets: Secrets) -> str:
    """What a masked value is, for bash's message when its variable is unset (short: folded, the line must fit a
    narrow panel; the note after it says codes must be fresh): the SMS code of the number of its side (oldPhoneCode:
    oldInternationalCode-oldPhone), else an SMS code."""
    roles = {p.name: p.role for p in request.operation.parameters if p.role}
    side, _, what = (roles.get(name) or "").partition(".")
    number = ""
    if what == "code":
        ic, phone = request.value_of_role(f"{side}.international_code"), request.value_of_role(f"{side}.phone")
        if ic and phone and not secrets.label(ic) and not secrets.label(phone):
            number = f" for {ic}-{phone}"
    return _shell_safe(f"SMS code{number}")


def _shell_safe(text: str) -> str:
    """Text for inside ${VAR:?...} in double quotes: none of the characters that would end or expand it."""
    return re.sub(r"[^A-Za-z0-9 .,;\[\]_+=/@-]", "", text)


def exchange_text(answer: Answer, secrets: Secrets) -> str:
    """The request and what came back, as evidence for a report: secrets masked, the body cut short."""
    request = answer.response.request
    lines = [f"{request.method} {request.url}"]
    lines += [f"{name}: {value}" for name, value in request.headers.items() if name.lower() != "content-length"]
    lines.append("")
    if answer.failure is not None:
        lines.append(f"(no whole answer: {answer.failure.detail})")
    else:
        lines.append(f"HTTP {answer.status} {answer.reason}")
        lines += [f"{name}: {value}" for name, value in answer.headers]
        lines.append("")
        body = answer.body[:EVIDENCE_BODY_BYTES].decode("utf-8", errors="replace")
        more = len(answer.body) > EVIDENCE_BODY_BYTES or answer.truncated
        lines.append(body + (f"\n... (cut at {EVIDENCE_BODY_BYTES} bytes)" if more else ""))
    return secrets.mask("\n".join(lines))
