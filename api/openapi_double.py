"""OpenAPI entries of double review (docs/rules.md#double-review), merged into api/openapi.py."""

_S, _N, _INT = {"type": "string"}, {"type": "number"}, {"type": "integer"}
_NULL_N = {"type": ["number", "null"]}
_ERROR = {"description": "Error; `issues` names the fields.",
          "content": {"application/json": {"schema": {"$ref": "#/components/schemas/ApiErrorEnvelope"}}}}


def _obj(properties: dict) -> dict:
    return {"type": "object", "properties": properties, "required": list(properties)}


_COUNTS = {"type": "object", "additionalProperties": _INT}

SCHEMAS = {
    "HumanAgreement": _obj({
        "automationId": _S, "days": _INT, "doubleReviewShare": _N, "pairs": _INT,
        "verdicts": {"type": "object", "description": "first verdict -> second verdict -> runs",
                     "additionalProperties": _COUNTS},
        "observedAgreement": _NULL_N, "kappa": _NULL_N,
        "kappaInterval": {"oneOf": [{"type": "null"}, _obj({"low": _N, "high": _N})]},
        "method": _S, "disputed": _INT, "adjudicated": _INT, "awaitingAdjudication": _INT,
        "fields": {"type": "array", "items": _obj({"path": _S, "corrected": _INT, "alike": _INT, "agreement": _N})},
    }),
}

PATHS = {
    "/api/v1/automations/{automation_id}/agreement": {"get": {
        "tags": ["Automations"],
        "summary": "Human-human agreement of double-reviewed runs",
        "description": "The blind second reviews of the last 90 days: first against second verdict, Cohen's kappa "
                       "with a 95 % percentile bootstrap interval (null below 10 pairs), per corrected field the "
                       "share both reviewers left alike, and the disagreements a lead has or has not decided. "
                       "docs/estimates.md in the repository explains the method.",
        "parameters": [{"name": "automation_id", "in": "path", "required": True, "schema": _S,
                        "description": "Automation id, or the alias workflows.<slug> / agents.<slug>."}],
        "responses": {"200": {"description": "Agreement", "content": {"application/json": {
            "schema": {"$ref": "#/components/schemas/HumanAgreement"}}}},
            **{code: _ERROR for code in ("400", "401", "403", "404", "413", "429", "500")}},
    }},
}
