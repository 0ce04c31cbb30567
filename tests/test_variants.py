"""The suite proves its teeth: run against each server of the catalogue (tests/support/catalogue), it
fails on every broken one, in the stated case and for the stated reason, and passes every correct one.

Each hand-written case is necessary: `pytest tests/test_variants.py -k necessary` shows that removing
any one of them lets a broken variant through (variants.SOLE_CATCHERS names which).
"""

import time

import pytest

from tests.support import variant_runs
from tests.support.catalogue import (
    BROKEN,
    CORRECT,
    ESCAPES,
    SOLE_CATCHERS,
    UNJUDGEABLE,
    Broken,
    Correct,
    Escape,
    Unjudgeable,
)
from tests.support.junit import case_of, is_hand_written
from tests.support.variant_runs import (
    SCORE,
    Score,
    SuiteRun,
    broken_problems,
    correct_problems,
    unjudgeable_problems,
)

pytestmark = pytest.mark.selftest


def _variants_needed(items: list[pytest.Item]) -> list:
    """The variants the selected tests look at: a parametrized test its own, the others every broken one."""
    needed = set()
    for item in items:
        if "suite_runs" not in getattr(item, "fixturenames", ()):
            continue
        callspec = getattr(item, "callspec", None)
        variant = callspec.params.get("variant") if callspec else None
        needed |= {variant.name} if variant is not None else {v.name for v in BROKEN}
    # correct ones first: the slow one starts early
    return [v for v in (*CORRECT, *ESCAPES, *UNJUDGEABLE, *BROKEN) if v.name in needed]


@pytest.fixture(scope="session")
def suite_runs(request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory) -> dict[str, SuiteRun]:
    """The suite run once against each variant the session needs, several at a time."""
    wanted = _variants_needed(request.session.items)
    started = time.monotonic()
    runs = variant_runs.run_all(
        wanted,
        workdir_for=lambda name: tmp_path_factory.mktemp(name, numbered=True),
        hand_written_only=frozenset(v.name for v in wanted if isinstance(v, (Broken, Unjudgeable))),
    )
    score = Score(runs=len(runs), seconds=time.monotonic() - started)
    for v in wanted:
        run = runs[v.name]
        if isinstance(v, Broken):
            score.broken[v.name] = broken_problems(v, run)
        elif isinstance(v, Unjudgeable):
            score.unjudgeable[v.name] = unjudgeable_problems(v, run)
        elif isinstance(v, Correct):
            score.correct[v.name] = correct_problems(v, run)
        else:
            score.escapes[v.name] = run.returncode == 0
        if not isinstance(v, Escape):
            score.exits[v.name] = (v.exit_code, run.returncode)
    request.config.stash[SCORE] = score
    return runs


@pytest.mark.parametrize("variant", BROKEN, ids=lambda v: v.name)
def test_broken_variant_is_caught(variant, suite_runs):
    run = suite_runs[variant.name]
    problems = broken_problems(variant, run)
    assert not problems, "\n".join(problems) + run.explain()


@pytest.mark.parametrize("variant", UNJUDGEABLE, ids=lambda v: v.name)
def test_environment_failing_part_way_cannot_be_judged(variant, suite_runs):
    """An environment that fails part-way ends exit 2 with one line naming what changed; no case is blamed."""
    run = suite_runs[variant.name]
    problems = unjudgeable_problems(variant, run)
    assert not problems, "\n".join(problems) + run.explain()


@pytest.mark.parametrize("variant", CORRECT, ids=lambda v: v.name)
def test_correct_variant_passes(variant, suite_runs):
    run = suite_runs[variant.name]
    problems = correct_problems(variant, run)
    assert not problems, "\n".join(problems) + run.explain()


NO_ESCAPE = pytest.param(
    None,
    id="none",
    marks=pytest.mark.skip(reason="no known escape: the suite catches every break in tests/support/catalogue"),
)


@pytest.mark.parametrize("variant", ESCAPES or [NO_ESCAPE], ids=lambda v: v.name)
def test_known_escape(variant, suite_runs):
    """A contract break the suite misses: xfail naming the gap, until a case catches it."""
    run = suite_runs[variant.name]
    assert run.returncode in (0, 1), f"the suite did not reach a verdict on {variant.name}" + run.explain()
    if run.returncode == 0:
        pytest.xfail(f"the suite misses it: {variant.gap}")
    pytest.fail(
        f"the suite catches {variant.name} now (failed: {sorted(run.failed)}): "
        f"move it from ESCAPES to BROKEN in tests/support/catalogue with the test ids and messages that catch it"
        + run.explain()
    )


def _sole_catches(runs: dict[str, SuiteRun]) -> dict[str, set[str]]:
    """From the runs: each hand-written case that failed somewhere, to the broken variants only it caught."""
    catches: dict[str, set[str]] = {}
    for variant in BROKEN:
        failed = runs[variant.name].hand_written_failures()
        for case in failed:
            catches.setdefault(case, set())
        if len(failed) == 1:
            catches[next(iter(failed))].add(variant.name)
    return catches


def test_every_hand_written_case_is_necessary(suite_runs):
    """Remove any one hand-written case and some broken variant survives: each case is the only one
    to fail on at least one variant (its parametrizations counted as one case)."""
    ran = {case_of(test_id) for run in suite_runs.values() for test_id in run.outcomes if is_hand_written(test_id)}
    catches = _sole_catches(suite_runs)
    redundant = sorted(case for case in ran if not catches.get(case))
    assert ran, "no hand-written case ran"
    assert not redundant, (
        "these hand-written cases are the only catcher of no broken variant; add a variant only each one "
        f"catches, or drop the case: {redundant}\n"
        f"sole catches seen: { {case: sorted(names) for case, names in catches.items()} }"
    )


def test_sole_catchers_mapping_matches_the_runs(suite_runs):
    """variants.SOLE_CATCHERS (the catalogue's sole=True entries) is what the runs show, no more, no less."""
    seen = {case: sorted(names) for case, names in _sole_catches(suite_runs).items() if names}
    assert seen == {case: sorted(names) for case, names in SOLE_CATCHERS.items()}
