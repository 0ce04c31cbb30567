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

# An operation whose parameters are the properties of a JSON body, one nested (POST setEmail's shape).
EMAIL_BODY = {
    "required": True,
    "content": {
        "application/json": {
            "schema": {
                "type": "object",
                "required": ["email", "device"],
                "properties": {
                    "email": {"type": "string", "x-missing-code": 7101, "example": "a@example.com"},
                    "device": {
                        "type": "object",
                        "required": ["deviceId"],
                        "properties": {"deviceId": {"type": "string", "x-missing-code": 7103, "example": "d-1"}},
                    },
                    "lang": {"type": "string", "example": "en"},
                },
            }
        }
    },
}
WITH_BODY = dataclasses.replace(
    OTHER, operation_id="setEmail", method="POST", path="/email", parameters=spec.body_parameters(EMAIL_BODY)
)
