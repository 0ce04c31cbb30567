"""The engine's outcomes (contract_suite.outcomes) as pytest's: a case that cannot be judged or is not judged for
want of data is a skip to pytest (and so to hypothesis, which stops the generated layer at once instead of
shrinking), reported by the plugin as an error or a skip that names what to add; a failed case fails with its
failures' text and no traceback."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager

import pytest

from contract_suite.outcomes import CannotJudge, CaseFailed, NotApplicable, NotJudged


class CannotJudgeSkip(pytest.skip.Exception):
    """CannotJudge, as pytest sees it: the plugin reports it as an error of the case, and the run's exit is 2."""


class NotJudgedSkip(pytest.skip.Exception):
    """NotJudged, as pytest sees it: a skip whose codes count against the verdict; `needs` says what to add."""

    def __init__(self, msg: str, needs: str | None = None):
        super().__init__(msg)
        self.needs = needs


@contextmanager
def as_pytest_outcomes(rerun: str | None = None) -> Iterator[None]:
    """Run a case's body (or a fixture's) with the engine's outcomes turned into pytest's; `rerun`, the command
    that judges just this case again, is said after the failures of a case that fails."""
    failed = None
    try:
        yield
    except CannotJudge as exc:
        raise CannotJudgeSkip(exc.msg) from None
    except NotJudged as exc:
        raise NotJudgedSkip(exc.msg, needs=exc.needs) from None
    except NotApplicable as exc:
        raise pytest.skip.Exception(exc.msg) from None
    except CaseFailed as exc:
        failed = str(exc)
    except pytest.fail.Exception as exc:
        if exc.pytrace or rerun is None:
            raise
        failed = exc.msg  # a case already failed in pytest's terms (the generated layer's, inside hypothesis)
    if failed is not None:  # pytest's failure, without the engine's exception chained to it (it says the same)
        said = f"{failed}\n  rerun: {rerun}" if rerun else failed
        raise pytest.fail.Exception(msg=said, pytrace=False) from None
