"""Request numbers as the document says them: JSON's ``true`` and ``false`` are not numbers, though pydantic's
lax mode reads them as 1 and 0 (``{"amount": false}`` was an amount of 0). An integral ``612.0`` is still an
``integer`` (JSON Schema), so this is no ``Strict()``. Days and times: app.core.times.

Put ``NOT_BOOL`` after the constraints (``Annotated[int, Field(ge=0), NOT_BOOL]``): an ``Int`` wrapped in an
outer ``Field(ge=…)`` makes pydantic write ``ge``/``le`` into the document instead of ``minimum``/``maximum``
(``Int = Field(ge=…)`` as a default is fine)."""

from __future__ import annotations

from typing import Annotated

from pydantic import BeforeValidator
from pydantic_core import PydanticCustomError


def _integer(value: object) -> object:
    if isinstance(value, bool):
        raise PydanticCustomError("int_parsing", "Input should be an integer, not a boolean")
    return value


def _number(value: object) -> object:
    if isinstance(value, bool):
        raise PydanticCustomError("float_parsing", "Input should be a number, not a boolean")
    return value


NOT_BOOL = BeforeValidator(_integer)
#: ``int`` that refuses booleans.
Int = Annotated[int, NOT_BOOL]
#: ``float`` that refuses booleans (an integer is still a number).
Number = Annotated[float, BeforeValidator(_number)]
