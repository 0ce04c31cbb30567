"""The command that runs one failed case again with the suite: its node id, the run's target and profile, and the
options the run was given on its command line (nothing secret: tokens and codes come from the profile, and the
line is masked like every other). Beside the curl line, it lets a QA engineer re-judge just that case, the suite
fetching its own SMS codes."""

from __future__ import annotations

import shlex

import pytest

from contract_suite.engine.settings import Settings

# Options that change how a case is judged or where it goes, in the order the line gives them; flags take no value.
FLAGS = ("allow_destructive", "insecure")
VALUED = (
    "spec",
    "knife4j_page",
    "request_timeout",
    "rate_limit",
    "max_requests",
    "max_sms_codes",
    "concurrent_changes",
    "max_uri_bytes",
    "generated_examples",
    "generated_seed",
)


def rerun_command(config: pytest.Config, settings: Settings, nodeid: str) -> str:
    args = ["pytest", nodeid]
    if not settings.embedded:
        args += ["--base-url", settings.base_url]
    profile = config.getoption("profile")
    if profile:
        args += ["--profile", profile]
    for dest in VALUED:
        value = config.getoption(dest)
        if value is not None:
            args += [_flag(dest), str(value)]
    args += [_flag(dest) for dest in FLAGS if config.getoption(dest)]
    return shlex.join(args)  # options given by environment variable: the same shell still has them


def _flag(dest: str) -> str:
    return "--" + dest.replace("_", "-")
