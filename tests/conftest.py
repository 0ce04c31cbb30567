"""Hooks of the self-tests: the variant catalogue's score at the end of the run, also when pytest-xdist ran the
catalogue on a worker (the worker sends its lines to the controller)."""

import pytest

from tests.support.variant_runs import SCORE

SCORE_LINES = pytest.StashKey[list[str]]()
WORKER_OUTPUT_KEY = "variant_catalogue_score"


def pytest_sessionfinish(session):
    score = session.config.stash.get(SCORE, None)
    worker_output = getattr(session.config, "workeroutput", None)  # set on an xdist worker only
    if score is not None and worker_output is not None:
        worker_output[WORKER_OUTPUT_KEY] = score.lines()


@pytest.hookimpl(optionalhook=True)
def pytest_testnodedown(node, error):
    lines = getattr(node, "workeroutput", {}).get(WORKER_OUTPUT_KEY)
    if lines:
        node.config.stash[SCORE_LINES] = lines


def pytest_terminal_summary(terminalreporter, exitstatus, config):
    score = config.stash.get(SCORE, None)
    lines = score.lines() if score is not None else config.stash.get(SCORE_LINES, None)
    if not lines:
        return
    terminalreporter.section("contract suite against the variant catalogue")
    for line in lines:
        terminalreporter.write_line(line)
