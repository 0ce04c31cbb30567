"""Coverage recording, as one object registered by the plugin: what each case's report says of the documented
codes it exercises (skipped, and why) and of the rule of state it judges, and the cases a stop left unrun."""

from __future__ import annotations

import pytest

from contract_suite.engine.coverage import BROKEN, CANNOT_JUDGE_RULE, HELD, SKIPPED, Coverage
from contract_suite.pytest.items import exercised_by, operation_of, state_rule_of
from contract_suite.pytest.keys import CANNOT_JUDGE, RAN
from contract_suite.pytest.translation import NotJudgedSkip
from contract_suite.secrets import Secrets


class CoverageRecording:
    def __init__(self, coverage: Coverage, secrets: Secrets):
        self.coverage = coverage
        self.secrets = secrets

    def record(self, item: pytest.Item, call: pytest.CallInfo, made: pytest.TestReport) -> None:
        """A case's report, once the plugin made it (cannot-judge as an error, skip reasons in words)."""
        if made.skipped and made.when in ("setup", "call"):
            operation = operation_of(item)
            codes = exercised_by(item, operation)
            if codes:
                reason = made.longrepr[2] if isinstance(made.longrepr, tuple) else str(made.longrepr)
                lacking = call.excinfo is not None and isinstance(call.excinfo.value, NotJudgedSkip)
                needs = call.excinfo.value.needs if lacking else None
                self.coverage.skip(
                    codes, self.secrets.mask(reason.removeprefix("Skipped: ")), operation, lacking=lacking, needs=needs
                )
        self._rule_outcome(item, made)

    def _rule_outcome(self, item: pytest.Item, made: pytest.TestReport) -> None:
        """What the case's outcome says of the rule of state it judges: held, broken, skipped or not judged (why)."""
        name = state_rule_of(item)
        if name is None or not (made.when == "call" or (made.when == "setup" and not made.passed)):
            return
        if CANNOT_JUDGE in made.user_properties:
            detail = self.secrets.mask(str(made.longrepr)).partition("\n")[0]
            self.coverage.rule_outcome(name, CANNOT_JUDGE_RULE, detail)
        elif made.skipped:
            reason = made.longrepr[2] if isinstance(made.longrepr, tuple) else str(made.longrepr)
            self.coverage.rule_outcome(name, SKIPPED, self.secrets.mask(reason.removeprefix("Skipped: ")))
        elif made.when == "call":
            self.coverage.rule_outcome(name, BROKEN if made.failed else HELD)

    def not_reached(self, session: pytest.Session) -> None:
        """The cases a stop left unrun: their codes are not judged because the run stopped, and say so."""
        for item in session.items:
            if item.stash.get(RAN, False):
                continue
            operation = operation_of(item)
            codes = exercised_by(item, operation)
            if codes:
                self.coverage.skip(codes, "the run stopped before this case", operation, lacking=True)
            rule = state_rule_of(item)
            if rule is not None:
                self.coverage.rule_outcome(rule, CANNOT_JUDGE_RULE, "the run stopped before this case")
