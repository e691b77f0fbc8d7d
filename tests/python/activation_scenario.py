"""The raw zone of the activation tests and what the export must make of it, derived by hand (spec §3-§5, §11).

Build 1, segments as of AS_OF_1 = 2026-11-20 12:00 UTC (follow-up due when 11-13 12:00 < t <= 11-20 10:00,
escalations in (11-13 12:00, 11-20 12:00], recommendations in the 30 days before):

ann    p_ann, email and sms subscribed, phone +14155550101. a1 sms 11-10: start ("Hi, this is Ann"),
       recommendation [P2, P1], escalation (knowledge gap). a2 web chat 11-20 08:00: start ("Boots?"), skill,
       recommendation [P1, sku SKU-2] at 08:05, tag, agent resolution at 08:30. 6 events.
       In started, recommended-not-purchased and the follow-up (08:05 is due, email subscribed).
bob    p_bob, email unsubscribed. b1 email 11-19: start, recommendation [P3], escalation. 3 events.
       In started, recommended-not-purchased, escalated; due for the follow-up by time but without email
       consent: never on the follow-up list.
cat    identified by her current email only (messy case). c1 whatsapp 11-18: start, recommendation [P4].
       2 events. Started, recommended-not-purchased, follow-up.
ghost  p_ghost, a profile id the marketing platform does not know. g1 sms 11-19: start, recommendation.
       2 events sent with the id only. Started, recommended-not-purchased (no consent: no follow-up).
hal    p_hal, six conversations h1..h6 on 11-11..11-16, each a start, a recommendation and an agent
       resolution: 18 events (more than one request at small limits). An order on 11-17 after his latest
       recommendation: started only.
x1     anonymous (11-20 09:00): start, recommendation, escalation: 3 events counted and skipped.

Feed: 34 events (12 started, 12 recommendations, 7 resolved, 3 escalated); 31 exported (anonymous: 1 of each
of started, recommendation, escalated).

Build 2 (batch B), as of AS_OF_2 = 2026-11-22 12:00 UTC (follow-up due when 11-15 12:00 < t <= 11-22 10:00,
escalations in (11-15 12:00, 11-22 12:00]): dan (p_dan, email subscribed) d1 web chat 11-21: start,
recommendation [P5] at 09:05; x1 is identified late as eve (p_eve, email unsubscribed): its 3 events get a
profile; ann orders on 11-21 (after her latest recommendation). A `--since-last` export then sends 5 events
(dan 2, eve 3) and the list changes: started +dan +eve, escalated +eve, recommended-not-purchased +dan +eve
-ann, follow-up +dan -ann (eve has no email consent).
"""

from __future__ import annotations

from functools import partial
from typing import Any

from tests.python import raw_records
from tests.python.warehouse import Warehouse

AS_OF_1 = "2026-11-20T12:00:00Z"
AS_OF_2 = "2026-11-22T12:00:00Z"
RECEIVED_A = "2026-11-21T00:00:00Z"
RECEIVED_B = "2026-11-22T11:00:00Z"

STARTED = "Started Conversation with Customer Agent"
RESOLVED = "Conversation with Customer Agent Resolved"
ESCALATED = "Conversation with Customer Agent Escalated"
RECOMMENDATION = "Received Product Recommendation from Customer Agent"

SEGMENTS = ("seg_escalated_recent", "seg_recommendation_followup", "seg_recommended_not_purchased",
            "seg_started_conversation")
LIST_IDS = {  # seeds/klaviyo_lists.csv
    "seg_started_conversation": "replace-me-started",
    "seg_recommended_not_purchased": "replace-me-recommended",
    "seg_escalated_recent": "replace-me-escalated",
    "seg_recommendation_followup": "replace-me-followup",
}

# ---------------------------------------------------------------------------------------- expected, build 1
FEED_EVENTS = 34
EXPORTED_BY_METRIC = {STARTED: 11, RECOMMENDATION: 11, RESOLVED: 7, ESCALATED: 2}
ANONYMOUS_BY_METRIC = {STARTED: 1, RECOMMENDATION: 1, ESCALATED: 1}
EVENTS_PER_PROFILE = {"p_ann": 6, "p_bob": 3, "p_cat": 2, "p_ghost": 2, "p_hal": 18}
CONTACTS = {
    "p_ann": {"email": "ann@example.com", "phone_number": "+14155550101"},
    "p_bob": {"email": "bob@example.com"},
    "p_cat": {"email": "cat@example.com"},
    "p_ghost": {},
    "p_hal": {"email": "hal@example.com", "phone_number": "+14155550108"},
}
MEMBERS_1 = {
    "seg_started_conversation": ["p_ann", "p_bob", "p_cat", "p_ghost", "p_hal"],
    "seg_recommended_not_purchased": ["p_ann", "p_bob", "p_cat", "p_ghost"],
    "seg_escalated_recent": ["p_bob"],
    "seg_recommendation_followup": ["p_ann", "p_cat"],
}
FIRST_MESSAGES = {"a1": "Hi, this is Ann", "a2": "Boots?", "b1": "Help", "c1": "Hello", "g1": "Hey"}

# ---------------------------------------------------------------------------------------- expected, build 2
NEW_EVENTS_2 = {"p_dan": 2, "p_eve": 3}
ADDED_2 = {
    "seg_started_conversation": ["p_dan", "p_eve"],
    "seg_recommended_not_purchased": ["p_dan", "p_eve"],
    "seg_escalated_recent": ["p_eve"],
    "seg_recommendation_followup": ["p_dan"],
}
REMOVED_2 = {
    "seg_started_conversation": [],
    "seg_recommended_not_purchased": ["p_ann"],
    "seg_escalated_recent": [],
    "seg_recommendation_followup": ["p_ann"],
}


log = partial(raw_records.log, received_at=RECEIVED_A)
products = raw_records.products


def hal_conversation(day: int) -> list[dict[str, Any]]:
    conversation = f"h{day}"
    at = f"2026-11-{10 + day:02d}T10:"
    return [
        log(f"{conversation}-1", conversation, at + "00:00Z", "message", "shopper", channel="email",
            text=f"Question {day}", profile_id="p_hal"),
        log(f"{conversation}-2", conversation, at + "05:00Z", "recommendation", "agent",
            products=products(f"H{day}"), format="card"),
        log(f"{conversation}-3", conversation, at + "10:00Z", "status", "agent", status="resolved"),
    ]


def logs_batch_a() -> list[dict[str, Any]]:
    return [
        log("a1-1", "a1", "2026-11-10T09:00:00Z", "message", "shopper", channel="SMS", text="Hi, this is Ann",
            profile_id="p_ann"),
        log("a1-2", "a1", "2026-11-10T09:05:00Z", "recommendation", "agent", products=products("P2", "P1"),
            format="list"),
        log("a1-3", "a1", "2026-11-10T09:10:00Z", "status", "agent", status="escalated",
            escalation_reason="Knowledge Gap"),
        log("a2-1", "a2", "2026-11-20T08:00:00Z", "message", "shopper", channel="Web Chat", text="Boots?",
            profile_id="p_ann"),
        log("a2-2", "a2", "2026-11-20T08:01:00Z", "skill", "agent", skill="Product Recommendations"),
        log("a2-3", "a2", "2026-11-20T08:05:00Z", "recommendation", "agent", products=products("P1", "sku:SKU-2"),
            format="card"),
        log("a2-4", "a2", "2026-11-20T08:06:00Z", "tag", "system", tags=["Boots"]),
        log("a2-5", "a2", "2026-11-20T08:30:00Z", "status", "agent", status="resolved"),
        log("b1-1", "b1", "2026-11-19T10:00:00Z", "message", "shopper", channel="Email", text="Help",
            profile_id="p_bob"),
        log("b1-2", "b1", "2026-11-19T10:05:00Z", "recommendation", "agent", products=products("P3"), format="card"),
        log("b1-3", "b1", "2026-11-19T10:10:00Z", "status", "agent", status="escalated",
            escalation_reason="shopper-requested"),
        log("c1-1", "c1", "2026-11-18T09:00:00Z", "message", "shopper", channel="WhatsApp", text="Hello",
            email="  CAT@Example.com "),
        log("c1-2", "c1", "2026-11-18T09:05:00Z", "recommendation", "agent", products=products("P4"), format="card"),
        log("g1-1", "g1", "2026-11-19T12:00:00Z", "message", "shopper", channel="sms", text="Hey",
            profile_id="p_ghost"),
        log("g1-2", "g1", "2026-11-19T12:01:00Z", "recommendation", "agent", products=products("P6"), format="card"),
        log("x1-1", "x1", "2026-11-20T09:00:00Z", "message", "shopper", channel="sms", text="Anyone?"),
        log("x1-2", "x1", "2026-11-20T09:05:00Z", "recommendation", "agent", products=products("P9"), format="card"),
        log("x1-3", "x1", "2026-11-20T09:10:00Z", "status", "agent", status="escalated",
            escalation_reason="sensitive_topic"),
        *(record for day in range(1, 7) for record in hal_conversation(day)),
    ]


def profiles_batch_a() -> list[dict[str, Any]]:
    return [
        {"profile_id": "p_ann", "email": " Ann@Example.com", "phone_number": "+1 415 555 0101",
         "email_consent": "subscribed", "sms_consent": "subscribed", "updated_at": "2026-11-15T00:00:00Z"},
        {"profile_id": "p_bob", "email": "bob@example.com", "email_consent": "unsubscribed",
         "sms_consent": "never_subscribed", "updated_at": "2026-11-01T00:00:00Z"},
        {"profile_id": "p_cat", "email": "cat@example.com", "email_consent": "subscribed",
         "sms_consent": "unsubscribed", "updated_at": "2026-11-01T00:00:00Z"},
        {"profile_id": "p_hal", "email": "hal@example.com", "phone_number": "(415) 555-0108",
         "email_consent": "subscribed", "sms_consent": "subscribed", "updated_at": "2026-11-01T00:00:00Z"},
    ]


def orders_batch_a() -> list[dict[str, Any]]:
    return [{"order_id": "o-hal", "placed_at": "2026-11-17T10:00:00Z", "profile_id": "p_hal", "currency": "EUR",
             "value": 25.0, "items": [{"product_id": "H6", "sku": "S-H6", "quantity": 1, "price": 25.0}]}]


def write_batch_a(warehouse: Warehouse) -> None:
    warehouse.write("conversation_logs", "dt=2026-11-21/part-0001.jsonl", logs_batch_a())
    warehouse.write("profiles", "dt=2026-11-21/profiles.jsonl", profiles_batch_a())
    warehouse.write("orders", "dt=2026-11-21/orders.jsonl", orders_batch_a())


def write_batch_b(warehouse: Warehouse) -> None:
    warehouse.write("conversation_logs", "dt=2026-11-22/part-0001.jsonl", [
        raw_records.log("d1-1", "d1", "2026-11-21T09:00:00Z", "message", "shopper", RECEIVED_B, channel="webchat",
            text="Gift ideas?", profile_id="p_dan"),
        raw_records.log("d1-2", "d1", "2026-11-21T09:05:00Z", "recommendation", "agent", RECEIVED_B,
            products=products("P5"), format="card"),
        raw_records.log("x1-4", "x1", "2026-11-20T09:20:00Z", "identify", "system", RECEIVED_B, profile_id="p_eve"),
    ])
    warehouse.write("profiles", "dt=2026-11-22/profiles.jsonl", [
        {"profile_id": "p_dan", "email": "dan@example.com", "email_consent": "subscribed",
         "updated_at": "2026-11-21T00:00:00Z"},
        {"profile_id": "p_eve", "email": "eve@example.com", "email_consent": "unsubscribed",
         "sms_consent": "subscribed", "updated_at": "2026-11-21T00:00:00Z"},
    ])
    warehouse.write("orders", "dt=2026-11-22/orders.jsonl", [
        {"order_id": "o-ann", "placed_at": "2026-11-21T10:00:00Z", "profile_id": "p_ann", "currency": "EUR",
         "value": 10.0, "items": [{"product_id": "P1", "sku": "S-P1", "quantity": 1, "price": 10.0}]},
    ])
