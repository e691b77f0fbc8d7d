"""What the export reads from the built warehouse: the activity feed, profiles' contacts, segments, list ids.

Plain selects only, the same on every target; list handling is done in Python.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

from customer_agent_warehouse.activation.config import CONSENT_CHANNELS, ActivationError
from customer_agent_warehouse.warehouse import Warehouse

FEED = ("marts", "fct_customer_agent_events")
METRICS_SEED = ("staging", "customer_agent_metrics")
LISTS_SEED = ("staging", "klaviyo_lists")
# The profile's current contact fields: the profile dimension when the warehouse has it, else profile staging.
PROFILE_RELATIONS = (("marts", "dim_profiles"), ("staging", "stg_marketing__profiles"))
# Feed columns that are not event properties (they are the event's identity, time and profile).
NOT_PROPERTIES = ("event_id", "metric_name", "metric_name_it", "event_at", "profile_id")
SAFE_SEGMENT = re.compile(r"[a-z][a-z0-9_]*")
SAFE_LIST_ID = re.compile(r"[A-Za-z0-9_-]+")
STATE_EVENTS = "activation.exported_events"


@dataclass(frozen=True)
class ListTarget:
    """One row of the seed klaviyo_lists: a segment, its Klaviyo list and the consent its members need."""

    segment: str
    list_id: str
    consent: str | None


def property_columns(warehouse: Warehouse) -> list[str]:
    columns = warehouse.require(*FEED)
    return [column for column in columns if column not in NOT_PROPERTIES]


def metric_keys(warehouse: Warehouse) -> dict[str, str]:
    """English metric name (spec §1, seed customer_agent_metrics) -> metric key."""
    warehouse.require(*METRICS_SEED, fix="load the seeds (`dbt seed` or a build)")
    rows = warehouse.query("select metric_key, metric_name from staging.customer_agent_metrics")
    return {row["metric_name"]: row["metric_key"] for row in rows}


def _profiles_relation(warehouse: Warehouse) -> str:
    for schema, table in PROFILE_RELATIONS:
        if {"profile_id", "email", "phone_number"} <= set(warehouse.columns(schema, table)):
            return f"{schema}.{table}"
    names = " or ".join(".".join(relation) for relation in PROFILE_RELATIONS)
    raise ActivationError(f"{warehouse.description} has no profile table ({names}): build the warehouse first")


def events(warehouse: Warehouse, properties: list[str], only_new: bool) -> Iterator[dict[str, Any]]:
    """Every event of the feed with the profile's current email and phone, by profile then time; with `only_new`,
    only events whose id is not in the export state's activation.exported_events."""
    selected = ",\n    ".join(f"events.{column}" for column in ("event_id", "metric_name", "event_at", "profile_id",
                                                                   *properties))
    new_only = (
        "\nwhere not exists (\n    select 1 from activation.exported_events as exported\n"
        "    where exported.event_id = events.event_id\n)"
        if only_new else ""
    )
    sql = (
        f"select\n    {selected},\n    profiles.email as profile_email,\n    profiles.phone_number as profile_phone\n"
        f"from marts.fct_customer_agent_events as events\n"
        f"left join {_profiles_relation(warehouse)} as profiles\n    on events.profile_id = profiles.profile_id"
        f"{new_only}\norder by events.profile_id, events.event_at, events.event_id"
    )
    return warehouse.stream(sql)


def list_targets(warehouse: Warehouse) -> list[ListTarget]:
    """The rows of the seed klaviyo_lists, checked (names usable in paths, a known consent channel)."""
    warehouse.require(*LISTS_SEED, fix="load the seed seeds/klaviyo_lists.csv (`dbt seed` or a build)")
    targets = []
    for row in warehouse.query("select segment, list_id, consent from staging.klaviyo_lists order by segment"):
        segment, list_id = (row["segment"] or "").strip(), (row["list_id"] or "").strip()
        consent = (row["consent"] or "").strip() or None
        where = f"seeds/klaviyo_lists.csv, segment {segment or '(blank)'}"
        if not SAFE_SEGMENT.fullmatch(segment):
            raise ActivationError(f"{where}: segment must be the name of a table in schema segments")
        if not SAFE_LIST_ID.fullmatch(list_id):
            raise ActivationError(f"{where}: list_id must be the Klaviyo list id (letters, digits, - and _); "
                                  f"got {list_id!r}")
        if consent not in (None, *CONSENT_CHANNELS):
            raise ActivationError(f"{where}: consent must be blank, email or sms; got {consent!r}")
        targets.append(ListTarget(segment, list_id, consent))
    return targets


def segment_members(warehouse: Warehouse, segment: str) -> tuple[list[dict[str, Any]], str | None]:
    """A segment's rows (profile id and consents) and the as_of it was evaluated at, when the table records it."""
    columns = warehouse.require("segments", segment, fix="build it, or remove its row from seeds/klaviyo_lists.csv")
    evaluated = "evaluated_as_of" in columns
    rows = warehouse.query(
        f"select profile_id, email_consent, sms_consent{', evaluated_as_of' if evaluated else ''}\n"
        f"from segments.{segment}\norder by profile_id"
    )
    as_of = rows[0]["evaluated_as_of"] if evaluated and rows else None
    return rows, (as_of.isoformat() + "Z" if as_of is not None else None)
