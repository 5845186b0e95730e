"""Schemathesis hooks for scripts/schemathesis.

The server reads a JSON `null` for an optional body field as the field left out (the generated Swift decoders do), so
apps whose JSON libraries write nulls for unset fields keep working. A negative-data case whose only violation is such
a null is therefore not a failure; every other accepted violation still is.
"""

import schemathesis
from schemathesis.core.failures import AcceptedNegativeData
from schemathesis.core.parameters import ParameterLocation


def _values_at_schema_path(value, tokens):
    """The body values a schema pointer's path (`/properties/a/items/properties/b/type`) describes."""
    if not tokens or tokens == ["type"]:
        return [value]
    head, rest = tokens[0], tokens[1:]
    if head == "properties" and rest:
        return _values_at_schema_path(value[rest[0]], rest[1:]) if isinstance(value, dict) and rest[0] in value else []
    if head == "items" and isinstance(value, list):
        return [found for item in value for found in _values_at_schema_path(item, rest)]
    if head == "additionalProperties" and isinstance(value, dict):
        return [found for item in value.values() for found in _values_at_schema_path(item, rest)]
    return []


def _only_nulls_in_body(case):
    data = case.meta.phase.data if case.meta else None
    if data is None:
        return False
    mutations = getattr(data, "mutations", ())
    if mutations:
        return all(m.parameter_location == ParameterLocation.BODY and m.new_value is None for m in mutations)
    if data.parameter_location != ParameterLocation.BODY or "Incorrect type" not in (data.description or ""):
        return False
    tokens = [t.replace("~1", "/").replace("~0", "~") for t in (data.location or "").split("/")[1:]]
    values = _values_at_schema_path(case.body, tokens)
    return bool(values) and all(v is None for v in values)


@schemathesis.hook
def filter_failure(ctx, failure, case, response):
    return not (isinstance(failure, AcceptedNegativeData) and _only_nulls_in_body(case))
