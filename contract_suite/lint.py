"""`python -m contract_suite.lint`: the spec lint's command line at the path the README, tox and CI name (the lint
itself is contract_suite.openapi.lint)."""

import sys

from contract_suite.openapi.lint import main

if __name__ == "__main__":
    sys.exit(main())
