"""Where the run's SMS codes and its fresh token come from: the profile's static table or its commands."""

from __future__ import annotations

import threading
import time
from collections import Counter
from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from contextlib import contextmanager
from dataclasses import dataclass

from contract_suite.secrets import Secret, Secrets
from contract_suite.target_data import code_function, commands
from contract_suite.target_data.profile import Phone, Profile, header_value_problem

WRONG_PROBE_CODE = "000000"  # well-formed, valid for no number
# A [codes] command that exits with this status (EX_TEMPFAIL) was throttled and sent no SMS; a `retry-after: N` line
# on its stderr says how many seconds to wait before asking again.
THROTTLED_EXIT_STATUS = 75
BUDGET_NEEDS = "a higher --max-sms-codes"  # what a case the SMS budget stopped needs, for the verdict
DEFAULT_RETRY_AFTER = 1.0


class CodeUnavailable(Exception):
    """The profile has no code for this number: the case is skipped, the message names the key to add (`needs`)."""

    def __init__(self, message: str, needs: str | None = None):
        super().__init__(message)
        self.needs = needs


class CodeSourceBroken(Exception):
    """The code command or function failed or hung: the run cannot judge (each further try would send another
    SMS). `source` names the profile key to fix."""

    def __init__(self, message: str, source: str = "[codes] command"):
        super().__init__(message)
        self.source = source


def code_source_failed(exc: CodeSourceBroken) -> str:
    """Why the run stops when the code command or function failed (each further try would send another SMS)."""
    return f"the SMS code source failed: {exc}; fix {exc.source} (no further code is asked for in this run)"


class TokenUnavailable(Exception):
    """The [tokens] command failed, hung, or printed no token."""


def fetch_token(profile: Profile, env: dict[str, str], secrets: Secrets) -> Secret:
    """Run [tokens] command once: its one line of output is the valid token."""
    try:
        result = commands.run(profile.token_command, "[tokens] command", env, profile.token_command_timeout)
    except commands.CommandFailed as exc:
        raise TokenUnavailable(secrets.mask(str(exc))) from None
    lines = [line.strip() for line in result.stdout.splitlines() if line.strip()]
    if len(lines) != 1:  # not shown: a line may be the token
        raise TokenUnavailable(f"[tokens] command printed {len(lines)} lines; it must print the token on one line")
    token = secrets.add(lines[0], "valid-token")
    problem = header_value_problem(token)
    if problem:
        raise TokenUnavailable(f"[tokens] command printed a token that cannot be sent in an HTTP header: {problem}")
    return token


class CodeBudgetSpent(CodeUnavailable):
    """The run's SMS budget (--max-sms-codes) is spent: the case that needs one more code is not judged."""


@dataclass(frozen=True)
class CodeLimits:
    """What the platform and the user allow the run to ask for: a budget of codes (None: none), the platform's
    minimum interval between two codes to one number, and the longest wait for a throttled source (seconds)."""

    budget: int | None = None
    min_interval: float = 0.0
    max_wait: float = 120.0


class CodeSource:
    """Valid SMS codes for the profile's numbers: from the static table, or the command (or function).

    SMS codes are the scarcest thing a run touches (each one a real message, capped per number per day): a code is
    asked for only when the run holds none for the number (`code_for`), or when the target refused the one held and
    a judgement needs one that passes (`refresh`). A held code is kept until `consumed()` says a successful change
    used it, even where codes go stale on the target: a request whose answer comes before the code checks does the
    same job with it, and a refused one is fetched again by the sending stack only where the answer needs it.
    After one command failure the source is broken for the rest of the run: no second try (each would be another
    SMS, or another wait). Fetching waits out the platform's minimum interval per number and a throttled source
    (within `limits.max_wait`), and stops at the budget, except for the test account's repairs (`past_budget`).
    """

    def __init__(
        self,
        profile: Profile,
        secrets: Secrets,
        env: dict[str, str],
        limits: CodeLimits | None = None,
        clock: Callable[[], float] = time.monotonic,
        sleep: Callable[[float], None] = time.sleep,
    ):
        self.profile = profile
        self.secrets = secrets
        self.env = env
        self.limits = limits or CodeLimits()
        self._clock = clock
        self._sleep = sleep
        self._cache: dict[str, Secret] = {}
        self._used: set[str] = set()
        self._last_fetch: dict[str, float] = {}
        self._lock = threading.Lock()
        self._repairs = 0  # >0 while the test account's keeper fetches (the budget does not stop a repair)
        self.broken: str | None = None
        # codes on this target go stale between uses (short-lived, or spent by a check): learnt from a refusal
        self.codes_go_stale = False
        self.asked = 0  # codes the [codes] command or function was asked for (each one an SMS on a real platform)
        self.asked_by_number: Counter[str] = Counter()
        self.past_budget_asked = 0  # of those, asked past the budget to put the test account back
        self.throttled = 0  # times the source said "not now" (no SMS sent)
        self.waited = 0.0  # seconds spent waiting for the minimum interval or a throttled source
        for value in profile.static_codes.values():
            secrets.add(value, "sms-code")

    @property
    def can_refresh(self) -> bool:
        return self.profile.fetches_codes

    @property
    def kind(self) -> str:
        """The [codes] key fresh codes come from: "command" or "function"."""
        return self.profile.code_source

    @property
    def name(self) -> str:
        """The profile key fresh codes come from, in words: "[codes] command" or "[codes] function"."""
        return f"[codes] {self.kind}"

    @property
    def reusable(self) -> bool:
        """Static codes that stay valid after a successful change (a staging system's whitelisted numbers)."""
        return not self.profile.fetches_codes and self.profile.codes_reusable

    @property
    def budget_left(self) -> int | None:
        budget = self.limits.budget
        return None if budget is None else max(0, budget - (self.asked - self.past_budget_asked))

    @contextmanager
    def past_budget(self) -> Iterator[None]:
        """Within: codes are fetched past the budget (the test account is put back whatever the budget says)."""
        with self._lock:
            self._repairs += 1
        try:
            yield
        finally:
            with self._lock:
                self._repairs -= 1

    def held(self, phone: Phone) -> str | None:
        """The code the run holds as valid for phone, without asking for one (None: none held)."""
        if phone.key in self._cache:
            return self._cache[phone.key]
        if not self.profile.fetches_codes and (phone.key not in self._used or self.reusable):
            return self.profile.static_codes.get(phone.key)
        return None

    def code_for(self, phone: Phone) -> Secret:
        """The code held for phone; one asked for only when none is held."""
        if phone.key in self._cache:
            return self._cache[phone.key]
        if not self.profile.fetches_codes:
            code = self.profile.static_codes.get(phone.key)
            if code is None or (phone.key in self._used and not self.reusable):
                state = "was used by a successful change" if code else "is not in the profile"
                raise CodeUnavailable(
                    f'a valid SMS code for {phone.key} {state}: add [codes] static "{phone.key}" or [codes] command',
                    needs=f'[codes] static "{phone.key}" (or a [codes] command)',
                )
            made = self.secrets.add(code, "sms-code")
        else:
            made = self._fetch(phone)
        self._cache[phone.key] = made
        return made

    def codes_for(self, phones: list[Phone]) -> dict[str, Secret]:
        """The codes held for several numbers by key; those not held asked for at once (a slow SMS source costs
        one wait, not one a number)."""
        missing = [p for p in dict.fromkeys(phones) if self.held(p) is None and self.profile.fetches_codes]
        if len(missing) > 1 and self.broken is None:
            with ThreadPoolExecutor(max_workers=len(missing)) as pool:
                list(pool.map(self._prefetch, missing))
        return {p.key: self.code_for(p) for p in phones}

    def _prefetch(self, phone: Phone) -> None:
        try:
            self.code_for(phone)
        except (CodeUnavailable, CodeSourceBroken):
            pass  # code_for says it again, in order

    def code_for_probe(self, phone: Phone) -> str:
        """A code to ask the target where the account is with (a request from a number to itself, which changes
        nothing): the valid one when there is one; a static code even once a change used it (the change may have
        been a lie); else a wrong one, which still tells a target that checks the numbers before the codes."""
        try:
            return self.code_for(phone)
        except CodeUnavailable:
            pass
        static = self.profile.static_codes.get(phone.key)
        return self.secrets.add(static, "sms-code") if static else WRONG_PROBE_CODE

    def refresh(self, phone: Phone) -> Secret:
        """A newly sent code for phone (the one before it is void on the platform); needs the command."""
        if not self.profile.fetches_codes:
            raise CodeUnavailable(
                f"a second, newer code for {phone.key} needs [codes] command (a static code cannot be re-sent)",
                needs="a [codes] command",
            )
        self._cache.pop(phone.key, None)
        return self.code_for(phone)

    def consumed(self, *phones: Phone) -> None:
        """A successful change used the codes of these numbers."""
        for phone in phones:
            if not self.reusable:
                self._cache.pop(phone.key, None)
            self._used.add(phone.key)

    def _fetch(self, phone: Phone) -> Secret:
        """A fresh code for phone from the command or the function; after one failure, none for the run."""
        if self.broken:
            raise CodeSourceBroken(self.broken, self.name)
        if any(not c.isprintable() for c in phone.key):  # a number a broken target took: no SMS can reach it
            raise CodeUnavailable(f"no SMS code can be asked for {phone.key!r}: it holds control characters")
        with self._lock:
            if self.budget_left == 0:
                if not self._repairs:
                    raise CodeBudgetSpent(
                        f"the run's SMS budget is spent ({self.limits.budget} code(s), --max-sms-codes)",
                        needs=BUDGET_NEEDS,
                    )
                self.past_budget_asked += 1  # the test account is put back whatever the budget says
            self.asked += 1
            self.asked_by_number[phone.key] += 1
        self._wait_for_interval(phone)
        waited = 0.0
        while True:
            try:
                code = self._ask(phone)
            except SourceThrottled as exc:
                pause = min(max(exc.retry_after, 0.1), self.limits.max_wait - waited)
                self.throttled += 1
                if pause <= 0:
                    self.broken = (
                        f"{self.name} for {phone.key} said it is throttled for longer than the "
                        f"{self.limits.max_wait:g} s the run waits (raise [codes] max_wait_seconds, or run later)"
                    )
                    raise CodeSourceBroken(self.broken, self.name) from None
                self._pause(pause)
                waited += pause
                continue
            self._last_fetch[phone.key] = self._clock()
            return code

    def _wait_for_interval(self, phone: Phone) -> None:
        """The platform's minimum interval between two codes to one number, waited out."""
        last = self._last_fetch.get(phone.key)
        if last is not None and self.limits.min_interval:
            self._pause(self.limits.min_interval - (self._clock() - last))

    def _pause(self, seconds: float) -> None:
        if seconds > 0:
            self.waited += seconds
            self._sleep(seconds)

    def _secret(self, code: str) -> Secret:
        """The code registered as a secret; under the lock: two numbers' codes may be fetched at once."""
        with self._lock:
            return self.secrets.add(code, "sms-code")

    def _masked(self, text: str) -> str:
        with self._lock:
            return self.secrets.mask(text)

    def _ask(self, phone: Phone) -> Secret:
        function = self.profile.code_function
        if function is None:
            return self._run_command(phone)
        what = f"[codes] function {function.reference} for {phone.key}"
        try:
            code = code_function.ask(
                function, phone.international_code, phone.phone, self.env, self.profile.code_command_timeout
            )
        except code_function.Throttled as exc:
            raise SourceThrottled(exc.retry_after) from None
        except code_function.FunctionFailed as exc:
            self.broken = self._masked(f"{what} {exc}")
            raise CodeSourceBroken(self.broken, self.name) from None
        return self._secret(code)

    def _run_command(self, phone: Phone) -> Secret:
        what = f"[codes] command for {phone.key}"
        command = self.profile.code_command.format(international_code=phone.international_code, phone=phone.phone)
        try:
            result = commands.run(command, what, self.env, self.profile.code_command_timeout)
        except commands.CommandFailed as exc:
            if exc.returncode == THROTTLED_EXIT_STATUS:
                raise SourceThrottled(retry_after_of(exc.stderr)) from None
            self.broken = self._masked(str(exc))
            raise CodeSourceBroken(self.broken) from None
        words = result.stdout.split()  # never shown: whatever it printed may be a code
        if len(words) != 1:
            self.broken = (
                f"{what} printed {len(words)} words on stdout; it must print exactly one code "
                f"(stderr: {self._masked(commands.last_line(result.stderr))})"
            )
            raise CodeSourceBroken(self.broken)
        return self._secret(words[0])


class SourceThrottled(Exception):
    """The code source said "not now" (no SMS sent): try again after `retry_after` seconds."""

    def __init__(self, retry_after: float):
        super().__init__(f"throttled for {retry_after:g} s")
        self.retry_after = retry_after


def retry_after_of(stderr: str) -> float:
    """The seconds a throttled command asks the run to wait: its stderr's `retry-after: N` line (default 1 s)."""
    for line in reversed((stderr or "").splitlines()):
        name, colon, value = line.strip().partition(":")
        if colon and name.strip().lower() == "retry-after":
            try:
                return float(value)
            except ValueError:
                break
    return DEFAULT_RETRY_AFTER
