"""Sends setPhone requests and judges the answers against the contract; masks secrets in all it prints."""

from __future__ import annotations

import json
import re
import shlex
import time
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import urlencode

import requests

from contract_suite.spec import Contract

ABSENT = None  # a parameter or token given as ABSENT is left out of the request
_NOT_JSON = object()
QUOTE_BYTES = 200
MAX_BODY_BYTES = 1 << 20  # an envelope is tiny; past this the answer is wrong anyway


class RequestCapReached(Exception):
    """The run has sent as many requests as it may send to this target."""


class Secrets:
    """Values never to be shown (tokens, SMS codes), each with the label shown instead."""

    def __init__(self) -> None:
        self._labels: dict[str, str] = {}

    def add(self, value: str | None, label: str) -> None:
        if value:
            self._labels[value] = label

    def label(self, value: Any) -> str | None:
        return self._labels.get(value) if isinstance(value, str) else None

    def mask(self, text: str) -> str:
        """text with every secret replaced by its label; a secret inside a longer digit run is left alone."""
        for value, label in sorted(self._labels.items(), key=lambda kv: -len(kv[0])):
            text = re.sub(rf"(?<![0-9A-Za-z]){re.escape(value)}(?![0-9A-Za-z])", label, text)
        return text

    def __iter__(self):
        return iter(self._labels)


@dataclass
class Exchange:
    """One request and what came back (or why nothing came)."""

    method: str
    url: str
    params: dict[str, str]
    headers: dict[str, str]
    status: int | None = None
    content_type: str = ""
    body: bytes = b""
    truncated: bool = False
    error: str | None = None
    elapsed: float = 0.0
    _json: Any = field(default=_NOT_JSON, repr=False)

    @property
    def json(self) -> Any:
        """The parsed body, or _NOT_JSON."""
        if self._json is _NOT_JSON and self.body:
            try:
                self._json = json.loads(self.body)
            except (ValueError, UnicodeDecodeError):
                pass
        return self._json

    @property
    def is_json(self) -> bool:
        return self.json is not _NOT_JSON

    @property
    def code(self) -> Any:
        body = self.json
        return body.get("code") if isinstance(body, dict) else None

    def curl(self, secrets: Secrets) -> str:
        """A curl line that sends this request again, tokens and codes masked."""
        shown = {k: (f"<{secrets.label(v)}>" if secrets.label(v) else v) for k, v in self.params.items()}
        url = self.url + ("?" + urlencode(shown, safe="<>-") if shown else "")
        parts = ["curl", "-sS", "-X", self.method, url]
        for name, value in self.headers.items():
            parts += ["-H", f"{name}: <{secrets.label(value)}>" if secrets.label(value) else f"{name}: {value}"]
        return " ".join(shlex.quote(p) for p in parts)

    def quote_body(self, secrets: Secrets) -> str:
        """The first bytes of the body, secrets masked, for a failure message."""
        if not self.body:
            return "(empty body)"
        head = self.body[:QUOTE_BYTES].decode("utf-8", errors="replace")
        if self.truncated:
            more = f" ... (more than {MAX_BODY_BYTES} bytes; read no further)"
        else:
            more = f" ... ({len(self.body)} bytes in all)" if len(self.body) > QUOTE_BYTES else ""
        return secrets.mask(repr(head)) + more


class Client:
    """Sends the contract's one operation to a base URL, politely: at most `rate` requests a
    second and `cap` requests in all (None: no limit)."""

    def __init__(self, base_url: str, contract: Contract, token_header: str, timeout: float, secrets: Secrets,
                 verify: bool = True, rate: float | None = None, cap: int | None = None):
        self.url = base_url.rstrip("/") + contract.path
        self.contract = contract
        self.token_header = token_header
        self.timeout = timeout
        self.secrets = secrets
        self.rate = rate
        self.cap = cap
        # Given per request: a session's verify=False loses to REQUESTS_CA_BUNDLE in requests,
        # while a per-request True still takes the bundle (a private CA).
        self.verify = verify
        self.session = requests.Session()
        self.sent = 0
        self._last = 0.0

    def wait_turn(self) -> None:
        """Sleep as the rate limit asks; RequestCapReached once the cap is spent."""
        if self.cap is not None and self.sent >= self.cap:
            raise RequestCapReached(f"the run's request cap ({self.cap}) for this target is spent; raise it with --max-requests")
        if self.rate:
            pause = self._last + 1.0 / self.rate - time.monotonic()
            if pause > 0:
                time.sleep(pause)
        self._last = time.monotonic()
        self.sent += 1

    def send(self, params: dict[str, str | None], token: str | None) -> Exchange:
        query = {k: v for k, v in params.items() if v is not ABSENT}
        headers = {self.token_header: token} if token is not ABSENT else {}
        exchange = Exchange(self.contract.method, self.url, query, headers)
        self.wait_turn()
        started = time.perf_counter()
        try:
            with self.session.request(self.contract.method, self.url, params=query, headers=headers,
                                      timeout=self.timeout, stream=True, verify=self.verify) as response:
                exchange.status = response.status_code
                exchange.content_type = response.headers.get("Content-Type", "")
                exchange.body, exchange.truncated = read_capped(response)
        except requests.Timeout:
            exchange.error = f"timed out after {self.timeout:g} s"
        except requests.ConnectionError as exc:
            exchange.error = f"cannot connect: {self.secrets.mask(str(exc))[:300]}"
        except requests.RequestException as exc:
            exchange.error = f"request failed: {type(exc).__name__}: {self.secrets.mask(str(exc))[:300]}"
        exchange.elapsed = time.perf_counter() - started
        return exchange


def read_capped(response: requests.Response) -> tuple[bytes, bool]:
    """The body, up to MAX_BODY_BYTES; and whether there was more."""
    chunks, size = [], 0
    for chunk in response.iter_content(chunk_size=65536):
        chunks.append(chunk)
        size += len(chunk)
        if size > MAX_BODY_BYTES:
            return b"".join(chunks)[:MAX_BODY_BYTES], True
    return b"".join(chunks), False


def envelope_problem(exchange: Exchange, contract: Contract, secrets: Secrets) -> str | None:
    """Why this answer breaks the envelope part of the contract (status, type, JSON, schema), or None."""
    if exchange.error:
        return exchange.error
    if exchange.status not in contract.statuses:
        return (
            f"HTTP {exchange.status}: every outcome must be HTTP {' or '.join(map(str, sorted(contract.statuses)))} "
            f"with the envelope in the body; body: {exchange.quote_body(secrets)}"
        )
    media = exchange.content_type.split(";")[0].strip().lower()
    if media not in contract.media_types:
        return f"Content-Type {exchange.content_type or '(none)'!r}: expected {', '.join(contract.media_types)}; body: {exchange.quote_body(secrets)}"
    if exchange.truncated:
        return f"the body is over {MAX_BODY_BYTES} bytes, not an envelope: {exchange.quote_body(secrets)}"
    if not exchange.is_json:
        return f"the body is not JSON: {exchange.quote_body(secrets)}"
    errors = contract.envelope_errors(exchange.json)
    if errors:
        code = exchange.code
        lead = f"code {json.dumps(code)} is not a documented code; " if (code is not None and (not isinstance(code, int) or isinstance(code, bool) or code not in contract.codes)) else ""
        return f"{lead}the envelope breaks the spec's schema: {'; '.join(errors)}; body: {exchange.quote_body(secrets)}"
    return None


def judge(exchange: Exchange, contract: Contract, expected: set[int], rule: str, secrets: Secrets) -> str | None:
    """The failure message for this answer, or None when it is what the contract expects."""
    problem = envelope_problem(exchange, contract, secrets)
    if problem is None and exchange.code in expected:
        return None
    wanted = " or ".join(contract.describe(c) for c in sorted(expected))
    lines = [f"{rule}", f"  expected: {wanted}"]
    if problem is not None:
        lines.append(f"  actual:   {problem}")
    else:
        server_msg = exchange.json.get("msg")
        lines.append(f"  actual:   {contract.describe(exchange.code)}, server msg {secrets.mask(json.dumps(server_msg, ensure_ascii=False))}")
    lines.append(f"  reproduce: {exchange.curl(secrets)}")
    return "\n".join(lines)
