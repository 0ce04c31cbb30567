"""What a catalogue entry is: the reference server with one named defect, and the verdict the suite must reach
on it; and the words the entries use to name the cases and codes they expect."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field

from contract_suite.openapi import spec
from contract_suite.schemathesis_layer.generation import UNUSUAL_VALUES
from reference_server.app import SetPhoneService
from tests.support.junit import case_of

# Test ids of the hand-written contract cases, as pytest names them from the project root.
BUSINESS = "contract_tests/test_business_rules.py::"
REQUIRED = "contract_tests/test_required_fields.py::"
TOKEN = "contract_tests/test_token.py::"
ROBUST = "contract_tests/test_robustness.py::"
SUCCESS = "contract_tests/test_success.py::test_change_is_made_and_restored"
STATE = "contract_tests/test_state_rules.py::"

_CONTRACT = spec.load(spec.DEFAULT_SPEC)


def code_of(name: str) -> int:
    """A documented code, by its x-business-codes name."""
    return _CONTRACT.code_named(name)


def shown(kind: str) -> str:
    """How a robustness case's rule shows the unusual value of this kind
    (contract_suite.schemathesis_layer.generation)."""
    value = UNUSUAL_VALUES[kind]
    return repr(value) if len(value) <= 40 else f"{value[:12]!r}... ({len(value)} characters)"


def wanted(name: str) -> str:
    """The suite's line naming the code a case expected, by the code's x-business-codes name."""
    return f"expected: {_CONTRACT.code_named(name)}"


def got(name: str) -> str:
    """The suite's line naming the documented code the server answered instead."""
    return f"actual:   {_CONTRACT.code_named(name)}"


# The test data a variant's run gets (tests/support/variant_runs.py makes each profile):
REFERENCE = "reference"  # profiles/reference-in-process.toml: tokens, phones, SMS codes from a function
STATIC_CODES = "static codes"  # the same with static SMS codes (no command, not reusable): a QA without an SMS gateway
TOKEN_COMMAND = "token command"  # the same with a [tokens] command that prints the account's current token


@dataclass(frozen=True)
class Variant:
    """The reference server with one defect mixed in (a SetPhoneService subclass overriding one step), and how the
    suite is run on it: with which test data, and whether it may repair the account (--allow-destructive)."""

    defect: type[SetPhoneService]
    profile: str = field(default=REFERENCE, kw_only=True)
    destructive: bool = field(default=True, kw_only=True)
    label: str | None = field(default=None, kw_only=True)  # when one defect is run in two ways

    @property
    def name(self) -> str:
        return self.label or self.defect.__name__

    def __post_init__(self) -> None:
        doc = (self.defect.__doc__ or "").strip()
        if not doc or "\n" in doc:
            raise ValueError(f"{self.name}: a defect needs a one-line docstring saying what it changes")
        if self.profile not in (REFERENCE, STATIC_CODES, TOKEN_COMMAND):
            raise ValueError(f"{self.name}: unknown profile {self.profile!r}")


@dataclass(frozen=True)
class Broken(Variant):
    """A server the suite must fail on with exit 1 (the contract is broken): each test id in `fails` fails, its
    message holding every fragment; `says`, when given, is in the verdict line (`BROKEN (exit 1): ...`).

    `sole`: no other hand-written case fails on it, so the one case in `fails` is necessary.
    """

    fails: Mapping[str, tuple[str, ...]]
    sole: bool = False
    says: str = ""
    exit_code: int = field(default=1, init=False)

    @property
    def cases(self) -> set[str]:
        """The hand-written cases (test functions, parametrizations folded) named in `fails`."""
        return {case_of(test_id) for test_id in self.fails}

    def __post_init__(self) -> None:
        super().__post_init__()
        if self.sole and len(self.cases) != 1:
            raise ValueError(f"{self.name}: sole=True needs `fails` to name one case, got {sorted(self.cases)}")


@dataclass(frozen=True)
class Unjudgeable(Variant):
    """An environment that fails part-way (a gateway's limit, maintenance, an expired token): the suite must end
    with exit 2, its one verdict line holding `says`, and no case blamed on the contract."""

    says: str
    exit_code: int = field(default=2, init=False)


@dataclass(frozen=True)
class Correct(Variant):
    """A server that keeps the contract in a way the reference does not: the suite must pass, skipping nothing."""

    exit_code: int = field(default=0, init=False)


@dataclass(frozen=True)
class Escape(Variant):
    """A contract break the suite does not catch yet, and the gap in the suite that lets it through.

    Its self-test xfails while the suite passes on it and fails once a case catches it: then move it to BROKEN.
    """

    gap: str
