"""The outcomes a case or the run can end in besides pass, in one place (as pytest keeps its own in outcomes.py):
a case that cannot be judged, a case not judged for want of data, a case that does not apply, a case that failed,
and the exit status of a run that cannot judge its target. The engine raises these; the pytest glue
(contract_suite.pytest.translation) turns them into pytest's own outcomes."""

from __future__ import annotations

from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from contract_suite.engine.evidence import Failure

EXIT_CANNOT_JUDGE = 2  # this run cannot judge the target (pytest's INTERRUPTED)


class CannotJudge(Exception):
    """This case (or the run) cannot be judged: the target or the test data is unusable. Reported as an error (E)
    of the case, never as a contract failure."""

    def __init__(self, msg: str):
        super().__init__(msg)
        self.msg = msg


class NotJudged(Exception):
    """This case is skipped for want of what the user did not choose to leave out: data the profile lacks (the
    message names the key to add), or the run's request cap spent. The codes it would have judged make the run
    exit 2 (cannot judge) unless --allow-partial accepts a partial judgement. `needs`: what to add, in a few words
    (a profile key, an option), for the verdict's one line."""

    def __init__(self, msg: str, needs: str | None = None):
        super().__init__(msg)
        self.msg = msg
        self.needs = needs


class NotApplicable(Exception):
    """This case does not apply to this target or to the user's choices (a skip that costs the verdict nothing)."""

    def __init__(self, msg: str):
        super().__init__(msg)
        self.msg = msg


class CaseFailed(Exception):
    """The case found the contract broken: these failures (already recorded in its evidence)."""

    def __init__(self, failures: list[Failure]):
        super().__init__("\n".join(failure.text() for failure in failures))
        self.failures = failures
