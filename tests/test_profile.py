"""Self-tests of the profile loader: every malformed profile gets one clear error naming the key."""

import subprocess
import sys
import textwrap

import pytest

from contract_suite import profile as profiles
from contract_suite.spec import PROJECT_ROOT

pytestmark = pytest.mark.selftest

GOOD = """
[target]
base_url = "https://staging.example.com"
token_header = "Authorization"
[tokens]
valid = "Bearer valid"
orphan = "Bearer orphan"
[account]
international_code = "86"
phone = "13800000001"
[phones]
free = { international_code = "86", phone = "13800000002" }
registered = { international_code = "86", phone = "13800000003" }
cancelling = { international_code = "86", phone = "13800000004" }
[codes]
static = { "86-13800000001" = "123456", "86-13800000002" = "654321" }
command = "./get-sms-code {international_code} {phone}"
"""


def write(tmp_path, text):
    path = tmp_path / "profile.toml"
    path.write_text(textwrap.dedent(text), encoding="utf-8")
    return path


@pytest.fixture(autouse=True)
def no_env_tokens(monkeypatch):
    monkeypatch.delenv("CONTRACT_TOKEN", raising=False)
    monkeypatch.delenv("CONTRACT_ORPHAN_TOKEN", raising=False)


def test_the_documented_example_loads(tmp_path):
    loaded = profiles.load(write(tmp_path, GOOD))
    assert loaded.base_url == "https://staging.example.com"
    assert loaded.tokens == {"valid": "Bearer valid", "orphan": "Bearer orphan"}
    assert loaded.account == profiles.Phone("86", "13800000001")
    assert loaded.phones["cancelling"].key == "86-13800000004"
    assert loaded.static_codes["86-13800000002"] == "654321"
    assert loaded.code_command.startswith("./get-sms-code")


def test_env_tokens_override_the_profile(tmp_path, monkeypatch):
    monkeypatch.setenv("CONTRACT_TOKEN", "Bearer from-env")
    monkeypatch.setenv("CONTRACT_ORPHAN_TOKEN", "Bearer orphan-from-env")
    loaded = profiles.load(write(tmp_path, GOOD))
    assert loaded.tokens == {"valid": "Bearer from-env", "orphan": "Bearer orphan-from-env"}


def test_no_profile_is_empty():
    loaded = profiles.load(None)
    assert (loaded.tokens, loaded.account, loaded.phones) == ({}, None, {})


@pytest.mark.parametrize(
    "text, message",
    [
        pytest.param("[target]\nbase_urll = 'x'\n", "unknown key target.base_urll", id="unknown-key"),
        pytest.param("[target]\n[secrets]\nx = 1\n", "unknown key secrets", id="unknown-section"),
        pytest.param("[phones]\nspare = { international_code = '86', phone = '1' }\n", "unknown key phones.spare", id="unknown-phone-role"),
        pytest.param("[phones]\nfree = { international_code = '86' }\n", "phones.free.phone is missing", id="phone-without-number"),
        pytest.param("[phones]\nfree = { international_code = 86, phone = '1' }\n", "phones.free.international_code must be a non-empty string", id="number-not-string"),
        pytest.param("[phones]\nfree = { international_code = '86', phone = '1', note = 'x' }\n", "unknown key phones.free.note", id="unknown-phone-key"),
        pytest.param("[tokens]\nvalid = ''\n", "tokens.valid must be a non-empty string", id="empty-token"),
        pytest.param("tokens = 'Bearer x'\n", "[tokens] must be a table", id="section-not-table"),
        pytest.param("[account]\nphone = '13800000001'\n", "account.international_code is missing", id="account-incomplete"),
        pytest.param("[codes]\nstatic = { '8613800000001' = '123456' }\n", "codes.static key '8613800000001' must read", id="static-key-format"),
        pytest.param("[codes]\nstatic = { '86-1' = 123456 }\n", "codes.static.'86-1' must be a non-empty string", id="static-code-not-string"),
        pytest.param("[codes]\ncommand = './get {country} {phone}'\n", "codes.command must use only {international_code} and {phone}", id="command-bad-placeholder"),
        pytest.param("[target]\nbase_url = 'staging.example.com'\n", "target.base_url must start with http:// or https://", id="url-without-scheme"),
        pytest.param("[target\nbase_url = 1\n", "is not valid TOML", id="not-toml"),
    ],
)
def test_malformed_profile_is_named(tmp_path, text, message):
    path = write(tmp_path, text)
    with pytest.raises(profiles.ProfileError) as caught:
        profiles.load(path)
    assert message in str(caught.value)
    assert str(path) in str(caught.value)


def test_missing_file_is_named(tmp_path):
    with pytest.raises(profiles.ProfileError, match="cannot read profile .*nope.toml"):
        profiles.load(tmp_path / "nope.toml")


def test_pytest_stops_before_any_request_on_a_bad_profile(tmp_path):
    path = write(tmp_path, "[tokens]\nvalid = 'Bearer x'\nspare = 'y'\n")
    result = subprocess.run(
        [sys.executable, "-m", "pytest", "contract_tests", "--profile", str(path), "--base-url", "http://127.0.0.1:9", "-p", "no:cacheprovider"],
        cwd=PROJECT_ROOT, capture_output=True, text=True, timeout=120,
    )
    assert result.returncode == 4, result.stdout + result.stderr
    assert f"ERROR: profile {path}: unknown key tokens.spare (known here: orphan, valid)" in result.stderr
    assert "Traceback" not in result.stderr + result.stdout


def test_static_codes_are_used_once(tmp_path):
    loaded = profiles.load(write(tmp_path, "[codes]\nstatic = { '86-1' = '123456' }\n"))
    source = profiles.CodeSource(loaded)
    phone = profiles.Phone("86", "1")
    assert source.code_for(phone) == "123456"
    source.consumed(phone)
    with pytest.raises(profiles.CodeUnavailable, match="was used by a successful change"):
        source.code_for(phone)
    with pytest.raises(profiles.CodeUnavailable, match=r'add \[codes\] static "86-2" or \[codes\] command'):
        source.code_for(profiles.Phone("86", "2"))


def test_code_command_is_run_and_cached(tmp_path):
    script = tmp_path / "code.py"
    counter = tmp_path / "count"
    script.write_text(
        "import sys, pathlib\n"
        f"p = pathlib.Path({str(counter)!r}); n = int(p.read_text()) + 1 if p.exists() else 1; p.write_text(str(n))\n"
        "print(sys.argv[1] + sys.argv[2][-4:])\n"
    )
    loaded = profiles.load(write(tmp_path, f"[codes]\ncommand = 'python {script} {{international_code}} {{phone}}'\n"))
    seen = []
    source = profiles.CodeSource(loaded, on_secret=seen.append)
    phone = profiles.Phone("86", "13800000001")
    assert source.code_for(phone) == "860001"
    assert source.code_for(phone) == "860001"
    assert counter.read_text() == "1"
    source.consumed(phone)
    assert source.code_for(phone) == "860001" and counter.read_text() == "2"
    assert seen == ["860001", "860001"]


def test_failing_code_command_is_reported(tmp_path):
    script = tmp_path / "fail.py"
    script.write_text("import sys\nsys.exit('no SMS gateway')\n")
    loaded = profiles.load(write(tmp_path, f"[codes]\ncommand = 'python {script} {{phone}}'\n"))
    with pytest.raises(profiles.CodeUnavailable, match="exited 1 without printing one code: no SMS gateway"):
        profiles.CodeSource(loaded).code_for(profiles.Phone("86", "1"))
