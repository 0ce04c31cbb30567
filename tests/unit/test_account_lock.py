"""Unit tests of contract_suite/target_data/account_lock.py: one run at a time on one account of one target, among
the runs of one machine; the second says who holds it."""

from __future__ import annotations

import subprocess
import sys

import pytest

from contract_suite.target_data.account_lock import AccountLock, Held

pytestmark = pytest.mark.selftest

URL, ACCOUNT = "https://staging.test/api", "86-13800000001"


def test_a_second_lock_on_the_same_account_and_target_is_held_and_says_by_whom(tmp_path):
    first = AccountLock.acquire(tmp_path, URL, ACCOUNT, now=0)
    assert isinstance(first, AccountLock)
    second = AccountLock.acquire(tmp_path, URL + "/", ACCOUNT)  # the same target, a trailing slash apart
    assert isinstance(second, Held) and second.path == first.path
    assert second.holder.startswith("pid ") and "since 1970-01-01 00:00:00 UTC" in second.holder
    reason = second.reason(ACCOUNT, URL)
    assert reason.startswith(f"the test account {ACCOUNT} on {URL} is in use by another run of the suite on this")
    assert "run one after another, or give each run its own account" in reason and str(first.path) in reason
    first.release()
    again = AccountLock.acquire(tmp_path, URL, ACCOUNT)
    assert isinstance(again, AccountLock)  # released: the next run takes it
    again.release()


def test_another_account_or_target_is_another_lock(tmp_path):
    held = AccountLock.acquire(tmp_path, URL, ACCOUNT)
    assert isinstance(AccountLock.acquire(tmp_path, URL, "86-13800000009"), AccountLock)
    assert isinstance(AccountLock.acquire(tmp_path, "https://other.test", ACCOUNT), AccountLock)
    held.release()


def test_a_lock_held_by_another_process_is_seen_and_freed_when_it_ends(tmp_path):
    holder = subprocess.Popen(
        [
            sys.executable,
            "-c",
            "import sys, pathlib; from contract_suite.target_data.account_lock import AccountLock; "
            f"lock = AccountLock.acquire(pathlib.Path({str(tmp_path)!r}), {URL!r}, {ACCOUNT!r}); "
            "print('held', flush=True); sys.stdin.read()",
        ],
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        text=True,
    )
    try:
        assert holder.stdout.readline().strip() == "held"
        seen = AccountLock.acquire(tmp_path, URL, ACCOUNT)
        assert isinstance(seen, Held) and seen.holder.startswith(f"pid {holder.pid} since ")
    finally:
        holder.communicate("")  # the process ends: its lock goes with it
    assert isinstance(AccountLock.acquire(tmp_path, URL, ACCOUNT), AccountLock)


def test_no_lock_where_the_folder_cannot_be_written(tmp_path):
    assert AccountLock.acquire(tmp_path / "missing", URL, ACCOUNT) is None
