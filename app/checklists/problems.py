"""The problems checklist rules answer: field errors of :mod:`app.checklists.rules` as one 422, a role that
never does this (403), a published template that never changes (409)."""

from __future__ import annotations

from app.checklists.models import ChecklistTemplate
from app.checklists.rules import FieldError
from app.core.errors import Conflict, Forbidden, Problem
from app.core.i18n import t
from app.core.principal import Role


def validation_problem(errors: list[FieldError]) -> Problem:
    """A 422 naming every field a rule refused, each with its own code (``FieldInvalid`` says
    ``value_error`` for all)."""
    return Problem(
        422,
        "validation",
        "detail.validation",
        params={"count": len(errors)},
        extra={"errors": [{"field": e.field, "code": e.code, "message": t(e.message_key, **e.params)} for e in errors]},
    )


def role_problem(roles: tuple[Role, ...]) -> Problem:
    return Forbidden("detail.role-forbidden", params={"roles": ", ".join(r.value for r in roles)})


def published_problem(template: ChecklistTemplate) -> Problem:
    return Conflict(
        "template-published",
        "checklists.template-published",
        params={"template": template.key, "version": template.template_version},
    )
