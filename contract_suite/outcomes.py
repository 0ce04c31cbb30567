"""The outcomes a case or the run can end in besides pass and fail, in one place (as pytest keeps its own in
outcomes.py): a case that cannot be judged, a case not judged for want of data, and the exit status of a run that
cannot judge its target."""

from __future__ import annotations

import pytest

EXIT_CANNOT_JUDGE = int(pytest.ExitCode.INTERRUPTED)  # 2: this run cannot judge the target


class CannotJudge(pytest.skip.Exception):
    """This case (or the run) cannot be judged: the target or the test data is unusable.

    A skip to hypothesis (so the generated layer stops at once, without shrinking); the plugin reports it as
    an error (E) of the case, never as a contract failure.
    """


class NotJudged(pytest.skip.Exception):
    """This case is skipped for want of what the user did not choose to leave out: data the profile lacks (the
    message names the key to add), or the run's request cap spent. The codes it would have judged make the run
    exit 2 (cannot judge) unless --allow-partial accepts a partial judgement; a plain skip (the user's own choice,
    such as the success case without --allow-destructive) does not. `needs`: what to add, in a few words (a profile
    key, an option), for the verdict's one line."""

    def __init__(self, msg: str, needs: str | None = None):
        super().__init__(msg)
        self.needs = needs
