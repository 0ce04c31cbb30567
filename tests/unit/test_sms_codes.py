"""Unit tests of contract_suite/target_data/sms_codes.py's economy: a code is asked for only when none is held, within
the run's budget (the test account's repairs go past it), the platform's minimum interval per number waited out,
a throttled source waited out within a bound, and two numbers' codes asked for at once."""

from __future__ import annotations

import threading
import time

import pytest

from contract_suite.secrets import Secrets
from contract_suite.target_data import commands
from contract_suite.target_data.code_function import CodeFunction, Throttled
from contract_suite.target_data.profile import Phone, Profile
from contract_suite.target_data.sms_codes import (
    BUDGET_NEEDS,
    THROTTLED_EXIT_STATUS,
    CodeBudgetSpent,
    CodeLimits,
    CodeSource,
    CodeSourceBroken,
    retry_after_of,
)

pytestmark = pytest.mark.selftest

ACCOUNT, FREE = Phone("86", "13800000001"), Phone("86", "13800000002")


class Clock:
    """A clock that only moves when the source sleeps."""

    def __init__(self):
        self.now = 0.0
        self.slept: list[float] = []

    def time(self) -> float:
        return self.now

    def sleep(self, seconds: float) -> None:
        self.slept.append(round(seconds, 3))
        self.now += seconds


class Platform:
    """A code function: each code a new number, the times it was asked noted; `throttle` answers "not now" to the
    first asks (with retry_after seconds)."""

    def __init__(self, throttle: int = 0, retry_after: float = 2.0, delay: float = 0.0):
        self.clock = Clock()
        self.asked: list[tuple[str, float]] = []
        self.throttle = throttle
        self.retry_after = retry_after
        self.delay = delay
        self.running = 0
        self.most_at_once = 0
        self._lock = threading.Lock()

    def __call__(self, international_code, phone, env):
        with self._lock:
            if self.throttle:
                self.throttle -= 1
                raise Throttled(self.retry_after)
            self.running += 1
            self.most_at_once = max(self.most_at_once, self.running)
        time.sleep(self.delay)
        with self._lock:
            self.running -= 1
            self.asked.append((f"{international_code}-{phone}", self.clock.now))
            return str(100000 + len(self.asked))


def source(platform: Platform, limits: CodeLimits | None = None) -> CodeSource:
    """The run's code source asking the platform, on the platform's clock."""
    profile = Profile(account=ACCOUNT, code_function=CodeFunction("platform", platform))
    return CodeSource(profile, Secrets(), {}, limits, clock=platform.clock.time, sleep=platform.clock.sleep)


def test_a_held_code_is_given_again_without_asking_and_a_refresh_asks():
    platform = Platform()
    codes = source(platform)
    first = codes.code_for(ACCOUNT)
    assert codes.code_for(ACCOUNT) == first and codes.held(ACCOUNT) == first and len(platform.asked) == 1
    assert codes.refresh(ACCOUNT) != first and codes.asked == 2 and codes.asked_by_number == {ACCOUNT.key: 2}
    codes.consumed(ACCOUNT)  # a success spent it: the next use asks for a new one
    assert codes.held(ACCOUNT) is None and codes.code_for(ACCOUNT) and codes.asked == 3


def test_the_budget_stops_a_case_asking_one_code_past_it_and_never_a_repair():
    platform = Platform()
    codes = source(platform, CodeLimits(budget=2))
    codes.code_for(ACCOUNT)
    codes.code_for(FREE)
    assert codes.budget_left == 0
    with pytest.raises(CodeBudgetSpent) as spent:
        codes.refresh(ACCOUNT)
    assert spent.value.needs == BUDGET_NEEDS and "budget is spent (2 code(s)" in str(spent.value)
    assert codes.asked == 2 and len(platform.asked) == 2  # nothing asked past it
    with codes.past_budget():  # the test account is put back whatever the budget says
        codes.refresh(ACCOUNT)
    assert (codes.asked, codes.past_budget_asked, codes.budget_left) == (3, 1, 0)
    with pytest.raises(CodeBudgetSpent):  # ...and only within the repair
        codes.refresh(FREE)


def test_a_repair_within_the_budget_counts_against_it():
    codes = source(Platform(), CodeLimits(budget=3))
    with codes.past_budget():
        codes.code_for(ACCOUNT)
    assert (codes.past_budget_asked, codes.budget_left) == (0, 2)


def test_no_budget_asks_as_often_as_needed():
    codes = source(Platform(), CodeLimits(budget=None))
    for _ in range(5):
        codes.refresh(ACCOUNT)
    assert codes.asked == 5 and codes.budget_left is None


def test_the_minimum_interval_per_number_is_waited_out_and_another_number_asked_at_once():
    platform = Platform()
    codes = source(platform, CodeLimits(min_interval=60))
    codes.code_for(ACCOUNT)
    codes.code_for(FREE)  # another number: no wait
    assert platform.clock.slept == []
    platform.clock.now += 20
    codes.refresh(ACCOUNT)  # 20 s after the account's last code: 40 s more
    assert platform.clock.slept == [40.0] and codes.waited == 40.0
    times = [at for key, at in platform.asked if key == ACCOUNT.key]
    assert times[1] - times[0] >= 60


def test_a_throttled_source_is_waited_out_and_counted_as_no_sms():
    platform = Platform(throttle=2, retry_after=3)
    codes = source(platform)
    assert codes.code_for(ACCOUNT) == "100001"
    assert platform.clock.slept == [3.0, 3.0] and codes.throttled == 2 and codes.asked == 1 and len(platform.asked) == 1


def test_a_source_throttled_past_the_longest_wait_breaks_naming_the_key():
    platform = Platform(throttle=10, retry_after=50)
    codes = source(platform, CodeLimits(max_wait=120))
    with pytest.raises(CodeSourceBroken) as broken:
        codes.code_for(ACCOUNT)
    assert "throttled for longer than the 120 s the run waits (raise [codes] max_wait_seconds" in str(broken.value)
    assert sum(platform.clock.slept) == 120 and codes.broken  # no further code asked for in the run
    with pytest.raises(CodeSourceBroken):
        codes.code_for(FREE)


def test_two_numbers_codes_are_asked_for_at_once():
    """A slow SMS source (delivery takes a while) costs a request needing two codes one wait, not two."""
    platform = Platform(delay=0.2)
    codes = source(platform)
    got = codes.codes_for([ACCOUNT, FREE])
    assert platform.most_at_once == 2 and set(got) == {ACCOUNT.key, FREE.key} and codes.asked == 2
    assert codes.codes_for([ACCOUNT, FREE]) == got and codes.asked == 2  # held now: nothing asked


def test_a_throttled_command_says_so_by_its_exit_status_and_a_retry_after_line(tmp_path):
    script = tmp_path / "codes.py"
    state = tmp_path / "asked"
    script.write_text(
        "import pathlib, sys\n"
        f"state = pathlib.Path({str(state)!r})\n"
        "n = int(state.read_text()) if state.exists() else 0\n"
        "state.write_text(str(n + 1))\n"
        f"if n == 0:\n    print('retry-after: 0.5', file=sys.stderr); sys.exit({THROTTLED_EXIT_STATUS})\n"
        "print('654321')\n",
        encoding="utf-8",
    )
    profile = Profile(account=ACCOUNT, code_command=f"python {script} {{international_code}} {{phone}}")
    slept = []
    codes = CodeSource(profile, Secrets(), {"PATH": ""}, sleep=slept.append)
    assert codes.code_for(ACCOUNT) == "654321" and slept == [0.5] and codes.throttled == 1 and codes.asked == 1


def test_a_retry_after_line_is_read_from_the_end_and_defaults_to_a_second():
    assert retry_after_of("throttled\nRetry-After: 7\n") == 7.0
    assert retry_after_of("nothing said") == 1.0 and retry_after_of("retry-after: soon") == 1.0


def test_a_failing_command_keeps_its_exit_status_for_the_source_to_read():
    with pytest.raises(commands.CommandFailed) as failed:
        commands.run("python -c 'import sys; sys.exit(3)'", "a command", {"PATH": ""})
    assert failed.value.returncode == 3
