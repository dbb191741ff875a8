"""The app's `/openapi.json`, made to say what the routes answer.

FastAPI adds a 422 (and its HTTPValidationError schema) to every route with parameters; Podium
never answers 422 (Conductor's validation errors are 400s, each dialect has its own), so both are
dropped. Each dialect documents its own errors on its routers (`api.conductor.docs`, and the
`responses=` of the BBS, TANGO, SIGMA and TNC-O routers).
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from fastapi import FastAPI
from fastapi.openapi.utils import get_openapi
from pydantic import BaseModel

_UNUSED_SCHEMAS = ("HTTPValidationError", "ValidationError")


def install(app: FastAPI, models: Sequence[type[BaseModel]] = ()) -> None:
    """`models`: schemas that routes name by reference (`#/components/schemas/<title>`)."""

    def openapi() -> dict[str, Any]:
        if app.openapi_schema is None:
            schema = get_openapi(title=app.title, version=app.version, description=app.description,
                                 routes=app.routes)
            for item in schema.get("paths", {}).values():
                for operation in item.values():
                    operation.get("responses", {}).pop("422", None)
            schemas = schema.setdefault("components", {}).setdefault("schemas", {})
            for name in _UNUSED_SCHEMAS:
                schemas.pop(name, None)
            for model in models:
                found = model.model_json_schema(ref_template="#/components/schemas/{model}")
                schemas.update(found.pop("$defs", {}))
                schemas[found["title"]] = found
            app.openapi_schema = schema
        return app.openapi_schema

    app.openapi = openapi  # type: ignore[method-assign]
