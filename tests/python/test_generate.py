"""The `generate` command: a deterministic, messy, append-only raw zone (spec §2, §3)."""

from __future__ import annotations

import gzip
import hashlib
import itertools
import json
import re
from collections import Counter, defaultdict
from dataclasses import dataclass, field
from datetime import UTC, date, datetime
from pathlib import Path
from typing import Any

import pytest

from customer_agent_warehouse import generate as gen
from customer_agent_warehouse.cli import main

CONVERSATIONS = 800
SEED = 7
CHUNK = 300  # several chunks even for a small run, so worker independence is really exercised
SKILLS = {"order_tracking", "product_recommendations", "returns", "faq", "shipping"}
REASONS = {"knowledge_gap", "shopper_requested", "sensitive_topic"}
CHANNEL_KEYS = {"web_chat", "webchat", "sms", "text", "email", "e_mail", "whatsapp", "whats_app"}


def _generate(out: Path, **kwargs: Any) -> gen.GenerationStats:
    arguments: dict[str, Any] = {"conversations": CONVERSATIONS, "seed": SEED, "workers": 2}
    arguments.update(kwargs)
    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(gen, "CHUNK_CONVERSATIONS", CHUNK)
        return gen.generate_raw_zone(out, **arguments)


def _files(root: Path) -> list[Path]:
    return sorted(path for path in root.rglob("*") if path.is_file())


def _hashes(root: Path) -> dict[str, str]:
    return {str(path.relative_to(root)): hashlib.sha256(path.read_bytes()).hexdigest() for path in _files(root)}


def _lines(path: Path) -> list[str]:
    data = path.read_bytes()
    if path.name.endswith(".gz"):
        data = gzip.decompress(data)
    return data.decode("utf-8").splitlines()


def _instant(value: Any) -> float | None:
    """Seconds since the epoch of an `occurred_at`/`placed_at`, None when unparseable (spec §2.1)."""
    if isinstance(value, int) and not isinstance(value, bool):
        return value / 1000
    if not isinstance(value, str):
        return None
    try:
        parsed = datetime.fromisoformat(value.strip())
    except ValueError:
        return None
    return parsed.timestamp() if parsed.tzinfo else None


def _blank(value: Any) -> bool:
    return not isinstance(value, str) or not value.strip()


def _email(value: Any) -> str | None:
    return None if _blank(value) else value.strip().lower()


def _phone(value: Any) -> str | None:
    """E.164 with default country code 1, as staging does it (spec §3)."""
    if _blank(value):
        return None
    digits = re.sub(r"[^0-9]", "", value)
    if value.strip().startswith("+") or (digits.startswith("1") and len(digits) > 10):
        return f"+{digits}"
    return f"+1{digits}"


def _label(value: str) -> str:
    return re.sub(r"[\s-]+", "_", value.strip().lower())


def _rejection(source: str, line: str) -> str | None:
    """Why a raw line would be rejected (spec §2, §6), None for a valid record."""
    try:
        record = json.loads(line)
    except ValueError:
        return "invalid_json"
    if not isinstance(record, dict):
        return "invalid_json"
    if source == "conversation_logs":
        if _blank(record.get("conversation_id")):
            return "missing_conversation_id"
        if _blank(record.get("log_id")):
            return "missing_log_id"
        if _instant(record.get("occurred_at")) is None:
            return "invalid_occurred_at"
        if _blank(record.get("type")):
            return "missing_type"
    elif source == "orders":
        if _blank(record.get("order_id")):
            return "missing_order_id"
        if _instant(record.get("placed_at")) is None:
            return "invalid_placed_at"
    elif _blank(record.get("profile_id")):
        return "missing_profile_id"
    return None


@dataclass
class RawZone:
    """The parsed content of a generated raw zone."""

    root: Path
    stats: gen.GenerationStats
    rejected: Counter[str] = field(default_factory=Counter)
    lines: Counter[str] = field(default_factory=Counter)
    logs: list[tuple[Path, dict[str, Any]]] = field(default_factory=list)
    orders: list[dict[str, Any]] = field(default_factory=list)
    profiles: list[dict[str, Any]] = field(default_factory=list)

    def conversations(self) -> dict[str, list[dict[str, Any]]]:
        """Valid records by conversation, first delivery only, in spec order (occurred_at, log_id)."""
        seen: set[str] = set()
        grouped: dict[str, list[dict[str, Any]]] = defaultdict(list)
        for _, record in sorted(self.logs, key=lambda item: item[1]["received_at"]):
            if record["log_id"] not in seen:
                seen.add(record["log_id"])
                grouped[record["conversation_id"]].append(record)
        for records in grouped.values():
            records.sort(key=lambda record: (_instant(record["occurred_at"]), record["log_id"]))
        return grouped

    def current_profiles(self) -> dict[str, dict[str, Any]]:
        current: dict[str, dict[str, Any]] = {}
        for record in self.profiles:
            known = current.get(record["profile_id"])
            if known is None or _instant(known["updated_at"]) < _instant(record["updated_at"]):
                current[record["profile_id"]] = record
        return current


def _load(root: Path, stats: gen.GenerationStats) -> RawZone:
    zone = RawZone(root, stats)
    for source in gen.SOURCES:
        for path in _files(root / source):
            for line in _lines(path):
                zone.lines[source] += 1
                reason = _rejection(source, line)
                if reason:
                    zone.rejected[f"{source}:{reason}"] += 1
                elif source == "conversation_logs":
                    zone.logs.append((path, json.loads(line)))
                elif source == "orders":
                    zone.orders.append(json.loads(line))
                else:
                    zone.profiles.append(json.loads(line))
    return zone


@pytest.fixture(scope="module")
def raw_zone(tmp_path_factory: pytest.TempPathFactory) -> RawZone:
    root = tmp_path_factory.mktemp("raw")
    return _load(root, _generate(root))


@pytest.fixture(scope="module")
def conversations(raw_zone: RawZone) -> dict[str, list[dict[str, Any]]]:
    return raw_zone.conversations()


# --- Determinism and files ------------------------------------------------------------------------------------------
def test_same_arguments_give_byte_identical_files_whatever_the_workers(raw_zone: RawZone, tmp_path: Path) -> None:
    stats = _generate(tmp_path, workers=1)
    assert _hashes(tmp_path) == _hashes(raw_zone.root)
    assert stats == raw_zone.stats


def test_another_seed_gives_other_data(raw_zone: RawZone, tmp_path: Path) -> None:
    _generate(tmp_path, seed=SEED + 1)
    first, second = _hashes(raw_zone.root), _hashes(tmp_path)
    common = set(first) & set(second)
    assert common, "the same layout of day folders is expected"
    assert all(first[name] != second[name] for name in common)


def test_every_source_has_plain_and_gzip_files_split_by_day(raw_zone: RawZone) -> None:
    for source in gen.SOURCES:
        files = _files(raw_zone.root / source)
        names = {path.name for path in files}
        assert any(name.endswith(".jsonl") for name in names), source
        assert any(name.endswith(".jsonl.gz") for name in names), source
        for path in files:
            assert re.fullmatch(r"dt=\d{4}-\d{2}-\d{2}", path.parent.name), path
            assert re.fullmatch(r"part-\d{4}\.jsonl(\.gz)?", path.name), path
    assert raw_zone.stats.files == len(_files(raw_zone.root))
    assert not list(raw_zone.root.rglob("*.tmp"))


def test_gzip_files_are_deterministic(raw_zone: RawZone) -> None:
    for path in raw_zone.root.rglob("*.jsonl.gz"):
        header = path.read_bytes()[:10]
        assert header[:2] == b"\x1f\x8b"
        assert header[3] & 0x08 == 0, "no file name in the gzip header"
        assert header[4:8] == b"\x00\x00\x00\x00", "mtime is 0"


def test_stats_count_what_was_written(raw_zone: RawZone) -> None:
    stats = raw_zone.stats
    assert stats.conversations == CONVERSATIONS
    assert stats.log_lines == raw_zone.lines["conversation_logs"]
    assert stats.order_lines == raw_zone.lines["orders"]
    assert stats.profile_lines == raw_zone.lines["profiles"]
    assert 8 <= stats.log_lines / CONVERSATIONS <= 12, "about 10 log lines per conversation"


# --- Append-only runs -----------------------------------------------------------------------------------------------
def test_another_prefix_adds_files_without_touching_existing_ones(tmp_path: Path) -> None:
    _generate(tmp_path, conversations=200)
    before = {path: (path.stat().st_mtime_ns, hashlib.sha256(path.read_bytes()).hexdigest())
              for path in _files(tmp_path)}
    _generate(tmp_path, conversations=200, file_prefix="late", start_date=date(2026, 11, 20), days=5)
    after = _files(tmp_path)
    for path, (mtime, digest) in before.items():
        assert path.stat().st_mtime_ns == mtime
        assert hashlib.sha256(path.read_bytes()).hexdigest() == digest
    added = [path for path in after if path not in before]
    assert added and all(path.name.startswith("late-") for path in added)
    assert {path.parent.parent.name for path in added} == set(gen.SOURCES)
    first_ids = _ids([path for path in before])
    second_ids = _ids(added)
    assert first_ids and second_ids and not first_ids & second_ids


def _ids(paths: list[Path]) -> set[str]:
    ids: set[str] = set()
    for path in paths:
        for line in _lines(path):
            ids.update(re.findall(r'"((?:conv|log|ord|prof)-[^"]+)"', line))
    return ids


def test_the_same_prefix_is_never_rewritten(tmp_path: Path) -> None:
    _generate(tmp_path, conversations=50, days=2)
    with pytest.raises(FileExistsError):
        _generate(tmp_path, conversations=50, days=2)
    assert main(["generate", "--conversations", "50", "--days", "2", "--out", str(tmp_path), "--quiet"]) == 2


def test_cli_writes_the_same_files_as_the_function(tmp_path: Path) -> None:
    cli_dir, function_dir = tmp_path / "cli", tmp_path / "function"
    code = main(["generate", "--conversations", "120", "--seed", "3", "--out", str(cli_dir), "--days", "4",
                 "--start-date", "2026-11-10", "--file-prefix", "batch1", "--workers", "2", "--quiet"])
    assert code == 0
    gen.generate_raw_zone(function_dir, 120, 3, start_date=date(2026, 11, 10), days=4, file_prefix="batch1")
    assert _hashes(cli_dir) == _hashes(function_dir)
    assert all(name.split("/")[-1].startswith("batch1-") for name in _hashes(cli_dir))


# --- Malformed, duplicate and late lines ----------------------------------------------------------------------------
def test_malformed_lines_in_every_source_are_counted(raw_zone: RawZone) -> None:
    rejected = raw_zone.rejected
    assert sum(rejected.values()) == raw_zone.stats.malformed_lines
    for source in gen.SOURCES:
        assert any(reason.startswith(f"{source}:") for reason in rejected), source


def test_malformed_share_follows_the_rate(tmp_path: Path) -> None:
    stats = _generate(tmp_path, malformed_rate=0.02)
    zone = _load(tmp_path, stats)
    total_lines = sum(zone.lines.values())
    assert sum(zone.rejected.values()) == stats.malformed_lines
    assert 0.012 <= stats.malformed_lines / total_lines <= 0.03
    reasons = {reason.split(":")[1] for reason in zone.rejected}
    assert {"invalid_json", "missing_conversation_id", "missing_log_id", "invalid_occurred_at",
            "missing_order_id", "invalid_placed_at", "missing_profile_id"} <= reasons


def test_log_records_are_redelivered_identically_later(raw_zone: RawZone) -> None:
    deliveries: dict[str, list[dict[str, Any]]] = defaultdict(list)
    for _, record in raw_zone.logs:
        deliveries[record["log_id"]].append(record)
    repeated = [records for records in deliveries.values() if len(records) > 1]
    assert 0.005 <= len(repeated) / len(deliveries) <= 0.03
    for records in repeated:
        first, *others = sorted(records, key=lambda record: record["received_at"])
        for other in others:
            assert other["received_at"] > first["received_at"]
            assert {**other, "received_at": None} == {**first, "received_at": None}


def test_orders_are_redelivered(raw_zone: RawZone) -> None:
    counts = Counter(order["order_id"] for order in raw_zone.orders)
    assert any(count > 1 for count in counts.values())


def test_received_at_is_utc_and_late_data_lands_in_later_days(raw_zone: RawZone) -> None:
    late = 0
    for path, record in raw_zone.logs:
        received = record["received_at"]
        assert re.fullmatch(r"\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}\.\d{3}Z", received)
        assert _instant(received) >= _instant(record["occurred_at"])
        assert path.parent.name == f"dt={received[:10]}"
        if _instant(received) - _instant(record["occurred_at"]) > 3600 and received[:10] > _utc_day(record):
            late += 1
    assert 0.01 <= late / len(raw_zone.logs) <= 0.08


def _utc_day(record: dict[str, Any]) -> str:
    return datetime.fromtimestamp(_instant(record["occurred_at"]), UTC).date().isoformat()


def test_occurred_at_uses_every_rendering(raw_zone: RawZone) -> None:
    kinds = Counter()
    for _, record in raw_zone.logs:
        value = record["occurred_at"]
        if isinstance(value, int):
            kinds["epoch_ms"] += 1
        elif value.endswith("Z"):
            kinds["z_ms" if "." in value else "z"] += 1
        else:
            assert re.search(r"[+-]\d{2}:\d{2}$", value)
            kinds["offset"] += 1
    assert set(kinds) == {"epoch_ms", "z_ms", "z", "offset"}
    assert min(kinds.values()) / sum(kinds.values()) > 0.05


# --- Messy values ---------------------------------------------------------------------------------------------------
def test_ids_are_namespaced_by_seed_and_prefix(raw_zone: RawZone) -> None:
    for _, record in raw_zone.logs:
        assert record["conversation_id"].startswith(f"conv-{SEED}-part-")
        assert record["log_id"].startswith(f"log-{SEED}-part-")
    assert all(order["order_id"].startswith(f"ord-{SEED}-part-") for order in raw_zone.orders)
    assert all(profile["profile_id"].startswith(f"prof-{SEED}-part-") for profile in raw_zone.profiles)


def test_channels_come_in_many_spellings_unknown_and_missing(raw_zone: RawZone) -> None:
    labels = Counter(record.get("channel") for _, record in raw_zone.logs)
    keys = {re.sub(r"[\s_-]+", "_", label.strip().lower()) for label in labels if label and label.strip()}
    assert {"web_chat", "sms", "email", "whatsapp"} <= keys
    assert keys - CHANNEL_KEYS, "some unknown labels such as instagram"
    assert {"Web Chat", "webchat", "WEB-CHAT", "SMS", "sms", "Email", "e-mail", "WhatsApp"} <= set(labels)
    assert labels[None] > 0


def test_channel_label_varies_within_a_conversation_and_is_missing_on_first_records(
    conversations: dict[str, list[dict[str, Any]]],
) -> None:
    varied = sum(len({r.get("channel") for r in records if r.get("channel")}) > 1 for records in conversations.values())
    late_channel = sum(not records[0].get("channel") and any(r.get("channel") for r in records)
                       for records in conversations.values())
    assert varied > 0.1 * len(conversations)
    assert late_channel > 0.05 * len(conversations)


def test_labels_are_messy_but_normalise_to_known_values(raw_zone: RawZone) -> None:
    skills = {record["skill"] for _, record in raw_zone.logs if record["type"] == "skill"}
    reasons = {record["escalation_reason"] for _, record in raw_zone.logs if record.get("escalation_reason")}
    tags = {tag for _, record in raw_zone.logs if record["type"] == "tag" for tag in record["tags"]}
    assert {_label(skill) for skill in skills} == SKILLS
    assert {"Order Tracking", " order-tracking "} & skills and len(skills) > 2 * len(SKILLS)
    assert {_label(reason) for reason in reasons if reason.strip()} == REASONS
    assert len(reasons) > len(REASONS)
    assert len({_label(tag) for tag in tags}) < len(tags)


def test_recommendations_carry_sku_product_id_or_both(raw_zone: RawZone) -> None:
    shapes = Counter()
    for _, record in raw_zone.logs:
        if record["type"] == "recommendation":
            assert len(record["products"]) <= 4
            shapes["empty" if not record["products"] else "non_empty"] += 1
            for product in record["products"]:
                shapes[tuple(sorted(product))] += 1
    assert shapes[("product_id", "sku")] and shapes[("product_id",)] and shapes[("sku",)]
    assert shapes["empty"] > 0 and shapes["non_empty"] > 10 * shapes["empty"]


def test_conversation_shapes(conversations: dict[str, list[dict[str, Any]]]) -> None:
    outcomes = Counter(_outcome(records) for records in conversations.values())
    assert len(conversations) == CONVERSATIONS
    for outcome in ("resolved_by_agent", "escalated", "resolved_by_human", "unresolved"):
        assert outcomes[outcome] > 0, outcome
    assert 0.35 <= outcomes["resolved_by_agent"] / CONVERSATIONS <= 0.6
    shapes = Counter()
    for records in conversations.values():
        messages = [r for r in records if r["type"] == "message"]
        shapes["agent_first"] += messages[0]["actor"] == "agent"
        shapes["shopper_silent"] += all(r["actor"] != "shopper" for r in messages)
        statuses = [r["status"] for r in records if r["type"] == "status"]
        shapes["repeated_status"] += any(a == b for a, b in itertools.pairwise(statuses))
        shapes["resolved_twice_by_agent"] += _agent_resolutions(records) > 1
        shapes["escalation_without_reason"] += any(
            r.get("status") == "escalated" and _blank(r.get("escalation_reason")) for r in records)
        shapes["unknown_type"] += any(r["type"] not in {"message", "skill", "status", "recommendation", "tag",
                                                        "identify"} for r in records)
    assert all(shapes[name] > 0 for name in ("agent_first", "shopper_silent", "repeated_status",
                                             "resolved_twice_by_agent", "escalation_without_reason",
                                             "unknown_type")), shapes


def _agent_resolutions(records: list[dict[str, Any]]) -> int:
    status, escalated, resolutions = "open", False, 0
    for record in records:
        if record["type"] != "status" or record["status"] == status:
            continue
        status = record["status"]
        escalated = escalated or status == "escalated"
        resolutions += status == "resolved" and record.get("actor") == "agent" and not escalated
    return resolutions


def _outcome(records: list[dict[str, Any]]) -> str:
    changes = []
    status = "open"
    for record in records:
        if record["type"] == "status" and record["status"] != status:
            status = record["status"]
            changes.append((status, record.get("actor")))
    if any(change == "escalated" for change, _ in changes):
        return "escalated"
    if _agent_resolutions(records):
        return "resolved_by_agent"
    if any(change == "resolved" for change, _ in changes):
        return "resolved_by_human"
    return "unresolved"


# --- Shoppers, profiles and orders ----------------------------------------------------------------------------------
def test_shoppers_are_identified_late_by_id_email_or_phone(
    raw_zone: RawZone, conversations: dict[str, list[dict[str, Any]]],
) -> None:
    current = raw_zone.current_profiles()
    by_email = {_email(p.get("email")): pid for pid, p in current.items() if _email(p.get("email"))}
    by_phone = {_phone(p.get("phone_number")): pid for pid, p in current.items() if _phone(p.get("phone_number"))}
    modes = Counter()
    for records in conversations.values():
        first_message = next((i for i, r in enumerate(records) if r["type"] == "message"), 0)
        identified = [i for i, r in enumerate(records)
                      if any(not _blank(r.get(key)) for key in ("profile_id", "email", "phone_number"))]
        if not identified:
            modes["anonymous"] += 1
            continue
        modes["late"] += identified[0] > first_message
        profile_id = next((r["profile_id"] for r in records if not _blank(r.get("profile_id"))), None)
        email = next((_email(r.get("email")) for r in records if _email(r.get("email"))), None)
        phone = next((_phone(r.get("phone_number")) for r in records if _phone(r.get("phone_number"))), None)
        if profile_id:
            modes["profile_id"] += 1
            assert profile_id in current
        elif email:
            modes["email_matched" if email in by_email else "email_unmatched"] += 1
        else:
            modes["phone_matched" if phone in by_phone else "phone_unmatched"] += 1
    assert modes["anonymous"] and modes["profile_id"] and modes["email_matched"] and modes["phone_matched"]
    matched = modes["email_matched"] + modes["phone_matched"]
    assert matched / (matched + modes["email_unmatched"] + modes["phone_unmatched"]) > 0.85
    assert modes["late"] > 0.3 * (CONVERSATIONS - modes["anonymous"])


def test_identities_are_messy(raw_zone: RawZone) -> None:
    emails = [r["email"] for _, r in raw_zone.logs if r.get("email")]
    phones = [r["phone_number"] for _, r in raw_zone.logs if r.get("phone_number")]
    assert any(e != e.strip() for e in emails) and any(e.strip() != e.strip().lower() for e in emails)
    assert any(re.fullmatch(r"\(\d{3}\) \d{3}-\d{4}", p) for p in phones)
    assert any(re.fullmatch(r"\d{3}-\d{3}-\d{4}", p) for p in phones)
    assert any(re.fullmatch(r"\+1 \d{3} \d{3} \d{4}", p) for p in phones)


def test_profiles_have_versions_consent_and_are_shared(
    raw_zone: RawZone, conversations: dict[str, list[dict[str, Any]]],
) -> None:
    versions = Counter(profile["profile_id"] for profile in raw_zone.profiles)
    assert 0.5 <= len(versions) / CONVERSATIONS <= 0.7
    assert {1, 2, 3} <= set(versions.values())
    consents = {p["email_consent"] for p in raw_zone.profiles} | {p["sms_consent"] for p in raw_zone.profiles}
    assert consents == {"subscribed", "unsubscribed", "never_subscribed"}
    talks = Counter(next((r["profile_id"] for r in records if not _blank(r.get("profile_id"))), None)
                    for records in conversations.values())
    talks.pop(None, None)
    assert max(talks.values()) >= 3, "some profiles have several conversations"


def test_orders_follow_recommendations_and_come_from_non_talkers(
    raw_zone: RawZone, conversations: dict[str, list[dict[str, Any]]],
) -> None:
    recommended = {p["product_id"] for _, r in raw_zone.logs if r["type"] == "recommendation"
                   for p in r["products"] if "product_id" in p}
    talkers = {r["profile_id"] for records in conversations.values() for r in records
               if not _blank(r.get("profile_id"))}
    ordered = Counter()
    for order in raw_zone.orders:
        assert order["currency"] in {"USD", "EUR"}
        assert isinstance(order["value"], (int, float)) and order["items"]
        assert not _blank(order.get("profile_id")) or not _blank(order.get("email"))
        ordered["recommended_item"] += any(item["product_id"] in recommended for item in order["items"])
        ordered["by_non_talker"] += order.get("profile_id") is not None and order["profile_id"] not in talkers
        ordered["email_only"] += "profile_id" not in order
    assert all(ordered.values()) and len(ordered) == 3
