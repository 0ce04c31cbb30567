"""Loaded by bench/bench.py with `-p timing_plugin`: writes when collection ended, to split start-up from sending."""

import os
import time


def pytest_collection_finish(session):
    path = os.environ.get("BENCH_TIMING_FILE")
    if path:
        with open(path, "w") as out:
            out.write(repr(time.time()))
