"""Input and output schemas (the Orkes schema API) and their enforcement.

A schema is a `SchemaDef` kept by name and version. A JSON schema's `data` must itself be valid JSON
Schema (draft 2020-12 unless its `$schema` names another draft jsonschema knows, such as draft-07),
else it is refused with 400. Every schema is kept in memory, as task definitions are, so that the
engine checks a payload without I/O; a compiled validator is made once per (name, version). A write
here reloads this process's copy and calls `on_change`, which tells the other server processes (on
PostgreSQL) to reload theirs (`Metadata.reload` calls `load`).

A definition refers to a schema by `{name, version, type}` (version 1 when absent, as the SDK's
`SchemaDef` defaults). A reference to a schema that is not registered, or to one that is not JSON,
is itself a violation: the payload is refused with that reason rather than let through unchecked.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from jsonschema import Draft202012Validator, SchemaError
from jsonschema.protocols import Validator
from jsonschema.validators import validator_for

from podium.errors import BadRequest, FieldError, NotFound, ValidationFailed
from podium.model.definitions import SchemaDef, SchemaType
from podium.model.wire import with_times
from podium.service.clock import Clock
from podium.store.port import Store
from podium.store.schemas import delete_schemas, get_schema, latest_version, list_schemas, put_schema

Key = tuple[str, int]


@dataclass(frozen=True)
class Violation:
    """One way a payload breaks its schema: where (a JSON path from `$`), what, and the value there."""

    path: str
    message: str
    value: Any = None

    def __str__(self) -> str:
        return f"{self.path}: {self.message}"


def validator_class(data: dict[str, Any]) -> type[Validator]:
    """The draft a schema document is written in: its `$schema`, draft 2020-12 when it names none."""
    if "$schema" not in data:
        latest: type[Validator] = Draft202012Validator
        return latest
    found: type[Validator] | None = validator_for(data, default=None)  # None: a $schema it does not know
    if found is None:
        raise BadRequest(f"Unsupported $schema {data['$schema']!r}: use draft 2020-12 or draft-07")
    return found


def schema_checked(sd: SchemaDef) -> SchemaDef:
    """Refuse a schema definition that cannot be kept: no name, or a JSON schema that is not valid
    JSON Schema (AVRO and PROTOBUF documents are kept as they are; Podium enforces JSON only)."""
    if not sd.name or not sd.name.strip():
        raise ValidationFailed([FieldError("name", "Schema name cannot be empty", sd.name)])
    if sd.version < 1:
        raise ValidationFailed([FieldError("version", "Schema version must be 1 or more", sd.version)])
    if sd.type in (None, SchemaType.JSON) and sd.data is not None:
        cls = validator_class(sd.data)
        try:
            cls.check_schema(sd.data)
        except SchemaError as exc:
            where = "".join(f"[{p!r}]" if isinstance(p, int) else f".{p}" for p in exc.path)
            raise BadRequest(f"Schema {sd.name} is not valid JSON Schema: {exc.message}"
                             f"{f' (at data{where})' if where else ''}") from exc
    return sd


class Schemas:
    def __init__(self, store: Store, clock: Clock) -> None:
        self.store = store
        self.clock = clock
        self._defs: dict[Key, SchemaDef] = {}
        self._validators: dict[Key, Validator] = {}
        self.on_change: Callable[[], None] | None = None

    async def load(self) -> None:
        async with self.store.reader() as s:
            rows = await list_schemas(s)
        defs = {}
        for body, _, _ in rows:
            sd = SchemaDef.model_validate(body)
            defs[(sd.name or "", sd.version)] = sd
        self._defs, self._validators = defs, {}

    # --- the API -------------------------------------------------------------------------------

    async def save(self, defs: list[SchemaDef], *, new_version: bool = False,
                   created_by: str | None = None) -> None:
        """Register (or replace) each schema at its version; with `new_version`, as the version after
        the latest of its name."""
        checked = [schema_checked(sd) for sd in defs]
        now = self.clock.now()
        async with self.store.unit() as s:
            for sd in checked:
                name = sd.name or ""
                if new_version:
                    latest = await latest_version(s, name)
                    sd = sd.model_copy(update={"version": (latest or 0) + 1})
                body = sd.model_copy(update={"create_time": None, "update_time": None}).to_wire()
                if created_by and not sd.created_by:
                    body["createdBy"] = created_by
                await put_schema(s, name, sd.version, body, now)
        await self._changed()

    async def get(self, name: str, version: int | None = None) -> dict[str, Any]:
        async with self.store.reader() as s:
            found = await get_schema(s, name, version)
        if found is None:
            shown = "" if version is None else f" version {version}"
            raise NotFound(f"Schema {name}{shown} not found")
        return with_times(*found)

    async def all(self) -> list[dict[str, Any]]:
        async with self.store.reader() as s:
            return [with_times(*row) for row in await list_schemas(s)]

    async def delete(self, name: str, version: int | None = None) -> None:
        async with self.store.unit() as s:
            gone = await delete_schemas(s, name, version)
        if not gone:
            shown = "" if version is None else f" version {version}"
            raise NotFound(f"Schema {name}{shown} not found")
        await self._changed()

    async def _changed(self) -> None:
        await self.load()
        if self.on_change is not None:
            self.on_change()

    # --- enforcement (from memory, no I/O) -----------------------------------------------------

    def violations(self, ref: SchemaDef, value: Any) -> list[Violation]:
        """Every way `value` breaks the schema `ref` names, in document order; empty when it fits."""
        try:
            validator = self._validator(ref)
        except LookupError as exc:
            return [Violation("$", str(exc.args[0]))]
        found = sorted(validator.iter_errors(value), key=lambda e: [str(p) for p in e.absolute_path])
        return [Violation(e.json_path, e.message, e.instance) for e in found]

    def _validator(self, ref: SchemaDef) -> Validator:
        key = (ref.name or "", ref.version)
        cached = self._validators.get(key)
        if cached is not None:
            return cached
        sd = self._defs.get(key)
        if sd is None:
            raise LookupError(f"Schema {key[0]} version {key[1]} is not registered")
        if sd.type not in (None, SchemaType.JSON) or sd.data is None:
            raise LookupError(f"Schema {key[0]} version {key[1]} cannot be enforced: "
                              f"Podium enforces JSON schemas with data only")
        cls = validator_class(sd.data)
        made = self._validators[key] = cls(sd.data)
        return made

