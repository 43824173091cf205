"""Request numbers as the document says them: JSON's ``true`` and ``false`` are not numbers, though pydantic's
lax mode reads them as 1 and 0 (``{"amount": false}`` was an amount of 0). Days and times: app.core.times.

``Strict()`` keeps the constraints (``ge``, ``le``) in the schema: a ``BeforeValidator`` here made pydantic write
them as unknown ``ge``/``le`` keywords instead of ``minimum``/``maximum``."""

from __future__ import annotations

from typing import Annotated

from pydantic import Strict

#: ``int`` that refuses booleans (and numeric strings, as the document's ``integer`` does).
Int = Annotated[int, Strict()]
#: ``float`` that refuses booleans (an integer is still a number).
Number = Annotated[float, Strict()]
