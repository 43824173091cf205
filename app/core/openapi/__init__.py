"""The OpenAPI document: what every operation can answer, written once here instead of on each route (docs/api.md).

FastAPI describes success responses from the routes. This package adds what it cannot see, one module per job:

- :mod:`.problems`: the RFC 9457 ``Problem`` and ``ValidationProblem`` schemas, and for every operation each error
  status it can answer as ``application/problem+json`` (routes declare the extra statuses only they can answer
  with :func:`app.core.http.problems`, or any ``responses=`` entry of 400 and above: its content is rewritten to
  problem+json here); 412/428 with an ``If-Match`` parameter where a route declares them;
- :mod:`.names`: readable ``operationId`` values (the endpoint function's name in camelCase), named request
  bodies instead of ``Body_…``, pages named by their items;
- :mod:`.security`: the OAuth2 scheme, and each operation's requirement read from its route's gates;
- :mod:`.tus`: the tus upload headers and bodies;
- :mod:`.document`: the completion of FastAPI's document (``servers`` too) and :func:`install`;
- :mod:`.docs`: Swagger UI without a CDN.

FastAPI's ``HTTPValidationError`` and ``ValidationError`` never appear: the server never answers them.
"""

from app.core.openapi.docs import install_docs
from app.core.openapi.document import complete, install
from app.core.openapi.names import is_camel, operation_id

__all__ = ["complete", "install", "install_docs", "is_camel", "operation_id"]
