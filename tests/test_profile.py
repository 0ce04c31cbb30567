"""Self-tests of the profile loader: every malformed profile gets one clear error naming the key."""

import os
import textwrap
import time

import pytest

from contract_suite.secrets import Secrets
from contract_suite.target_data import commands, sms_codes
from contract_suite.target_data import profile as profiles
from tests.support.suite import COMMAND_PROFILE, PROFILE, run_pytest

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


def test_the_documented_example_loads(tmp_path):
    loaded = profiles.load(write(tmp_path, GOOD))
    assert loaded.base_url == "https://staging.example.com"
    assert loaded.tokens == {"valid": "Bearer valid", "orphan": "Bearer orphan"}
    assert loaded.account == profiles.Phone("86", "13800000001")
    assert loaded.phones["cancelling"].key == "86-13800000004"
    assert loaded.static_codes["86-13800000002"] == "654321"
    assert loaded.code_command.startswith("./get-sms-code")


def test_env_tokens_override_the_profile(tmp_path):
    overrides = {"valid": "Bearer from-env", "orphan": "Bearer orphan-from-env"}  # the settings read the env
    loaded = profiles.load(write(tmp_path, GOOD), overrides)
    assert loaded.tokens == {"valid": "Bearer from-env", "orphan": "Bearer orphan-from-env"}


def test_no_profile_is_empty():
    loaded = profiles.load(None)
    assert (loaded.tokens, loaded.account, loaded.phones) == ({}, None, {})


@pytest.mark.parametrize(
    "text, message",
    [
        pytest.param("[target]\nbase_urll = 'x'\n", "unknown key target.base_urll", id="unknown-key"),
        pytest.param("[target]\n[secrets]\nx = 1\n", "unknown key secrets", id="unknown-section"),
        pytest.param(
            "[phones]\nspare = { international_code = '86', phone = '1' }\n",
            "unknown key phones.spare",
            id="unknown-phone-role",
        ),
        pytest.param(
            "[phones]\nfree = { international_code = '86' }\n",
            "phones.free.phone is missing",
            id="phone-without-number",
        ),
        pytest.param(
            "[phones]\nfree = { international_code = 86, phone = '1' }\n",
            "phones.free.international_code must be a non-empty string",
            id="number-not-string",
        ),
        pytest.param(
            "[phones]\nfree = { international_code = '86', phone = '1', note = 'x' }\n",
            "unknown key phones.free.note",
            id="unknown-phone-key",
        ),
        pytest.param("[tokens]\nvalid = ''\n", "tokens.valid must be a non-empty string", id="empty-token"),
        pytest.param(
            '[tokens]\nvalid = "Bearer abc\\ndef"\n',  # a TOML basic string: \n is a line break
            "tokens.valid cannot be sent in an HTTP header: it holds a line break or another control character",
            id="token-with-line-break",
        ),
        pytest.param(
            "[tokens]\norphan = 'Bearer abc '\n",
            "tokens.orphan cannot be sent in an HTTP header: it starts or ends with whitespace",
            id="token-with-trailing-space",
        ),
        pytest.param("[tokens]\nvalid = 12345\n", "tokens.valid must be a non-empty string, got a int", id="token-int"),
        pytest.param(
            "[target]\ntoken_header = 'Auth orization'\n",
            "target.token_header is not an HTTP header name",
            id="header-name-with-space",
        ),
        pytest.param("tokens = 'Bearer x'\n", "[tokens] must be a table", id="section-not-table"),
        pytest.param(
            "[account]\nphone = '13800000001'\n", "account.international_code is missing", id="account-incomplete"
        ),
        pytest.param(
            "[codes]\nstatic = { '8613800000001' = '123456' }\n",
            "codes.static key '8613800000001' must read",
            id="static-key-format",
        ),
        pytest.param(
            "[codes]\nstatic = { '86-1' = 123456 }\n",
            "codes.static.'86-1' must be a non-empty string",
            id="static-code-not-string",
        ),
        pytest.param(
            "[codes]\ncommand = './get {country} {phone}'\n",
            "codes.command must use only {international_code} and {phone}",
            id="command-bad-placeholder",
        ),
        pytest.param(
            "[codes]\ncommand = './get {phone}'\nfunction = 'codes:get'\n",
            "codes.command and codes.function both give fresh codes: keep one",
            id="command-and-function",
        ),
        pytest.param(
            "[codes]\nfunction = 'codes.get'\n",
            'codes.function must read "package.module:function" or "file.py:function"',
            id="function-without-colon",
        ),
        pytest.param(
            "[codes]\nfunction = 'no_such_module_here:get'\n",
            "codes.function importing no_such_module_here failed: ModuleNotFoundError",
            id="function-module-missing",
        ),
        pytest.param(
            "[codes]\nfunction = 'reference_server.codes:no_such_function'\n",
            "codes.function reference_server.codes has no function no_such_function",
            id="function-name-missing",
        ),
        pytest.param("[codes]\nfunction = 'sms.py:get'\n", "codes.function no file ", id="function-file-missing"),
        pytest.param(
            "[target]\nbase_url = 'staging.example.com'\n",
            "target.base_url must start with http:// or https://",
            id="url-without-scheme",
        ),
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
    result = run_pytest("contract_tests", "--profile", str(path), "--base-url", "http://127.0.0.1:9", timeout=120)
    assert result.returncode == 4, result.stdout + result.stderr
    assert (
        f"ERROR: profile {path}: unknown key tokens.spare (known here: command, command_timeout, orphan, valid)"
        in result.stderr
    )
    assert "Traceback" not in result.stderr + result.stdout


def _source(loaded, secrets=None):
    return sms_codes.CodeSource(loaded, Secrets() if secrets is None else secrets, dict(os.environ))


def test_static_codes_are_used_once(tmp_path):
    loaded = profiles.load(write(tmp_path, "[codes]\nstatic = { '86-1' = '123456' }\n"))
    source = _source(loaded)
    phone = profiles.Phone("86", "1")
    assert source.code_for(phone) == "123456"
    source.consumed(phone)
    with pytest.raises(sms_codes.CodeUnavailable, match="was used by a successful change"):
        source.code_for(phone)
    with pytest.raises(sms_codes.CodeUnavailable, match=r'add \[codes\] static "86-2" or \[codes\] command'):
        source.code_for(profiles.Phone("86", "2"))


def test_reusable_static_codes_stay_valid(tmp_path):
    loaded = profiles.load(write(tmp_path, "[codes]\nstatic = { '86-1' = '123456' }\nreusable = true\n"))
    source = _source(loaded)
    phone = profiles.Phone("86", "1")
    source.consumed(phone)
    assert source.reusable and source.code_for(phone) == "123456"


def test_reusable_needs_static_codes(tmp_path):
    with pytest.raises(profiles.ProfileError, match=r"codes.reusable = true says the static codes stay valid"):
        profiles.load(write(tmp_path, "[codes]\nreusable = true\n"))


def test_code_command_is_run_and_cached(tmp_path):
    script = tmp_path / "code.py"
    counter = tmp_path / "count"
    script.write_text(
        "import sys, pathlib\n"
        f"p = pathlib.Path({str(counter)!r}); n = int(p.read_text()) + 1 if p.exists() else 1; p.write_text(str(n))\n"
        "print(sys.argv[1] + sys.argv[2][-4:])\n"
    )
    loaded = profiles.load(write(tmp_path, f"[codes]\ncommand = 'python {script} {{international_code}} {{phone}}'\n"))
    secrets = Secrets()
    source = _source(loaded, secrets)
    phone = profiles.Phone("86", "13800000001")
    assert source.code_for(phone) == "860001"
    assert source.code_for(phone) == "860001"
    assert counter.read_text() == "1"
    source.consumed(phone)
    assert source.code_for(phone) == "860001" and counter.read_text() == "2"
    assert secrets.mask("code 860001") == "code <sms-code>"


@pytest.mark.parametrize(
    "body, message",
    [
        pytest.param("import sys\nsys.exit('no SMS gateway')\n", "exited 1: no SMS gateway", id="exit-1"),
        pytest.param(
            "print('123456 654321')\n", "printed 2 words on stdout; it must print exactly one code", id="two-words"
        ),
        pytest.param("pass\n", "printed 0 words on stdout; it must print exactly one code", id="nothing"),
    ],
)
def test_failing_code_command_breaks_the_source_once(tmp_path, body, message):
    script = tmp_path / "fail.py"
    counter = tmp_path / "count"
    script.write_text(
        f"import pathlib\np = pathlib.Path({str(counter)!r}); p.write_text(p.read_text() + 'x' "
        f"if p.exists() else 'x')\n" + body
    )
    loaded = profiles.load(write(tmp_path, f"[codes]\ncommand = 'python {script} {{phone}}'\n"))
    source = _source(loaded)
    with pytest.raises(sms_codes.CodeSourceBroken, match=message):
        source.code_for(profiles.Phone("86", "1"))
    with pytest.raises(sms_codes.CodeSourceBroken, match=message):  # no second try: each would be another SMS
        source.code_for(profiles.Phone("86", "2"))
    assert counter.read_text() == "x"


def test_hanging_code_command_is_killed_with_its_children(tmp_path):
    script = tmp_path / "hang.py"
    pids = tmp_path / "pids"
    script.write_text(
        "import subprocess, sys, time, pathlib\n"
        "child = subprocess.Popen([sys.executable, '-c', 'import time; time.sleep(60)'])\n"
        f"pathlib.Path({str(pids)!r}).write_text(str(child.pid))\n"
        "time.sleep(60)\n"
    )
    loaded = profiles.load(write(tmp_path, f"[codes]\ncommand = 'python {script}'\n"))
    started = time.monotonic()
    with pytest.raises(commands.CommandFailed, match=r"did not finish within 1 s \(killed with its child processes\)"):
        commands.run(loaded.code_command, "[codes] command", dict(os.environ), timeout=1)
    assert time.monotonic() - started < 10
    grandchild = int(pids.read_text())
    deadline = time.monotonic() + 5
    while time.monotonic() < deadline and _alive(grandchild):
        time.sleep(0.05)
    assert not _alive(grandchild), "the command's child process outlived the timeout"


CODE_FUNCTIONS = """
import time
calls = []
def code(international_code, phone, env):
    calls.append((international_code, phone, env.get("SMS_SEED")))
    return env["SMS_SEED"] + phone[-4:] + "\\n"
def fails(international_code, phone, env):
    calls.append(phone)
    raise RuntimeError("no SMS gateway")
def hangs(international_code, phone, env):
    time.sleep(5)  # past the 1 s bound; then the daemon thread ends
def a_number(international_code, phone, env):
    return 123456
def two_words(international_code, phone, env):
    return "123456 654321"
"""


def _function_profile(tmp_path, name: str, more: str = ""):
    """A profile whose [codes] function is `name` of a file beside it (found relative to the profile)."""
    (tmp_path / "sms_codes.py").write_text(CODE_FUNCTIONS, encoding="utf-8")
    return profiles.load(write(tmp_path, f"[codes]\nfunction = 'sms_codes.py:{name}'\n{more}"))


def test_code_function_is_called_in_process_and_cached(tmp_path):
    loaded = _function_profile(tmp_path, "code")
    secrets = Secrets()
    source = sms_codes.CodeSource(loaded, secrets, {"SMS_SEED": "86"})
    phone = profiles.Phone("86", "13800000001")
    assert source.code_for(phone) == "860001" and source.code_for(phone) == "860001"
    calls = loaded.code_function.call.__globals__["calls"]
    assert calls == [("86", "13800000001", "86")]  # keywords and the commands' environment; once until consumed
    source.consumed(phone)
    assert source.code_for(phone) == "860001" and len(calls) == 2 and source.asked == 2
    assert source.name == "[codes] function" and source.can_refresh
    assert secrets.mask("code 860001") == "code <sms-code>"


@pytest.mark.parametrize(
    "name, message",
    [
        pytest.param("fails", "raised RuntimeError: no SMS gateway", id="raises"),
        pytest.param("hangs", "did not return within 1 s", id="hangs"),
        pytest.param("a_number", "returned a int; it must return the code as a string", id="not-a-string"),
        pytest.param("two_words", "returned 2 words; it must return exactly one code", id="two-words"),
    ],
)
def test_failing_code_function_breaks_the_source_once(tmp_path, name, message):
    loaded = _function_profile(tmp_path, name, "command_timeout = 1\n")
    source = sms_codes.CodeSource(loaded, Secrets(), {})
    started = time.monotonic()
    with pytest.raises(sms_codes.CodeSourceBroken, match=message) as caught:
        source.code_for(profiles.Phone("86", "1"))
    assert time.monotonic() - started < 10
    assert "123456" not in str(caught.value)  # what it returned is never shown: it may be a code
    reason = sms_codes.code_source_failed(caught.value)
    assert reason.startswith("the SMS code source failed: [codes] function sms_codes.py:")
    assert "fix [codes] function" in reason
    with pytest.raises(sms_codes.CodeSourceBroken, match=message):  # no second call: each would be another SMS
        source.code_for(profiles.Phone("86", "2"))
    assert source.asked == 1


def test_the_in_process_reference_profile_holds_the_same_test_data():
    """profiles/reference-in-process.toml (the self-tests' default) differs from profiles/reference.toml only in
    where its SMS codes come from."""
    command, function = (profiles.load(path) for path in (COMMAND_PROFILE, PROFILE))
    assert (function.tokens, function.account, function.phones) == (command.tokens, command.account, command.phones)
    assert (function.code_command, command.code_function) == (None, None)
    assert function.code_function.reference == "reference_server.codes:code_for_profile"
    assert command.code_command.startswith("python -m reference_server issue-code ")


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    try:  # a zombie (killed, not yet reaped by init) counts as gone
        with open(f"/proc/{pid}/stat") as stat:
            return stat.read().split(")")[-1].split()[0] != "Z"
    except OSError:
        return False


def test_a_token_command_that_prints_a_control_character_is_refused(tmp_path):
    """Its token cannot go in a header: the run is told so (never with the token), instead of a traceback per case."""
    script = tmp_path / "token.py"
    script.write_text("print('Bearer \\x1b[32mfresh-token-0a1b\\x1b[0m')\n")
    loaded = profiles.load(write(tmp_path, f"[tokens]\ncommand = 'python {script}'\n"))
    with pytest.raises(sms_codes.TokenUnavailable) as refused:
        sms_codes.fetch_token(loaded, dict(os.environ), Secrets())
    assert str(refused.value) == (
        "[tokens] command printed a token that cannot be sent in an HTTP header: "
        "it holds a line break or another control character"
    )
