"""Names in the document: readable ``operationId`` values (the endpoint function's name in camelCase), request
bodies named for what they are instead of ``Body_…``, and pages named by their items (``VisitPage``)."""

from __future__ import annotations

import re
from typing import Any

from fastapi.routing import APIRoute


def to_camel(name: str) -> str:
    head, *rest = [p for p in name.split("_") if p]
    return head + "".join(p[:1].upper() + p[1:] for p in rest)


#: Endpoint function names that do not read as an operation (``token`` → ``createToken``).
OPERATION_NAMES: dict[str, str] = {
    "healthz": "getHealth",
    "readyz": "getReadiness",
    "metrics": "getMetrics",
    "token": "createToken",
    "refresh": "refreshToken",
    "logout": "logout",
    "me": "getMe",
    "pull": "pullChanges",
    "push": "pushMutations",
    "ack": "ackPurges",
    "export": "exportRecords",
    "reveal": "revealHousehold",
    "transition": "transitionVisit",
    "triage_queue": "getTriageQueue",
    "monthly_report": "getMonthlyAuditReport",
    "campaign_summary": "getCampaignSummary",
    "case_history": "listCaseHistory",
    "support_history": "listSupportHistory",
    "device_holdings": "getDeviceHoldings",
    "due_monitoring": "listDueMonitoring",
    "run_monitoring": "runMonitoring",
    "photo_content": "getPhotoContent",
    "photo_thumbnail": "getPhotoThumbnail",
    "remove_photo": "deletePhoto",
    "discover": "discoverUploads",
    "discover_upload": "discoverUpload",
    "upload_status": "getUploadStatus",
    "method_override": "overrideUploadMethod",
    "redeliver": "redeliverDelivery",
    "import_bulk": "importHouseholdsBulk",
    "get_import": "getImportedHousehold",
    "upsert_response": "upsertChecklistResponse",
    "list_responses": "listChecklistResponses",
    "get_response": "getChecklistResponse",
    "patch_response": "patchChecklistResponse",
}


def operation_id(route: APIRoute) -> str:
    """``generate_unique_id_function`` of the app: stable camelCase ids from the endpoint names."""
    return OPERATION_NAMES.get(route.name) or to_camel(route.name)


def pascal(name: str) -> str:
    return name[:1].upper() + name[1:]


def walk_refs(node: Any, rename: dict[str, str]) -> Any:
    if isinstance(node, dict):
        out = {}
        for key, value in node.items():
            if key == "$ref" and isinstance(value, str) and value.startswith("#/components/schemas/"):
                name = value.rsplit("/", 1)[1]
                out[key] = "#/components/schemas/" + rename.get(name, name)
            else:
                out[key] = walk_refs(value, rename)
        return out
    if isinstance(node, list):
        return [walk_refs(v, rename) for v in node]
    return node


_SUFFIXES = ("RestrictedOut", "Public", "Out")
_WORDS = re.compile(r"[A-Z][a-z0-9]*")


def _base_name(name: str) -> str:
    for suffix in _SUFFIXES:
        if name.endswith(suffix) and name != suffix:
            return name.removesuffix(suffix)
    return name


def page_name(item_names: list[str]) -> str:
    """A page's name from its items: ``VisitOut`` → ``VisitPage``; for a union of views the words their names
    share (``VisitOut | VisitRestrictedOut`` → ``VisitPage``, ``ReporterReportOut | StaffReportOut`` →
    ``ReportPage``)."""
    words = [_WORDS.findall(_base_name(n)) or [_base_name(n)] for n in item_names]
    shared = words[0]
    if len(words) > 1:
        prefix: list[str] = []
        for group in zip(*words, strict=False):
            if any(w != group[0] for w in group):
                break
            prefix.append(group[0])
        suffix: list[str] = []
        for group in zip(*(ws[::-1] for ws in words), strict=False):
            if any(w != group[0] for w in group):
                break
            suffix.append(group[0])
        shared = prefix or suffix[::-1] or words[0]
    return "".join(shared) + "Page"


def _page_items(schema: dict[str, Any]) -> list[str] | None:
    props = schema.get("properties", {})
    if set(props) != {"items", "next_cursor"}:
        return None
    items = props["items"].get("items", {})
    refs = (
        [items["$ref"]] if "$ref" in items else [m.get("$ref", "") for m in items.get("oneOf", items.get("anyOf", []))]
    )
    names = [r.rsplit("/", 1)[1] for r in refs if r]
    return names or None


def page_renames(schemas: dict[str, Any]) -> dict[str, str]:
    out: dict[str, str] = {}
    for name, schema in schemas.items():
        if not name.startswith("Page_"):
            continue
        items = _page_items(schema)
        if items:
            out[name] = page_name(items)
    taken = set(schemas) - set(out)
    for old, new in list(out.items()):
        if new in taken:
            raise RuntimeError(f"page model {old} would be named {new}, which exists")
        taken.add(new)
    return out


_CAMEL = re.compile(r"^[a-z][A-Za-z0-9]*$")


def is_camel(name: str) -> bool:
    return bool(_CAMEL.match(name))
