"""The test-data profile (TOML): tokens, phones and SMS codes a target's cases need."""

from __future__ import annotations

import os
import shlex
import subprocess
import sys
import tomllib
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

ENV_OVERRIDES = {"valid": "CONTRACT_TOKEN", "orphan": "CONTRACT_ORPHAN_TOKEN"}
PHONE_ROLES = ("free", "registered", "cancelling")
KNOWN = {
    "target": {"base_url", "token_header"},
    "tokens": {"valid", "orphan"},
    "account": {"international_code", "phone"},
    "phones": set(PHONE_ROLES),
    "codes": {"static", "command"},
}
COMMAND_TIMEOUT = 30.0


class ProfileError(Exception):
    """The profile cannot be used; the message names the key and what was expected."""


@dataclass(frozen=True)
class Phone:
    international_code: str
    phone: str

    @property
    def key(self) -> str:
        """The `[codes] static` key of this number: "<international_code>-<phone>"."""
        return f"{self.international_code}-{self.phone}"

    def __str__(self) -> str:
        return self.key


@dataclass
class Profile:
    source: str = "(none)"
    base_url: str | None = None
    token_header: str | None = None
    tokens: dict[str, str] = field(default_factory=dict)
    account: Phone | None = None
    phones: dict[str, Phone] = field(default_factory=dict)
    static_codes: dict[str, str] = field(default_factory=dict)
    code_command: str | None = None
    command_env: dict[str, str] = field(default_factory=dict)

    @property
    def secrets(self) -> list[str]:
        """Values that must never be printed: the tokens and the static codes."""
        return [v for v in (*self.tokens.values(), *self.static_codes.values()) if v]


def _string(value: Any, where: str) -> str:
    if not isinstance(value, str) or not value.strip():
        raise ProfileError(f"{where} must be a non-empty string, got {type(value).__name__} {value!r}"[:200])
    return value


def _table(value: Any, where: str) -> dict:
    if not isinstance(value, dict):
        raise ProfileError(f"{where} must be a table, got {type(value).__name__}")
    return value


def _unknown(table: dict, known: set[str], where: str) -> None:
    extra = sorted(set(table) - known)
    if extra:
        raise ProfileError(f"unknown key {where}{'.' if where else ''}{extra[0]} (known here: {', '.join(sorted(known))})")


def _phone(value: Any, where: str) -> Phone:
    table = _table(value, where)
    _unknown(table, {"international_code", "phone"}, where)
    for key in ("international_code", "phone"):
        if key not in table:
            raise ProfileError(f"{where}.{key} is missing: a phone needs international_code and phone")
    return Phone(_string(table["international_code"], f"{where}.international_code"), _string(table["phone"], f"{where}.phone"))


def parse(data: dict, source: str) -> Profile:
    """A Profile from parsed TOML; ProfileError names the first bad key."""
    _unknown(data, set(KNOWN), "")
    for section in data:
        _table(data[section], f"[{section}]")
        _unknown(data[section], KNOWN[section], section)
    profile = Profile(source=source)
    target = data.get("target", {})
    if "base_url" in target:
        profile.base_url = _string(target["base_url"], "target.base_url")
        if not profile.base_url.startswith(("http://", "https://")):
            raise ProfileError(f"target.base_url must start with http:// or https://, got {profile.base_url!r}")
    if "token_header" in target:
        profile.token_header = _string(target["token_header"], "target.token_header")
    for role, value in data.get("tokens", {}).items():
        profile.tokens[role] = _string(value, f"tokens.{role}")
    if "account" in data:
        profile.account = _phone(data["account"], "account")
    for role, value in data.get("phones", {}).items():
        profile.phones[role] = _phone(value, f"phones.{role}")
    codes = data.get("codes", {})
    if "static" in codes:
        for key, value in _table(codes["static"], "codes.static").items():
            if key.count("-") != 1:
                raise ProfileError(f'codes.static key {key!r} must read "<international_code>-<phone>"')
            profile.static_codes[key] = _string(value, f"codes.static.{key!r}")
    if "command" in codes:
        profile.code_command = _string(codes["command"], "codes.command")
        try:
            profile.code_command.format(international_code="86", phone="1")
            shlex.split(profile.code_command)
        except (KeyError, IndexError, ValueError) as exc:
            raise ProfileError(
                f"codes.command must use only {{international_code}} and {{phone}} placeholders and valid shell quoting: {exc}"
            ) from None
    for role, var in ENV_OVERRIDES.items():
        if os.environ.get(var):
            profile.tokens[role] = os.environ[var]
    return profile


def load(path: str | os.PathLike | None) -> Profile:
    """The profile at path; with no path, an empty profile (env token overrides still apply)."""
    if path is None:
        return parse({}, "(none)")
    path = Path(path)
    try:
        data = tomllib.loads(path.read_text(encoding="utf-8"))
    except OSError as exc:
        raise ProfileError(f"cannot read profile {path}: {exc.strerror or exc}") from None
    except tomllib.TOMLDecodeError as exc:
        raise ProfileError(f"profile {path} is not valid TOML: {exc}") from None
    except UnicodeDecodeError:
        raise ProfileError(f"profile {path} is not UTF-8 text") from None
    try:
        return parse(data, str(path))
    except ProfileError as exc:
        raise ProfileError(f"profile {path}: {exc}") from None


class CodeUnavailable(Exception):
    """No SMS code can be had for a number; the message names the profile key to add."""


class CodeSource:
    """Valid SMS codes for the profile's numbers: from the static table, or the command.

    A code from the command is kept until `consumed()` says a successful change used it:
    asking again would send a new SMS and, on the platform, void the code before it.
    """

    def __init__(self, profile: Profile, on_secret=lambda value: None):
        self.profile = profile
        self._cache: dict[str, str] = {}
        self._used: set[str] = set()
        self._on_secret = on_secret

    @property
    def can_refresh(self) -> bool:
        return self.profile.code_command is not None

    def code_for(self, phone: Phone) -> str:
        if phone.key in self._cache:
            return self._cache[phone.key]
        if self.profile.code_command is None:
            code = self.profile.static_codes.get(phone.key)
            if code is None or phone.key in self._used:
                state = "was used by a successful change" if code else "is not in the profile"
                raise CodeUnavailable(
                    f'a valid SMS code for {phone.key} {state}: add [codes] static "{phone.key}" or [codes] command'
                )
        else:
            code = self._run_command(phone)
        self._on_secret(code)
        self._cache[phone.key] = code
        return code

    def refresh(self, phone: Phone) -> str:
        """A newly sent code for phone (the one before it is void on the platform); needs the command."""
        if self.profile.code_command is None:
            raise CodeUnavailable(f"a second, newer code for {phone.key} needs [codes] command (a static code cannot be re-sent)")
        self._cache.pop(phone.key, None)
        return self.code_for(phone)

    def consumed(self, *phones: Phone) -> None:
        for phone in phones:
            self._cache.pop(phone.key, None)
            self._used.add(phone.key)

    def _run_command(self, phone: Phone) -> str:
        command = self.profile.code_command.format(international_code=phone.international_code, phone=phone.phone)
        env = {**os.environ, **self.profile.command_env}
        # "python" in a profile's command means the interpreter running the suite.
        env["PATH"] = os.path.dirname(sys.executable) + os.pathsep + env.get("PATH", "")
        try:
            done = subprocess.run(
                shlex.split(command), capture_output=True, text=True, timeout=COMMAND_TIMEOUT, env=env, stdin=subprocess.DEVNULL
            )
        except FileNotFoundError as exc:
            raise CodeUnavailable(f"[codes] command for {phone.key} cannot start: {exc.strerror}: {exc.filename}") from None
        except subprocess.TimeoutExpired:
            raise CodeUnavailable(f"[codes] command for {phone.key} did not finish within {COMMAND_TIMEOUT:.0f} s") from None
        code = done.stdout.strip()
        if done.returncode != 0 or not code or len(code.split()) != 1:
            detail = done.stderr.strip().splitlines()[-1:] or ["no output"]
            raise CodeUnavailable(
                f"[codes] command for {phone.key} exited {done.returncode} without printing one code: {detail[0][:200]}"
            )
        return code
