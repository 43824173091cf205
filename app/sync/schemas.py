from __future__ import annotations

import uuid
from datetime import date, datetime
from typing import Annotated, Any, Literal

from pydantic import BaseModel, ConfigDict, Field, StringConstraints

from app.core.pagination import INT32_MAX
from app.core.strict import NOT_BOOL


class Change(BaseModel):
    entity: str
    id: uuid.UUID
    op: Literal["upsert", "delete", "revoke"]
    version: int | None = None
    data: dict[str, Any] | None = None
    hold_until: datetime | None = None


class PullResponse(BaseModel):
    cursor: str = Field(description="Opaque; send it back as ?cursor= on the next pull")
    has_more: bool
    checksum: str = Field(description="sha256 over the sorted lines 'entity:id:version' the phone should hold")
    changes: list[Change]
    hold_until: datetime | None = Field(
        default=None, description="When present, every record the phone holds is leased until then"
    )


class Mutation(BaseModel):
    model_config = ConfigDict(extra="forbid")
    mutation_id: uuid.UUID
    entity: Annotated[str, StringConstraints(min_length=1, max_length=32)]
    op: Annotated[str, StringConstraints(min_length=1, max_length=16)]
    id: uuid.UUID
    base_version: Annotated[int, Field(ge=0, le=INT32_MAX), NOT_BOOL] | None = None
    data: dict[str, Any] | None = None
    at: str | None = Field(default=None, max_length=64, description="device time, RFC 3339")


class PushRequest(BaseModel):
    model_config = ConfigDict(extra="forbid")
    device_id: Annotated[str, StringConstraints(min_length=1, max_length=200)]
    device_time: str | None = Field(default=None, max_length=64)
    mutations: list[Mutation] = Field(max_length=100_000)


class MutationResult(BaseModel):
    #: Domain handlers may add members (e.g. ``response_id`` when answers merged into another response).
    model_config = ConfigDict(extra="allow")

    mutation_id: uuid.UUID
    status: Literal["applied", "duplicate", "conflict", "rejected"]
    version: int | None = None
    error: dict[str, Any] | None = None
    server: dict[str, Any] | None = None
    device: dict[str, Any] | None = None


class PushResponse(BaseModel):
    results: list[MutationResult]


class PurgedRecord(BaseModel):
    entity: str | None = None
    id: uuid.UUID


class AckRequest(BaseModel):
    model_config = ConfigDict(extra="forbid")
    device_id: str | None = Field(default=None, max_length=200)
    purged: list[PurgedRecord | uuid.UUID] = Field(
        default_factory=list, max_length=100_000, description="Revoked records the phone erased"
    )


class AckResponse(BaseModel):
    purged: int


class HoldingPublic(BaseModel):
    model_config = ConfigDict(from_attributes=True)
    entity: str
    entity_id: uuid.UUID
    household_id: uuid.UUID | None
    held_version: int | None
    sent_version: int | None
    sent_op: str | None
    sent_at: datetime | None
    hold_until: datetime | None
    revoked_at: datetime | None


class DeviceHoldings(BaseModel):
    device_id: uuid.UUID
    last_pull_at: datetime | None
    last_push_at: datetime | None
    clock_skew_ms: int | None
    items: list[HoldingPublic]


# --- the document's view of changes and mutations --------------------------------------------------------------
# The runtime models above stay lenient on purpose: an unknown entity or op, or bad data, is a per-mutation
# ``rejected`` result (docs/sync.md#push), never a 422 for the whole push. The OpenAPI document describes what clients
# can rely on: a change is discriminated by ``entity`` with that entity's REST view as ``data``, a mutation by
# ``entity`` (and then ``op``) with the ``data`` the table of docs/sync.md#push names.


class CaseSyncData(BaseModel):
    """A pulled case: the record as the phone keeps it (app/cases/sync.py), not REST's ``CasePublic`` (whose due
    dates, allowed stages and member details are worked out per request); ``team`` is the members' user ids."""

    id: uuid.UUID
    version: int
    household_id: uuid.UUID
    dong_code: str
    manager_id: uuid.UUID
    team: list[uuid.UUID]
    stage: str
    stage_started_at: datetime
    opened_at: datetime
    goals: list[dict[str, Any]]
    due_at: datetime | None = Field(default=None, description="End of the next step's due date (docs/winter.md)")
    deadline_state: Literal["on_track", "at_risk", "overdue"] | None = Field(
        default=None, description="As of the pull; the phone reckons it from due_at afterwards"
    )
    created_at: datetime
    updated_at: datetime


class SupportSyncData(BaseModel):
    """A pulled support: the record as the phone keeps it (app/supports/sync.py), not REST's ``SupportPublic``."""

    id: uuid.UUID
    version: int
    household_id: uuid.UUID
    resource_id: uuid.UUID
    case_id: uuid.UUID | None
    visit_id: uuid.UUID | None
    status: str
    amount: int | None
    period_start: date | None
    period_end: date | None
    provider_organization_id: uuid.UUID
    reason: str | None
    status_changed_at: datetime
    created_at: datetime
    updated_at: datetime


#: Synced data that is not a REST view, documented from these models.
SYNC_VIEWS: dict[str, type[BaseModel]] = {"CaseSyncData": CaseSyncData, "SupportSyncData": SupportSyncData}

#: Each synced entity and the REST schema its ``data`` is (docs/sync.md: a record's data is REST's view of it).
CHANGE_DATA: dict[str, list[str]] = {
    "visit": ["VisitPublic", "VisitRestrictedPublic"],
    "household": ["HouseholdPublic"],
    "case": ["CaseSyncData"],
    "checklist_template": ["TemplatePublic"],
    "checklist_response": ["ResponsePublic"],
    "note": ["NotePublic"],
    "photo": ["PhotoPublic"],
    "resource": ["ResourcePublic"],
    "support": ["SupportSyncData"],
    "task": ["TaskPublic"],
    "contact_attempt": ["ContactAttemptPublic"],
    "facility": ["FacilityPublic"],
}

_UUID = {"type": "string", "format": "uuid"}
_TEXT = {"type": "string"}

#: (entity, op) → the JSON schema of ``data`` (None: no data).
MUTATION_DATA: dict[tuple[str, str], dict[str, Any] | None] = {
    ("note", "upsert"): {
        "type": "object",
        "description": "Create (one of visit_id, household_id, case_id), or edit by its author (body, kind, internal)",
        "properties": {
            "visit_id": _UUID,
            "household_id": _UUID,
            "case_id": _UUID,
            "body": {"type": "string", "maxLength": 20000},
            "kind": {"$ref": "#/components/schemas/NoteKind"},
            "internal": {"type": "boolean"},
        },
        "additionalProperties": False,
    },
    ("note", "delete"): None,
    ("contact_attempt", "upsert"): {
        "type": "object",
        "description": "A contact attempt made offline; idempotent by id (only its author may change the note)",
        "required": ["household_id", "method", "outcome"],
        "properties": {
            "household_id": _UUID,
            "method": {"$ref": "#/components/schemas/ContactMethod"},
            "outcome": {"$ref": "#/components/schemas/ContactOutcome"},
            "at": {"type": "string", "format": "date-time", "description": "Default: the mutation's `at`"},
            "note": {"type": ["string", "null"], "maxLength": 2000},
        },
        "additionalProperties": False,
    },
    ("checklist_response", "upsert"): {
        "type": "object",
        "description": "Answers merge per item",
        "required": ["visit_id", "template_key", "template_version"],
        "properties": {
            "visit_id": _UUID,
            "template_key": _TEXT,
            "template_version": {"type": "integer", "minimum": 1},
            "answers": {
                "type": "object",
                "additionalProperties": {
                    "type": "object",
                    "properties": {"value": {}, "answered_at": {"type": "string", "format": "date-time"}},
                    "required": ["value"],
                },
            },
            "completed": {"type": "boolean"},
        },
        "additionalProperties": False,
    },
    ("visit", "transition"): {
        "type": "object",
        "required": ["to"],
        "properties": {
            "to": {"type": "string", "enum": ["in_progress", "completed", "no_contact", "refused"]},
            "outcome": {"type": "string"},
            "location": {"type": "object", "description": "Where the device was (optional)"},
        },
        "additionalProperties": False,
    },
    ("task", "complete"): {
        "type": "object",
        "description": "Complete a check task (app.winter): the first completion wins, a later one is a conflict",
        "required": ["outcome"],
        "properties": {
            "outcome": {"$ref": "#/components/schemas/TaskOutcome"},
            "note": {"type": ["string", "null"], "maxLength": 2000},
        },
        "additionalProperties": False,
    },
    ("household", "patch"): {
        "type": "object",
        "description": "Fields a visitor may correct, merged per field",
        "properties": {
            "contact_phone": {"type": ["string", "null"]},
            "living_situation": {"type": ["string", "null"]},
            "address_detail": {"type": ["string", "null"]},
        },
        "additionalProperties": False,
    },
}


def _name(entity: str) -> str:
    return "".join(p.capitalize() for p in entity.split("_"))


def document_unions(doc: dict[str, Any]) -> None:
    """Rewrite the document's ``Change`` and ``Mutation`` as discriminated unions (a hook of
    :func:`app.core.openapi.install`)."""
    schemas: dict[str, Any] = doc.get("components", {}).get("schemas", {})
    if "Change" not in schemas or "Mutation" not in schemas:
        return
    for name, model in SYNC_VIEWS.items():
        schemas.setdefault(name, model.model_json_schema(ref_template="#/components/schemas/{model}"))
    base_change = schemas["Change"]
    variants: dict[str, str] = {}
    for entity, data in CHANGE_DATA.items():
        name = f"{_name(entity)}Change"
        refs = [{"$ref": f"#/components/schemas/{n}"} for n in data if n in schemas]
        data_schema: dict[str, Any] = {"anyOf": [*refs, {"type": "null"}]} if refs else {}
        props = dict(base_change["properties"])
        props["entity"] = {"type": "string", "const": entity, "enum": [entity]}
        props["data"] = {**data_schema, "description": "The REST view of the record (upsert only)"}
        schemas[name] = {
            "title": name,
            "type": "object",
            "required": ["entity", "id", "op"],
            "properties": props,
        }
        variants[entity] = f"#/components/schemas/{name}"
    schemas["Change"] = {
        "title": "Change",
        "description": "One change, discriminated by `entity`; `data` is the entity's REST view (upsert only).",
        "oneOf": [{"$ref": ref} for ref in variants.values()],
        "discriminator": {"propertyName": "entity", "mapping": variants},
    }

    base_mutation = schemas["Mutation"]
    by_entity: dict[str, dict[str, str]] = {}
    for (entity, op), mutation_data in MUTATION_DATA.items():
        name = f"{_name(entity)}{_name(op)}Mutation"
        props = dict(base_mutation["properties"])
        props["entity"] = {"type": "string", "const": entity, "enum": [entity]}
        props["op"] = {"type": "string", "const": op, "enum": [op]}
        if mutation_data is None:
            props.pop("data", None)
        else:
            props["data"] = mutation_data
        required = ["mutation_id", "entity", "op", "id"] + (["data"] if mutation_data is not None else [])
        # like the runtime Mutation (extra="forbid"): a member not named here answers 422
        schemas[name] = {
            "title": name,
            "type": "object",
            "required": required,
            "properties": props,
            "additionalProperties": False,
        }
        by_entity.setdefault(entity, {})[op] = f"#/components/schemas/{name}"
    mapping: dict[str, str] = {}
    for entity, ops in by_entity.items():
        if len(ops) == 1:
            mapping[entity] = next(iter(ops.values()))
            continue
        name = f"{_name(entity)}Mutation"
        schemas[name] = {
            "title": name,
            "oneOf": [{"$ref": ref} for ref in ops.values()],
            "discriminator": {"propertyName": "op", "mapping": ops},
        }
        mapping[entity] = f"#/components/schemas/{name}"
    schemas["Mutation"] = {
        "title": "Mutation",
        "description": (
            "What the phone may write (docs/sync.md#push), discriminated by `entity` and then `op`. "
            "The server answers an unknown entity or op, or bad data, with a `rejected` result for that mutation, "
            "not a 422."
        ),
        "oneOf": [{"$ref": ref} for ref in mapping.values()],
        "discriminator": {"propertyName": "entity", "mapping": mapping},
    }
