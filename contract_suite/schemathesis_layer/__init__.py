"""The generated layer (schemathesis): the contract's checks, unusual values, and sending and judging generated
cases."""
