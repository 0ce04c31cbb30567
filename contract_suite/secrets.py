"""Secrets of a run (tokens, SMS codes): a value type whose repr is masked, and one registry that masks
them in any text the run prints or writes (reports, log records, command output, files)."""

from __future__ import annotations

import logging
import re
from collections.abc import Iterator
from urllib.parse import quote, quote_plus

FRAGMENT_SHOWN = 3  # characters of a secret a shortened repr may show before it is masked as that secret
BEARER = re.compile(r"^(?:Bearer|Token|Basic)\s+", re.IGNORECASE)
# Characters a terminal (or a viewer of JUnit and reports) acts on instead of showing: C0 controls but tab and
# line feed (carriage return too: it overwrites a line), DEL, C1 controls, line and paragraph separators, and the
# bidirectional overrides and isolates.
CONTROL = re.compile("[\x00-\x08\x0b-\x1f\x7f-\x9f\u2028\u2029\u202a-\u202e\u2066-\u2069]")


def escape_controls(text: str) -> str:
    """text with every control character shown escaped (\\u001b, \\u202e): a value from a target or one the suite
    sent can then never clear a terminal, move its cursor, or reorder what a reader sees."""
    return CONTROL.sub(lambda m: f"\\u{ord(m.group(0)):04x}", text)  # valid inside a JSON string too


class Secret(str):
    """A string that sends as itself but shows as its label in repr(): safe in --showlocals and -vvv."""

    label: str

    def __new__(cls, value: str, label: str) -> Secret:
        made = super().__new__(cls, value)
        made.label = label
        return made

    def __repr__(self) -> str:
        return f"<{self.label}>"


class Secrets:
    """The run's secret values, each with the label shown instead. One registry per run, passed explicitly."""

    def __init__(self) -> None:
        self._labels: dict[str, str] = {}
        self._pattern: re.Pattern | None = None  # None: to compile at the next mask
        # what a shortened repr leaves of a secret, compiled only for a text with "..." in it: with every start and
        # end of every secret it is the costly one (about 10 ms for a default run's secrets, on each new code)
        self._cut: re.Pattern | None = None
        self._cut_stale = True
        self._fragments: dict[str, str] = {}

    def add(self, value: str | None, label: str) -> Secret | None:
        """Register value (and its bare form without a "Bearer " prefix, and its URL-encoded forms)."""
        if not value:
            return None
        value = str(value)
        forms = {value, quote(value, safe=""), quote_plus(value)}
        bare = BEARER.sub("", value)
        if bare and bare != value and len(bare) >= 4:
            forms |= {bare, quote(bare, safe=""), quote_plus(bare)}
        for form in forms:
            self._labels.setdefault(form, label)
        self._pattern = None
        self._cut_stale = True
        return Secret(value, label)

    def copy(self) -> Secrets:
        made = Secrets()
        made._labels = dict(self._labels)
        return made

    def label(self, value: object) -> str | None:
        return self._labels.get(value) if isinstance(value, str) else None

    def __iter__(self) -> Iterator[str]:
        return iter(self._labels)

    def __len__(self) -> int:
        return len(self._labels)

    def mask(self, text: str) -> str:
        """text with every secret replaced by <label>, and every control character escaped; a secret inside a
        longer run of letters and digits stays (a 6-digit code inside a phone number is not that code)."""
        if not text or not self._labels:
            return escape_controls(text) if text else text
        if self._pattern is None:
            by_length = sorted(self._labels, key=len, reverse=True)
            self._pattern = re.compile(rf"(?<![0-9A-Za-z])(?:{'|'.join(map(re.escape, by_length))})(?![0-9A-Za-z])")
        text = self._pattern.sub(lambda m: f"<{self._labels[m.group(0)]}>", text)
        if "..." in text:  # what a shortened repr left of a secret
            if self._cut_stale:
                self._compile_cut()
            if self._cut is not None:
                text = self._cut.sub(lambda m: f"<{self._fragments[m.group(0)]}>", text)
        # escaped last: an escape ends in hex digits ("\u000d"), which would hide a secret right after a control
        return escape_controls(text)

    def _compile_cut(self) -> None:
        """What a shortened repr leaves of a secret (pytest's --showlocals cuts a long value in its middle with
        "..."): its start just before "...", or its end just after it, at least FRAGMENT_SHOWN characters of it."""
        self._cut_stale = False
        starts: dict[str, str] = {}
        ends: dict[str, str] = {}
        for value, label in self._labels.items():
            for size in range(FRAGMENT_SHOWN, len(value)):
                starts.setdefault(value[:size], label)
                ends.setdefault(value[-size:], label)
        self._fragments = {f"{start}...": label for start, label in starts.items()}
        self._fragments.update({f"...{end}": label for end, label in ends.items()})
        if not self._fragments:
            self._cut = None
            return
        start_forms = "|".join(re.escape(f) for f in sorted(starts, key=len, reverse=True))
        end_forms = "|".join(re.escape(f) for f in sorted(ends, key=len, reverse=True))
        parts = []
        if start_forms:
            parts.append(rf"(?<![0-9A-Za-z])(?:{start_forms})\.\.\.")
        if end_forms:
            parts.append(rf"\.\.\.(?:{end_forms})(?![0-9A-Za-z])")
        self._cut = re.compile("|".join(parts))

    def mask_any(self, value: object) -> object:
        """Strings masked; lists, tuples and dicts masked inside; anything else as it is."""
        if isinstance(value, str):
            return self.mask(value)
        if isinstance(value, (list, tuple)):
            return type(value)(self.mask_any(v) for v in value)
        if isinstance(value, dict):
            return {k: self.mask_any(v) for k, v in value.items()}
        return value


class MaskingRecordFactory:
    """A logging record factory that masks the message (with its arguments and any traceback) as the record
    is made, so every handler sees it masked: pytest's capture, live logs, --log-file, JUnit, urllib3's lines."""

    def __init__(self, secrets: Secrets, wrapped) -> None:
        self.secrets = secrets
        self.wrapped = wrapped

    def __call__(self, *args, **kwargs) -> logging.LogRecord:
        record = self.wrapped(*args, **kwargs)
        if not len(self.secrets):
            return record
        try:
            message = record.getMessage()
        except Exception:  # a malformed record: leave it to the handler to report, masked as text
            message = f"{record.msg!r} % {record.args!r}"
        record.msg, record.args = self.secrets.mask(message), None
        if record.exc_info and not record.exc_text:
            record.exc_text = self.secrets.mask(logging.Formatter().formatException(record.exc_info))
        if record.stack_info:
            record.stack_info = self.secrets.mask(record.stack_info)
        return record


def install_log_masking(secrets: Secrets) -> MaskingRecordFactory:
    factory = MaskingRecordFactory(secrets, logging.getLogRecordFactory())
    logging.setLogRecordFactory(factory)
    return factory


def remove_log_masking(factory: MaskingRecordFactory) -> None:
    if logging.getLogRecordFactory() is factory:
        logging.setLogRecordFactory(factory.wrapped)
