"""Request numbers as the document says them: JSON's ``true`` and ``false`` are not numbers, though pydantic's
lax mode reads them as 1 and 0 (``{"amount": false}`` was an amount of 0). Days and times: app.core.times."""

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


#: ``int`` that refuses booleans.
Int = Annotated[int, BeforeValidator(_integer)]
#: ``float`` that refuses booleans (an integer is still a number).
Number = Annotated[float, BeforeValidator(_number)]
