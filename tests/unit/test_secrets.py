"""Unit tests of contract_suite/secrets.py: escaping, registering, masking, log records."""

from __future__ import annotations

import logging
import sys
from urllib.parse import quote, quote_plus

import pytest

from contract_suite.secrets import (
    MaskingRecordFactory,
    Secret,
    Secrets,
    escape_controls,
    install_log_masking,
    remove_log_masking,
)

pytestmark = pytest.mark.selftest


# -- secrets ---------------------------------------------------------------------------------------------------


def test_controls_are_escaped_and_tab_and_line_feed_kept():
    shown = escape_controls("a\tb\nc\x00\x08\x0b\x1b[2J\r\x7f\x9f\u2028\u2029\u202a\u202e\u2066\u2069 \xa0z")
    assert shown == (
        "a\tb\nc\\u0000\\u0008\\u000b\\u001b[2J\\u000d\\u007f\\u009f\\u2028\\u2029\\u202a\\u202e\\u2066\\u2069 \xa0z"
    )


def test_a_secret_sends_as_itself_and_shows_as_its_label():
    secret = Secret("Bearer abc", "valid-token")
    assert secret == "Bearer abc" and str(secret) == "Bearer abc" and repr(secret) == "<valid-token>"
    assert secret.label == "valid-token"


def test_a_secret_is_registered_whole_bare_and_url_encoded():
    secrets = Secrets()
    assert secrets.add(None, "x") is None and secrets.add("", "x") is None and len(secrets) == 0
    made = secrets.add("Bearer a/b c+d", "valid-token")
    assert isinstance(made, Secret) and made == "Bearer a/b c+d" and repr(made) == "<valid-token>"
    bare = "a/b c+d"
    assert set(secrets) == {
        "Bearer a/b c+d",
        quote("Bearer a/b c+d", safe=""),
        quote_plus("Bearer a/b c+d"),
        bare,
        quote(bare, safe=""),
        quote_plus(bare),
    }
    assert all(secrets.label(form) == "valid-token" for form in secrets)
    assert secrets.label(123) is None and secrets.label("other") is None


def test_a_bare_token_of_four_characters_is_masked_of_three_is_not():
    secrets = Secrets()
    secrets.add("Bearer abcd", "four")
    secrets.add("Token xyz", "three")
    assert secrets.mask("abcd xyz") == "<four> xyz"
    assert secrets.mask("Token xyz") == "<three>"
    plain = Secrets()
    plain.add("abcd", "no-prefix")  # no prefix: the value itself, once (its bare form is itself)
    assert set(plain) == {"abcd"}


def test_the_first_label_of_a_value_wins():
    secrets = Secrets()
    secrets.add("681193", "first")
    secrets.add("681193", "second")
    assert secrets.mask("681193") == "<first>"


def test_a_secret_added_after_masking_is_masked_too():
    secrets = Secrets()
    secrets.add("681193", "sms-code")
    assert secrets.mask("681193 and 552211") == "<sms-code> and 552211"
    secrets.add("552211", "other-code")
    assert secrets.mask("681193 and 552211") == "<sms-code> and <other-code>"


def test_masking_leaves_empty_text_and_longer_runs_alone():
    secrets = Secrets()
    assert secrets.mask("") == "" and secrets.mask("\x1b") == "\\u001b"  # no secret yet: controls escaped still
    secrets.add("681193", "sms-code")
    assert secrets.mask("") == ""
    assert secrets.mask("x681193 6811930 a-681193-b") == "x681193 6811930 a-<sms-code>-b"
    assert secrets.mask("\x1b681193") == "\\u001b<sms-code>"


def test_the_longest_secret_is_masked_first():
    secrets = Secrets()
    secrets.add("ab-12", "short")
    secrets.add("ab-12-cd", "long")
    assert secrets.mask("ab-12-cd ab-12") == "<long> <short>"


def test_a_shortened_repr_is_masked_from_three_characters():
    secrets = Secrets()
    secrets.add("681193", "sms-code")
    assert secrets.mask("'681...' '68...'") == "'<sms-code>' '68...'"
    assert secrets.mask("'...193' '...93'") == "'<sms-code>' '...93'"
    assert secrets.mask("'68119...'") == "'<sms-code>'"  # the longest start before the cut
    assert secrets.mask("x681... 681...x") == "x681... <sms-code>x"


def test_a_shortened_repr_of_a_secret_added_after_masking_is_masked_too():
    """The fragments are compiled when a text first holds "...", and again after a new secret."""
    secrets = Secrets()
    secrets.add("681193", "first")
    assert secrets.mask("'681...' '552...'") == "'<first>' '552...'"
    secrets.add("552211", "second")
    assert secrets.mask("'681...' '552...' '...211'") == "'<first>' '<second>' '<second>'"


def test_the_longest_end_of_a_secret_after_the_cut_is_masked():
    """One secret's end ("5678") can begin another's ("5678-00"): the longer is masked, none of it left showing."""
    secrets = Secrets()
    secrets.add("1234-5678", "first")
    secrets.add("99-5678-00", "second")
    assert secrets.mask("'...5678-00'") == "'<second>'"
    assert secrets.mask("'...5678'") == "'<first>'"


def test_a_secret_of_three_characters_leaves_no_fragment():
    secrets = Secrets()
    secrets.add("abc", "tiny")
    assert secrets.mask("abc ab... ...bc") == "<tiny> ab... ...bc"


def test_copy_keeps_the_labels_and_is_its_own():
    secrets = Secrets()
    secrets.add("681193", "sms-code")
    copied = secrets.copy()
    copied.add("552211", "other")
    assert copied.mask("681193 552211") == "<sms-code> <other>"
    assert secrets.mask("681193 552211") == "<sms-code> 552211"


def test_mask_any_goes_into_lists_tuples_and_dicts():
    secrets = Secrets()
    secrets.add("681193", "sms-code")
    masked = secrets.mask_any({"k": ["681193", ("681193", 5)], "n": None})
    assert masked == {"k": ["<sms-code>", ("<sms-code>", 5)], "n": None}
    assert type(masked["k"][1]) is tuple and secrets.mask_any(7) == 7


def _record(factory, msg, args=(), exc_info=None, stack_info=None):
    return factory("name", logging.INFO, "f.py", 1, msg, args, exc_info, None, stack_info)


def test_a_log_record_is_masked_as_it_is_made():
    secrets = Secrets()
    factory = MaskingRecordFactory(secrets, logging.LogRecord)
    untouched = _record(factory, "token %s", ("681193",))
    assert untouched.msg == "token %s" and untouched.args == ("681193",)  # no secret yet: the record as it was
    secrets.add("681193", "sms-code")
    record = _record(factory, "token %s", ("681193",))
    assert record.msg == "token <sms-code>" and record.args is None
    broken = _record(factory, "%d", ("681193",))  # a malformed record: its parts, masked
    assert broken.msg == "'%d' % ('<sms-code>',)"
    try:
        raise ValueError("681193")
    except ValueError:
        record = _record(factory, "failed", exc_info=sys.exc_info(), stack_info="stack 681193")
    assert "ValueError: <sms-code>" in record.exc_text and record.stack_info == "stack <sms-code>"
    record = _record(factory, "plain", stack_info=None)
    assert record.stack_info is None and record.exc_text is None


def test_log_masking_is_installed_and_removed():
    before = logging.getLogRecordFactory()
    factory = install_log_masking(Secrets())
    try:
        assert logging.getLogRecordFactory() is factory and factory.wrapped is before
        other = install_log_masking(Secrets())
        remove_log_masking(factory)  # not the current one: left in place
        assert logging.getLogRecordFactory() is other
        remove_log_masking(other)
        assert logging.getLogRecordFactory() is factory
    finally:
        remove_log_masking(factory)
    assert logging.getLogRecordFactory() is before
