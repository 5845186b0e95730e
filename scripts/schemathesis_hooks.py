"""Schemathesis hooks for scripts/schemathesis.

The server reads a JSON `null` for an optional body field as the field left out (the generated Swift decoders do), so
apps whose JSON libraries write nulls for unset fields keep working. A negative-data case is therefore not a failure
when the body, with every null-valued object member removed, conforms to the operation's request schema: its only
violations were such nulls. Every other accepted violation still is a failure.

The decision is made on the body itself, validated against the operation's schema, rather than on how schemathesis
describes the mutations it made, which differs between phases and versions.
"""

import schemathesis
from schemathesis.core.failures import AcceptedNegativeData


def _without_null_members(value):
    """The value with every object member whose value is `null` left out, at any depth."""
    if isinstance(value, dict):
        return {key: _without_null_members(item) for key, item in value.items() if item is not None}
    if isinstance(value, list):
        return [_without_null_members(item) for item in value]
    return value


def _contains_null_member(value):
    if isinstance(value, dict):
        return any(item is None or _contains_null_member(item) for item in value.values())
    if isinstance(value, list):
        return any(_contains_null_member(item) for item in value)
    return False


def _only_nulls_in_body(case):
    body = getattr(case, "body", None)
    if not isinstance(body, (dict, list)) or not _contains_null_member(body):
        return False
    alternative = case.operation.get_body_for_media_type(case.media_type)
    if alternative is None:
        return False
    try:
        return alternative.is_valid(_without_null_members(body))
    except Exception:
        return False


@schemathesis.hook
def filter_failure(ctx, failure, case, response):
    return not (isinstance(failure, AcceptedNegativeData) and _only_nulls_in_body(case))
