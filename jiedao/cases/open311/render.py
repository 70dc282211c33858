"""GeoReport v2 response shapes (https://wiki.open311.org/GeoReport_v2) as plain data, and their JSON and
XML forms. Nothing personal goes out: no requester names or phones, long digit runs and ID-number-like strings
in texts are masked."""

from __future__ import annotations

import json
from collections.abc import Sequence
from datetime import datetime
from typing import Any
from xml.etree import ElementTree as ET

from django.http import HttpResponse
from django.utils import timezone
from django.utils.translation import gettext as _

from jiedao.cases.models import Case, Category, CategoryField, Status
from jiedao.cases.public import mask_text

SPEC_URL = "http://wiki.open311.org/GeoReport_v2"
CONTENT_TYPES = {"json": "application/json; charset=utf-8", "xml": "text/xml; charset=utf-8"}
MAX_DESCRIPTION = 4000

# The element each item of a list is wrapped in, by the name of the list element.
ITEM_NAMES = {
    "services": "service",
    "service_requests": "request",
    "attributes": "attribute",
    "values": "value",
    "endpoints": "endpoint",
    "formats": "format",
    "errors": "error",
}


def iso(value: datetime | None) -> str | None:
    if value is None:
        return None
    return timezone.localtime(value).isoformat(timespec="seconds")


def service(category: Category, has_fields: bool) -> dict[str, Any]:
    return {
        "service_code": category.code,
        "service_name": category.name,
        "description": category.description or None,
        "metadata": has_fields,
        "type": "realtime",
        "keywords": ", ".join(category.keywords.split()) or None,
        "group": category.parent.name if category.parent_id and category.parent else None,
    }


def service_definition(category: Category, fields: Sequence[CategoryField]) -> dict[str, Any]:
    attributes = []
    for order, field in enumerate(fields, start=1):
        attribute: dict[str, Any] = {
            "variable": True,
            "code": field.code,
            "datatype": field.datatype,
            "required": field.required,
            "datatype_description": field.help_text or None,
            "order": order,
            "description": field.label,
        }
        if field.choices:
            attribute["values"] = [
                {"key": str(c.get("key")), "name": str(c.get("name") or c.get("key"))} for c in field.choices
            ]
        attributes.append(attribute)
    return {"service_code": category.code, "attributes": attributes}


def status_notes(case: Case) -> str | None:
    if case.status == Status.MERGED and case.merged_into is not None:
        return _("已与相同诉求合并办理，请以 %(number)s 为准。") % {"number": case.merged_into.number}
    if not case.is_open and case.reply:
        return mask_text(case.reply, [case.requester_name])
    return None


def service_request(case: Case) -> dict[str, Any]:
    agency = case.lead_department or case.lead_unit
    description = mask_text(case.description, [case.requester_name])[:MAX_DESCRIPTION]
    return {
        "service_request_id": case.number,
        "status": "closed" if not case.is_open else "open",
        "status_notes": status_notes(case),
        "service_name": case.category.name,
        "service_code": case.category.code,
        "description": description,
        "agency_responsible": agency.name if agency is not None else None,
        "service_notice": None,
        "requested_datetime": iso(case.received_at),
        "updated_datetime": iso(case.closed_at if not case.is_open and case.closed_at else case.updated_at),
        "expected_datetime": iso(case.due_at),
        "address": mask_text(case.address, [case.requester_name]) or None,
        "lat": case.latitude,
        "long": case.longitude,
    }


def error(code: int, description: str) -> list[dict[str, Any]]:
    return [{"code": code, "description": description}]


# ---------------------------------------------------------------------------------------------------------
# Output


def _text(value: Any) -> str:
    if value is None:
        return ""
    if isinstance(value, bool):
        return "true" if value else "false"
    return str(value)


def _append(parent: ET.Element, name: str, value: Any) -> None:
    element = ET.SubElement(parent, name)
    if isinstance(value, dict):
        for key, inner in value.items():
            _append(element, key, inner)
    elif isinstance(value, list):
        item_name = ITEM_NAMES.get(name, "item")
        for item in value:
            _append(element, item_name, item)
    else:
        element.text = _text(value)


def to_xml(root: str, data: Any) -> bytes:
    """A list becomes <root><item>…</item>…</root>, a dict <root><key>…</key>…</root>."""
    element = ET.Element(root)
    if isinstance(data, list):
        item_name = ITEM_NAMES.get(root, "item")
        for item in data:
            _append(element, item_name, item)
    else:
        for key, value in data.items():
            _append(element, key, value)
    return ET.tostring(element, encoding="utf-8", xml_declaration=True)


def respond(fmt: str, root: str, data: Any, status: int = 200) -> HttpResponse:
    """`root` names the XML document element (services, service_requests, service_definition, discovery,
    errors); the JSON form is the data itself."""
    body = to_xml(root, data) if fmt == "xml" else json.dumps(data, ensure_ascii=False).encode()
    return HttpResponse(body, status=status, content_type=CONTENT_TYPES[fmt])


def error_response(fmt: str, code: int, description: str) -> HttpResponse:
    return respond(fmt, "errors", error(code, description), status=code)
