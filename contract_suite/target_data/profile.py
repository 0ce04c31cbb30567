"""The test-data profile (TOML): tokens, phones and SMS codes a target's cases need. Parsing, and finding a
[codes] function: the settings pass the environment's token overrides in; contract_suite.target_data.sms_codes runs the
commands and calls the function."""

from __future__ import annotations

import os
import re
import shlex
import tomllib
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from contract_suite.target_data.code_function import CodeFunction, FunctionNotFound, find

# Each token role's environment variable: it overrides the profile (contract_suite.engine.settings reads it), and a
# reproduce line names it as the shell variable to set (contract_suite.engine.judging).
ENV_OVERRIDES = {"valid": "CONTRACT_TOKEN", "orphan": "CONTRACT_ORPHAN_TOKEN"}
PHONE_ROLES = ("free", "registered", "cancelling")
KNOWN = {
    "target": {"base_url", "token_header"},
    "tokens": {"valid", "orphan", "command", "command_timeout"},
    "account": {"international_code", "phone"},
    "phones": set(PHONE_ROLES),
    "codes": {
        "static",
        "command",
        "function",
        "reusable",
        "command_timeout",
        "max_per_run",
        "min_interval_seconds",
        "max_wait_seconds",
    },
}


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
        """The key, with any character that is not printable shown escaped (a number a broken target took may
        hold a line break or a terminal's escape sequence)."""
        return "".join(c if c.isprintable() else f"\\u{ord(c):04x}" for c in self.key)


@dataclass
class Profile:
    source: str = "(none)"
    base_url: str | None = None
    token_header: str | None = None
    tokens: dict[str, str] = field(default_factory=dict)
    account: Phone | None = None
    phones: dict[str, Phone] = field(default_factory=dict)
    static_codes: dict[str, str] = field(default_factory=dict, repr=False)
    code_command: str | None = None
    code_function: CodeFunction | None = None  # instead of the command: called in the run's own process
    codes_reusable: bool = False  # the static codes stay valid after a successful change (whitelisted numbers)
    token_command: str | None = None  # prints a fresh valid token; run at the start and each time it expires
    code_command_timeout: float = 30.0  # seconds; past it the command is killed with its children (or the function
    # is left running and the run asks no more)
    token_command_timeout: float = 30.0
    code_budget: int | None = None  # [codes] max_per_run: SMS codes a run may ask for (--max-sms-codes outranks it)
    code_min_interval: float = 0.0  # [codes] min_interval_seconds: the platform's least time between two codes to
    # one number
    code_max_wait: float = 120.0  # [codes] max_wait_seconds: the longest the run waits for a throttled source

    def __repr__(self) -> str:  # no token or code in a traceback's locals
        return f"Profile(source={self.source!r}, tokens={sorted(self.tokens)}, codes={len(self.static_codes)} static)"

    @property
    def code_source(self) -> str:
        """The [codes] key that gives fresh SMS codes: "function", else "command" (also when there is none)."""
        return "function" if self.code_function is not None else "command"

    @property
    def fetches_codes(self) -> bool:
        """A fresh code can be asked for: the profile has a [codes] command or function."""
        return self.code_command is not None or self.code_function is not None


def _string(value: Any, where: str) -> str:
    if not isinstance(value, str) or not value.strip():
        raise ProfileError(f"{where} must be a non-empty string, got {type(value).__name__} {value!r}"[:200])
    return value


# RFC 9110 token characters: what a header's name may hold
_HEADER_NAME = re.compile(r"[!#$%&'*+.^_`|~0-9A-Za-z-]+")


def header_value_problem(value: str) -> str | None:
    """Why value cannot be sent as an HTTP header's value (None: it can). Never quotes the value (a token)."""
    if value != value.strip():
        return "it starts or ends with whitespace"
    if any(ord(c) < 32 and c != "\t" or ord(c) == 127 for c in value):
        return "it holds a line break or another control character"
    return None


def _token(value: Any, where: str) -> str:
    """A token: a non-empty string that can go in a header. The message never shows it."""
    if not isinstance(value, str) or not value.strip():
        raise ProfileError(f"{where} must be a non-empty string, got a {type(value).__name__}")
    problem = header_value_problem(value)
    if problem:
        raise ProfileError(f"{where} cannot be sent in an HTTP header: {problem}")
    return value


def _table(value: Any, where: str) -> dict:
    if not isinstance(value, dict):
        raise ProfileError(f"{where} must be a table, got {type(value).__name__}")
    return value


def _unknown(table: dict, known: set[str], where: str) -> list[str]:
    """Each unknown key of the table, in words."""
    return [
        f"unknown key {where}{'.' if where else ''}{key} (known here: {', '.join(sorted(known))})"
        for key in sorted(set(table) - known)
    ]


def _phone(value: Any, where: str) -> Phone:
    table = _table(value, where)
    problems = _unknown(table, {"international_code", "phone"}, where)
    problems += [
        f"{where}.{key} is missing: a phone needs international_code and phone"
        for key in ("international_code", "phone")
        if key not in table
    ]
    if problems:
        raise ProfileError("; ".join(problems))
    return Phone(
        _string(table["international_code"], f"{where}.international_code"), _string(table["phone"], f"{where}.phone")
    )


class _Problems:
    """Every problem of a profile, gathered so that one error names them all."""

    def __init__(self) -> None:
        self.found: list[str] = []

    def attempt(self, read, *args):
        """read(*args), or None when it raised ProfileError (its words kept)."""
        try:
            return read(*args)
        except ProfileError as exc:
            self.found.append(str(exc))
            return None


def parse(data: dict, source: str, token_overrides: dict[str, str] | None = None) -> Profile:
    """A Profile from parsed TOML; ProfileError names every unknown or malformed key at once."""
    problems = _Problems()
    problems.found += _unknown(data, set(KNOWN), "")
    for section in [name for name in data if name in KNOWN]:
        if problems.attempt(_table, data[section], f"[{section}]") is None:
            data = {**data, section: {}}  # reported; read as empty so the other sections are still checked
        else:
            problems.found += _unknown(data[section], KNOWN[section], section)
            data = {**data, section: {k: v for k, v in data[section].items() if k in KNOWN[section]}}
    profile = Profile(source=source)
    _read_target(data.get("target", {}), profile, problems)
    for role, value in data.get("tokens", {}).items():
        if role == "command":
            profile.token_command = problems.attempt(_command, value, "tokens.command", ())
        elif role == "command_timeout":
            seconds = problems.attempt(_seconds, value, "tokens.command_timeout")
            if seconds is not None:
                profile.token_command_timeout = seconds
        else:
            token = problems.attempt(_token, value, f"tokens.{role}")
            if token is not None:
                profile.tokens[role] = token
    if "account" in data:
        profile.account = problems.attempt(_phone, data["account"], "account")
    for role, value in data.get("phones", {}).items():
        phone = problems.attempt(_phone, value, f"phones.{role}")
        if phone is not None:
            profile.phones[role] = phone
    _read_codes(data.get("codes", {}), profile, problems)
    for role, value in (token_overrides or {}).items():
        if value:
            token = problems.attempt(_token, value, ENV_OVERRIDES.get(role, role))
            if token is not None:
                profile.tokens[role] = token
    if problems.found:
        raise ProfileError("; ".join(problems.found))
    return profile


def _read_target(target: dict, profile: Profile, problems: _Problems) -> None:
    if "base_url" in target:
        profile.base_url = problems.attempt(_string, target["base_url"], "target.base_url")
        if profile.base_url and not profile.base_url.startswith(("http://", "https://")):
            problems.found.append(f"target.base_url must start with http:// or https://, got {profile.base_url!r}")
    if "token_header" in target:
        profile.token_header = problems.attempt(_string, target["token_header"], "target.token_header")
        if profile.token_header and not _HEADER_NAME.fullmatch(profile.token_header):
            problems.found.append(f"target.token_header is not an HTTP header name: {profile.token_header!r}"[:200])


def _read_codes(codes: dict, profile: Profile, problems: _Problems) -> None:
    if "static" in codes:
        for key, value in (problems.attempt(_table, codes["static"], "codes.static") or {}).items():
            if key.count("-") != 1:
                problems.found.append(f'codes.static key {key!r} must read "<international_code>-<phone>"')
                continue
            code = problems.attempt(_string, value, f"codes.static.{key!r}")
            if code is not None:
                profile.static_codes[key] = code
    if "command" in codes:
        profile.code_command = problems.attempt(
            _command, codes["command"], "codes.command", ("international_code", "phone")
        )
    if "function" in codes:
        if "command" in codes:
            problems.found.append("codes.command and codes.function both give fresh codes: keep one")
        reference = problems.attempt(_string, codes["function"], "codes.function")
        if reference is not None:
            try:  # a file is found beside the profile
                profile.code_function = find(reference, Path(profile.source).parent)
            except FunctionNotFound as exc:
                problems.found.append(f"codes.function {exc}")
    if "command_timeout" in codes:
        seconds = problems.attempt(_seconds, codes["command_timeout"], "codes.command_timeout")
        if seconds is not None:
            profile.code_command_timeout = seconds
    if "max_per_run" in codes:
        value = codes["max_per_run"]
        if isinstance(value, bool) or not isinstance(value, int) or value < 0:
            problems.found.append(f"codes.max_per_run must be a whole number of 0 (no budget) or more, got {value!r}")
        else:
            profile.code_budget = value
    for key, attribute in (("min_interval_seconds", "code_min_interval"), ("max_wait_seconds", "code_max_wait")):
        if key in codes:
            seconds = problems.attempt(_seconds, codes[key], f"codes.{key}")
            if seconds is not None:
                setattr(profile, attribute, seconds)
    if "reusable" in codes:
        if not isinstance(codes["reusable"], bool):
            problems.found.append(f"codes.reusable must be true or false, got {codes['reusable']!r}"[:200])
        elif codes["reusable"] and "static" not in codes:
            problems.found.append("codes.reusable = true says the static codes stay valid: add [codes] static")
        else:
            profile.codes_reusable = codes["reusable"]


def _seconds(value: Any, where: str) -> float:
    if isinstance(value, bool) or not isinstance(value, (int, float)) or value <= 0:
        raise ProfileError(f"{where} must be a number of seconds above 0, got {value!r}"[:200])
    return float(value)


def _command(value: Any, where: str, placeholders: tuple[str, ...]) -> str:
    command = _string(value, where)
    allowed = " and ".join(f"{{{p}}}" for p in placeholders) or "no"
    try:
        command.format(**{p: "1" for p in placeholders})
        shlex.split(command)
    except (KeyError, IndexError, ValueError) as exc:
        raise ProfileError(f"{where} must use only {allowed} placeholders and valid shell quoting: {exc}") from None
    return command


def load(path: str | os.PathLike | None, token_overrides: dict[str, str] | None = None) -> Profile:
    """The profile at path (none: an empty one), with token_overrides ({"valid": ..., "orphan": ...}) applied."""
    if path is None:
        return parse({}, "(none)", token_overrides)
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
        return parse(data, str(path), token_overrides)
    except ProfileError as exc:
        raise ProfileError(f"profile {path}: {exc}") from None
