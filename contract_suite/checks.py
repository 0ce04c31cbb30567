"""The contract's checks for `st run` at the path schemathesis.toml's `hooks` and SCHEMATHESIS_HOOKS name:
importing this module registers them (they are contract_suite.schemathesis_layer.checks)."""

from contract_suite.schemathesis_layer import checks  # noqa: F401 (the import registers the checks)
