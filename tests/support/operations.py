"""A second operation beside the spec's primary one, for the unit tests of the coverage table and the verdict."""

import dataclasses

from contract_suite.openapi import spec

CONTRACT = spec.load(spec.DEFAULT_SPEC)
OTHER_CODES = {
    0: spec.BusinessCode(0, "success", "ok", "a valid request", success=True),
    7001: spec.BusinessCode(7001, "missing-app", "Please enter app", "appId absent"),
    7002: spec.BusinessCode(7002, "internal", "Internal", "cannot be provoked", exercisable=False),
}
OTHER = dataclasses.replace(CONTRACT, operation_id="getNickname", method="GET", path="/nick", codes=OTHER_CODES)
OTHER = dataclasses.replace(OTHER, primary=False)
