"""The one factory of raw-zone records for the end-to-end tests (spec §2): conversation log lines, orders,
profile versions and recommended products, as the dicts `Warehouse.write` turns into JSON Lines.

A module that delivers its records at a fixed time binds it once: `log = partial(raw_records.log,
received_at=RECEIVED)`.
"""

from __future__ import annotations

import datetime as dt
from typing import Any

Instant = str | int | dt.datetime


def iso(instant: dt.datetime) -> str:
    """A UTC instant as ISO-8601 with `Z`, to the second (naive datetimes are UTC)."""
    if instant.tzinfo is not None:
        instant = instant.astimezone(dt.UTC)
    return instant.strftime("%Y-%m-%dT%H:%M:%SZ")


def _raw_time(instant: Instant) -> str | int:
    """As a raw file writes it: ISO text or epoch milliseconds are kept, a datetime becomes ISO text."""
    return iso(instant) if isinstance(instant, dt.datetime) else instant


def _received(occurred_at: Instant) -> str:
    """received_at is ISO UTC text (spec §2.1); by default the record lands when it happened."""
    if isinstance(occurred_at, int):
        return dt.datetime.fromtimestamp(occurred_at / 1000, dt.UTC).strftime("%Y-%m-%dT%H:%M:%S.%fZ")
    return iso(occurred_at) if isinstance(occurred_at, dt.datetime) else occurred_at


def log(log_id: str, conversation_id: str, occurred_at: Instant, record_type: str, actor: str | None = None,
        received_at: Instant | None = None, **fields: Any) -> dict[str, Any]:
    """One conversation log line; `actor` is left out when None, other fields are written as given."""
    record: dict[str, Any] = {
        "log_id": log_id,
        "conversation_id": conversation_id,
        "occurred_at": _raw_time(occurred_at),
        "received_at": _raw_time(received_at) if received_at is not None else _received(occurred_at),
        "type": record_type,
    }
    if actor is not None:
        record["actor"] = actor
    return record | fields


def products(*identifiers: str) -> list[dict[str, str]]:
    """Recommended products: `sku:X` is a product with a SKU only, any other name a product id with a SKU."""
    return [{"sku": item[4:]} if item.startswith("sku:") else {"product_id": item, "sku": f"S-{item}"}
            for item in identifiers]


def order(order_id: str, placed_at: Instant, value: float | None = None, **fields: Any) -> dict[str, Any]:
    """One order line (`value` left out when None)."""
    record: dict[str, Any] = {"order_id": order_id, "placed_at": _raw_time(placed_at)}
    if value is not None:
        record["value"] = value
    return record | fields


def profile(profile_id: str, updated_at: Instant | None = None, **fields: Any) -> dict[str, Any]:
    """One profile version (`updated_at` left out when None)."""
    record: dict[str, Any] = {"profile_id": profile_id}
    if updated_at is not None:
        record["updated_at"] = _raw_time(updated_at)
    return record | fields
