"""Where the run's SMS codes and its fresh token come from: the profile's static table or its commands."""

from __future__ import annotations

from contract_suite.secrets import Secret, Secrets
from contract_suite.target_data import code_function, commands
from contract_suite.target_data.profile import Phone, Profile, header_value_problem

WRONG_PROBE_CODE = "000000"  # well-formed, valid for no number


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


class CodeSource:
    """Valid SMS codes for the profile's numbers: from the static table, or the command (or function).

    A code from the command is kept until `consumed()` says a successful change used it: asking again
    would send a new SMS and, on the platform, void the code before it. After one command failure the
    source is broken for the rest of the run: no second try (each would be another SMS, or another wait).
    """

    def __init__(self, profile: Profile, secrets: Secrets, env: dict[str, str]):
        self.profile = profile
        self.secrets = secrets
        self.env = env
        self._cache: dict[str, Secret] = {}
        self._used: set[str] = set()
        self.broken: str | None = None
        # codes on this target go stale between uses (short-lived, or spent by a check): one fresh code per use
        self.fresh_each_use = False
        self.asked = 0  # codes the [codes] command or function was asked for (each one an SMS on a real platform)
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

    def held(self, phone: Phone) -> str | None:
        """The code the run holds as valid for phone, without asking for one (None: none held)."""
        if phone.key in self._cache:
            return self._cache[phone.key]
        if not self.profile.fetches_codes and (phone.key not in self._used or self.reusable):
            return self.profile.static_codes.get(phone.key)
        return None

    def code_for(self, phone: Phone) -> Secret:
        if self.fresh_each_use and self.can_refresh:
            self._cache.pop(phone.key, None)
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
        self.asked += 1
        function = self.profile.code_function
        if function is None:
            return self._run_command(phone)
        what = f"[codes] function {function.reference} for {phone.key}"
        try:
            code = code_function.ask(
                function, phone.international_code, phone.phone, self.env, self.profile.code_command_timeout
            )
        except code_function.FunctionFailed as exc:
            self.broken = self.secrets.mask(f"{what} {exc}")
            raise CodeSourceBroken(self.broken, self.name) from None
        return self.secrets.add(code, "sms-code")

    def _run_command(self, phone: Phone) -> Secret:
        what = f"[codes] command for {phone.key}"
        command = self.profile.code_command.format(international_code=phone.international_code, phone=phone.phone)
        try:
            result = commands.run(command, what, self.env, self.profile.code_command_timeout)
        except commands.CommandFailed as exc:
            self.broken = self.secrets.mask(str(exc))
            raise CodeSourceBroken(self.broken) from None
        words = result.stdout.split()  # never shown: whatever it printed may be a code
        if len(words) != 1:
            self.broken = (
                f"{what} printed {len(words)} words on stdout; it must print exactly one code "
                f"(stderr: {self.secrets.mask(commands.last_line(result.stderr))})"
            )
            raise CodeSourceBroken(self.broken)
        return self.secrets.add(words[0], "sms-code")
