"""Unit tests of contract_suite/engine/stack.py: the sending stack of a run, layer on layer, built once."""

from __future__ import annotations

import dataclasses

import pytest

from contract_suite.engine.gateway import GatewayWaits
from contract_suite.engine.refused_codes import RefusedCodes
from contract_suite.engine.sending import TransportSender
from contract_suite.engine.stack import build_stack
from contract_suite.engine.token_renewal import TokenRenewal
from tests.support.engine_fakes import fake_run

pytestmark = pytest.mark.selftest


def test_each_layer_wraps_the_one_below_the_codes_on_top():
    run = fake_run()
    stack = build_stack(run, {"PATH": "/bin"})
    assert isinstance(stack.top, RefusedCodes) and stack.top.inner is stack.tokens
    assert isinstance(stack.tokens, TokenRenewal) and stack.tokens.inner is stack.network
    assert stack.tokens.command_env == {"PATH": "/bin"}
    assert isinstance(stack.network, GatewayWaits) and isinstance(stack.network.inner, TransportSender)
    assert {layer.run for layer in (stack.top, stack.tokens, stack.network, stack.network.inner)} == {run}


def test_the_stack_is_built_once_and_never_changed():
    stack = build_stack(fake_run(), {})
    with pytest.raises(dataclasses.FrozenInstanceError):
        stack.top = stack.network
