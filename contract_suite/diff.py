"""`python -m contract_suite.diff OLD NEW`: what a spec change does to the contract (contract_suite.openapi.diff)."""

import sys

from contract_suite.openapi.diff import main

if __name__ == "__main__":
    sys.exit(main())
