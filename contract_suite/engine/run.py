"""One run against one target: its settings, secrets, tokens, bounded transport and ledger, the requests it builds,
and whether it can still judge.

Once the run knows it cannot judge the target (unusable target or test data), `stop()` closes the transport:
nothing more is sent, no more SMS codes are asked for, and the run ends with exit 2 and one line saying why.
"""

from __future__ import annotations

from collections.abc import Mapping
from types import MappingProxyType
from typing import TYPE_CHECKING, Any

from contract_suite.engine.exchange import OperationRequest
from contract_suite.engine.ledger import Ledger
from contract_suite.engine.settings import Settings
from contract_suite.http.network import Tls
from contract_suite.http.transport import Limits, Transport
from contract_suite.openapi.spec import Operation
from contract_suite.outcomes import CannotJudge
from contract_suite.secrets import Secret, Secrets
from contract_suite.target_data.account_lock import AccountLock
from contract_suite.target_data.sms_codes import CodeSource

if TYPE_CHECKING:
    from contract_suite.engine.coverage import Coverage


class Run:
    def __init__(
        self,
        settings: Settings,
        base_url: str,
        secrets: Secrets,
        coverage: Coverage,
        tokens: Mapping[str, Secret] = MappingProxyType({}),
        codes: CodeSource | None = None,
    ):
        self.settings = settings
        self.operation: Operation = settings.operation
        self.base_url = base_url.rstrip("/")
        self.secrets = secrets
        self.coverage = coverage  # the documented codes the answers carry are counted into it
        self.codes = codes  # where the SMS codes come from (None: a run that asks for none, the preflight's)
        self.ledger = Ledger(base_url=self.base_url)
        profile = settings.profile
        self.ledger.codes.source = profile.code_source if profile.fetches_codes else "static"
        self.transport = Transport(
            Limits(settings.request_timeout, settings.rate_limit, settings.max_requests),
            Tls(verify=not settings.insecure, ca_bundle=settings.ca_bundle),
            settings.proxies,
        )
        self.tokens: Mapping[str, Secret] = MappingProxyType(dict(tokens))  # by role; read-only, replaced whole
        self.preflight_envelope: bool | None = None  # whether the preflight's probe got the envelope (None: not run)
        self.account_lock: AccountLock | None = None  # the test account's lock on this machine, while the run lives

    def __repr__(self) -> str:  # nothing secret in a traceback's locals
        return f"Run({self.base_url!r})"

    @property
    def stopped(self) -> str | None:
        return self.ledger.stopped

    def use_token(self, role: str, token: Secret) -> None:
        """A token fetched during the run (the [tokens] command's) takes the role's place from now on."""
        self.ledger.tokens_fetched += 1
        self.tokens = MappingProxyType({**self.tokens, role: token})

    def note_rule(self, rule: str) -> None:
        """The running case judged this rule (its title in the reports)."""
        self.ledger.note_rule(self.secrets.mask(rule))

    def token_header_of(self, operation: Operation | None = None) -> str:
        """The header an operation's token goes in: the profile's, else the operation's security scheme's."""
        return self.settings.profile.token_header or (operation or self.operation).token_header

    @property
    def token_header(self) -> str:
        return self.token_header_of(self.operation)

    def request(
        self,
        values: Mapping[str, Any],
        token: str | None,
        operation: Operation | None = None,
        *,
        changes_account: bool = False,
    ) -> OperationRequest:
        """A request to an operation (default: the primary one) with these parameter values and token (None: no
        token header)."""
        operation = operation or self.operation
        return OperationRequest(
            operation,
            self.base_url,
            values,
            token=token,
            token_header=self.token_header_of(operation),
            changes_account=changes_account,
        )

    def stop(self, reason: str) -> CannotJudge:
        """Stop judging this target: close the transport; the exception to raise from where it was found."""
        reason = self.secrets.mask(reason)
        if self.ledger.stopped is None:
            self.ledger.stopped = reason
            self.transport.close(reason)
        return CannotJudge(f"cannot judge: {self.ledger.stopped}")

    def settled_ledger(self) -> Ledger:
        """The ledger with what other objects counted: requests sent (the transport), SMS codes asked for and
        whether they go stale (the code source)."""
        ledger = self.ledger
        ledger.sent = self.transport.sent
        cap = self.settings.max_requests
        ledger.cap_reached = bool(cap and self.transport.sent >= cap)
        if self.codes is not None:
            codes, record = self.codes, ledger.codes
            record.asked, record.codes_go_stale = codes.asked, codes.codes_go_stale
            record.asked_by_number = dict(codes.asked_by_number)
            record.budget, record.past_budget = codes.limits.budget, codes.past_budget_asked
            record.throttled, record.waited = codes.throttled, round(codes.waited, 3)
        return ledger
