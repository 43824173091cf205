"""API shapes of area names."""

from __future__ import annotations

from typing import Annotated

from pydantic import BaseModel, ConfigDict, Field, StringConstraints

AreaCode = Annotated[str, StringConstraints(pattern=r"^(\d{5}|\d{10})$")]
AreaName = Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=100)]


class AreaPublic(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    code: str = Field(description="A 5-digit district (시군구) or 10-digit dong (읍면동) code")
    name: str


class AreaNames(BaseModel):
    model_config = ConfigDict(extra="forbid")

    names: dict[AreaCode, AreaName] = Field(
        min_length=1, max_length=500, description='{code: name}, e.g. {"1199053000": "햇살동"}'
    )


class AreasSaved(BaseModel):
    saved: list[AreaPublic] = Field(description="The areas named by the request, as stored now")
