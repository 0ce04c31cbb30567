"""The run engine: the run against one target and its settings, the hand-written cases' target and the test
account, the environment re-checks, the refused SMS codes, and judging answers into failures."""
