"""The building blocks of the OpenAPI document (api/openapi.py): JSON Schema shorthands, the
operation and parameter helpers, the error responses every operation has, and the tags."""

S, N, B = {"type": "string"}, {"type": "number"}, {"type": "boolean"}
INT, OBJ = {"type": "integer"}, {"type": "object"}
ANY: dict = {}


def null(schema: dict) -> dict:
    return {"anyOf": [schema, {"type": "null"}]}


def ref(name: str) -> dict:
    return {"$ref": f"#/components/schemas/{name}"}


def arr(items: dict) -> dict:
    return {"type": "array", "items": items}


def obj(required: dict, optional: dict | None = None) -> dict:
    return {"type": "object", "properties": {**required, **(optional or {})}, "required": list(required)}


def page_of(item: str) -> dict:
    return obj({"data": arr(ref(item)), "total": INT, "limit": INT, "offset": INT})


def q(name: str, description: str, schema: dict = S, required: bool = False) -> dict:
    return {"name": name, "in": "query", "required": required, "description": description, "schema": schema}


def p(name: str, description: str, schema: dict = S) -> dict:
    return {"name": name, "in": "path", "required": True, "description": description, "schema": schema}


RUN_ID = p("run_id", "Run id (percent-encoded).")
AUTOMATION_ID = p("automation_id", "Automation id, or the alias workflows.<slug> / agents.<slug>.")
EXAMPLE_ID = p("example_id", "Example id (or its name).")
FOLDER = p("folder", "expected or input.", {"type": "string", "enum": ["expected", "input"]})
FILE_PATH = p("path", "A path inside the folder; slashes may be sent raw or as %2F.")
DSR_ID = p("review_id", "Dataset review request id.")
DSREVIEWS = "Dataset review requests"
PAGE = [q("limit", "1-100, default 50.", INT), q("offset", "≥ 0, default 0.", INT)]
BOOL = {"type": "boolean"}

def json_body(schema: dict, example=None) -> dict:
    content = {"schema": schema}
    if example is not None:
        content["example"] = example
    return {"required": True, "content": {"application/json": content}}


def multipart(properties: dict, required: list[str]) -> dict:
    return {"required": True, "content": {"multipart/form-data": {
        "schema": {"type": "object", "properties": properties, "required": required}}}}


BINARY = {"type": "string", "format": "binary"}


def op(tag: str, summary: str, status: int, schema: dict | None, *, params=(), body=None, description="",
       example=None, content_type="application/json", also: dict | None = None) -> dict:
    """One operation: its answer for `status` (no content when `schema` is None), the errors
    every operation has, and `also`, the other answers it gives ({status: response})."""
    response: dict = {"description": summary}
    if schema is not None:
        response["content"] = {content_type: {"schema": schema}}
        if example is not None:
            response["content"][content_type]["example"] = example
    operation = {"tags": [tag], "summary": summary, "description": description, "parameters": list(params),
                 "responses": {str(status): response, **ERRORS, **{str(k): v for k, v in (also or {}).items()}}}
    if body:
        operation["requestBody"] = body
    return operation


def error(text: str, current: dict | None = None) -> dict:
    """An error answer: the envelope, and with `current` (a schema) the keys of the thing as it
    is now (a 409 or 412 attaches it, so a client can merge and send again)."""
    schema = ref("ApiErrorEnvelope") if current is None else {"allOf": [ref("ApiErrorEnvelope"), current]}
    return {"description": text, "content": {"application/json": {"schema": schema}}}


def also_json(operation: dict, status: int, media_type: str, schema: dict) -> dict:
    """`operation` answering `status` in a second media type too (GET artifacts?zip=1)."""
    operation["responses"][str(status)]["content"][media_type] = {"schema": schema}
    return operation


ERRORS = {str(code): error(text)
          for code, text in ((400, "Invalid request; `issues` names the fields."), (401, "Missing or invalid key."),
                             (403, "The key's user lacks the role, or the operation is not supported."),
                             (404, "Not found."), (413, "Upload too large."),
                             (429, "Rate limited; see Retry-After."), (500, "Server error."))}
# Operations that store files: the store can be full (Retry-After: 60; nothing of the request was stored).
STORES = {507: error("The file store is full; nothing of this request was stored.")}
# A download answers the stored file's bytes with the type it was stored with.
ANY_TYPE = "*/*"
RAW = BINARY
RUNS, FEEDBACK, AUTOMATIONS, DATASET, META = "Runs", "Feedback", "Automations", "Dataset", "Meta"
REVIEWS_020 = "Reviews (SDK 0.20 generation)"
HUMAN_REVIEWS = "Human review tasks"
WEBHOOKS = "Webhooks"
TAGS = [META, RUNS, FEEDBACK, REVIEWS_020, HUMAN_REVIEWS, DATASET, DSREVIEWS, AUTOMATIONS, WEBHOOKS]
