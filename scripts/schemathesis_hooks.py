"""Schemathesis hooks for scripts/schemathesis.

The run uses one owner's bearer token for every request. A generated request may name that
owner as the staff member to change or remove (the owner's id is in `GET /api/v1/me`, the
staff list and the signup response, which schemathesis feeds back into later requests). A new
password, `active: false` or removal would end the token mid-run and turn the rest of the run
into 401s, so such requests are sent to a second, expendable staff member instead: the handler
is still exercised, the session survives.
"""

import os

import schemathesis

OWNER_ID = os.environ["SCHEMATHESIS_OWNER_ID"]
EXPENDABLE_STAFF_ID = os.environ["SCHEMATHESIS_EXPENDABLE_STAFF_ID"]


@schemathesis.hook
def before_call(context, case, kwargs):
    if case.path == "/api/v1/staff/{id}" and case.method.upper() in ("PATCH", "DELETE"):
        parameters = case.path_parameters or {}
        if parameters.get("id") == OWNER_ID:
            case.path_parameters = {**parameters, "id": EXPENDABLE_STAFF_ID}
