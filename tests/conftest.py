"""Hooks of the self-tests: the variant catalogue's score at the end of the run, also when pytest-xdist ran the
catalogue on a worker (the worker sends its lines to the controller); no self-test parametrized over nothing."""

from pathlib import Path

import pytest

from tests.support.variant_runs import SCORE

SCORE_LINES = pytest.StashKey[list[str]]()
WORKER_OUTPUT_KEY = "variant_catalogue_score"
SELF_TESTS = Path(__file__).parent
EMPTY_PARAMETER_SET = "got empty parameter set"  # the start of the skip reason pytest gives such a test


def pytest_collection_modifyitems(config, items):
    """A self-test parametrized over what the spec or a catalogue provides, given nothing, would be skipped and the
    run stay green: here that stops the run instead. (pytest's empty_parameter_set_mark = fail_at_collect would
    do it for the contract suite too, where an operation without a code rightly leaves that code's case out.)"""
    empty = [item.nodeid for item in items if item.path.is_relative_to(SELF_TESTS) and _given_nothing(item)]
    if empty:
        raise pytest.UsageError(f"self-tests parametrized over an empty collection (nothing to test): {empty}")


def _given_nothing(item: pytest.Item) -> bool:
    return any(str(mark.kwargs.get("reason", "")).startswith(EMPTY_PARAMETER_SET) for mark in item.iter_markers("skip"))


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
