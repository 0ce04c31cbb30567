"""Loads the contract suite's pytest plugin for every run from this folder."""

pytest_plugins = ["contract_suite.pytest.plugin"]
