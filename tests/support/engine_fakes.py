"""Stand-ins for the unit tests of the engine's modules: a run with just the parts a layer reads, a sender that
answers as told (the layer below the one under test), and requests and answers of the spec's primary operation."""

from __future__ import annotations

import json
from collections.abc import Callable
from types import SimpleNamespace

from contract_suite.engine.exchange import Answer, OperationRequest, change_values
from contract_suite.engine.ledger import Ledger
from contract_suite.http.transport import NoAnswer, Response
from contract_suite.openapi import spec
from contract_suite.secrets import Secrets
from contract_suite.target_data.profile import Phone

CONTRACT = spec.load(spec.DEFAULT_SPEC)
BASE_URL = "http://target.test"
TOKEN = "Bearer valid-7e1d"
ACCOUNT, FREE, ELSEWHERE = Phone("86", "13800000001"), Phone("86", "13800000002"), Phone("86", "13800000009")


def fake_run(codes=None, account: Phone | None = ACCOUNT, **settings) -> SimpleNamespace:
    """The parts of a Run the engine's layers read; `settings` as the run's settings' attributes."""
    profile = SimpleNamespace(account=account, phones={"free": FREE}, token_header=None, token_command=None)
    run = SimpleNamespace(
        operation=CONTRACT,
        codes=codes,
        ledger=Ledger(base_url=BASE_URL),
        secrets=Secrets(),
        base_url=BASE_URL,
        tokens={"valid": TOKEN},
        settings=SimpleNamespace(**{"profile": profile, "destructive_allowed": True, "rate_limit": None, **settings}),
        stopped_because=[],
    )

    def request(values, token, operation=None, *, changes_account=False):
        return OperationRequest(
            operation or CONTRACT,
            BASE_URL,
            values,
            token=token,
            token_header=CONTRACT.token_header,
            changes_account=changes_account,
        )

    def stop(reason: str):
        from contract_suite.outcomes import CannotJudge

        run.stopped_because.append(reason)
        run.ledger.stopped = run.ledger.stopped or reason
        return CannotJudge(f"cannot judge: {reason}")

    run.request, run.stop = request, stop
    run.token_header = CONTRACT.token_header
    return run


def move(old: Phone, old_code: str, new: Phone, new_code: str, token: str | None = TOKEN) -> OperationRequest:
    """The primary operation's request moving the account from old to new."""
    values = change_values(CONTRACT, old, old_code, new, new_code)
    return OperationRequest(CONTRACT, BASE_URL, values, token=token, token_header=CONTRACT.token_header)


def answer(request: OperationRequest, code: object = None, status: int = 200, body: bytes | None = None) -> Answer:
    """An answer with the envelope carrying code (or the body given)."""
    if body is None:
        body = json.dumps({"code": code, "msg": "m", "data": None, "extMsg": None}).encode()
    headers = [("Content-Type", "application/json")]
    return Answer(request, Response(request.wire(), status=status, headers=headers, body=body))


def lost(request: OperationRequest, kind: str = "reset") -> Answer:
    return Answer(request, Response(request.wire(), failure=NoAnswer(kind, "closed", sent=True)))


class ScriptedSender:
    """The layer below: answers each request with `reply(request)`, and keeps what it was sent."""

    def __init__(self, reply: Callable[[OperationRequest], Answer]):
        self.reply = reply
        self.sent: list[OperationRequest] = []
        self.bursts: list[int] = []

    def send(self, request: OperationRequest) -> Answer:
        self.sent.append(request)
        return self.reply(request)

    def send_at_once(self, request: OperationRequest, times: int) -> list[Answer]:
        self.bursts.append(times)
        return [self.send(request) for _ in range(times)]
