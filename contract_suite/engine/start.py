"""Opening a run against a target: its code source, its sending stack (built once), the [tokens] command's token,
and the preflight that says whether the run can judge the target at all."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path

from contract_suite.engine import preflight
from contract_suite.engine.coverage import Coverage
from contract_suite.engine.run import Run
from contract_suite.engine.settings import Settings
from contract_suite.engine.stack import Stack, build_stack
from contract_suite.secrets import Secret, Secrets
from contract_suite.target_data.account_lock import AccountLock, Held
from contract_suite.target_data.sms_codes import CodeLimits, CodeSource, TokenUnavailable, fetch_token


@dataclass(frozen=True)
class Opened:
    run: Run
    stack: Stack
    problem: str | None  # why the run cannot judge the target (the run is stopped), or None


def open_run(
    settings: Settings,
    base_url: str,
    secrets: Secrets,
    coverage: Coverage,
    tokens: Mapping[str, Secret],
    command_env: dict[str, str],
    preflight_checks: bool,
    lock_folder: Path | None = None,
) -> Opened:
    """The run against the target and its stack; when the run cannot judge the target, the problem in one line
    (the run is then stopped: nothing more is sent). lock_folder: where the lock of the test account on this target
    is taken (None: no lock; an embedded server's account is the run's own, an xdist worker's run is its
    controller's)."""
    profile = settings.profile
    budget = settings.max_sms_codes if profile.fetches_codes else None  # static codes cost no SMS
    limits = CodeLimits(budget, profile.code_min_interval, profile.code_max_wait)
    codes = CodeSource(profile, secrets, command_env, limits)
    run = Run(settings, base_url, secrets, coverage, tokens, codes)
    stack = build_stack(run, command_env)
    problem = None
    if lock_folder is not None and profile.account is not None:
        lock = AccountLock.acquire(lock_folder, base_url, profile.account.key)
        if isinstance(lock, Held):
            problem = lock.reason(profile.account.key, base_url)
        else:
            run.account_lock = lock  # held while the run's process lives
    if problem is None and profile.token_command and "valid" not in run.tokens:
        try:
            run.use_token("valid", fetch_token(profile, command_env, secrets))
        except TokenUnavailable as exc:
            problem = f"the [tokens] command failed: {exc}"
    if problem is None and preflight_checks:
        problem = preflight.target_problem(run, stack.network)
    if problem:
        run.stop(problem)
    return Opened(run, stack, problem)
