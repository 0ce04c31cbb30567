"""Before any case: can this run judge the target at all? One line naming the cause and the fix, instead of
a wall of per-case failures. Every probe goes through the run's bounded, rate-limited transport.

The probe that needs an SMS code (is the account where the profile says?) runs later, just before the first
case that uses the account (contract_suite.engine.account), so that a run without such cases sends no SMS.
"""

from __future__ import annotations

from contract_suite.engine.exchange import Answer, change_values
from contract_suite.engine.judging import describe_answer, is_documented
from contract_suite.engine.run import Run
from contract_suite.engine.sending import Sender

UNAVAILABLE = (502, 503, 504)
WRONG_CODE = "000000"


def target_problem(run: Run, network: Sender) -> str | None:
    """Why the run cannot judge this target, or None. (The first line a user sees when it cannot.) The probes go
    through `network`: the sending stack below the token."""
    problem = _speaks_the_api(run, network)
    if problem is None:
        problem = _valid_token_accepted(run, network)
    return problem


def _speaks_the_api(run: Run, network: Sender) -> str | None:
    """One request with no token and no parameter (harmless: the platform answers 5032). HTTP 200, or an envelope
    with a documented code whatever its status, means the URL serves the endpoint: the cases judge the details.
    Anything else (a 404 page, a gateway's JSON error, a redirect) says the URL is not the endpoint."""
    answer = network.send(run.request({}, None))
    run.preflight_envelope = answer.from_endpoint  # what a re-check compares with
    if answer.failure is not None:
        return _no_answer(run, answer)
    if answer.status == 200 or is_documented(run.operation, answer.code):
        return None  # a 200 that is not an envelope is judged by the cases (it may be the contract's fault)
    seen = describe_answer(answer, run.secrets)
    if answer.status is not None and 300 <= answer.status < 400:
        return (
            f"{seen}: the URL redirects, and the suite follows no redirect (every answer of this API is HTTP "
            "200); give the URL it points at as --base-url, or check the base URL's scheme and path prefix"
        )
    if answer.status in UNAVAILABLE:
        return f"{seen}: the target (or a gateway in front of it) is unavailable; try again when it is up"
    return (
        f"{seen}: this URL does not serve the endpoint {run.operation.method} {run.operation.path}; "
        "check the base URL's path prefix"
    )


def valid_token_probe(run: Run, network: Sender) -> Answer | None:
    """A full request with the valid token and wrong codes (sends no SMS, changes nothing): 5032 means the
    token is rejected, 5033 that its user is gone. Every parameter is there, so a server that checks the
    parameters before the token reaches the token too. None when the profile has no valid token."""
    profile = run.settings.profile
    token = run.tokens.get("valid")
    if not token:
        return None
    params = {p.name: p.example for p in run.operation.parameters}
    account, free = profile.account, profile.phones.get("free")
    if account is not None and free is not None:
        params = change_values(run.operation, account, WRONG_CODE, free, WRONG_CODE)
    return network.send(run.request(params, token))


def _valid_token_accepted(run: Run, network: Sender) -> str | None:
    answer = valid_token_probe(run, network)
    if answer is None:
        return None
    if answer.failure is not None:
        return _no_answer(run, answer)
    return _token_problem(run, answer, run.tokens["valid"])


def _no_answer(run: Run, answer: Answer) -> str:
    detail = run.secrets.mask(answer.failure.detail)
    if answer.failure.kind == "timeout":
        return f"no answer: {detail} (set --request-timeout to wait longer)"
    return detail


def _token_problem(run: Run, answer: Answer, token: str) -> str | None:
    operation = run.operation
    code = answer.code
    header = run.token_header
    if code == operation.code_named("token-verification-failed"):
        hint = "" if " " in token.strip() else f' (it is sent as given in {header}: does it need its "Bearer " prefix?)'
        return (
            f"the valid token is rejected ({operation.describe(code)}): expired? Tokens live 2 hours{hint}. "
            "Give a fresh one in [tokens] valid or CONTRACT_TOKEN, or a [tokens] command that fetches one"
        )
    if code == operation.code_named("user-does-not-exist"):
        return (
            f"the valid token's user does not exist ({operation.describe(code)}): [tokens] valid must be the "
            "test account's token"
        )
    return None
