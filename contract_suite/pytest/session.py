"""One contract session: everything the plugin's hooks, the fixtures and the report writers need, resolved once at
configure and kept in one object under one stash key (contract_suite.pytest.keys.SESSION). The run against the target
joins it when the first case needs it."""

from __future__ import annotations

from dataclasses import dataclass
from types import MappingProxyType
from typing import TYPE_CHECKING

from contract_suite.engine.coverage import Coverage
from contract_suite.engine.settings import Settings
from contract_suite.secrets import MaskingRecordFactory, Secret, Secrets

if TYPE_CHECKING:
    from contract_suite.engine.run import Run
    from contract_suite.pytest.masking import ReportMasking
    from contract_suite.pytest.recording import CoverageRecording
    from contract_suite.pytest.workers import WorkerResults
    from contract_suite.reporting.summary import Verdict


@dataclass(eq=False)
class ContractSession:
    settings: Settings
    secrets: Secrets
    coverage: Coverage
    verdict: Verdict
    log_masking: MaskingRecordFactory
    tokens: MappingProxyType[str, Secret]  # the profile's, by role; the run gets its own copy (one may be fetched)
    masking: ReportMasking | None = None  # the report and log masking (registered as a plugin)
    recording: CoverageRecording | None = None  # what each case's report says of the codes and rules it judges
    workers: WorkerResults | None = None  # xdist workers' results, merged by the controller (registered)
    run: Run | None = None
    # the suite's own input judged before any request (contract_suite.openapi.inputs): one line per problem
    input_problems: tuple[str, ...] = ()


def profile_tokens(settings: Settings, secrets: Secrets) -> MappingProxyType[str, Secret]:
    """The profile's tokens (and those of CONTRACT_TOKEN, CONTRACT_ORPHAN_TOKEN), each registered as a secret, by
    role; read-only (a token fetched by the [tokens] command replaces the run's mapping, never changes this one)."""
    return MappingProxyType(
        {role: secrets.add(value, f"{role}-token") for role, value in settings.profile.tokens.items()}
    )
