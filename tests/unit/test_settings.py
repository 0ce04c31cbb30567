"""Unit tests of contract_suite/engine/settings.py: what the settings say of the run."""

from __future__ import annotations

import dataclasses

import pytest

from contract_suite.engine.settings import (
    CONCURRENT_CHANGES,
    DEFAULT_TIMEOUT,
    MAX_CONCURRENT_CHANGES,
    MAX_URI_BYTES,
    URL_MAX_REQUESTS,
    URL_RATE_LIMIT,
)
from contract_suite.openapi.spec import PROJECT_ROOT
from tests.support.engine_fakes import CONTRACT, settings_for
from tests.support.operations import OTHER

pytestmark = pytest.mark.selftest


def test_the_embedded_server_is_the_target_without_a_url_and_may_always_be_changed():
    embedded = settings_for(base_url=None)
    assert embedded.embedded and embedded.destructive_allowed
    assert not settings_for().destructive_allowed and settings_for(allow_destructive=True).destructive_allowed


def test_the_operations_with_codes_come_primary_first():
    silent = dataclasses.replace(OTHER, operation_id="silent", codes={})
    settings = settings_for(spec_operations=(OTHER, CONTRACT, silent))
    assert settings.operations == (OTHER, CONTRACT, silent)
    assert settings.operations_with_codes == (CONTRACT, OTHER)
    assert settings_for().operations == (CONTRACT,) and settings_for().spec_path == CONTRACT.spec_path


def readme_option(flag: str) -> str:
    """The README's row for one option: what it does."""
    row = next(line for line in README.splitlines() if line.startswith(f"| `{flag} "))
    return row.split("|")[3]


README = (PROJECT_ROOT / "README.md").read_text(encoding="utf-8")


def test_the_defaults_are_the_ones_the_readme_documents():
    assert f"(default {DEFAULT_TIMEOUT:g})" in readme_option("--request-timeout")
    assert f"(default {URL_RATE_LIMIT:g} for a URL target" in readme_option("--rate-limit")
    assert f"(default {URL_MAX_REQUESTS} for a URL target" in readme_option("--max-requests")
    assert f"default {MAX_URI_BYTES}, what nginx takes" in readme_option("--max-uri-bytes")
    assert f"(default {CONCURRENT_CHANGES}; 2 to {MAX_CONCURRENT_CHANGES})" in readme_option("--concurrent-changes")
    assert settings_for().concurrent_changes == CONCURRENT_CHANGES


def test_settings_are_values_that_never_show_the_commands_environment():
    settings = settings_for(command_env={"LOGIN_PASSWORD": "hunter2"})
    assert "hunter2" not in repr(settings)
    with pytest.raises(dataclasses.FrozenInstanceError):
        settings.base_url = "http://elsewhere.test"
