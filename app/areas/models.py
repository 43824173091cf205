"""Names of administrative areas (시군구 district and 읍면동 dong codes), for tables people read."""

from __future__ import annotations

from sqlmodel import Field, SQLModel


class AdminArea(SQLModel, table=True):
    __tablename__ = "admin_area"

    #: A 5-digit district code or a 10-digit dong code (행정표준코드).
    code: str = Field(max_length=10, primary_key=True)
    name: str = Field(max_length=100)
