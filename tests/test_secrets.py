"""No token and no SMS code reaches the terminal, the JUnit XML, the coverage JSON or any file the run writes."""

import html
import sqlite3
import time
import tomllib

import pytest

from contract_suite.openapi.spec import PROJECT_ROOT
from reference_server import create_app, start_embedded
from reference_server.app import NEW_PHONE_REGISTERED, SetPhoneService
from tests.support.leaks import (
    files_written_since,
    issued_codes,
    leaks,
    leaks_in,
    profile_tokens,
    read_files,
    with_data_urls,
)
from tests.support.suite import NO_RATE_LIMIT, WITHOUT_GENERATED, run_pytest, target_args

pytestmark = pytest.mark.selftest

PROFILE = PROJECT_ROOT / "profiles" / "reference.toml"


class EverythingIsRegistered(SetPhoneService):
    """Answer "new phone already registered" to every request past the token: most cases fail, printing curl lines."""

    def missing_parameter(self, params):
        return NEW_PHONE_REGISTERED


@pytest.mark.parametrize(
    "defects", [pytest.param([], id="passing-target"), pytest.param([EverythingIsRegistered], id="failing-target")]
)
def test_no_secret_in_anything_the_run_produces(tmp_path, defects):
    db = tmp_path / "reference.sqlite3"
    app = create_app({"DATABASE": str(db), "DEFECTS": defects})
    reports = tmp_path / "reports"
    started = time.time() - 1
    with start_embedded(app) as server:
        result = run_pytest(
            "contract_tests",
            *target_args(server.base_url, str(PROFILE)),
            "--allow-destructive",
            *NO_RATE_LIMIT,
            "-rA",
            "-vv",
            f"--junitxml={reports / 'junit.xml'}",
            f"--coverage-json={reports / 'coverage.json'}",
            env={"REFERENCE_SERVER_DB": str(db)},
            timeout=300,
        )
    assert result.returncode == (1 if defects else 0), result.stdout[-3000:]
    tokens = list(tomllib.loads(PROFILE.read_text())["tokens"].values())
    with sqlite3.connect(db) as conn:
        codes = [row[0] for row in conn.execute("SELECT code FROM sms_codes")]
    assert codes, "the run issued no SMS code: nothing to look for"
    secrets = tokens + codes
    assert (reports / "junit.xml").is_file() and (reports / "coverage.json").is_file()
    produced = {"stdout": result.stdout, "stderr": result.stderr}
    for path in files_written_since(reports, started) + files_written_since(PROJECT_ROOT, started):
        try:
            produced[str(path)] = path.read_text(encoding="utf-8", errors="replace")
        except OSError:
            continue
    found = {where: leaks(text, secrets) for where, text in produced.items()}
    assert {where: hits for where, hits in found.items() if hits} == {}
    if defects:  # the failing run did print reproduce lines, with the secrets masked
        assert "reproduce: curl" in result.stdout and "${CONTRACT_TOKEN:?" in result.stdout
        assert "${NEW_PHONE_CODE:?" in result.stdout
        assert "(masked: set OLD_PHONE_CODE, NEW_PHONE_CODE, CONTRACT_TOKEN in your shell first" in result.stdout


BOOM_PLUGIN = """
import tomllib

def pytest_collection_modifyitems(config, items):
    tokens = tomllib.loads(open(config.getoption("profile"), encoding="utf-8").read())["tokens"]
    valid = tokens["valid"]
    raise RuntimeError(f"a plugin failed while holding {valid}")
"""


def test_an_internal_error_is_masked_too(tmp_path):
    """A crash outside any test (an INTERNALERROR), with every flag that shows more, prints no token."""
    (tmp_path / "boom_plugin.py").write_text(BOOM_PLUGIN, encoding="utf-8")
    junit = tmp_path / "junit.xml"
    result = run_pytest(
        "contract_tests/test_token.py",
        "--profile",
        str(PROFILE),
        "-p",
        "boom_plugin",
        "--showlocals",
        "--fulltrace",
        "--tb=long",
        f"--junitxml={junit}",
        env={"PYTHONPATH": str(tmp_path)},
        timeout=120,
    )
    assert result.returncode == 3, result.tail()  # pytest's exit status for an internal error
    assert "INTERNALERROR>" in result.output and "a plugin failed while holding" in result.output
    tokens = profile_tokens(PROFILE)
    assert leaks_in({"output": result.output, "junit": junit.read_text() if junit.exists() else ""}, tokens) == {}


# A third-party plugin that never heard of the suite's masking: it takes the valid token from the suite's own
# settings (as a plain str, so its repr is not the suite's masked one) and the URLs the case sent (the SMS codes
# are in them), then logs them at every level, with a traceback, prints them and fails holding them in locals
# and in its assertion message. Everything it does happens inside pytest's capture or logging, which the suite
# promises to mask; a print outside any test phase goes straight to the terminal and is not a promise.
CARELESS_PLUGIN = """
import logging
import sys

import pytest

from contract_suite.pytest.keys import SESSION

log = logging.getLogger("careless")


def secrets_of(config):
    token = str(config.stash[SESSION].settings.profile.tokens["valid"])
    run = config.stash[SESSION].run
    case = run.ledger.case if run is not None else None
    sent = [str(answer.response.request.url) for answer in case.exchanges] if case is not None else []
    return token, sent


def log_them(token, sent):
    for level in (logging.DEBUG, logging.INFO, logging.WARNING, logging.ERROR, logging.CRITICAL):
        log.log(level, "the token is %s; sent %s", token, sent)
    log.warning(f"the token formatted in: {token}")
    try:
        raise RuntimeError(f"a plugin error holding {token}")
    except RuntimeError:
        log.exception("caught, having sent %s", sent)


def print_them(token, sent):
    print(f"printed: {token}; sent {sent}")
    print(f"printed to stderr: {token}", file=sys.stderr)


def pytest_sessionstart(session):
    log_them(*secrets_of(session.config))


@pytest.hookimpl(wrapper=True)
def pytest_runtest_call(item):
    result = yield
    token, sent = secrets_of(item.config)
    log_them(token, sent)
    print_them(token, sent)
    if item.originalname == "test_wrong_token":
        assert not sent, f"the careless plugin did not expect {token} to go out with {sent}"
    return result


def pytest_runtest_teardown(item):
    log_them(*secrets_of(item.config))
    print_them(*secrets_of(item.config))
"""


def test_a_careless_plugin_leaks_nothing(tmp_path):
    """A plugin that logs, prints and fails holding the token and the SMS codes, under every flag that shows more
    and every report: each log record is masked as it is made, each test report before it is rendered."""
    pytest.importorskip("pytest_html", reason="pytest-html: the reports extra is not installed")
    pytest.importorskip("allure_pytest", reason="allure-pytest: the reports extra is not installed")
    (tmp_path / "careless_plugin.py").write_text(CARELESS_PLUGIN, encoding="utf-8")
    database = tmp_path / "reference.sqlite3"
    reports = tmp_path / "reports"
    started = time.time() - 1
    with start_embedded(create_app({"DATABASE": str(database)})) as server:
        result = run_pytest(
            "contract_tests/test_token.py", *WITHOUT_GENERATED, *target_args(server.base_url, PROFILE),
            *NO_RATE_LIMIT, "-p", "careless_plugin",
            "--tb=long", "--showlocals", "-rA", "--log-level=DEBUG", "--log-cli-level=DEBUG",
            f"--log-file={reports / 'run.log'}", "--log-file-level=DEBUG",
            "-o", "junit_logging=all", f"--junitxml={reports / 'junit.xml'}",
            f"--html={reports / 'report.html'}", "--self-contained-html", f"--alluredir={reports / 'allure'}",
            env={"PYTHONPATH": str(tmp_path), "REFERENCE_SERVER_DB": str(database)},
            timeout=120,
        )  # fmt: skip
    assert result.returncode == 1, result.tail()  # the plugin's own failure of the one case it fails
    assert "FAILED contract_tests/test_token.py::test_wrong_token" in result.stdout, result.tail()
    codes = issued_codes(database)
    assert codes, "the run issued no SMS code: nothing to look for"
    written = [p for p in files_written_since(tmp_path, started) if not p.name.startswith(database.name)]
    produced = with_data_urls({"stdout": result.stdout, "stderr": result.stderr, **read_files(written)})
    assert leaks_in(produced, profile_tokens(PROFILE) + codes) == {}
    # and not for want of trying: the failure, its locals, the prints and every log went out, masked
    assert "AssertionError: the careless plugin did not expect <valid-token> to go out with" in result.stdout
    assert "token      = '<valid-token>'" in result.stdout, result.tail()  # --showlocals
    assert "printed: <valid-token>; sent ['http://" in result.stdout and "oldPhoneCode=<sms-code>" in result.stdout
    texts = {name: produced.get(str(reports / name), "") for name in ("run.log", "junit.xml", "report.html")}
    texts["allure"] = "".join(text for where, text in produced.items() if "/allure/" in where)
    texts["live log"] = result.stdout.split("live log call", 1)[-1]
    # (pytest-html escapes a log for HTML, then the page's JSON blob for its attribute: twice)
    unescaped = {name: html.unescape(html.unescape(text)) for name, text in texts.items()}
    assert {name for name, text in unescaped.items() if "<valid-token>" not in text} == set()


def test_what_a_shortened_repr_leaves_of_a_secret_is_masked():
    """pytest's --showlocals cuts a long value in its middle with "...": the start of a code before the cut, or the
    end of a token after it, is masked as that secret; ordinary text with dots is left alone."""
    from contract_suite.secrets import Secrets

    secrets = Secrets()
    secrets.add("681193", "sms-code")
    secrets.add("Bearer ref-valid-5d1f0c7a9b3e", "valid-token")
    cut = "url = '...?oldPhoneCode=6811...Code=193&x=1' header = '...id-5d1f0c7a9b3e'"
    assert secrets.mask(cut) == "url = '...?oldPhoneCode=<sms-code>Code=193&x=1' header = '<valid-token>'"
    assert secrets.mask("wait... 86... then 13800000001 and 681193") == "wait... 86... then 13800000001 and <sms-code>"
