"""Schemathesis hooks for scripts/schemathesis.

The run uses one owner's bearer token for every request. A generated request may name that
owner as the staff member to change or remove (the owner's id is in `GET /api/v1/me`, the
staff list and the signup response, which schemathesis feeds back into later requests). A new
password, `active: false` or removal would end the token mid-run and turn the rest of the run
into 401s, so such requests go to a spare staff member instead: the handler is still
exercised, the session survives. The id is swapped when the case is generated, and again just
before the call for cases built otherwise (the stateful phase's links).
"""

import os

import schemathesis

OWNER_ID = os.environ["SCHEMATHESIS_OWNER_ID"]
EXPENDABLE_STAFF_ID = os.environ["SCHEMATHESIS_EXPENDABLE_STAFF_ID"]


def _spare_the_owner(operation, parameters):
    if (
        operation is not None
        and operation.path == "/api/v1/staff/{id}"
        and operation.method.upper() in ("PATCH", "DELETE")
        and isinstance(parameters, dict)
        and parameters.get("id") == OWNER_ID
    ):
        return {**parameters, "id": EXPENDABLE_STAFF_ID}
    return parameters


@schemathesis.hook
def map_path_parameters(context, path_parameters):
    return _spare_the_owner(context.operation, path_parameters)


@schemathesis.hook
def before_call(context, case, kwargs):
    spared = _spare_the_owner(case.operation, case.path_parameters)
    if spared is not case.path_parameters:
        case.path_parameters = spared
