"""The run's settings as plain data, with their defaults: resolved once from the options, the environment and the
profile by contract_suite.pytest.options, and handed to whoever needs them."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path

from contract_suite.http.network import Proxies
from contract_suite.openapi import spec
from contract_suite.target_data import profile as profiles

REFERENCE_PROFILE = spec.PROJECT_ROOT / "profiles" / "reference.toml"
DEFAULT_PAGE = spec.PROJECT_ROOT / "spec" / "knife4j-setPhone.md"  # the upstream page, transcribed beside the spec
DEFAULT_TIMEOUT = 10.0
CA_BUNDLE_VARIABLES = ("REQUESTS_CA_BUNDLE", "CURL_CA_BUNDLE")  # a private CA's certificates, as requests reads them
URL_RATE_LIMIT = 10.0  # requests a second to a target given by URL, unless told otherwise
URL_MAX_REQUESTS = 1000  # requests in one run to a target given by URL, unless told otherwise
# SMS codes one run to a target given by URL may ask for, unless told otherwise: a full judgement asks for about 20
# where codes live until used and about twice that where they go stale (docs/performance.md); past it, cases that
# need one more are not judged
URL_MAX_SMS_CODES = 60
# Bytes of a generated request's request line (method, path and query as sent, protocol, CRLF), unless told
# otherwise: what nginx holds by default (large_client_header_buffers 8k; past it, its own 414). Gateways keep
# such a limit; a request past it never reaches the endpoint, so the generated layer does not send one.
MAX_URI_BYTES = 8192
# Identical valid changes the race case sends at one moment: two are enough to see a check-then-change that is not
# atomic; more make a narrow race window likelier to show.
CONCURRENT_CHANGES = 2
MAX_CONCURRENT_CHANGES = 50  # each is a thread and a connection of its own; past a few dozen a target sees a flood


@dataclass(frozen=True)
class Settings:
    operation: spec.Operation
    profile: profiles.Profile
    base_url: str | None  # None: the embedded reference server
    allow_destructive: bool
    request_timeout: float
    rate_limit: float | None  # None: no limit
    max_requests: int | None  # None: no cap
    insecure: bool
    ca_bundle: str | None
    proxies: Proxies  # from HTTP(S)_PROXY / ALL_PROXY / NO_PROXY; none for the embedded server
    require_all_codes: bool
    allow_partial: bool
    coverage_json: Path | None
    knife4j_page: Path | None  # given by the user; None: the default page when it exists
    generated_examples: int | None
    generated_seed: int | None
    max_uri_bytes: int | None  # None: no budget
    inferred_rules: bool  # False under -m "not inferred": the generated layer leaves out the inferred rules too
    command_env: Mapping[str, str] = field(repr=False, default_factory=dict)  # the profile commands' environment
    spec_operations: tuple[
        spec.Operation, ...
    ] = ()  # every operation of the spec, `operation` (the primary) among them
    concurrent_changes: int = CONCURRENT_CHANGES  # identical changes the race case sends at one moment
    max_sms_codes: int | None = None  # SMS codes the run may ask for (None: no budget); repairs go past it

    @property
    def embedded(self) -> bool:
        return self.base_url is None

    @property
    def destructive_allowed(self) -> bool:
        return self.embedded or self.allow_destructive

    @property
    def spec_path(self) -> Path:
        return self.operation.spec_path

    @property
    def operations(self) -> tuple[spec.Operation, ...]:
        """Every operation of the spec (the primary alone when `contracts` was not given)."""
        return self.spec_operations or (self.operation,)

    @property
    def operations_with_codes(self) -> tuple[spec.Operation, ...]:
        """The operations the suite judges (they carry x-business-codes), the primary first."""
        return (self.operation,) + tuple(c for c in self.operations if c.documents_codes and c is not self.operation)
