"""The run's sending stack, built once: the bounded transport, then gateways' refusals waited out, then an expired
token fetched again, then refused SMS codes fetched again (contract_suite.engine.sending says what each does)."""

from __future__ import annotations

from dataclasses import dataclass

from contract_suite.engine.gateway import GatewayWaits
from contract_suite.engine.refused_codes import RefusedCodes
from contract_suite.engine.run import Run
from contract_suite.engine.sending import TransportSender
from contract_suite.engine.token_renewal import TokenRenewal


@dataclass(frozen=True)
class Stack:
    """`network` (the transport with gateways' refusals waited out) for the preflight and the environment's
    re-checks; `top` (the token and the SMS codes renewed too) for everything else."""

    network: GatewayWaits
    tokens: TokenRenewal
    top: RefusedCodes


def build_stack(run: Run, command_env: dict[str, str]) -> Stack:
    """command_env: the environment the profile's [tokens] command runs in."""
    network = GatewayWaits(run, TransportSender(run))
    tokens = TokenRenewal(run, network, command_env)
    return Stack(network, tokens, RefusedCodes(run, tokens))
