"""Klaviyo's public API as the export uses it (klaviyo/openapi, openapi/stable/apis, revision 2026-07-15).

Three operations: POST /api/event-bulk-create-jobs (bulk_create_events), POST and DELETE
/api/lists/{id}/relationships/profiles (add_profiles_to_list, remove_profiles_from_list). The request bodies are
described by the project's own OpenAPI 3.0 schema objects in `schemas/`; `validate` checks a body against them.
Bodies are serialised compactly as UTF-8 by `encode`, and the bytes written are the bytes sent.
"""

from __future__ import annotations

import json
from functools import cache
from pathlib import Path
from typing import Any

REVISION = "2026-07-15"
CONTENT_TYPE = "application/vnd.api+json"
EVENTS_PATH = "/api/event-bulk-create-jobs"
LIST_PROFILES_PATH = "/api/lists/{list_id}/relationships/profiles"

# Limits stated in the operations' descriptions.
MAX_EVENTS_PER_REQUEST = 1000
MAX_BYTES_PER_REQUEST = 5_000_000  # "5MB": the smaller reading (decimal megabytes) is safe under both
MAX_STRING_BYTES = 100_000  # "A single string cannot exceed 100KB"
MAX_PROFILES_PER_LIST_REQUEST = 1000
MAX_METRIC_NAME_LENGTH = 127  # "Must be less than 128 characters"
EARLIEST_EVENT_YEAR = 1990  # "The time must be after the year 1990 and can only be up to 1 year in the future"

SCHEMA_DIR = Path(__file__).resolve().parent / "schemas"
SCHEMAS = {"events": "event_bulk_create_job.json", "list": "list_profiles_relationship.json"}
_EVENTS_PLACEHOLDER = "__EVENTS_OF_THIS_PROFILE__"


def encode(document: Any) -> str:
    """Compact JSON, non-ASCII kept as UTF-8: what the export writes and sends."""
    return json.dumps(document, ensure_ascii=False, separators=(",", ":"))


def byte_length(text: str) -> int:
    return len(text.encode("utf-8"))


def event_resource(metric_name: str, time: str, unique_id: str, properties: dict[str, Any],
                   backfill: bool) -> dict[str, Any]:
    """One event of a bulk entry."""
    return {
        "type": "event",
        "attributes": {
            "properties": properties,
            "metric": {"data": {"type": "metric", "attributes": {"name": metric_name}}},
            "time": time,
            "unique_id": unique_id,
            "backfill": backfill,
        },
    }


def profile_resource(profile_id: str | None, email: str | None, phone_number: str | None) -> dict[str, Any]:
    """The profile of a bulk entry, identified by what is known of id, email and phone number."""
    resource: dict[str, Any] = {"type": "profile"}
    if profile_id:
        resource["id"] = profile_id
    resource["attributes"] = {key: value for key, value in (("email", email), ("phone_number", phone_number))
                              if value}
    return resource


def entry_frame(profile: dict[str, Any]) -> tuple[str, str]:
    """The text of one profile's bulk entry before and after its events (joined with commas in between)."""
    entry = {"type": "event-bulk-create",
             "attributes": {"profile": {"data": profile}, "events": {"data": _EVENTS_PLACEHOLDER}}}
    head, tail = encode(entry).split(f'"{_EVENTS_PLACEHOLDER}"')
    return head + "[", "]" + tail


def events_body_frame() -> tuple[str, str]:
    """The text of a bulk-create-job body before and after its profile entries."""
    body = {"data": {"type": "event-bulk-create-job",
                     "attributes": {"events-bulk-create": {"data": _EVENTS_PLACEHOLDER}}}}
    head, tail = encode(body).split(f'"{_EVENTS_PLACEHOLDER}"')
    return head + "[", "]" + tail


def list_body(profile_ids: list[str]) -> dict[str, Any]:
    """The body of an add-to-list or remove-from-list request."""
    return {"data": [{"type": "profile", "id": profile_id} for profile_id in profile_ids]}


def list_path(list_id: str) -> str:
    return LIST_PROFILES_PATH.format(list_id=list_id)


@cache
def schema(kind: str) -> dict[str, Any]:
    return json.loads((SCHEMA_DIR / SCHEMAS[kind]).read_text())


@cache
def _validator(kind: str) -> Any:
    from openapi_schema_validator import OAS30Validator, oas30_format_checker

    return OAS30Validator(schema(kind), format_checker=oas30_format_checker)


def validate(kind: str, body: Any) -> list[str]:
    """Problems of a body against the project's schema of `kind` (`events` or `list`); empty when valid."""
    errors = sorted(_validator(kind).iter_errors(body), key=lambda error: list(error.absolute_path))
    return [f"{'/'.join(str(part) for part in error.absolute_path) or '(body)'}: {error.message}"
            for error in errors[:5]]


def unique_id_repeats(body: dict[str, Any]) -> list[str]:
    """unique_ids that occur more than once in one bulk body (the API rejects such a request)."""
    seen: set[str] = set()
    repeated: list[str] = []
    for entry in body["data"]["attributes"]["events-bulk-create"]["data"]:
        for event in entry["attributes"]["events"]["data"]:
            unique_id = event["attributes"]["unique_id"]
            if unique_id in seen:
                repeated.append(unique_id)
            seen.add(unique_id)
    return repeated


def event_count(body: dict[str, Any]) -> int:
    return sum(len(entry["attributes"]["events"]["data"])
               for entry in body["data"]["attributes"]["events-bulk-create"]["data"])
