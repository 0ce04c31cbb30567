"""The project's self-tests (a package, so that tests.support imports the same way from anywhere)."""
