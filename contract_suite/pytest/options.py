"""The suite's options: declared for pytest, then resolved once (options, then environment, then profile, then
defaults) and validated into the run's Settings (contract_suite.engine.settings). Nothing else reads options or the
environment; a bad value is a pytest.UsageError (exit 4) naming where it came from."""

from __future__ import annotations

import math
import ssl
from collections.abc import Mapping
from pathlib import Path
from urllib.parse import urlsplit

import pytest

from contract_suite.engine.settings import (
    CA_BUNDLE_VARIABLES,
    CONCURRENT_CHANGES,
    DEFAULT_TIMEOUT,
    MAX_CONCURRENT_CHANGES,
    MAX_URI_BYTES,
    REFERENCE_PROFILE,
    URL_MAX_REQUESTS,
    URL_MAX_SMS_CODES,
    URL_RATE_LIMIT,
    Settings,
)
from contract_suite.http.network import Proxies, ProxyError, Tls, tls_context
from contract_suite.openapi import spec
from contract_suite.target_data import profile as profiles

TRUE_WORDS = {"1", "true", "yes", "on"}

# option dest -> the environment variable that stands in for it
ENVIRONMENT = {
    "spec": "CONTRACT_SPEC",
    "knife4j_page": "CONTRACT_KNIFE4J_PAGE",
    "profile": "CONTRACT_PROFILE",
    "allow_destructive": "CONTRACT_ALLOW_DESTRUCTIVE",
    "request_timeout": "CONTRACT_TIMEOUT",
    "coverage_json": "CONTRACT_COVERAGE_JSON",
    "generated_examples": "CONTRACT_GENERATED_EXAMPLES",
    "generated_seed": "CONTRACT_GENERATED_SEED",
    "max_uri_bytes": "CONTRACT_MAX_URI_BYTES",
    "rate_limit": "CONTRACT_RATE_LIMIT",
    "max_requests": "CONTRACT_MAX_REQUESTS",
    "max_sms_codes": "CONTRACT_MAX_SMS_CODES",
    "insecure": "CONTRACT_INSECURE",
    "require_all_codes": "CONTRACT_REQUIRE_ALL_CODES",
    "allow_partial": "CONTRACT_ALLOW_PARTIAL",
    "concurrent_changes": "CONTRACT_CONCURRENT_CHANGES",
}


def add_options(parser: pytest.Parser) -> None:
    group = parser.getgroup("contract", "setPhone contract suite")

    def option(flag: str, dest: str, help: str, **kwargs) -> None:
        group.addoption(flag, dest=dest, default=None, help=f"{help} (env {ENVIRONMENT[dest]})", **kwargs)

    option("--spec", "spec", "OpenAPI document holding the contract (default: spec/openapi.yaml)", metavar="PATH")
    option(
        "--knife4j-page",
        "knife4j_page",
        "knife4j markdown page the spec is checked against for drift "
        "(default: spec/knife4j-setPhone.md, the upstream page transcribed beside the spec)",
        metavar="PATH",
    )
    option(
        "--profile",
        "profile",
        "TOML test data for the target: tokens, phones, SMS codes "
        "(default: profiles/reference.toml for the embedded server, none for a URL)",
        metavar="PATH",
    )
    option(
        "--allow-destructive",
        "allow_destructive",
        "run the cases that change the test account's phone on a URL "
        "target, and let the suite restore it after a target wrongly accepts a change",
        action="store_true",
    )
    option(
        "--request-timeout",
        "request_timeout",
        f"seconds for a whole request, connect to last byte (default {DEFAULT_TIMEOUT:g})",
        metavar="SECONDS",
    )
    option(
        "--coverage-json", "coverage_json", "also write the documented-code coverage table as JSON here", metavar="PATH"
    )
    option(
        "--generated-examples",
        "generated_examples",
        "cases the generated layer's fuzzing phase sends (default: generation.max-examples in schemathesis.toml)",
        metavar="N",
    )
    option(
        "--generated-seed",
        "generated_seed",
        "seed of the generated layer (default: seed in schemathesis.toml)",
        metavar="N",
    )
    option(
        "--max-uri-bytes",
        "max_uri_bytes",
        f"the generated layer sends no request whose request line (method, path and query as sent, protocol) "
        f"is longer than N bytes, the limit of the gateways in front of the target "
        f"(default {MAX_URI_BYTES}, nginx's; 0: no budget)",
        metavar="N",
    )
    option(
        "--rate-limit",
        "rate_limit",
        f"at most this many requests a second, both layers (default "
        f"{URL_RATE_LIMIT:g} for a URL target, none for the embedded server; 0: no limit)",
        metavar="PER_SECOND",
    )
    option(
        "--max-requests",
        "max_requests",
        f"send at most N requests in the run; the cases past it are not judged "
        f"(default {URL_MAX_REQUESTS} for a URL target, none for the embedded server; 0: no cap)",
        metavar="N",
    )
    option(
        "--max-sms-codes",
        "max_sms_codes",
        f"ask the profile's code source for at most N SMS codes in the run; cases that need one more are not judged, "
        f"putting the test account back is never stopped (default: the profile's [codes] max_per_run, else "
        f"{URL_MAX_SMS_CODES} for a URL target, none for the embedded server; 0: no budget)",
        metavar="N",
    )
    option(
        "--insecure",
        "insecure",
        "do not verify the target's TLS certificate; for a private CA prefer REQUESTS_CA_BUNDLE=/path/to/ca.pem",
        action="store_true",
    )
    option(
        "--concurrent-changes",
        "concurrent_changes",
        f"the race case (destructive) sends the same valid change N times at one moment, each on its own "
        f"connection; exactly one may succeed (default {CONCURRENT_CHANGES}; 2 to {MAX_CONCURRENT_CHANGES}). They "
        "count as N requests against --rate-limit and --max-requests: the pace waits for them as a whole",
        metavar="N",
    )
    option(
        "--require-all-codes",
        "require_all_codes",
        "exit 2 (cannot judge) when an exercisable documented code "
        "is left unjudged (data missing from the profile, a case skipped, the request cap reached)",
        action="store_true",
    )
    option(
        "--allow-partial",
        "allow_partial",
        "exit 0 (HOLDS, partial) even when codes are left unjudged for want of profile data or because the "
        "request cap was reached; without it that is exit 2 (cannot judge). For exploring a target",
        action="store_true",
    )


class _Reader:
    """An option's value, else its environment variable's, converted and checked; UsageError names the source."""

    def __init__(self, config: pytest.Config, environ: Mapping[str, str]):
        self.config = config
        self.environ = environ

    def raw(self, dest: str) -> tuple[object, str]:
        value = self.config.getoption(dest)
        if value not in (None, False):
            return value, "--" + dest.replace("_", "-")
        env = ENVIRONMENT[dest]
        return (self.environ.get(env) or None), env

    def text(self, dest: str) -> str | None:
        return self.raw(dest)[0]

    def writable_path(self, dest: str) -> Path | None:
        """A file the run will write at its end, checked now: its folder made, the file openable for writing."""
        value, source = self.raw(dest)
        if not value:
            return None
        path = Path(value)
        existed = path.exists()
        try:
            path.parent.mkdir(parents=True, exist_ok=True)
            with open(path, "a", encoding="utf-8"):
                pass
        except OSError as exc:
            raise pytest.UsageError(
                f"{source} {value}: the run could not write there ({exc.strerror or exc})"
            ) from None
        if not existed:
            path.unlink(missing_ok=True)  # written at the end of the run
        return path

    def flag(self, dest: str) -> bool:
        value, _ = self.raw(dest)
        return value is True or (isinstance(value, str) and value.strip().lower() in TRUE_WORDS)

    def number(self, dest: str, kind: type, minimum: float, words: str) -> float | int | None:
        value, source = self.raw(dest)
        if value is None:
            return None
        try:
            number = kind(value)
        except ValueError:
            noun = "a whole number" if kind is int else "a number"
            raise pytest.UsageError(f"{source} must be {noun}, got {value!r}") from None
        if not math.isfinite(number):
            raise pytest.UsageError(f"{source} must be a finite number, got {value!r}")
        if number < minimum:
            raise pytest.UsageError(f"{source} must be {words}, got {value}")
        return number


def _check_base_url(base_url: str) -> None:
    """UsageError unless base_url is http(s)://HOST[:PORT][/PREFIX]: the suite appends the operations' paths to it."""
    if not base_url.startswith(("http://", "https://")):
        raise pytest.UsageError(f"--base-url must start with http:// or https://, got {base_url!r}")
    parts = urlsplit(base_url)
    try:
        _ = parts.port  # read to check it: urlsplit raises on a bad port only then
    except ValueError:
        raise pytest.UsageError(f"--base-url has a port that is not a number from 0 to 65535: {base_url!r}") from None
    if not parts.hostname:
        raise pytest.UsageError(f"--base-url names no host: {base_url!r}")
    if parts.query or parts.fragment or base_url.endswith(("?", "#")):
        raise pytest.UsageError(
            f"--base-url is the server's address and path prefix only, without ?query or #fragment: {base_url!r}"
        )


def resolve(config: pytest.Config, environ: Mapping[str, str], inferred_rules: bool) -> Settings:
    """The run's settings from its options and environment; pytest.UsageError (exit 4) on any bad input."""
    read = _Reader(config, environ)
    timeout = read.number("request_timeout", float, 1e-9, "more than 0 s")
    examples = read.number("generated_examples", int, 1, "at least 1")
    seed = read.number("generated_seed", int, 0, "0 or more")
    uri_bytes = read.number("max_uri_bytes", int, 0, "0 (no budget) or more")
    rate = read.number("rate_limit", float, 0, "0 (no limit) or more")
    cap = read.number("max_requests", int, 0, "0 (no cap) or more")
    sms_budget = read.number("max_sms_codes", int, 0, "0 (no budget) or more")
    concurrent = read.number("concurrent_changes", int, 2, "at least 2 (one request cannot race another)")
    if concurrent is not None and concurrent > MAX_CONCURRENT_CHANGES:
        _, source = read.raw("concurrent_changes")
        raise pytest.UsageError(f"{source} must be at most {MAX_CONCURRENT_CHANGES}, got {concurrent}")
    try:
        loaded = spec.load_all(read.text("spec") or spec.DEFAULT_SPEC)
    except spec.SpecError as exc:
        raise pytest.UsageError(f"cannot load the contract: {exc}") from None
    overrides = {role: environ.get(var, "") for role, var in profiles.ENV_OVERRIDES.items()}
    path = read.text("profile")
    given_url = config.getoption("base_url") or config.getini("base_url") or None
    try:
        profile = profiles.load(path, overrides)
        base_url = given_url or profile.base_url
        if base_url is None and path is None:
            profile = profiles.load(REFERENCE_PROFILE, overrides)
    except profiles.ProfileError as exc:
        raise pytest.UsageError(str(exc)) from None
    if base_url:
        _check_base_url(base_url)
    embedded = base_url is None
    ca_variable = next((name for name in CA_BUNDLE_VARIABLES if environ.get(name)), None)
    ca_bundle = environ[ca_variable] if ca_variable else None
    if ca_bundle and base_url and base_url.startswith("https://"):  # as requests, it matters to HTTPS alone
        try:
            tls_context(Tls(ca_bundle=ca_bundle))
        except (OSError, ssl.SSLError) as exc:
            reason = getattr(exc, "strerror", None) or getattr(exc, "reason", None) or type(exc).__name__
            raise pytest.UsageError(
                f"{ca_variable}={ca_bundle}: no CA certificates can be read from it ({reason}); point it at a PEM "
                "file (or a folder of hashed certificates) of the CA that signed the target's certificate"
            ) from None
    try:  # the embedded server is this process's own: never reached through a proxy
        proxies = Proxies() if embedded else Proxies.from_environment(environ)
    except ProxyError as exc:
        raise pytest.UsageError(str(exc)) from None
    page = read.text("knife4j_page")
    coverage_json = read.writable_path("coverage_json")
    return Settings(
        operation=loaded.primary,
        profile=profile,
        base_url=base_url.rstrip("/") if base_url else None,
        allow_destructive=read.flag("allow_destructive"),
        request_timeout=timeout or DEFAULT_TIMEOUT,
        rate_limit=((None if embedded else URL_RATE_LIMIT) if rate is None else rate) or None,
        max_requests=((None if embedded else URL_MAX_REQUESTS) if cap is None else cap) or None,
        insecure=read.flag("insecure"),
        ca_bundle=ca_bundle,
        proxies=proxies,
        require_all_codes=read.flag("require_all_codes"),
        allow_partial=read.flag("allow_partial"),
        coverage_json=coverage_json,
        knife4j_page=Path(page) if page else None,
        generated_examples=examples,
        generated_seed=seed,
        max_uri_bytes=(MAX_URI_BYTES if uri_bytes is None else uri_bytes) or None,
        inferred_rules=inferred_rules,
        command_env=dict(environ),
        spec_operations=loaded.operations,
        concurrent_changes=CONCURRENT_CHANGES if concurrent is None else concurrent,
        max_sms_codes=_sms_budget(sms_budget, profile.code_budget, embedded),
    )


def _sms_budget(given: int | None, in_profile: int | None, embedded: bool) -> int | None:
    """--max-sms-codes (or its variable), else the profile's [codes] max_per_run, else the default; 0: none."""
    budget = given if given is not None else in_profile
    if budget is None:
        budget = 0 if embedded else URL_MAX_SMS_CODES
    return budget or None
