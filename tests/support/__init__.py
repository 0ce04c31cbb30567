"""Test support for the project's self-tests: running the suite in a subprocess, hostile targets."""
