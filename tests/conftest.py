"""Hooks of the self-tests: the variant catalogue's score at the end of the run."""

from tests.support.variant_runs import SCORE


def pytest_terminal_summary(terminalreporter, exitstatus, config):
    score = config.stash.get(SCORE, None)
    if score is None:
        return
    terminalreporter.section("contract suite against the variant catalogue")
    for line in score.lines():
        terminalreporter.write_line(line)
