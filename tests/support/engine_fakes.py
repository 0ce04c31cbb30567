"""Stand-ins for the unit tests of the engine's modules: a run with just the parts a layer reads, a sender that
answers as told (the layer below the one under test), and requests and answers of the spec's primary operation."""

from __future__ import annotations

import json
from collections.abc import Callable

from contract_suite.engine.coverage import Coverage
from contract_suite.engine.exchange import Answer, OperationRequest, change_values
from contract_suite.engine.run import Run
from contract_suite.engine.settings import Settings
from contract_suite.http.network import Proxies
from contract_suite.http.transport import NoAnswer, Response
from contract_suite.openapi import spec
from contract_suite.secrets import Secrets
from contract_suite.target_data.profile import Phone, Profile

CONTRACT = spec.load(spec.DEFAULT_SPEC)
# the spec's codes the fakes answer with, by their names in x-business-codes
INCORRECT = CONTRACT.code_named("old-phone-incorrect")
REGISTERED = CONTRACT.code_named("new-phone-registered")
OLD_REFUSED = CONTRACT.code_named("old-phone-verification-failed")
REJECTED = CONTRACT.code_named("token-verification-failed")
BASE_URL = "http://target.test"
TOKEN = "Bearer valid-7e1d"
ACCOUNT, FREE, ELSEWHERE = Phone("86", "13800000001"), Phone("86", "13800000002"), Phone("86", "13800000009")


def settings_for(profile: Profile | None = None, **given) -> Settings:
    """The run's settings as a URL target's, with this profile (default: the account and a free phone)."""
    defaults = dict(
        operation=CONTRACT,
        profile=profile or Profile(account=ACCOUNT, phones={"free": FREE}),
        base_url=BASE_URL,
        allow_destructive=False,
        request_timeout=2.0,
        rate_limit=None,
        max_requests=None,
        insecure=False,
        ca_bundle=None,
        proxies=Proxies(),
        require_all_codes=False,
        allow_partial=False,
        coverage_json=None,
        knife4j_page=None,
        generated_examples=None,
        generated_seed=None,
        max_uri_bytes=None,
        inferred_rules=True,
    )
    return Settings(**{**defaults, **given})


def fake_run(codes=None, account: Phone | None = ACCOUNT, profile: Profile | None = None, **settings) -> Run:
    """A run against BASE_URL (its transport never used: the layers under test send through a ScriptedSender),
    the valid token TOKEN; `settings` as the run's settings (a destructive one unless told otherwise)."""
    profile = profile or Profile(account=account, phones={"free": FREE})
    made = settings_for(profile, **{"allow_destructive": True, **settings})
    return Run(made, BASE_URL, Secrets(), Coverage(CONTRACT), {"valid": TOKEN}, codes)


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
