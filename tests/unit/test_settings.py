"""Unit tests of contract_suite/engine/settings.py: what the settings say of the run."""

from __future__ import annotations

import dataclasses

import pytest

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
