"""End to end: a real `dbt build` of the scenario in activation_scenario.py, then the real `export` command
(spec §11): every file validated against the project's OpenAPI 3.0 request schemas, the API's limits, totals
equal to the facts and segments as derived by hand, consent, anonymous events, backfill, first messages,
`--since-last` additions and removals, the spark target's parquet layout, and `--push` against a local HTTP
server that answers 429 and 5xx and is left hanging while the client is killed.
"""

from __future__ import annotations

import hashlib
import json
import os
import shutil
import signal
import subprocess
import sys
import time
from collections import Counter
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import duckdb
import pytest
from openapi_schema_validator import OAS30Validator, oas30_format_checker

from tests.python import activation_scenario as scenario
from tests.python.klaviyo_server import FakeKlaviyo
from tests.python.warehouse import PROJECT_ROOT, Warehouse

# Several real dbt builds: `./test.sh -m "not slow"` skips this module.
pytestmark = pytest.mark.slow

SCHEMAS = PROJECT_ROOT / "customer_agent_warehouse" / "activation" / "schemas"
REVISION = "2026-07-15"
API_KEY = "pk_test_secret_1234567890"
SMALL = ("--events-per-request", "5", "--profiles-per-request", "2")
# The exports' clock (`export --now`): three days after the scenario's last event, whatever day the suite runs.
EXPORT_NOW = "2026-11-25T00:00:00Z"


# ------------------------------------------------------------------------------------------------ helpers


def validator(name: str) -> OAS30Validator:
    return OAS30Validator(json.loads((SCHEMAS / name).read_text()), format_checker=oas30_format_checker)


EVENTS_SCHEMA = validator("event_bulk_create_job.json")
LIST_SCHEMA = validator("list_profiles_relationship.json")


def export(warehouse: Warehouse, out: Path, *args: str, env: dict[str, str] | None = None,
           check: bool = True) -> subprocess.CompletedProcess:
    """The real command, in a subprocess, on the warehouse's DuckDB file, at the module's clock unless given."""
    environment = {**warehouse.env(), **(env or {})}
    clock = [] if "--now" in args else ["--now", EXPORT_NOW]
    result = subprocess.run([sys.executable, "-m", "customer_agent_warehouse", "export", "--out", str(out), *clock,
                             *args],
                            cwd=PROJECT_ROOT, env=environment, capture_output=True, text=True, check=False)
    if check and result.returncode != 0:
        raise AssertionError(f"export failed ({result.returncode}):\n{result.stdout}\n{result.stderr}")
    return result


@dataclass
class Export:
    folder: Path
    manifest: dict[str, Any]
    bodies: dict[str, Any]  # file -> parsed body
    raw: dict[str, bytes]

    @classmethod
    def read(cls, out: Path) -> Export:
        folder = out / "klaviyo"
        manifest = json.loads((folder / "manifest.json").read_text())
        raw = {str(path.relative_to(folder)): path.read_bytes() for path in sorted(folder.rglob("part-*.json"))}
        return cls(folder, manifest, {name: json.loads(data) for name, data in raw.items()}, raw)

    def entries(self, kind: str) -> list[dict[str, Any]]:
        return [entry for entry in self.manifest["files"] if entry["kind"] == kind]

    def events(self) -> list[tuple[str, dict[str, Any], dict[str, Any]]]:
        """(file, profile resource, event attributes) of every event, in file order."""
        found = []
        for entry in self.entries("events"):
            for item in self.bodies[entry["file"]]["data"]["attributes"]["events-bulk-create"]["data"]:
                for event in item["attributes"]["events"]["data"]:
                    found.append((entry["file"], item["attributes"]["profile"]["data"], event["attributes"]))
        return found

    def members(self, kind: str = "list_additions") -> dict[str, list[str]]:
        members: dict[str, list[str]] = {segment: [] for segment in scenario.SEGMENTS}
        for entry in self.entries(kind):
            members[entry["segment"]] += [item["id"] for item in self.bodies[entry["file"]]["data"]]
        return {segment: sorted(ids) for segment, ids in members.items()}


def by_conversation(exported: Export, metric: str) -> dict[str, dict[str, Any]]:
    return {event["properties"]["conversation_id"]: event for _, _, event in exported.events()
            if event["metric"]["data"]["attributes"]["name"] == metric}


def copy_warehouse(source: Warehouse, root: Path) -> Warehouse:
    """An independent copy (raw zone and DuckDB file) for tests that change the warehouse."""
    shutil.copytree(source.raw, root / "raw")
    shutil.copy(source.db, root / "warehouse.duckdb")
    return Warehouse(root=root)


@pytest.fixture(scope="module")
def built(tmp_path_factory: pytest.TempPathFactory) -> Warehouse:
    warehouse = Warehouse(root=tmp_path_factory.mktemp("activation"))
    scenario.write_batch_a(warehouse)
    warehouse.build(vars={"as_of": scenario.AS_OF_1})
    return warehouse


@pytest.fixture(scope="module")
def small(built: Warehouse, tmp_path_factory: pytest.TempPathFactory) -> Export:
    """The export with small limits, so events and lists take several requests."""
    out = tmp_path_factory.mktemp("small")
    export(built, out, *SMALL)
    return Export.read(out)


# ------------------------------------------------------------------------------------------- shapes, limits


def test_every_file_matches_the_request_schemas(small: Export) -> None:
    assert small.raw, "nothing exported"
    for name, body in small.bodies.items():
        schema = EVENTS_SCHEMA if name.startswith("events/") else LIST_SCHEMA
        errors = [error.message for error in schema.iter_errors(body)]
        assert errors == [], name


def test_the_schemas_reject_what_the_api_rejects(small: Export) -> None:
    """The schemas are not vacuous: a missing metric, a bad time, an unknown type and 1,001 members fail."""
    body = json.loads(small.raw["events/part-00001.json"])
    event = body["data"]["attributes"]["events-bulk-create"]["data"][0]["attributes"]["events"]["data"][0]
    event["attributes"]["time"] = "yesterday"
    del event["attributes"]["metric"]
    body["data"]["type"] = "event"
    assert len(list(EVENTS_SCHEMA.iter_errors(body))) == 3
    assert list(LIST_SCHEMA.iter_errors({"data": [{"type": "profile", "id": f"p{i}"} for i in range(1001)]}))


def test_requests_stay_within_the_limits_and_never_repeat_a_unique_id(small: Export) -> None:
    for entry in small.entries("events"):
        ids = [event["unique_id"] for file, _, event in small.events() if file == entry["file"]]
        assert 1 <= len(ids) <= 5 and len(ids) == entry["events"]
        assert len(set(ids)) == len(ids)
    for kind in ("list_additions", "list_removals"):
        for entry in small.entries(kind):
            assert 1 <= len(small.bodies[entry["file"]]["data"]) <= 2
    assert len(small.entries("events")) == 7  # 31 events, at most 5 per request
    hal_files = {file for file, profile, _ in small.events() if profile.get("id") == "p_hal"}
    assert len(hal_files) >= 4  # his 18 events continue from one request to the next


def test_the_byte_limit_cuts_requests(built: Warehouse, tmp_path: Path) -> None:
    export(built, tmp_path, "--bytes-per-request", "2500")
    exported = Export.read(tmp_path)
    sizes = [len(exported.raw[entry["file"]]) for entry in exported.entries("events")]
    assert max(sizes) <= 2500 and len(sizes) >= 6  # about 13 KB of events
    assert len(exported.events()) == 31


def test_the_manifest_lists_every_file_with_its_checksum(small: Export) -> None:
    listed = {entry["file"]: entry for entry in small.manifest["files"]}
    assert set(listed) == set(small.raw)
    for name, data in small.raw.items():
        assert listed[name]["sha256"] == hashlib.sha256(data).hexdigest()
        assert listed[name]["bytes"] == len(data)
        count = len(small.bodies[name]["data"]) if listed[name]["kind"] != "events" else listed[name]["events"]
        assert listed[name].get("profiles", count) >= 1
    assert {entry["endpoint"] for entry in small.entries("events")} == {"/api/event-bulk-create-jobs"}
    assert small.manifest["api"]["revision"] == REVISION


@pytest.mark.parametrize("option", ["--events-per-request", "--profiles-per-request", "--bytes-per-request"])
def test_limits_above_the_api_are_one_line_and_exit_2(built: Warehouse, tmp_path: Path, option: str) -> None:
    result = export(built, tmp_path, option, "5000001", check=False)
    assert result.returncode == 2
    assert result.stderr.count("\n") == 1 and option in result.stderr and "Traceback" not in result.stderr
    assert not (tmp_path / "klaviyo").exists()


# ------------------------------------------------------------------------------------------------- totals


def test_event_totals_equal_the_facts(built: Warehouse, small: Export) -> None:
    events = small.events()
    metrics = Counter(event["metric"]["data"]["attributes"]["name"] for _, _, event in events)
    assert metrics == scenario.EXPORTED_BY_METRIC
    assert Counter(profile["id"] for _, profile, _ in events) == scenario.EVENTS_PER_PROFILE
    feed = {row[0]: row[1] for row in built.query(
        "select event_id, metric_name from marts.fct_customer_agent_events where profile_id is not null")}
    assert {event["unique_id"]: event["metric"]["data"]["attributes"]["name"] for _, _, event in events} == feed
    assert len(events) == len(feed) == 31
    assert built.query("select count(*) from marts.fct_customer_agent_events")[0][0] == scenario.FEED_EVENTS
    totals = small.manifest["totals"]["events"]
    assert totals["exported"] == 31 and totals["by_metric"] == scenario.EXPORTED_BY_METRIC
    assert totals["skipped"]["anonymous"]["count"] == 3
    assert totals["skipped"]["anonymous"]["by_metric"] == scenario.ANONYMOUS_BY_METRIC
    assert "x1" not in {event["properties"]["conversation_id"] for _, _, event in events}


def test_profiles_are_identified_by_id_and_current_contacts(small: Export) -> None:
    for _, profile, _ in small.events():
        assert profile["type"] == "profile"
        assert profile["attributes"] == scenario.CONTACTS[profile["id"]]


def test_events_carry_the_fact_time_and_properties(built: Warehouse, small: Export) -> None:
    times = {row[0]: row[1] for row in built.query("select event_id, event_at from marts.fct_customer_agent_events")}
    for _, _, event in small.events():
        sent = datetime.fromisoformat(event["time"])
        assert sent.utcoffset().total_seconds() == 0
        assert sent.replace(tzinfo=None) == times[event["unique_id"]]
    resolved = by_conversation(small, scenario.RESOLVED)["a2"]["properties"]
    assert resolved == {"conversation_id": "a2", "channel": "web_chat", "final_skill": "product_recommendations",
                        "tags": ["boots"], "resolution_seconds": 1800.0}
    recommended = by_conversation(small, scenario.RECOMMENDATION)["a2"]["properties"]
    assert recommended == {"conversation_id": "a2", "channel": "web_chat", "products": ["P1", "SKU-2"],
                           "product_count": 2, "format": "card"}
    escalated = by_conversation(small, scenario.ESCALATED)["b1"]["properties"]
    assert escalated == {"conversation_id": "b1", "channel": "email", "escalation_reason": "shopper_requested",
                         "tags": []}
    started = by_conversation(small, scenario.STARTED)["a2"]["properties"]
    assert started == {"conversation_id": "a2", "channel": "web_chat", "initial_skill": "product_recommendations"}


def test_list_bodies_equal_the_segments(built: Warehouse, small: Export) -> None:
    assert small.members() == scenario.MEMBERS_1
    for segment in scenario.SEGMENTS:
        assert small.members()[segment] == [row[0] for row in built.query(
            f"select profile_id from segments.{segment} order by profile_id")]
        endpoints = {entry["endpoint"] for entry in small.entries("list_additions") if entry["segment"] == segment}
        assert endpoints == {f"/api/lists/{scenario.LIST_IDS[segment]}/relationships/profiles"}
        summary = small.manifest["totals"]["lists"][segment]
        assert summary["members"] == summary["added"] == len(scenario.MEMBERS_1[segment])
    assert small.members("list_removals") == {segment: [] for segment in scenario.SEGMENTS}


def test_the_follow_up_list_holds_only_profiles_with_email_consent(built: Warehouse, small: Export) -> None:
    followup = small.members()["seg_recommendation_followup"]
    consent = dict(built.query("select profile_id, email_consent from staging.stg_marketing__profiles"))
    assert followup and all(consent[profile_id] == "subscribed" for profile_id in followup)
    assert "p_bob" in small.members()["seg_recommended_not_purchased"]  # due by time, but unsubscribed
    assert "p_bob" not in followup


def test_a_follow_up_row_without_consent_is_skipped_and_counted(built: Warehouse, tmp_path: Path) -> None:
    """The list's consent rule (seed klaviyo_lists) holds even for a segment table that breaks it (here a row
    added by hand to a copy of the warehouse)."""
    copy = copy_warehouse(built, tmp_path / "wh")
    with duckdb.connect(str(copy.db)) as connection:
        connection.execute("insert into segments.seg_recommendation_followup (profile_id, email, email_consent, "
                           "conversation_id, recommended_at, followup_due_at, products) values ('p_bob', "
                           "'bob@example.com', 'unsubscribed', 'b1', timestamp '2026-11-19 10:05:00', "
                           "timestamp '2026-11-19 12:05:00', ['P3'])")
    export(copy, tmp_path / "out")
    exported = Export.read(tmp_path / "out")
    assert exported.members()["seg_recommendation_followup"] == ["p_ann", "p_cat"]
    summary = exported.manifest["totals"]["lists"]["seg_recommendation_followup"]
    assert summary["skipped"]["no_email_consent"]["count"] == 1 and summary["segment_rows"] == 3


# ----------------------------------------------------------------------------------------------- the vars


def test_first_message_only_when_the_var_allows_it(built: Warehouse, small: Export, tmp_path: Path) -> None:
    assert all("first_message" not in event["properties"] for _, _, event in small.events())
    export(built, tmp_path, "--vars", "{activation_include_first_message: true}")
    allowed = Export.read(tmp_path)
    started = by_conversation(allowed, scenario.STARTED)
    assert {conversation: event["properties"]["first_message"] for conversation, event in started.items()
            if conversation in scenario.FIRST_MESSAGES} == scenario.FIRST_MESSAGES
    others = [event for _, _, event in allowed.events()
              if event["metric"]["data"]["attributes"]["name"] != scenario.STARTED]
    assert others and all("first_message" not in event["properties"] for event in others)


def test_backfill_flag_by_age(built: Warehouse, small: Export, tmp_path: Path) -> None:
    assert all(event["backfill"] is True for _, _, event in small.events())  # all older than 24 hours
    cut = datetime(2026, 11, 18, 12, tzinfo=UTC)
    export(built, tmp_path / "cut", "--now", "2026-11-21T12:00:00+01:00",  # 11:00 UTC: 71 h after the cut
           "--vars", json.dumps({"activation_backfill_after_hours": 71}))
    for _, _, event in Export.read(tmp_path / "cut").events():
        assert event["backfill"] is (datetime.fromisoformat(event["time"]) < cut), event
    export(built, tmp_path / "never", "--vars", "{activation_backfill_after_hours: null}")
    assert all(event["backfill"] is False for _, _, event in Export.read(tmp_path / "never").events())


def test_metric_names_come_from_a_var(built: Warehouse, tmp_path: Path) -> None:
    export(built, tmp_path, "--vars", "{activation_metric_names: {resolved: Resolved by the AI agent}}")
    names = Counter(event["metric"]["data"]["attributes"]["name"] for _, _, event in Export.read(tmp_path).events())
    assert names["Resolved by the AI agent"] == 7 and names[scenario.RESOLVED] == 0
    assert names[scenario.STARTED] == 11


@pytest.mark.parametrize(
    ("bad_vars", "message"),
    [
        ("{activation_backfill_after_hours: -1}", "var activation_backfill_after_hours must be a non-negative"),
        ("{activation_metric_names: {solved: X}}", "var activation_metric_names has unknown metric key 'solved'"),
        ("{activation_include_first_message: maybe}", "var activation_include_first_message must be true or false"),
        ("{activation_profile_identifiers: [name]}", "var activation_profile_identifiers must be a non-empty list"),
    ],
)
def test_bad_vars_are_one_line_and_exit_2(built: Warehouse, tmp_path: Path, bad_vars: str, message: str) -> None:
    result = export(built, tmp_path, "--vars", bad_vars, check=False)
    assert result.returncode == 2
    assert message in result.stderr and result.stderr.count("\n") == 1
    assert not (tmp_path / "klaviyo").exists()


def test_events_can_name_profiles_by_email_only(built: Warehouse, tmp_path: Path) -> None:
    """Without the id, ghost's events (no email, no phone) have no identifier: skipped and counted."""
    export(built, tmp_path, "--vars", "{activation_profile_identifiers: [email]}")
    exported = Export.read(tmp_path)
    assert {tuple(profile) for _, profile, _ in exported.events()} == {("type", "attributes")}
    assert len(exported.events()) == 31 - 2
    assert exported.manifest["totals"]["events"]["skipped"]["no_profile_identifier"]["count"] == 2


# ------------------------------------------------------------------------------------ errors and dry runs


def test_a_missing_warehouse_is_one_line_and_exit_2(tmp_path: Path) -> None:
    result = export(Warehouse(root=tmp_path), tmp_path / "out", check=False)
    assert result.returncode == 2 and result.stderr.count("\n") == 1
    assert "no warehouse file at" in result.stderr and "CA_DUCKDB_PATH" in result.stderr


@pytest.mark.parametrize("since_last", [False, True])
def test_a_locked_warehouse_is_one_line_and_exit_2(built: Warehouse, tmp_path: Path, since_last: bool) -> None:
    copy = copy_warehouse(built, tmp_path / "wh")
    holder = subprocess.Popen([sys.executable, "-c", "import duckdb, sys, time; c = duckdb.connect(sys.argv[1]); "
                               "print('held', flush=True); sys.stdin.read()", str(copy.db)],  # held until killed
                              stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True)
    try:
        assert holder.stdout is not None and holder.stdout.readline().strip() == "held"
        result = export(copy, tmp_path / "out", *(["--since-last"] if since_last else []), check=False)
    finally:
        holder.kill()
        holder.wait()
    assert result.returncode == 2 and result.stderr.count("\n") == 1, result.stderr
    assert "is in use by another process" in result.stderr and "Traceback" not in result.stderr


def test_dry_run_validates_and_prints_the_plan_without_writing(built: Warehouse, tmp_path: Path) -> None:
    copy = copy_warehouse(built, tmp_path / "wh")
    result = export(copy, tmp_path / "out", *SMALL, "--dry-run", "--since-last")
    assert "plan (dry run: nothing written or sent): 14 requests" in result.stdout
    assert "POST /api/event-bulk-create-jobs: 7 requests, 31 events" in result.stdout
    assert ("POST /api/lists/replace-me-started/relationships/profiles (seg_started_conversation): 3 requests, "
            "5 profiles") in result.stdout
    assert not (tmp_path / "out" / "klaviyo").exists()
    assert copy.query("select count(*) from information_schema.tables where table_schema = 'activation'") == [(0,)]


# ------------------------------------------------------------------------------------------- --since-last


@pytest.fixture(scope="module")
def since_last(built: Warehouse, tmp_path_factory: pytest.TempPathFactory) -> dict[str, Export]:
    """Three --since-last exports on a copy: first, again with nothing new, after batch B and a new build."""
    root = tmp_path_factory.mktemp("since_last")
    warehouse = copy_warehouse(built, root / "wh")
    exports = {}
    export(warehouse, root / "first", "--since-last")
    exports["first"] = Export.read(root / "first")
    export(warehouse, root / "again", "--since-last")
    exports["again"] = Export.read(root / "again")
    scenario.write_batch_b(warehouse)
    warehouse.build(vars={"as_of": scenario.AS_OF_2})
    export(warehouse, root / "after_b", "--since-last", *SMALL)
    exports["after_b"] = Export.read(root / "after_b")
    export(warehouse, root / "full")
    exports["full"] = Export.read(root / "full")
    exports["state"] = warehouse  # type: ignore[assignment]
    return exports


def test_the_first_since_last_export_sends_everything(since_last: dict[str, Export], small: Export) -> None:
    first = since_last["first"]
    assert sorted(event["unique_id"] for _, _, event in first.events()) == sorted(
        event["unique_id"] for _, _, event in small.events())
    assert first.members() == scenario.MEMBERS_1
    assert first.manifest["since_last"] is True


def test_a_second_since_last_export_with_nothing_new_sends_nothing(since_last: dict[str, Export]) -> None:
    again = since_last["again"]
    assert again.raw == {}
    assert again.manifest["totals"]["events"]["exported"] == 0
    assert again.manifest["totals"]["events"]["skipped"]["already_exported"]["count"] == 31
    assert again.manifest["totals"]["list_profiles_added"] == again.manifest["totals"]["list_profiles_removed"] == 0


def test_since_last_after_new_data_sends_new_events_and_list_changes(since_last: dict[str, Export]) -> None:
    after = since_last["after_b"]
    assert Counter(profile["id"] for _, profile, _ in after.events()) == scenario.NEW_EVENTS_2
    assert {event["properties"]["conversation_id"] for _, _, event in after.events()} == {"d1", "x1"}
    assert after.members("list_additions") == scenario.ADDED_2
    assert after.members("list_removals") == scenario.REMOVED_2
    removals = after.entries("list_removals")
    assert removals and {entry["method"] for entry in removals} == {"DELETE"}
    assert all(entry["file"].startswith("list-removals/") for entry in removals)
    for entry in after.manifest["files"]:
        schema = EVENTS_SCHEMA if entry["kind"] == "events" else LIST_SCHEMA
        assert list(schema.iter_errors(after.bodies[entry["file"]])) == []


def test_the_state_is_tracked_in_the_warehouse(since_last: dict[str, Export]) -> None:
    warehouse: Warehouse = since_last["state"]  # type: ignore[assignment]
    assert warehouse.query("select count(*), count(distinct event_id) from activation.exported_events") == [(36, 36)]
    assert warehouse.query("select count(*) from activation.exports") == [(3,)]
    members = warehouse.query("select segment, list(profile_id order by profile_id) from activation.list_members "
                              "group by segment order by segment")
    assert dict(members)["seg_recommendation_followup"] == ["p_cat", "p_dan"]


def test_a_plain_export_ignores_the_state(since_last: dict[str, Export]) -> None:
    full = since_last["full"]
    assert len(full.events()) == 36 and full.manifest["since_last"] is False
    assert full.members("list_removals") == {segment: [] for segment in scenario.SEGMENTS}


def test_an_unpushed_since_last_export_is_never_replaced(built: Warehouse, tmp_path: Path) -> None:
    copy = copy_warehouse(built, tmp_path / "wh")
    export(copy, tmp_path / "out", "--since-last")
    before = Export.read(tmp_path / "out").raw
    result = export(copy, tmp_path / "out", "--since-last", check=False)
    assert result.returncode == 2 and result.stderr.count("\n") == 1
    assert "whose push is not finished" in result.stderr and "--push" in result.stderr
    assert Export.read(tmp_path / "out").raw == before


# -------------------------------------------------------------------------------------- spark (parquet)


def write_spark_layout(warehouse: Warehouse, root: Path) -> None:
    """Every table of the DuckDB file as Spark writes managed tables: <root>/<schema>.db/<table>/part-*.parquet,
    timestamps with the UTC zone, the feed in two files, with _SUCCESS and .crc files beside them."""
    import pyarrow as pa
    import pyarrow.parquet as pq

    with duckdb.connect(str(warehouse.db), read_only=True) as connection:
        tables = connection.execute("select table_schema, table_name from information_schema.tables "
                                    "where table_type = 'BASE TABLE'").fetchall()
        for schema, table in tables:
            data = connection.sql(f'select * from "{schema}"."{table}"').to_arrow_table()
            data = pa.table({name: column.cast(pa.timestamp("us", tz="UTC"))
                             if pa.types.is_timestamp(column.type) else column
                             for name, column in zip(data.column_names, data.columns, strict=True)})
            folder = root / f"{schema}.db" / table
            folder.mkdir(parents=True)
            halves = [data.slice(0, data.num_rows // 2), data.slice(data.num_rows // 2)]
            for number, part in enumerate(halves if table == "fct_customer_agent_events" else [data]):
                pq.write_table(part, folder / f"part-{number:05d}-c000.snappy.parquet")
                (folder / f".part-{number:05d}-c000.snappy.parquet.crc").write_bytes(b"crc")
            (folder / "_SUCCESS").write_bytes(b"")


def test_the_spark_target_reads_the_parquet_tables_and_gives_the_same_bodies(built: Warehouse, small: Export,
                                                                              tmp_path: Path) -> None:
    spark = tmp_path / "spark-warehouse"
    write_spark_layout(built, spark)
    env = {"CA_SPARK_WAREHOUSE": str(spark), "CA_DUCKDB_PATH": str(tmp_path / "absent.duckdb")}
    export(built, tmp_path / "out", "--target", "spark", *SMALL, env=env)
    exported = Export.read(tmp_path / "out")
    assert exported.raw == small.raw
    assert exported.manifest["target"] == "spark"
    export(built, tmp_path / "first", "--target", "spark", "--since-last", env=env)
    export(built, tmp_path / "again", "--target", "spark", "--since-last", env=env)
    assert len(Export.read(tmp_path / "first").events()) == 31
    assert Export.read(tmp_path / "again").raw == {}
    state = tmp_path / "spark-warehouse-activation"
    assert sorted(path.name for path in state.iterdir()) == ["exported_events", "exports", "list_members"]


def test_a_missing_spark_warehouse_is_one_line_and_exit_2(built: Warehouse, tmp_path: Path) -> None:
    result = export(built, tmp_path / "out", "--target", "spark",
                    env={"CA_SPARK_WAREHOUSE": str(tmp_path / "none")}, check=False)
    assert result.returncode == 2 and "no Spark warehouse folder" in result.stderr
    assert result.stderr.count("\n") == 1


# -------------------------------------------------------------------------------------------------- --push


def push_env(server: FakeKlaviyo) -> dict[str, str]:
    return {"CA_KLAVIYO_BASE_URL": server.base_url, "CA_KLAVIYO_API_KEY": API_KEY}


def file_bodies(exported: Export) -> Counter[bytes]:
    return Counter(exported.raw.values())


def test_push_sends_every_file_once_and_honours_429_and_5xx(built: Warehouse, tmp_path: Path) -> None:
    answers = {1: (429, {"Retry-After": "1"}), 3: (500, {}), 4: (503, {}), 9: (429, {"Retry-After": "0"})}
    with FakeKlaviyo(answers=answers) as server:
        result = export(built, tmp_path, *SMALL, "--push", "--retry-base-seconds", "0.05", env=push_env(server))
    exported = Export.read(tmp_path)
    assert Counter(request.body for request in server.acknowledged()) == file_bodies(exported)
    assert len(server.received) == len(exported.raw) + len(answers)
    first, retry = server.received[0], server.received[1]
    assert first.body == retry.body and retry.at - first.at >= 1.0  # waited for Retry-After
    for request in server.received:
        assert request.headers["authorization"] == f"Klaviyo-API-Key {API_KEY}"
        assert request.headers["revision"] == REVISION
        assert request.headers["content-type"] == "application/vnd.api+json"
    methods = [(request.method, request.path.split("/")[2]) for request in server.acknowledged()]
    assert methods == sorted(methods, key=lambda item: item[1] != "event-bulk-create-jobs")  # events first
    assert API_KEY not in result.stdout + result.stderr
    state = json.loads((tmp_path / "klaviyo" / "push-state.json").read_text())
    assert set(state["sent"]) == set(exported.raw)


def test_a_push_killed_mid_way_resumes_without_resending(built: Warehouse, tmp_path: Path) -> None:
    with FakeKlaviyo(block_at=6) as server:
        environment = {**built.env(), **push_env(server)}
        client = subprocess.Popen([sys.executable, "-m", "customer_agent_warehouse", "export", "--out", str(tmp_path),
                                   "--now", EXPORT_NOW, *SMALL, "--push"], cwd=PROJECT_ROOT, env=environment,
                                  stdout=subprocess.PIPE, stderr=subprocess.PIPE)
        assert server.blocked.wait(timeout=60), "the client never reached the 6th request"
        os.kill(client.pid, signal.SIGKILL)
        client.wait()
        server.release()
        state = json.loads((tmp_path / "klaviyo" / "push-state.json").read_text())
        assert len(state["sent"]) == 5
        resumed = export(built, tmp_path, *SMALL, "--push", env=push_env(server))
    exported = Export.read(tmp_path)
    assert f"resuming: 5 of {len(exported.raw)} files were sent before" in resumed.stdout
    acknowledged = Counter(request.body for request in server.acknowledged())
    assert acknowledged == file_bodies(exported)  # none missing, none acknowledged twice
    assert len(server.received) == len(exported.raw) + 1  # only the unanswered one was sent again
    assert server.received[5].status is None and server.received[6].body == server.received[5].body


def test_a_refused_request_stops_the_push_with_one_line_and_exit_1(built: Warehouse, tmp_path: Path) -> None:
    with FakeKlaviyo(answers={2: (400, {})}) as server:
        result = export(built, tmp_path, "--push", env=push_env(server), check=False)
        assert result.returncode == 1 and result.stderr.count("\n") == 1
        assert "was refused: 400" in result.stderr and "scripted by the test" in result.stderr
        assert len(server.received) == 2
        again = export(built, tmp_path, "--push", env=push_env(server))
    assert "resuming: 1 of" in again.stdout
    assert Counter(request.body for request in server.acknowledged()) == file_bodies(Export.read(tmp_path))


def test_retries_are_bounded(built: Warehouse, tmp_path: Path) -> None:
    with FakeKlaviyo(answers={n: (500, {}) for n in range(1, 10)}) as server:
        started = time.monotonic()
        result = export(built, tmp_path, "--push", "--max-attempts", "3", "--retry-base-seconds", "0.01",
                        env=push_env(server), check=False)
    assert result.returncode == 1 and "failed 3 times, last: 500" in result.stderr
    assert len(server.received) == 3 and time.monotonic() - started < 30


def test_push_without_an_api_key_is_one_line_and_exit_2(built: Warehouse, tmp_path: Path) -> None:
    result = export(built, tmp_path, "--push", env={"CA_KLAVIYO_API_KEY": ""}, check=False)
    assert result.returncode == 2 and result.stderr.count("\n") == 1
    assert "CA_KLAVIYO_API_KEY is not set" in result.stderr
    assert not (tmp_path / "klaviyo").exists()


def test_dry_run_push_needs_no_key_and_sends_nothing(built: Warehouse, tmp_path: Path) -> None:
    result = export(built, tmp_path, "--push", "--dry-run", env={"CA_KLAVIYO_API_KEY": ""})
    assert "plan (dry run: nothing written or sent): 5 requests" in result.stdout
    assert not (tmp_path / "klaviyo").exists()


def test_a_file_changed_after_the_export_is_never_sent(built: Warehouse, tmp_path: Path) -> None:
    """Resuming a push checks every file left against the manifest's sha256 before the first request."""
    with FakeKlaviyo(answers={2: (400, {})}) as server:
        assert export(built, tmp_path, "--push", env=push_env(server), check=False).returncode == 1
        (tmp_path / "klaviyo" / "lists" / "seg_started_conversation" / "part-00001.json").write_text('{"data":[]}')
        result = export(built, tmp_path, "--push", env=push_env(server), check=False)
    assert result.returncode == 2 and result.stderr.count("\n") == 1
    assert "changed since it was exported" in result.stderr
    assert len(server.received) == 2
