"""OpenAPI entries of the calibration read (api/calibration.py), merged into api.openapi's
document. Plain dicts: this module imports nothing from api.openapi."""

_S, _N, _I = {"type": "string"}, {"type": "number"}, {"type": "integer"}


def _null(schema: dict) -> dict:
    return {"anyOf": [schema, {"type": "null"}]}


def _ref(name: str) -> dict:
    return {"$ref": f"#/components/schemas/{name}"}


def _obj(required: dict, optional: dict | None = None) -> dict:
    return {"type": "object", "properties": {**required, **(optional or {})}, "required": list(required)}


SCHEMAS = {
    "CalibrationLevel": _obj({
        "level": {**_S, "description": "low, medium, high, or a decile's lower bound (\"0.7\": 0.7 to 0.8)."},
        "reviewed": {**_I, "description": "Values checked: in reviews of sampled runs and approved human review "
                                          "tasks."},
        "changed": {**_I, "description": "Of those, values a person changed."},
        "fromTasks": {**_I, "description": "Of `reviewed`, checked in human review tasks."},
        "changeRate": _null(_N),
        "interval": _null(_obj({"low": _N, "high": _N, "confidence": _N, "method": {"const": "wilson"}}))}),
    "CalibrationField": _obj({
        "path": {**_S, "description": "JSON pointer into the output, array indices as *."},
        "reviewed": _I, "changed": _I,
        "levels": {"type": "array", "items": _ref("CalibrationLevel")},
        "flag": _null(_obj({"high": _S, "low": _S, "pValue": _N, "significant": {"type": "boolean"},
                            "test": {"const": "fisher-exact-one-sided"}, "text": _S})),
        "suggestion": _obj({"review": {"enum": ["always", "auto", None]}, "reason": _S},
                           {"threshold": {"type": ["string", "number"],
                                          "description": "review: auto: values at this confidence or higher skip "
                                                         "review."}})}),
    "Calibration": _obj({"automationId": _S, "fields": {"type": "array", "items": _ref("CalibrationField")},
                         "rule": _obj({"targetChangeRate": _N, "minReviewed": _I, "text": _S})}),
}

PATHS = {
    "/api/v1/automations/{automation_id}/calibration": {"get": {
        "tags": ["Automations"],
        "summary": "Calibrated confidence: how often each field was changed, per confidence level",
        "description": "For each field the automation reports a confidence for (a run's `fieldMetadata`), and each "
                       "level (low / medium / high) or decile of it: values checked and changed by reviewers of "
                       "sampled runs (corrected output against output) and by approved human review tasks, the "
                       "change rate with its 95 % Wilson interval; a flag when the highest level is changed more "
                       "often than the lowest (one-sided Fisher exact test); a suggested review rule. From "
                       "rollups; docs/calibration.md in the repository.",
        "parameters": [{"name": "automation_id", "in": "path", "required": True, "schema": _S,
                        "description": "Automation id or ref (workflows.<slug>)."}],
        "responses": {
            "200": {"description": "The calibration", "content": {"application/json": {"schema": _ref("Calibration")}}},
            **{str(code): {"description": text, "content": {"application/json": {"schema": _ref("ApiErrorEnvelope")}}}
               for code, text in ((400, "Invalid request; `issues` names the fields."),
                                  (401, "Missing or invalid key."),
                                  (403, "The key's user lacks the role, or the operation is not supported."),
                                  (404, "Not found."), (413, "Upload too large."),
                                  (429, "Rate limited; see Retry-After."), (500, "Server error."))}},
    }},
}
