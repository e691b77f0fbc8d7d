"""Write Klaviyo request bodies from the built warehouse (spec §11), with a manifest.

Layout under `<out>/klaviyo/`:

* `events/part-NNNNN.json`: bodies of POST /api/event-bulk-create-jobs, one entry per profile with its events,
  at most `events_per_request` events and `bytes_per_request` bytes each (a profile with more events continues
  in the next body); `unique_id` = the warehouse `event_id`;
* `lists/<segment>/part-NNNNN.json`: bodies of POST /api/lists/{id}/relationships/profiles (additions);
* `list-removals/<segment>/part-NNNNN.json`: bodies of DELETE on the same path (only with `--since-last`:
  profiles that left the list since the last export);
* `manifest.json`: every file (method, endpoint, counts, bytes, sha256), the totals and what was skipped and why.

Every body is validated against the project's schema (and the limits) before it is written.
"""

from __future__ import annotations

import hashlib
import json
from collections import Counter
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from customer_agent_warehouse.activation import klaviyo, source
from customer_agent_warehouse.activation.config import ActivationConfig, ActivationError, Limits
from customer_agent_warehouse.activation.state import ExportRecord, ExportState, PreviousList
from customer_agent_warehouse.warehouse import Warehouse

FORMAT_VERSION = 1
MANIFEST = "manifest.json"
EARLIEST_TIME = datetime(klaviyo.EARLIEST_EVENT_YEAR, 1, 1)
SKIP_REASONS = {
    "anonymous": "the conversation has no profile (spec §3): counted in the metrics, never sent",
    "already_exported": "--since-last: exported by an earlier export (activation.exported_events)",
    "no_profile_identifier": "none of the identifiers in activation_profile_identifiers is known for the profile",
    "time_out_of_range": "the API takes events after 1990 and at most a year ahead",
    "duplicate_event_id": "the feed holds this event_id twice; sent once",
    "too_large": "the event alone is larger than --bytes-per-request",
}


class ExportBug(Exception):
    """A body the export built breaks the schema or a limit: a defect of the export, not of the data."""


def _iso(moment: datetime) -> str:
    return moment.replace(tzinfo=UTC).isoformat(timespec="milliseconds")


def _truncated(value: Any, counter: Counter[str]) -> Any:
    """Strings cut to the API's 100 KB (counted); lists element by element."""
    if isinstance(value, str) and klaviyo.byte_length(value) > klaviyo.MAX_STRING_BYTES:
        counter["truncated_strings"] += 1
        return value.encode("utf-8")[: klaviyo.MAX_STRING_BYTES].decode("utf-8", "ignore")
    if isinstance(value, list):
        return [_truncated(item, counter) for item in value]
    return value


@dataclass
class Output:
    """The files of one export under `folder`, each body checked before it is written."""

    folder: Path
    files: list[dict[str, Any]] = field(default_factory=list)

    def write(self, relative: str, text: str, kind: str, entry: dict[str, Any], limits: Limits) -> None:
        body = json.loads(text)
        problems = klaviyo.validate(kind, body)
        data = text.encode("utf-8")
        if kind == "events":
            if klaviyo.event_count(body) > limits.events_per_request:
                problems.append(f"{klaviyo.event_count(body)} events, above {limits.events_per_request}")
            if len(data) > limits.bytes_per_request:
                problems.append(f"{len(data)} bytes, above {limits.bytes_per_request}")
            problems += [f"unique_id {unique_id} repeated" for unique_id in klaviyo.unique_id_repeats(body)]
        elif len({item["id"] for item in body["data"]}) != len(body["data"]):
            problems.append("a profile is listed twice")
        if problems:
            raise ExportBug(f"{relative}: {problems[0]}")
        path = self.folder / relative
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_bytes(data)
        self.files.append({"file": relative, **entry, "bytes": len(data),
                           "sha256": hashlib.sha256(data).hexdigest()})


class EventBodies:
    """Packs events, grouped by profile, into bulk bodies within the event and byte limits (exact byte counts)."""

    def __init__(self, limits: Limits, flush: Callable[[str, int, int], None]) -> None:
        self.limits = limits
        self._flush = flush
        self._head, self._tail = klaviyo.events_body_frame()
        self._reset()

    def _reset(self) -> None:
        self._entries: list[str] = []
        self._open_key: str | None = None
        self._open_frame = ("", "")
        self._open_events: list[str] = []
        self._bytes = klaviyo.byte_length(self._head) + klaviyo.byte_length(self._tail)
        self._events = 0

    def _close_entry(self) -> None:
        if self._open_key is not None:
            head, tail = self._open_frame
            self._entries.append(head + ",".join(self._open_events) + tail)
        self._open_key, self._open_events = None, []

    def flush(self) -> None:
        self._close_entry()
        if self._entries:
            text = self._head + ",".join(self._entries) + self._tail
            if klaviyo.byte_length(text) != self._bytes:
                raise ExportBug(f"body size {klaviyo.byte_length(text)} differs from the computed {self._bytes}")
            self._flush(text, self._events, len(self._entries))
        self._reset()

    def _new_entry_bytes(self, frame: tuple[str, str], event_bytes: int) -> int:
        separator = 1 if self._entries or self._open_key is not None else 0
        return separator + sum(klaviyo.byte_length(part) for part in frame) + event_bytes

    def add(self, key: str, profile: dict[str, Any], event_text: str) -> bool:
        """Add one event of the profile `key`; False when the event alone does not fit in a body."""
        event_bytes = klaviyo.byte_length(event_text)
        same_entry = key == self._open_key
        frame = self._open_frame if same_entry else klaviyo.entry_frame(profile)
        added = event_bytes + 1 if same_entry else self._new_entry_bytes(frame, event_bytes)
        if self._events and (self._events >= self.limits.events_per_request
                             or self._bytes + added > self.limits.bytes_per_request):
            self.flush()
            same_entry = False
            added = self._new_entry_bytes(frame, event_bytes)
        if self._bytes + added > self.limits.bytes_per_request:
            return False
        if not same_entry:
            self._close_entry()
            self._open_key, self._open_frame = key, frame
        self._open_events.append(event_text)
        self._bytes += added
        self._events += 1
        return True


@dataclass
class EventTotals:
    exported: Counter[str] = field(default_factory=Counter)  # by metric name sent
    skipped: dict[str, Counter[str]] = field(default_factory=dict)  # reason -> metric -> count
    notes: Counter[str] = field(default_factory=Counter)
    backfill: int = 0

    def skip(self, reason: str, metric: str) -> None:
        self.skipped.setdefault(reason, Counter())[metric] += 1


class EventExport:
    """Turns feed rows into bulk bodies written to `output`."""

    def __init__(self, config: ActivationConfig, metric_keys: dict[str, str], now: datetime,
                 output: Output) -> None:
        unknown = sorted(set(config.metric_names) - set(metric_keys.values()))
        if unknown:
            raise ActivationError(f"var activation_metric_names has unknown metric key {unknown[0]!r}; the keys "
                                  f"are {', '.join(sorted(metric_keys.values()))} (seed customer_agent_metrics)")
        self.config = config
        self.metric_keys = metric_keys
        self.now = now
        self.backfill_before = (now - timedelta(hours=config.backfill_after_hours)
                                if config.backfill_after_hours is not None else None)
        self.output = output
        self.totals = EventTotals()
        self.exported: list[tuple[str, str]] = []
        self._seen: set[str] = set()
        self._parts = 0
        self.bodies = EventBodies(config.limits, self._write)

    def _write(self, text: str, events: int, profiles: int) -> None:
        self._parts += 1
        self.output.write(f"events/part-{self._parts:05d}.json", text, "events",
                          {"method": "POST", "endpoint": klaviyo.EVENTS_PATH, "kind": "events", "events": events,
                           "profiles": profiles}, self.config.limits)

    def metric_name(self, feed_name: str) -> str:
        key = self.metric_keys.get(feed_name)
        return self.config.metric_names.get(key, feed_name) if key else feed_name

    def profile(self, row: dict[str, Any]) -> dict[str, Any] | None:
        identifiers = self.config.profile_identifiers
        resource = klaviyo.profile_resource(row["profile_id"] if "id" in identifiers else None,
                                            row["profile_email"] if "email" in identifiers else None,
                                            row["profile_phone"] if "phone_number" in identifiers else None)
        return resource if "id" in resource or resource["attributes"] else None

    def properties(self, row: dict[str, Any], columns: list[str]) -> dict[str, Any]:
        return {column: _truncated(row[column], self.totals.notes) for column in columns
                if row[column] is not None and (column != "first_message" or self.config.include_first_message)}

    def add(self, row: dict[str, Any], columns: list[str]) -> None:
        metric = self.metric_name(row["metric_name"])
        event_at: datetime = row["event_at"]
        profile = self.profile(row) if row["profile_id"] is not None else None
        reason = ("anonymous" if row["profile_id"] is None
                  else "duplicate_event_id" if row["event_id"] in self._seen
                  else "no_profile_identifier" if profile is None
                  else "time_out_of_range" if not EARLIEST_TIME < event_at <= self.now + timedelta(days=365)
                  else None)
        if reason or profile is None:
            self.totals.skip(reason or "no_profile_identifier", metric)
            return
        backfill = self.backfill_before is not None and event_at < self.backfill_before
        event = klaviyo.event_resource(metric, _iso(event_at), row["event_id"], self.properties(row, columns),
                                       backfill)
        if not self.bodies.add(row["profile_id"], profile, klaviyo.encode(event)):
            self.totals.skip("too_large", metric)
            return
        self._seen.add(row["event_id"])
        self.exported.append((row["event_id"], metric))
        self.totals.exported[metric] += 1
        self.totals.backfill += backfill

    def finish(self, already_exported: int) -> dict[str, Any]:
        self.bodies.flush()
        skipped = {reason: {"count": sum(by_metric.values()), "by_metric": dict(sorted(by_metric.items())),
                            "why": SKIP_REASONS[reason]}
                   for reason, by_metric in sorted(self.totals.skipped.items())}
        if already_exported:
            skipped["already_exported"] = {"count": already_exported, "why": SKIP_REASONS["already_exported"]}
        return {
            "exported": sum(self.totals.exported.values()),
            "by_metric": dict(sorted(self.totals.exported.items())),
            "backfill": self.totals.backfill,
            "requests": self._parts,
            "truncated_strings": self.totals.notes["truncated_strings"],
            "skipped": skipped,
        }


def _chunks(items: list[str], size: int) -> Iterable[list[str]]:
    for start in range(0, len(items), size):
        yield items[start:start + size]


def _consents(rows: list[dict[str, Any]], consent: str | None) -> tuple[list[str], int]:
    """Members allowed on the list (their consent for the list's channel is `subscribed`) and how many are not."""
    if consent is None:
        return sorted({row["profile_id"] for row in rows}), 0
    allowed = {row["profile_id"] for row in rows if row[f"{consent}_consent"] == "subscribed"}
    return sorted(allowed), len({row["profile_id"] for row in rows}) - len(allowed)


def export_list(warehouse: Warehouse, target: source.ListTarget, previous: PreviousList | None, output: Output,
                limits: Limits) -> tuple[dict[str, Any], list[str]]:
    """The additions (and, with a previous membership of the same list, removals) of one segment's list."""
    rows, evaluated_as_of = source.segment_members(warehouse, target.segment)
    members, without_consent = _consents(rows, target.consent)
    comparable = previous is not None and previous.list_id == target.list_id
    additions = sorted(set(members) - previous.members) if comparable and previous else members
    removals = sorted(previous.members - set(members)) if comparable and previous else []
    endpoint = klaviyo.list_path(target.list_id)
    for folder, method, kind, profile_ids in (("lists", "POST", "list_additions", additions),
                                              ("list-removals", "DELETE", "list_removals", removals)):
        for part, chunk in enumerate(_chunks(profile_ids, limits.profiles_per_request), start=1):
            output.write(f"{folder}/{target.segment}/part-{part:05d}.json", klaviyo.encode(klaviyo.list_body(chunk)),
                         "list", {"method": method, "endpoint": endpoint, "kind": kind, "segment": target.segment,
                                  "list_id": target.list_id, "profiles": len(chunk)}, limits)
    summary = {
        "list_id": target.list_id,
        "consent_required": target.consent,
        "evaluated_as_of": evaluated_as_of,
        "segment_rows": len(rows),
        "members": len(members),
        "added": len(additions),
        "removed": len(removals),
        "skipped": ({f"no_{target.consent}_consent": {
            "count": without_consent,
            "why": f"the list requires {target.consent}_consent = subscribed (seeds/klaviyo_lists.csv)"}}
            if without_consent else {}),
    }
    return summary, members


@dataclass
class ExportResult:
    manifest: dict[str, Any]
    record: ExportRecord


def export(warehouse: Warehouse, config: ActivationConfig, folder: Path, *, export_id: str, now: datetime,
           state: ExportState | None, output_dir: str) -> ExportResult:
    """Write every body and the manifest into `folder`; `state` given = `--since-last` (the state is read here and
    recorded by the caller once the files are in place)."""
    columns = source.property_columns(warehouse)
    targets = source.list_targets(warehouse)
    output = Output(folder)
    events = EventExport(config, source.metric_keys(warehouse), now, output)
    only_new = state is not None and state.has_events_table()
    already_exported = (warehouse.query("select count(*) as n from activation.exported_events")[0]["n"]
                        if only_new else 0)
    for row in source.events(warehouse, columns, only_new):
        events.add(row, columns)
    event_summary = events.finish(already_exported)
    previous = state.previous_lists() if state is not None else {}
    lists: dict[str, Any] = {}
    members_now: dict[str, tuple[str, list[str]]] = {}
    for target in targets:
        lists[target.segment], members = export_list(warehouse, target, previous.get(target.segment), output,
                                                     config.limits)
        members_now[target.segment] = (target.list_id, members)
    manifest = {
        "format_version": FORMAT_VERSION,
        "export_id": export_id,
        "exported_at": _iso(now),
        "target": warehouse.target,
        "warehouse": warehouse.description,
        "since_last": state is not None,
        "api": {"revision": klaviyo.REVISION, "content_type": klaviyo.CONTENT_TYPE},
        "settings": config.as_manifest(),
        "totals": {
            "files": len(output.files),
            "events": event_summary,
            "lists": lists,
            "list_profiles_added": sum(summary["added"] for summary in lists.values()),
            "list_profiles_removed": sum(summary["removed"] for summary in lists.values()),
        },
        "files": output.files,
    }
    (folder / MANIFEST).write_text(json.dumps(manifest, indent=2) + "\n")
    record = ExportRecord(export_id, now, warehouse.target, output_dir, events.exported, members_now,
                          manifest["totals"]["list_profiles_added"], manifest["totals"]["list_profiles_removed"])
    return ExportResult(manifest, record)
