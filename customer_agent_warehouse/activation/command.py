"""`python -m customer_agent_warehouse export --out DIR [--since-last] [--push] [--dry-run]` (spec §11).

Exit codes: 0 done; 1 the API refused a request or kept failing (rerun to resume); 2 a usage or environment
problem (bad option or var, no or locked warehouse, missing API key, an export folder that must not be
replaced), always one line on stderr.
"""

from __future__ import annotations

import argparse
import os
import secrets
import shutil
import sys
import tempfile
from collections import Counter
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from customer_agent_warehouse.activation import klaviyo
from customer_agent_warehouse.activation.config import ActivationError, Limits, load_config
from customer_agent_warehouse.activation.export import MANIFEST, ExportBug, ExportResult, export
from customer_agent_warehouse.activation.push import (
    Client,
    PushFailed,
    pending,
    push,
    push_settings,
    read_manifest,
    read_state,
)
from customer_agent_warehouse.activation.state import open_state, state_location
from customer_agent_warehouse.settings import setting
from customer_agent_warehouse.warehouse import TARGETS, WarehouseError, open_warehouse

OUTPUT_FOLDER = "klaviyo"
VARS_EXAMPLE = "'{activation_include_first_message: true}'"


def _vars(text: str) -> dict[str, Any]:
    import yaml

    try:
        parsed = yaml.safe_load(text)
    except yaml.YAMLError:
        parsed = None
    if not isinstance(parsed, dict):
        raise argparse.ArgumentTypeError(f"must be a mapping such as {VARS_EXAMPLE}; got {text!r}")
    return parsed


def _instant(text: str) -> datetime:
    """An ISO-8601 time as naive UTC (an offset is converted; none means UTC)."""
    try:
        moment = datetime.fromisoformat(text.strip().replace("Z", "+00:00").replace("z", "+00:00"))
    except ValueError:
        raise argparse.ArgumentTypeError(
            f"must be an ISO-8601 time such as 2026-11-25T00:00:00Z; got {text!r}") from None
    return moment.astimezone(UTC).replace(tzinfo=None) if moment.tzinfo else moment


def add_export_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--out", type=Path, required=True, metavar="DIR",
                        help="folder to write DIR/klaviyo/ into (events/, lists/, list-removals/, manifest.json)")
    parser.add_argument("--target", choices=TARGETS, default=setting("CA_DBT_TARGET"),
                        help="the warehouse to read (default: CA_DBT_TARGET, else duckdb)")
    parser.add_argument("--since-last", action="store_true",
                        help="only events not exported before, and list additions and removals since the last "
                             "--since-last export (state kept in the warehouse's schema activation)")
    parser.add_argument("--vars", type=_vars, default={},
                        help=f"activation vars over dbt_project.yml's, e.g. {VARS_EXAMPLE}")
    parser.add_argument("--push", action="store_true",
                        help="send the files to CA_KLAVIYO_BASE_URL with CA_KLAVIYO_API_KEY; a rerun after a "
                             "failure resumes with the files not yet sent")
    parser.add_argument("--dry-run", action="store_true",
                        help="validate and print the plan (requests per endpoint); write and send nothing")
    parser.add_argument("--now", type=_instant, default=None, metavar="TIME",
                        help="the export's clock (ISO-8601, UTC when no offset): event ages for backfill and the "
                             "API's time range count from it, and it is the manifest's exported_at "
                             "(default: the current time)")
    limits = parser.add_argument_group("request limits (at most the API's)")
    limits.add_argument("--events-per-request", type=int, default=klaviyo.MAX_EVENTS_PER_REQUEST, metavar="N")
    limits.add_argument("--bytes-per-request", type=int, default=klaviyo.MAX_BYTES_PER_REQUEST, metavar="N")
    limits.add_argument("--profiles-per-request", type=int, default=klaviyo.MAX_PROFILES_PER_LIST_REQUEST,
                        metavar="N")
    retries = parser.add_argument_group("retries of --push")
    retries.add_argument("--retry-base-seconds", type=float, default=1.0, metavar="S",
                         help="first backoff after a 5xx or network error, doubled each time (default 1)")
    retries.add_argument("--max-attempts", type=int, default=8, metavar="N",
                         help="attempts per request, 429 answers included (default 8)")
    retries.add_argument("--timeout-seconds", type=float, default=60.0, metavar="S")


def run_export(args: argparse.Namespace) -> int:
    try:
        return _run(args)
    except (ActivationError, WarehouseError) as error:
        print(f"export: error: {error}", file=sys.stderr)
        return 2
    except PushFailed as error:
        print(f"export: error: {error}", file=sys.stderr)
        return 1


def _sent_count(folder: Path) -> int:
    return len(read_state(folder)["sent"])


def _unfinished(folder: Path) -> dict[str, Any] | None:
    """The manifest of an export in `folder` whose push must be finished before it may be replaced, or None.

    That is an export with some files sent and some not, or a --since-last export (its events are recorded as
    exported: replacing its files would lose them) that was not completely pushed."""
    if not (folder / MANIFEST).exists():
        return None
    manifest = read_manifest(folder)
    files, sent = pending(folder, manifest)
    if files and (sent or manifest.get("since_last")):
        return manifest
    return None


def _check_numbers(args: argparse.Namespace) -> None:
    if args.retry_base_seconds < 0 or args.timeout_seconds <= 0 or args.max_attempts < 1:
        raise ActivationError("--retry-base-seconds must be >= 0, --timeout-seconds > 0 and --max-attempts >= 1; "
                              f"got {args.retry_base_seconds}, {args.timeout_seconds}, {args.max_attempts}")


def _run(args: argparse.Namespace) -> int:
    _check_numbers(args)
    limits = Limits(args.events_per_request, args.bytes_per_request, args.profiles_per_request)
    config = load_config(args.vars, limits)
    folder = args.out.expanduser().resolve() / OUTPUT_FOLDER
    client = None
    if args.push and not args.dry_run:
        client = Client(push_settings(args.retry_base_seconds, args.max_attempts, args.timeout_seconds))
    unfinished = _unfinished(folder)
    if unfinished and args.push:
        print(f"{folder} holds export {unfinished['export_id']} ({unfinished['exported_at']}) whose push is not "
              "finished: pushing the rest of it; run the command again afterwards to export what is new")
        if client is None:
            _print_plan(pending(folder, unfinished)[0], "still to send (dry run: nothing sent)")
            return 0
        push(folder, client)
        print(f"pushed {folder}: every file of its manifest is sent")
        return 0
    if unfinished:
        raise ActivationError(f"{folder} holds export {unfinished['export_id']} whose push is not finished "
                              f"({_sent_count(folder)} of {len(unfinished['files'])} files sent): finish it with "
                              f"`export --out {args.out} --push`, move it away, or export into another --out")
    _export(args, config, folder)
    if args.dry_run:
        return 0
    if client is not None:
        push(folder, client)
        print(f"pushed {folder}: every file of its manifest is sent")
    return 0


def _export(args: argparse.Namespace, config: Any, folder: Path) -> ExportResult:
    """Export into a new folder, then put it in place (and record the --since-last state), or only plan."""
    now = args.now or datetime.now(UTC).replace(tzinfo=None)
    export_id = f"{now:%Y%m%dT%H%M%SZ}-{secrets.token_hex(3)}"
    writable = args.since_last and not args.dry_run
    with open_warehouse(args.target, writable=writable) as warehouse:
        state = open_state(warehouse, writable) if args.since_last else None
        if args.dry_run:
            with tempfile.TemporaryDirectory(prefix="ca-export-") as scratch:
                result = _export_into(warehouse, config, Path(scratch), export_id, now, state, folder)
            _print_summary(result, None)
            _print_plan(result.manifest["files"], "plan (dry run: nothing written or sent)")
            return result
        folder.parent.mkdir(parents=True, exist_ok=True)
        staging = folder.parent / f".{OUTPUT_FOLDER}-{export_id}"
        try:
            result = _export_into(warehouse, config, staging, export_id, now, state, folder)
            _replace(staging, folder, export_id)
        finally:
            shutil.rmtree(staging, ignore_errors=True)
        if state is not None:
            state.record(result.record)
        _print_summary(result, folder)
        if state is not None:
            print(f"state recorded in {state_location(warehouse)}")
    return result


def _export_into(warehouse: Any, config: Any, staging: Path, export_id: str, now: datetime, state: Any,
                 folder: Path) -> ExportResult:
    staging.mkdir(parents=True, exist_ok=True)
    try:
        return export(warehouse, config, staging, export_id=export_id, now=now, state=state,
                      output_dir=str(folder))
    except ExportBug as error:
        raise ActivationError(f"internal error, nothing written: a request body breaks the API's shape: {error}; "
                              "please report it") from None


def _replace(staging: Path, folder: Path, export_id: str) -> None:
    """Put the new export in place of the old one: rename the old away, the new in, then delete the old."""
    old = folder.parent / f".{OUTPUT_FOLDER}-replaced-{export_id}"
    if folder.exists():
        os.replace(folder, old)
    os.replace(staging, folder)
    shutil.rmtree(old, ignore_errors=True)


def _print_summary(result: ExportResult, folder: Path | None) -> None:
    totals = result.manifest["totals"]
    events = totals["events"]
    where = f" into {folder}" if folder else ""
    print(f"exported {events['exported']:,} events in {events['requests']:,} requests "
          f"({events['backfill']:,} as backfill){where}")
    for reason, skipped in events["skipped"].items():
        print(f"  skipped {skipped['count']:,} events: {reason} ({skipped['why']})")
    for segment, summary in totals["lists"].items():
        print(f"  list {summary['list_id']} <- {segment}: {summary['members']:,} members, +{summary['added']:,} "
              f"-{summary['removed']:,}")
        for reason, skipped in summary["skipped"].items():
            print(f"    skipped {skipped['count']:,} profiles: {reason} ({skipped['why']})")


def _print_plan(files: list[dict[str, Any]], title: str) -> None:
    requests: Counter[tuple[str, str, str]] = Counter()
    items: Counter[tuple[str, str, str]] = Counter()
    for entry in files:
        key = (entry["method"], entry["endpoint"], entry.get("segment", ""))
        requests[key] += 1
        items[key] += entry.get("events", entry.get("profiles", 0))
    print(f"{title}: {len(files):,} requests")
    for key in requests:
        method, endpoint, segment = key
        unit = "events" if endpoint == klaviyo.EVENTS_PATH else "profiles"
        label = f" ({segment})" if segment else ""
        print(f"  {method} {endpoint}{label}: {requests[key]:,} requests, {items[key]:,} {unit}")
