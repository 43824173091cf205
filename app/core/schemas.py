"""Shared bases of every request and response schema, and the one naming scheme (``docs/architecture.md``).

For a record ``Thing``:

* ``ThingCreate`` what a client sends to create one (``Input``: unknown fields refused);
* ``ThingUpdate`` a partial change, every field optional (``Input``);
* ``ThingPublic`` what leaves the API (``Public``); a list is ``Page[ThingPublic]``;
* an action's body is named for the action (``MergeRequest``, ``ReassignRequest``), its answer ``…Result``.

No table is ever returned as is: routes answer ``…Public`` views rendered by the domain's view function, the
same one sync uses. Names already in the published document keep their component names (the contract);
new schemas follow this scheme.
"""

from __future__ import annotations

import uuid
from datetime import datetime

from pydantic import BaseModel, ConfigDict


class Input(BaseModel):
    """A request body: unknown fields are a 422, never silently dropped."""

    model_config = ConfigDict(extra="forbid")


class Public(BaseModel):
    """A response body: built from attributes (``from_attributes``) by the domain's view."""

    model_config = ConfigDict(from_attributes=True)


class RecordPublic(Public):
    """A versioned record as it leaves the API: id, version (the ETag) and times."""

    id: uuid.UUID
    version: int
    created_at: datetime
    updated_at: datetime
