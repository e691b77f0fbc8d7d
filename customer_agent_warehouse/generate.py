"""`generate`: write a realistic raw zone (spec §2) of a requested size.

Three sources land under the output directory, one folder each, split by the
UTC day the line was received::

    conversation_logs/dt=2026-11-20/part-0019.jsonl
    orders/dt=2026-11-20/part-0020.jsonl.gz
    profiles/dt=2026-11-01/part-0001.jsonl

Conversations are spread over the days (weekends, Black Friday and Cyber
Monday busier), numbered in day order and cut into chunks of at most
`CHUNK_CONVERSATIONS`. A chunk owns a contiguous range of conversations and
of profiles, draws from its own `random.Random` seeded by (seed, file prefix,
chunk number), and writes its own files, `<prefix>-<chunk number>`, in every
day folder its lines land in (late and re-delivered lines land in later days;
gzip for odd chunk number + day). So the output is byte-identical for the same
arguments whatever the number of workers, and a second run with another
prefix only adds files. Ids embed the seed and the prefix, so two runs never
collide either.

The values are deliberately messy (channel, skill, reason and tag spellings,
emails, phone numbers, timestamp renderings) and the stream carries duplicate
deliveries, late data and a small share of malformed lines in every source.
The shares are the module constants below. Only the standard library is used.
"""

from __future__ import annotations

import argparse
import bisect
import gzip
import hashlib
import itertools
import json
import math
import os
import random
import re
import sys
import time
from dataclasses import dataclass, fields
from datetime import date, timedelta
from multiprocessing import get_context
from pathlib import Path
from typing import Any

from customer_agent_warehouse.arguments import iso_date, non_negative_int, positive_int
from customer_agent_warehouse.ingest.sources import SOURCES
from customer_agent_warehouse.settings import load_settings

DEFAULT_START_DATE = date(2026, 10, 1)
DEFAULT_DAYS = 30
# The CLI's default window ends this many days before today, so that segments evaluated as of now (escalations
# of the last 7 days, follow-ups of recommendations 2 h to 7 days old) have members and no generated time, late
# deliveries included, lies in the future.
DEFAULT_END_MARGIN_DAYS = 2
DEFAULT_SEED = 42
DEFAULT_PREFIX = "part"
DEFAULT_MALFORMED_RATE = 0.002
CHUNK_CONVERSATIONS = 25_000
PROGRESS_MIN_CONVERSATIONS = 10_000
GZIP_LEVEL = 3  # fast; about 7x smaller than the JSON text

MS_SECOND = 1_000
MS_MINUTE = 60_000
MS_HOUR = 3_600_000
MS_DAY = 86_400_000
EPOCH_ORDINAL = date(1970, 1, 1).toordinal()

# --- Shares that shape the data (probabilities) ------------------------------------------------------------------
PROFILES_PER_CONVERSATION = 0.6
TALKER_SHARE = 0.8  # profiles that may talk to the agent; the rest only shop
P_EXPLICIT_OPEN = 0.25  # a leading `status: open`, which repeats the initial status
P_PROACTIVE = 0.15  # the agent writes first
P_SILENT = 0.35  # of proactive conversations: the shopper never writes
P_OPENER_OTHER_CHANNEL = 0.2  # of proactive openers: sent on another channel than the shopper's reply
OUTCOMES = (("agent", 0.50), ("escalated", 0.20), ("human", 0.02), ("abandoned", 0.28))
P_REOPEN = 0.10  # of agent resolutions: re-opened later and resolved again
P_REPEAT_STATUS = 0.08  # the same status written twice
P_HUMAN_AFTER_ESCALATION = 0.60
P_AGENT_AFTER_ESCALATION = 0.05  # the agent marks resolved after an escalation (not a CA resolution)
P_REESCALATE = 0.05  # of human resolutions: re-opened and escalated again
P_SKILL = 0.92  # a skill record after the first shopper message
P_SKILL_SWITCH = 0.15
P_CROSS_SELL = 0.05  # a recommendation outside the product_recommendations skill
P_SECOND_RECOMMENDATION = 0.30
P_EMPTY_RECOMMENDATION = 0.02
P_TAGS = 0.55
P_FEEDBACK = 0.10  # of resolved conversations: a `feedback` record (a type the metrics ignore)
IDENTITY_MODES = (("profile", 0.36), ("email", 0.20), ("phone", 0.12), ("unmatched", 0.03), ("anonymous", 0.29))
P_IDENTITY_ON_FIRST_MESSAGE = 0.40
P_IDENTIFY_RECORD = 0.35  # else identity arrives on a later record
P_IDENTITY_REPEAT = 0.30  # later records carry the identity again
P_LATE = 0.03  # received on a later day, hours after it happened
P_DUPLICATE_LOG = 0.015
P_DUPLICATE_ORDER = 0.01
P_ORDER_AFTER_RECOMMENDATION = 0.35
P_ORDER_WITHOUT_RECOMMENDATION = 0.08
P_ORDER_BEFORE_CONVERSATION = 0.08
BACKGROUND_ORDERS_PER_CONVERSATION = 0.12  # orders by people who never talked to the agent (or guests)
PROFILE_UPDATE_DAYS = 7  # later profile versions fall within this many days after their chunk's days

# --- Vocabulary ----------------------------------------------------------------------------------------------------
CHANNELS = (("web_chat", 0.55), ("sms", 0.15), ("email", 0.14), ("whatsapp", 0.13), ("unknown", 0.03))
CHANNEL_VARIANTS: dict[str, tuple[str, ...]] = {
    "web_chat": ("web_chat", "Web Chat", "webchat", "WEB-CHAT", "Web chat", "web-chat", "WebChat", " web_chat "),
    "sms": ("sms", "SMS", "Sms", " SMS ", "text"),
    "email": ("email", "Email", "e-mail", "EMAIL", "E-Mail", " email"),
    "whatsapp": ("whatsapp", "WhatsApp", "WHATSAPP", "Whatsapp", "whats app"),
    "unknown": ("instagram", "Instagram", "messenger", "TikTok"),
}
SKILLS = (
    ("order_tracking", 0.30), ("product_recommendations", 0.28), ("faq", 0.17), ("returns", 0.15), ("shipping", 0.10),
)
ESCALATION_REASONS = (("knowledge_gap", 0.45), ("shopper_requested", 0.35), ("sensitive_topic", 0.20))
TAGS = (
    "vip", "discount_request", "size_question", "out_of_stock", "negative_sentiment", "positive_sentiment",
    "gift", "shipping_delay", "wismo", "first_purchase",
)
OFFSETS = (
    (60, "+01:00"), (-300, "-05:00"), (120, "+02:00"), (-480, "-08:00"),
    (330, "+05:30"), (-180, "-03:00"), (0, "+00:00"), (540, "+09:00"),
)
SHOPPER_OPENINGS: dict[str, tuple[str, ...]] = {
    "order_tracking": (
        "Where is my order #{n}?", "Hi, my package hasn't arrived yet", "Can you track order {n} for me?",
        "Ordine {n}: quando arriva?", "it says delivered but I got nothing",
    ),
    "product_recommendations": (
        "I'm looking for a gift for my mum", "Do you have running shoes for flat feet?",
        "Which moisturiser is best for dry skin?", "Cerco una giacca impermeabile", "something warm for winter hikes?",
    ),
    "returns": (
        "I want to return the shoes I bought", "How do I send back a jacket that's too small?",
        "Can I exchange order #{n}?", "the zip broke after two days 😡",
    ),
    "faq": (
        "Do you ship to Canada?", "What are your opening hours?", "Do you have a loyalty programme?",
        "Is there a discount code for new customers?",
    ),
    "shipping": (
        "How long does express shipping take?", "How much is shipping to Italy?", "Can I change my delivery address?",
    ),
}
SHOPPER_FOLLOW_UPS = (
    "ok thanks", "Yes please", "Can you check again?", "That's not what I asked", "👍", "What about size M?",
    "and in blue?", "How much is it?", "perfect", "no", "I need it by Friday", "Grazie mille!",
)
SHOPPER_THANKS = ("Thanks, that's all!", "great, thank you", "thx", "Perfect, thank you!")
AGENT_REPLIES: dict[str, tuple[str, ...]] = {
    "order_tracking": (
        "Your order #{n} left our warehouse yesterday and should arrive in 2 days.",
        "I can see order #{n} is with the courier. Here is the tracking link.",
    ),
    "product_recommendations": (
        "Here are a few options you might like.", "Based on what you told me, these are our best sellers.",
    ),
    "returns": (
        "You can return any item within 30 days. I've emailed you a prepaid label.",
        "I've started an exchange for order #{n}.",
    ),
    "faq": ("Yes, we ship to over 40 countries.", "Our support is available 24/7 here in chat."),
    "shipping": ("Express shipping takes 1-2 business days.", "Standard shipping is free above $50."),
}
AGENT_OPENERS = (
    "Hi! 👋 Need help finding the right size?", "Welcome back! Your cart is waiting, any questions?",
    "Hi there, can I help you with your order?", "New arrivals just dropped. Want some picks?",
)
AGENT_CLOSINGS = ("Is there anything else I can help with?", "Happy to help! Have a great day.")
AGENT_HANDOFFS = ("Let me connect you with a colleague.", "I'm passing you to our customer care team.")
HUMAN_MESSAGES = (
    "Hi, this is Sam from customer care, I'm taking over.", "I've issued a refund, you'll see it in 3-5 days.",
    "Sorry about that! I've sent a replacement.", "Thanks for waiting, let me look into this.",
)
FIRST_NAMES = (
    "maria", "giulia", "sofia", "emma", "olivia", "ava", "mia", "chloe", "lucia", "anna", "sara", "laura", "noah",
    "liam", "james", "lucas", "marco", "luca", "matteo", "alex", "sam", "ethan", "leo", "omar", "wei", "yuki",
    "priya", "aisha", "diego", "pablo", "jonas", "lars",
)
LAST_NAMES = (
    "rossi", "bianchi", "smith", "johnson", "garcia", "brown", "ferrari", "esposito", "miller", "davis", "lopez",
    "wilson", "moore", "taylor", "ricci", "romano", "costa", "martin", "lee", "walker", "hall", "young", "king",
    "wright", "scott", "green", "baker", "adams", "nelson", "hill", "conti", "gallo",
)
EMAIL_DOMAINS = ("gmail.com", "yahoo.com", "outlook.com", "icloud.com", "hotmail.com", "libero.it", "proton.me",
                 "example.org")
AREA_CODES = ("415", "212", "646", "312", "617", "206", "305", "512", "303", "702", "213", "404", "718", "917",
              "503", "614")
PLAIN_TEXT_LINES = (
    "ERROR upstream timeout while exporting batch",
    "<html><body>502 Bad Gateway</body></html>",
    "--- export interrupted ---",
    "Traceback (most recent call last): KeyError: 'payload'",
)
BAD_TIMESTAMPS = ("yesterday", "N/A", "sometime last week", "not-a-date")
CONSENTS = ("subscribed", "unsubscribed", "never_subscribed")
PRODUCT_FAMILIES = ("SHOE", "JKT", "TEE", "BAG", "HAT", "SKIN", "SOCK", "GIFT")
CATALOGUE_SIZE = 480
PRODUCT_IDS = tuple(f"prod-{i:05d}" for i in range(CATALOGUE_SIZE))
PRODUCT_SKUS = tuple(f"{PRODUCT_FAMILIES[i % len(PRODUCT_FAMILIES)]}-{1000 + i * 7:05d}" for i in range(CATALOGUE_SIZE))
PRODUCT_PRICES_USD = tuple(round(9.99 + (i * 37) % 190, 2) for i in range(CATALOGUE_SIZE))
EUR_PER_USD = 0.92

_DAY_STRINGS: dict[int, str] = {}
_CLOCK = tuple(f"{s // 3600:02d}:{s // 60 % 60:02d}:{s % 60:02d}" for s in range(86_400))
_PREFIX_PATTERN = re.compile(r"[A-Za-z0-9][A-Za-z0-9_.-]{0,63}")


def _make_encoder() -> Any:
    """Compact JSON (no spaces, UTF-8 text kept as is), calling the C encoder directly when available."""
    c_make_encoder = getattr(json.encoder, "c_make_encoder", None)
    c_encode_basestring = getattr(json.encoder, "c_encode_basestring", None)
    if c_make_encoder is None or c_encode_basestring is None:
        return json.JSONEncoder(separators=(",", ":"), ensure_ascii=False).encode
    encoder = c_make_encoder(None, None, c_encode_basestring, None, ":", ",", False, False, True)
    join = "".join

    def encode(record: Any) -> str:
        return join(encoder(record, 0))

    return encode


_encode = _make_encoder()


@dataclass
class GenerationStats:
    """Counts of what a run wrote. Line counts include duplicate and malformed lines."""

    conversations: int = 0
    log_lines: int = 0
    order_lines: int = 0
    profile_lines: int = 0
    malformed_lines: int = 0
    duplicate_lines: int = 0
    files: int = 0

    def add(self, other: GenerationStats) -> None:
        for field in fields(self):
            setattr(self, field.name, getattr(self, field.name) + getattr(other, field.name))


@dataclass(frozen=True)
class _RunConfig:
    out_dir: str
    seed: int
    prefix: str
    start_day: int  # days since the epoch
    days: int
    conversations: int
    profiles: int
    talkers: int
    malformed_rate: float
    salt: int
    tag: str


@dataclass(frozen=True)
class _Chunk:
    index: int  # 1-based, the number in the file names
    first: int  # number of the first conversation
    count: int
    days: tuple[tuple[int, int], ...]  # (day since the epoch, conversations starting that day)
    profile_lo: int
    profile_hi: int

    def label(self) -> str:
        first, last = _day_string(self.days[0][0]), _day_string(self.days[-1][0])
        return first if first == last else f"{first}..{last}"


@dataclass(frozen=True, slots=True)
class _Person:
    profile_id: str
    email: str | None  # current email, canonical (lower case)
    old_email: str | None  # the email before it changed in a later version
    phone: str | None  # current phone, E.164
    versions: int
    euro: bool


# --- Time rendering ------------------------------------------------------------------------------------------------
def _day_string(day: int) -> str:
    text = _DAY_STRINGS.get(day)
    if text is None:
        text = date.fromordinal(EPOCH_ORDINAL + day).isoformat()
        _DAY_STRINGS[day] = text
    return text


def format_iso(ms: int, suffix: str = "Z", with_ms: bool = False) -> str:
    """Epoch milliseconds as ISO-8601 (`suffix` is `Z` or an offset the caller already applied)."""
    day, rest = divmod(ms, MS_DAY)
    day_text = _DAY_STRINGS.get(day) or _day_string(day)
    if with_ms:
        return f"{day_text}T{_CLOCK[rest // 1000]}.{rest % 1000:03d}{suffix}"
    return f"{day_text}T{_CLOCK[rest // 1000]}{suffix}"


def render_time(rng: random.Random, ms: int) -> str | int:
    """One instant in one of the renderings the sources use (ISO Z, ISO with milliseconds, offset, epoch ms)."""
    r = rng.random()
    if r < 0.55:
        return format_iso(ms)
    if r < 0.70:
        return format_iso(ms, with_ms=True)
    if r < 0.85:
        minutes, label = OFFSETS[int(rng.random() * len(OFFSETS))]
        return format_iso(ms + minutes * MS_MINUTE, label, with_ms=r < 0.78)
    return ms


# --- Messy values --------------------------------------------------------------------------------------------------
def _weighted(rng: random.Random, table: tuple[tuple[str, float], ...]) -> str:
    r = rng.random()
    for value, share in table:
        r -= share
        if r < 0:
            return value
    return table[-1][0]


def _pick(rng: random.Random, values: tuple[str, ...]) -> str:
    return values[int(rng.random() * len(values))]


def messy_label(rng: random.Random, canonical: str) -> str:
    """A label written in a way that normalises back to `canonical` (trim, lower, spaces/dashes to `_`)."""
    r = rng.random()
    if r < 0.50:
        return canonical
    if r < 0.65:
        return canonical.replace("_", " ").title()
    if r < 0.75:
        return canonical.replace("_", "-")
    if r < 0.85:
        return canonical.upper()
    if r < 0.93:
        return f" {canonical.replace('_', '-')} "
    return canonical.replace("_", " ")


def messy_email(rng: random.Random, email: str) -> str:
    r = rng.random()
    if r < 0.40:
        return email
    if r < 0.60:
        return email.title()
    if r < 0.70:
        return email.upper()
    if r < 0.85:
        return f" {email} "
    return f"  {email.title()}"


def messy_phone(rng: random.Random, e164: str) -> str:
    """A phone number with spaces, dashes, brackets, with or without the +1 prefix."""
    if not e164.startswith("+1"):
        rest = e164[3:]
        head, tail = rest[:4], rest[4:]
        return _pick(rng, (f"+44 {head} {tail}", e164, f"+44-{head}-{tail}", f"+44 ({head}) {tail}"))
    area, exchange, line = e164[2:5], e164[5:8], e164[8:]
    r = int(rng.random() * 10)
    if r == 0:
        return f"({area}) {exchange}-{line}"
    if r == 1:
        return f"{area}-{exchange}-{line}"
    if r == 2:
        return f"+1 {area} {exchange} {line}"
    if r == 3:
        return e164
    if r == 4:
        return f"{area}{exchange}{line}"
    if r == 5:
        return f"+1 ({area}) {exchange}-{line}"
    if r == 6:
        return f"1-{area}-{exchange}-{line}"
    if r == 7:
        return f" {area} {exchange} {line} "
    if r == 8:
        return f"+1-{area}-{exchange}-{line}"
    return f"({area}){exchange}-{line}"


# --- People --------------------------------------------------------------------------------------------------------
def _mix64(value: int) -> int:
    """SplitMix64 finaliser: a cheap, well-spread hash of an integer."""
    value = (value + 0x9E3779B97F4A7C15) & 0xFFFFFFFFFFFFFFFF
    value = ((value ^ (value >> 30)) * 0xBF58476D1CE4E5B9) & 0xFFFFFFFFFFFFFFFF
    value = ((value ^ (value >> 27)) * 0x94D049BB133111EB) & 0xFFFFFFFFFFFFFFFF
    return value ^ (value >> 31)


def person(cfg: _RunConfig, number: int) -> _Person:
    """Profile `number` of the run: a pure function, so every chunk agrees on who a shopper is."""
    h1 = _mix64(cfg.salt ^ number)
    h2 = _mix64(h1)
    first, last = FIRST_NAMES[h1 & 31], LAST_NAMES[(h1 >> 5) & 31]
    email = None
    old_email = None
    if (h1 >> 10) % 100 >= 4:
        email = f"{first}.{last}.{number}{cfg.tag}@{EMAIL_DOMAINS[(h1 >> 17) & 7]}"
    versions = 1 + ((h2 % 100) >= 74) + ((h2 % 100) >= 93)
    if email and versions > 1 and (h2 >> 7) % 100 < 35:
        old_email = f"{first}{last}{number}{cfg.tag}@{EMAIL_DOMAINS[(h2 >> 14) & 7]}"
    phone = None
    if (h1 >> 20) % 100 < 85 or email is None:
        subscriber = (number * 7919 + cfg.salt) % 8_000_000 + 2_000_000
        if (h1 >> 27) % 100 < 5:
            phone = f"+447{(number * 7919 + cfg.salt) % 1_000_000_000:09d}"
        else:
            phone = f"+1{AREA_CODES[(h1 >> 34) & 15]}{subscriber}"
    return _Person(f"prof-{cfg.seed}-{cfg.prefix}-{number:07d}", email, old_email, phone, versions,
                   (h2 >> 21) % 100 < 20)


# --- Conversation timeline -----------------------------------------------------------------------------------------
@dataclass(slots=True)
class _Record:
    at: int
    kind: str
    actor: str | None
    extra: dict[str, Any]
    channel: str | None = None
    identity: dict[str, str] | None = None


class _Timeline:
    """Records of one conversation in time order; consecutive records are at least 2 s apart."""

    __slots__ = ("at", "recommendations", "records", "rng")

    def __init__(self, rng: random.Random, start: int) -> None:
        self.rng = rng
        self.at = start
        self.records: list[_Record] = []
        self.recommendations: list[tuple[int, list[int]]] = []

    def wait(self, low_s: float, high_s: float) -> None:
        self.at += max(2 * MS_SECOND, int(1000 * (low_s + (high_s - low_s) * self.rng.random())))

    def add(self, kind: str, actor: str | None, extra: dict[str, Any]) -> None:
        self.records.append(_Record(self.at, kind, actor, extra))

    def say(self, actor: str, text: str) -> None:
        if "{n}" in text:
            text = text.replace("{n}", str(100000 + int(self.rng.random() * 900000)))
        self.add("message", actor, {"text": text})

    def status(self, actor: str | None, status: str, extra: dict[str, Any] | None = None) -> None:
        fields_ = {"status": status}
        if extra:
            fields_.update(extra)
        self.add("status", actor, fields_)


def _recommend(tl: _Timeline) -> None:
    rng = tl.rng
    if rng.random() < P_EMPTY_RECOMMENDATION:
        tl.add("recommendation", "agent", {"products": [], "format": "list"})
        return
    chosen: list[int] = []
    for _ in range(1 + int(rng.random() * 4)):
        product = int(CATALOGUE_SIZE * rng.random() ** 2)
        if product not in chosen:
            chosen.append(product)
    products = []
    for product in chosen:
        r = rng.random()
        if r < 0.6:
            products.append({"product_id": PRODUCT_IDS[product], "sku": PRODUCT_SKUS[product]})
        elif r < 0.8:
            products.append({"product_id": PRODUCT_IDS[product]})
        else:
            products.append({"sku": PRODUCT_SKUS[product]})
    extra: dict[str, Any] = {"products": products}
    r = rng.random()
    if r < 0.95:
        extra["format"] = "card" if r < 0.58 else "list"
    tl.add("recommendation", "agent", extra)
    tl.recommendations.append((tl.at, chosen))


def _tag(tl: _Timeline) -> None:
    rng = tl.rng
    tags = [messy_label(rng, _pick(rng, TAGS)) for _ in range(1 + int(rng.random() * 3))]
    tl.add("tag", "system" if rng.random() < 0.5 else None, {"tags": tags})


def _silent_conversation(tl: _Timeline) -> None:
    """A proactive opener the shopper never answers."""
    rng = tl.rng
    if rng.random() < 0.5:
        tl.wait(3600, 6 * 3600)
        tl.say("agent", "Just checking in, let me know if you have questions!")
    if rng.random() < 0.3:
        tl.wait(2, 10)
        _tag(tl)
    if rng.random() < 0.5:
        tl.wait(6 * 3600, 24 * 3600)
        tl.status("system", "closed")


def _conversation_body(tl: _Timeline, intent: str, tag_turns: set[int]) -> None:
    """First shopper message, skill, turns with replies, recommendations and tags."""
    rng = tl.rng
    tl.say("shopper", _pick(rng, SHOPPER_OPENINGS[intent]))
    skill = intent
    if rng.random() < P_SKILL:
        tl.wait(2, 4)
        tl.add("skill", "agent" if rng.random() < 0.8 else "system", {"skill": messy_label(rng, skill)})
    turns = 1 + int(rng.random() * 3.8)
    cross_sell_turn = int(rng.random() * turns) if rng.random() < P_CROSS_SELL else -1
    switch_turn = 1 + int(rng.random() * turns) if rng.random() < P_SKILL_SWITCH else -1
    for turn in range(turns):
        if turn == switch_turn:
            skill = _weighted(rng, SKILLS)
            tl.wait(2, 6)
            tl.add("skill", "agent", {"skill": messy_label(rng, skill)})
        tl.wait(2, 12)
        tl.say("agent", _pick(rng, AGENT_REPLIES[skill]))
        wants_second = turn > 0 and rng.random() < P_SECOND_RECOMMENDATION
        if (skill == "product_recommendations" and (turn == 0 or wants_second)) or turn == cross_sell_turn:
            tl.wait(2, 5)
            _recommend(tl)
        if turn in tag_turns:
            tl.wait(2, 4)
            _tag(tl)
        if turn < turns - 1 or rng.random() < 0.4:
            tl.wait(10, 240)
            tl.say("shopper", _pick(rng, SHOPPER_FOLLOW_UPS))


def _resolve_by_agent(tl: _Timeline) -> None:
    rng = tl.rng
    tl.wait(3, 20)
    tl.say("agent", _pick(rng, AGENT_CLOSINGS))
    if rng.random() < 0.6:
        tl.wait(10, 120)
        tl.say("shopper", _pick(rng, SHOPPER_THANKS))
    tl.wait(2, 30)
    tl.status("agent", "resolved")
    if rng.random() < P_REPEAT_STATUS:
        tl.wait(2, 5)
        tl.status("agent" if rng.random() < 0.5 else "system", "resolved")
    if rng.random() < P_REOPEN:
        tl.wait(3600, 20 * 3600)
        tl.say("shopper", "Actually it still hasn't arrived")
        tl.wait(2, 5)
        tl.status("system" if rng.random() < 0.6 else "shopper", "open")
        tl.wait(2, 15)
        tl.say("agent", "Sorry about that, I've asked the courier to check.")
        tl.wait(30, 600)
        tl.status("agent", "resolved")
    _maybe_feedback(tl)
    if rng.random() < 0.25:
        tl.wait(1800, 86400)
        tl.status("system", "closed")


def _maybe_feedback(tl: _Timeline) -> None:
    if tl.rng.random() < P_FEEDBACK:
        tl.wait(30, 600)
        tl.add("feedback", "shopper", {"rating": 1 + int(tl.rng.random() * 5)})


def _escalation_fields(rng: random.Random) -> dict[str, Any]:
    r = rng.random()
    if r < 0.12:
        return {}
    if r < 0.15:
        return {"escalation_reason": ""}
    return {"escalation_reason": messy_label(rng, _weighted(rng, ESCALATION_REASONS))}


def _escalate(tl: _Timeline) -> None:
    rng = tl.rng
    tl.wait(3, 30)
    if rng.random() < 0.8:
        tl.say("agent", _pick(rng, AGENT_HANDOFFS))
        tl.wait(2, 5)
    tl.status("agent" if rng.random() < 0.85 else "system", "escalated", _escalation_fields(rng))
    if rng.random() < P_REPEAT_STATUS:
        tl.wait(2, 10)
        tl.status("system", "escalated")
    r = rng.random()
    if r < P_HUMAN_AFTER_ESCALATION:
        _human_takes_over(tl)
    elif r < P_HUMAN_AFTER_ESCALATION + P_AGENT_AFTER_ESCALATION:
        tl.wait(60, 1800)
        tl.say("agent", _pick(rng, AGENT_CLOSINGS))
        tl.wait(2, 10)
        tl.status("agent", "resolved")
    elif rng.random() < 0.4:
        tl.wait(6 * 3600, 30 * 3600)
        tl.status("system", "closed")


def _human_takes_over(tl: _Timeline) -> None:
    rng = tl.rng
    tl.wait(120, 3 * 3600)
    tl.say("human", _pick(rng, HUMAN_MESSAGES))
    if rng.random() < 0.7:
        tl.wait(30, 600)
        tl.say("shopper", _pick(rng, SHOPPER_FOLLOW_UPS))
    tl.wait(60, 1800)
    tl.say("human", _pick(rng, HUMAN_MESSAGES))
    tl.wait(2, 20)
    tl.status("human", "resolved")
    _maybe_feedback(tl)
    if rng.random() < P_REESCALATE:
        tl.wait(3600, 12 * 3600)
        tl.say("shopper", "It happened again with my new order")
        tl.wait(2, 5)
        tl.status("system", "open")
        tl.wait(2, 10)
        tl.say("agent", _pick(rng, AGENT_HANDOFFS))
        tl.wait(2, 5)
        tl.status("agent", "escalated", _escalation_fields(rng))


def _resolve_by_human(tl: _Timeline) -> None:
    rng = tl.rng
    tl.wait(60, 1800)
    tl.say("human", _pick(rng, HUMAN_MESSAGES))
    tl.wait(2, 60)
    tl.status("human", "resolved")


def _abandon(tl: _Timeline) -> None:
    if tl.rng.random() < 0.5:
        tl.wait(3600, 24 * 3600)
        tl.status("system", "closed")


OUTCOME_HANDLERS = {"agent": _resolve_by_agent, "escalated": _escalate, "human": _resolve_by_human,
                    "abandoned": _abandon}


def build_timeline(rng: random.Random, start: int) -> tuple[_Timeline, int | None]:
    """The records of one conversation and the index of its first shopper message (None: the shopper never writes)."""
    tl = _Timeline(rng, start)
    if rng.random() < P_EXPLICIT_OPEN:
        tl.status("system", "open")
        tl.wait(2, 5)
    if rng.random() < P_PROACTIVE:
        tl.say("agent", _pick(rng, AGENT_OPENERS))
        if rng.random() < P_SILENT:
            _silent_conversation(tl)
            return tl, None
        tl.wait(20, 900)
    first_shopper = len(tl.records)
    tag_turns = {int(rng.random() * 4) for _ in range(1 + (rng.random() < 0.3))} if rng.random() < P_TAGS else set()
    _conversation_body(tl, _weighted(rng, SKILLS), tag_turns)
    OUTCOME_HANDLERS[_weighted(rng, OUTCOMES)](tl)
    return tl, first_shopper


# --- Chunk generator -----------------------------------------------------------------------------------------------
class _ChunkGenerator:
    """Generates and writes everything one chunk owns."""

    def __init__(self, cfg: _RunConfig, chunk: _Chunk) -> None:
        self.cfg = cfg
        self.chunk = chunk
        self.rng = random.Random(f"{cfg.seed}:{cfg.prefix}:{chunk.index}")
        self.namespace = f"{cfg.seed}-{cfg.prefix}"
        self.buckets: dict[str, dict[int, list[tuple[int, str]]]] = {source: {} for source in SOURCES}
        self.stats = GenerationStats(conversations=chunk.count)
        self.people: dict[int, _Person] = {}
        self.order_seq = 0

    # -- output buffers --
    def _emit(self, source: str, received: int, line: str) -> None:
        day = received // MS_DAY
        bucket = self.buckets[source].get(day)
        if bucket is None:
            bucket = self.buckets[source][day] = []
        bucket.append((received, line))

    def _person(self, number: int) -> _Person:
        found = self.people.get(number)
        if found is None:
            found = self.people[number] = person(self.cfg, number)
        return found

    # -- conversations --
    def conversations(self) -> None:
        rng = self.rng
        number = self.chunk.first
        for day, count in self.chunk.days:
            for _ in range(count):
                r = rng.random()
                offset = 8 * MS_HOUR + r / 0.7 * 15 * MS_HOUR if r < 0.7 else (r - 0.7) / 0.3 * MS_DAY
                self._conversation(number, day * MS_DAY + int(offset))
                number += 1

    def _conversation(self, number: int, start: int) -> None:
        rng = self.rng
        tl, first_shopper = build_timeline(rng, start)
        records = tl.records
        buyer = self._identify(records, first_shopper)
        self._label_channels(records, first_shopper)
        conversation_id = f"conv-{self.namespace}-{number:07d}"
        log_prefix = f"log-{self.namespace}-{number:07d}-"
        for index, record in enumerate(records):
            self._emit_record(f"{log_prefix}{index:03d}", conversation_id, record)
        if buyer is not None:
            self._conversation_orders(buyer, tl, start)

    def _emit_record(self, log_id: str, conversation_id: str, record: _Record) -> None:
        rng = self.rng
        at = record.at
        if rng.random() < P_LATE:
            next_midnight = (at // MS_DAY + 1) * MS_DAY
            received = next_midnight + int(rng.random() * 18 * MS_HOUR) + (MS_DAY if rng.random() < 0.1 else 0)
        else:
            received = at + 200 + int(30_000 * rng.random() ** 3)
        line: dict[str, Any] = {
            "log_id": log_id,
            "conversation_id": conversation_id,
            "occurred_at": render_time(rng, at),
            "received_at": format_iso(received, with_ms=True),
        }
        if record.channel is not None:
            line["channel"] = record.channel
        line["type"] = record.kind
        if record.actor is not None:
            line["actor"] = record.actor
        line.update(record.extra)
        if record.identity:
            line.update(record.identity)
        self._emit("conversation_logs", received, _encode(line))
        if rng.random() < P_DUPLICATE_LOG:
            if rng.random() < 0.7:
                received += MS_SECOND + int(rng.random() * 10 * MS_MINUTE)
            else:
                received += MS_HOUR + int(rng.random() * 35 * MS_HOUR)
            line["received_at"] = format_iso(received, with_ms=True)
            self._emit("conversation_logs", received, _encode(line))
            self.stats.duplicate_lines += 1

    def _label_channels(self, records: list[_Record], first_shopper: int | None) -> None:
        rng = self.rng
        if rng.random() < 0.02:
            return  # no record says the channel
        channel = _weighted(rng, CHANNELS)
        variants = CHANNEL_VARIANTS[channel]
        main = variants[0] if rng.random() < 0.4 else _pick(rng, variants)
        skip = 1 + int(rng.random() * 2) if rng.random() < 0.15 else 0
        for index in range(skip, len(records)):
            r = rng.random()
            if r < 0.78:
                records[index].channel = main
            elif r < 0.88:
                records[index].channel = _pick(rng, variants)
            elif r < 0.89:
                records[index].channel = ""
        opener = records[first_shopper - 1] if first_shopper else None
        if opener is not None and opener.kind == "message" and rng.random() < P_OPENER_OTHER_CHANNEL:
            opener.channel = _pick(rng, CHANNEL_VARIANTS[_weighted(rng, CHANNELS[:4])])

    def _identify(self, records: list[_Record], first_shopper: int | None) -> _Person | None:
        """Attach who the shopper is to some records; return the profile when it resolves to one."""
        rng = self.rng
        if first_shopper is None:
            mode = "profile" if rng.random() < 0.5 else "anonymous"
        else:
            mode = _weighted(rng, IDENTITY_MODES)
        if mode == "anonymous":
            return None
        who = self._person(int(self.cfg.talkers * rng.random() ** 1.7))
        first, later, buyer = self._identity_values(mode, who)
        at = self._identity_position(records, first_shopper or 0)
        records[at].identity = first
        for record in records[at + 1:]:
            if rng.random() < P_IDENTITY_REPEAT:
                record.identity = later()
        return buyer

    def _identity_values(self, mode: str, who: _Person) -> tuple[dict[str, str], Any, _Person | None]:
        rng = self.rng
        if mode == "email" and who.email is None:
            mode = "phone"
        if mode == "phone" and who.phone is None:
            mode = "profile"
        if mode == "unmatched":
            email = who.old_email or f"guest.{self.chunk.index}.{int(rng.random() * 1e6)}{self.cfg.tag}@mail.test"
            return {"email": messy_email(rng, email)}, lambda: {"email": messy_email(rng, email)}, None
        profile_id = who.profile_id
        if mode == "profile":
            first = {"profile_id": profile_id}
            if who.email and rng.random() < 0.25:
                first["email"] = messy_email(rng, who.email)
            return first, lambda: {"profile_id": profile_id}, who
        if mode == "email":
            email = who.email or ""
            return ({"email": messy_email(rng, email)},
                    lambda: {"profile_id": profile_id} if rng.random() < 0.15 else {"email": messy_email(rng, email)},
                    who)
        phone = who.phone or ""
        return {"phone_number": messy_phone(rng, phone)}, lambda: {"phone_number": messy_phone(rng, phone)}, who

    def _identity_position(self, records: list[_Record], first_shopper: int) -> int:
        """Index of the record that first carries the identity; may insert an `identify` record."""
        rng = self.rng
        r = rng.random()
        last = len(records) - 1
        if r < P_IDENTITY_ON_FIRST_MESSAGE or first_shopper >= last:
            return first_shopper
        after = first_shopper + int(rng.random() * (last - first_shopper + 1))
        if r < P_IDENTITY_ON_FIRST_MESSAGE + P_IDENTIFY_RECORD:
            if after < last:
                at = (records[after].at + records[after + 1].at) // 2
            else:
                at = records[after].at + 2 * MS_SECOND + int(rng.random() * 5 * MS_SECOND)
            records.insert(after + 1, _Record(at, "identify", "system" if rng.random() < 0.5 else None, {}))
            return after + 1
        return min(after + 1, last)

    # -- orders --
    def _conversation_orders(self, buyer: _Person, tl: _Timeline, start: int) -> None:
        rng = self.rng
        if tl.recommendations:
            if rng.random() < P_ORDER_AFTER_RECOMMENDATION:
                at, products = tl.recommendations[-1]
                self._order(buyer, at + self._purchase_delay(), products)
        elif rng.random() < P_ORDER_WITHOUT_RECOMMENDATION:
            self._order(buyer, tl.records[-1].at + 5 * MS_MINUTE + int(rng.random() * 2 * MS_DAY), [])
        if rng.random() < P_ORDER_BEFORE_CONVERSATION:
            self._order(buyer, start - MS_HOUR - int(rng.random() * 4 * MS_DAY), [])

    def _purchase_delay(self) -> int:
        r = self.rng.random()
        if r < 0.60:
            return 2 * MS_MINUTE + int(r / 0.6 * 3 * MS_HOUR)
        if r < 0.85:
            return 3 * MS_HOUR + int((r - 0.6) / 0.25 * 45 * MS_HOUR)
        return 2 * MS_DAY + int((r - 0.85) / 0.15 * 2 * MS_DAY)

    def background_orders(self) -> None:
        """Orders by people who never talked to the agent (or by guests)."""
        rng = self.rng
        for day, conversations in self.chunk.days:
            for _ in range(_stochastic_round(rng, conversations * BACKGROUND_ORDERS_PER_CONVERSATION)):
                self._background_order(day * MS_DAY + int(rng.random() * MS_DAY))

    def _background_order(self, at: int) -> None:
        rng = self.rng
        cfg = self.cfg
        r = rng.random()
        if r < 0.15:
            email = f"guest.{self.chunk.index}.{self.order_seq}{cfg.tag}@{_pick(rng, EMAIL_DOMAINS)}"
            self._order(None, at, [], guest_email=email)
        elif r < 0.75 and cfg.profiles > cfg.talkers:
            self._order(self._person(cfg.talkers + int(rng.random() * (cfg.profiles - cfg.talkers))), at, [])
        else:
            self._order(self._person(int(rng.random() * cfg.profiles)), at, [])

    def _order(self, buyer: _Person | None, at: int, recommended: list[int], guest_email: str = "") -> None:
        rng = self.rng
        self.order_seq += 1
        order: dict[str, Any] = {
            "order_id": f"ord-{self.namespace}-{self.chunk.index:04d}-{self.order_seq:06d}",
            "placed_at": render_time(rng, at),
        }
        if buyer is None:
            order["email"] = messy_email(rng, guest_email)
        else:
            r = rng.random()
            if r < 0.45 or buyer.email is None:
                order["profile_id"] = buyer.profile_id
            elif r < 0.75:
                order["email"] = messy_email(rng, buyer.email)
            else:
                order["profile_id"] = buyer.profile_id
                order["email"] = messy_email(rng, buyer.email)
        euro = buyer.euro if buyer is not None else rng.random() < 0.2
        order["currency"] = "EUR" if euro else "USD"
        items, value = self._order_items(recommended, euro)
        order["value"] = value
        order["items"] = items
        self._emit_order(at, _encode(order))

    def _order_items(self, recommended: list[int], euro: bool) -> tuple[list[dict[str, Any]], float]:
        rng = self.rng
        products: list[int] = []
        if recommended and rng.random() < 0.7:
            products.append(recommended[int(rng.random() * len(recommended))])
        for _ in range(int(rng.random() * 2.6) + (not products)):
            product = int(CATALOGUE_SIZE * rng.random() ** 2)
            if product not in products:
                products.append(product)
        items = []
        total = 0.0
        for product in products:
            quantity = 1 if rng.random() < 0.8 else 2 + int(rng.random() * 2)
            price = PRODUCT_PRICES_USD[product]
            if euro:
                price = round(price * EUR_PER_USD, 2)
            items.append({"product_id": PRODUCT_IDS[product], "sku": PRODUCT_SKUS[product], "quantity": quantity,
                          "price": price})
            total += quantity * price
        if rng.random() < 0.3:
            total += 4.99
        return items, round(total, 2)

    def _emit_order(self, at: int, line: str) -> None:
        rng = self.rng
        if rng.random() < P_LATE:
            received = (at // MS_DAY + 1) * MS_DAY + int(rng.random() * 12 * MS_HOUR)
        else:
            received = at + int(rng.random() * 5 * MS_MINUTE)
        received = max(received, self.cfg.start_day * MS_DAY)  # older orders came with the first export
        self._emit("orders", received, line)
        if rng.random() < P_DUPLICATE_ORDER:
            received += MS_MINUTE + int(rng.random() * (30 * MS_HOUR if rng.random() < 0.5 else 10 * MS_MINUTE))
            self._emit("orders", received, line)
            self.stats.duplicate_lines += 1

    # -- profiles --
    def profiles(self) -> None:
        for number in range(self.chunk.profile_lo, self.chunk.profile_hi):
            self._profile_versions(self._person(number))

    def _profile_versions(self, who: _Person) -> None:
        """Versions of one profile: the first predates the window (delivered on its first day).

        Later versions fall in the window, near the chunk's own days, so that a chunk writes few profile files.
        """
        rng = self.rng
        start = self.cfg.start_day * MS_DAY
        update_from = self.chunk.days[0][0] * MS_DAY
        window_end = (self.cfg.start_day + self.cfg.days) * MS_DAY
        update_to = min((self.chunk.days[-1][0] + PROFILE_UPDATE_DAYS) * MS_DAY, window_end)
        update_span = max(MS_DAY, update_to - update_from)
        times = [start - MS_DAY - int(rng.random() * 500 * MS_DAY)]
        times += sorted(update_from + int(rng.random() * update_span) for _ in range(who.versions - 1))
        email_consent, sms_consent = _initial_consent(rng)
        phone_from = 1 if who.phone and who.versions > 1 and rng.random() < 0.1 else 0
        for version, at in enumerate(times):
            last = version == who.versions - 1
            if version:
                changes_email = last and who.old_email is not None
                email_consent, sms_consent = _changed_consent(rng, email_consent, sms_consent, not changes_email)
            line: dict[str, Any] = {"profile_id": who.profile_id}
            email = who.email if last or who.old_email is None else who.old_email
            if email:
                line["email"] = email if rng.random() < 0.75 else messy_email(rng, email)
            has_phone = bool(who.phone) and version >= phone_from
            if has_phone:
                line["phone_number"] = messy_phone(rng, who.phone)
            # Consent to a channel needs an address on it: a profile without one has never subscribed.
            line["email_consent"] = email_consent if email else "never_subscribed"
            line["sms_consent"] = sms_consent if has_phone else "never_subscribed"
            line["updated_at"] = _render_profile_time(rng, at)
            self._emit("profiles", max(at, start), _encode(line))

    # -- malformed lines --
    def malformed(self) -> None:
        first_chunk = self.chunk.index == 1
        for source, builder in (("conversation_logs", _bad_log_line), ("orders", _bad_order_line),
                                ("profiles", _bad_profile_line)):
            buckets = self.buckets[source]
            days = sorted(buckets)
            sizes = [len(buckets[day]) for day in days]
            total = sum(sizes)
            if total == 0 or self.cfg.malformed_rate <= 0:
                continue
            count = _stochastic_round(self.rng, total * self.cfg.malformed_rate)
            if first_chunk:
                count = max(1, count)
            cumulative = list(itertools.accumulate(sizes))
            for serial in range(count):
                pick = int(self.rng.random() * total)
                position = bisect.bisect_right(cumulative, pick)
                bucket = buckets[days[position]]
                received, line = bucket[pick - cumulative[position] + sizes[position]]
                bucket.append((received, builder(self.rng, line, serial)))
            self.stats.malformed_lines += count

    # -- files --
    def write(self) -> None:
        for source in SOURCES:
            for day, lines in self.buckets[source].items():
                lines.sort(key=_first)
                self._write_file(source, day, lines)
                self.stats.files += 1
                count = len(lines)
                if source == "conversation_logs":
                    self.stats.log_lines += count
                elif source == "orders":
                    self.stats.order_lines += count
                else:
                    self.stats.profile_lines += count

    def _write_file(self, source: str, day: int, lines: list[tuple[int, str]]) -> None:
        compressed = (self.chunk.index + day) % 2 == 1
        folder = Path(self.cfg.out_dir) / source / f"dt={_day_string(day)}"
        folder.mkdir(parents=True, exist_ok=True)
        name = f"{self.cfg.prefix}-{self.chunk.index:04d}.jsonl" + (".gz" if compressed else "")
        data = ("\n".join(line for _, line in lines) + "\n").encode("utf-8")
        temporary = folder / f"{name}.tmp"
        with open(temporary, "wb") as handle:
            if compressed:
                with gzip.GzipFile(filename="", mode="wb", fileobj=handle, compresslevel=GZIP_LEVEL, mtime=0) as gz:
                    gz.write(data)
            else:
                handle.write(data)
        os.replace(temporary, folder / name)


def _first(item: tuple[int, str]) -> int:
    return item[0]


def _stochastic_round(rng: random.Random, expected: float) -> int:
    whole = int(expected)
    return whole + (rng.random() < expected - whole)


def _initial_consent(rng: random.Random) -> tuple[str, str]:
    r = rng.random()
    email_consent = "subscribed" if r < 0.55 else "unsubscribed" if r < 0.70 else "never_subscribed"
    r = rng.random()
    sms_consent = "subscribed" if r < 0.35 else "unsubscribed" if r < 0.45 else "never_subscribed"
    return email_consent, sms_consent


def _changed_consent(rng: random.Random, email_consent: str, sms_consent: str, must_change: bool) -> tuple[str, str]:
    """A later profile version: consent changes (always, unless the version changes the email instead)."""
    if not must_change and rng.random() < 0.5:
        return email_consent, sms_consent
    flip = {"subscribed": "unsubscribed", "unsubscribed": "subscribed", "never_subscribed": "subscribed"}
    if rng.random() < 0.6:
        return flip[email_consent], sms_consent
    return email_consent, flip[sms_consent]


def _render_profile_time(rng: random.Random, ms: int) -> str:
    r = rng.random()
    if r < 0.8:
        return format_iso(ms)
    if r < 0.9:
        return format_iso(ms, with_ms=True)
    minutes, label = OFFSETS[int(rng.random() * len(OFFSETS))]
    return format_iso(ms + minutes * MS_MINUTE, label)


def _truncated(rng: random.Random, line: str) -> str:
    return line[: 5 + int(rng.random() * (len(line) - 6))]


def _unparseable_line(rng: random.Random, line: str, r: float) -> str | None:
    """A line that is not JSON for r < 0.45 (truncated, or plain text); None: break a field of the record instead."""
    if r < 0.30:
        return _truncated(rng, line)
    if r < 0.45:
        return _pick(rng, PLAIN_TEXT_LINES)
    return None


def _bad_log_line(rng: random.Random, line: str, serial: int) -> str:
    r = rng.random()
    unparseable = _unparseable_line(rng, line, r)
    if unparseable is not None:
        return unparseable
    record = json.loads(line)
    record["log_id"] = f"{record['log_id']}-bad{serial}"
    if r < 0.60:
        _blank_or_drop(rng, record, "conversation_id")
    elif r < 0.75:
        _blank_or_drop(rng, record, "log_id")
    elif r < 0.95:
        record["occurred_at"] = _pick(rng, BAD_TIMESTAMPS)
    else:
        _blank_or_drop(rng, record, "type")
    return _encode(record)


def _bad_order_line(rng: random.Random, line: str, serial: int) -> str:
    r = rng.random()
    unparseable = _unparseable_line(rng, line, r)
    if unparseable is not None:
        return unparseable
    record = json.loads(line)
    record["order_id"] = f"{record['order_id']}-bad{serial}"
    if r < 0.70:
        _blank_or_drop(rng, record, "order_id")
    else:
        record["placed_at"] = _pick(rng, BAD_TIMESTAMPS)
    return _encode(record)


def _bad_profile_line(rng: random.Random, line: str, serial: int) -> str:
    r = rng.random()
    unparseable = _unparseable_line(rng, line, r)
    if unparseable is not None:
        return unparseable
    record = json.loads(line)
    _blank_or_drop(rng, record, "profile_id")
    return _encode(record)


def _blank_or_drop(rng: random.Random, record: dict[str, Any], key: str) -> None:
    if rng.random() < 0.7:
        record.pop(key, None)
    else:
        record[key] = "" if rng.random() < 0.5 else " "


def _run_chunk(job: tuple[_RunConfig, _Chunk]) -> tuple[_Chunk, GenerationStats]:
    cfg, chunk = job
    generator = _ChunkGenerator(cfg, chunk)
    generator.conversations()
    generator.background_orders()
    generator.profiles()
    generator.malformed()
    generator.write()
    return chunk, generator.stats


# --- Planning ------------------------------------------------------------------------------------------------------
def _day_weight(day: date) -> float:
    """Relative traffic of a day: weekends are busier, Black Friday and Cyber Monday much busier."""
    weight = (1.0, 1.0, 1.0, 1.0, 1.1, 1.25, 1.2)[day.weekday()]
    if day.month == 11:
        first_thursday = 1 + (3 - date(day.year, 11, 1).weekday()) % 7
        thanksgiving = first_thursday + 21
        weight *= {thanksgiving: 0.8, thanksgiving + 1: 2.2, thanksgiving + 4: 1.8}.get(day.day, 1.0)
    return weight


def _apportion(total: int, weights: list[float]) -> list[int]:
    """Split `total` in proportion to `weights` (largest remainder; ties to the earlier day)."""
    scale = total / sum(weights)
    quotas = [w * scale for w in weights]
    counts = [int(q) for q in quotas]
    order = sorted(range(len(weights)), key=lambda i: (-(quotas[i] - counts[i]), i))
    for i in order[: total - sum(counts)]:
        counts[i] += 1
    return counts


def _plan_chunks(cfg: _RunConfig, start_date: date) -> list[_Chunk]:
    """Conversations numbered in start-day order, cut into equal contiguous chunks (a chunk may span days)."""
    per_day = _apportion(cfg.conversations, [_day_weight(start_date + timedelta(days=i)) for i in range(cfg.days)])
    day_ends = list(itertools.accumulate(per_day))
    total = cfg.conversations
    parts = math.ceil(total / CHUNK_CONVERSATIONS)
    chunks: list[_Chunk] = []
    for part in range(parts):
        first, end = total * part // parts, total * (part + 1) // parts
        days: list[tuple[int, int]] = []
        for offset, day_end in enumerate(day_ends):
            overlap = min(end, day_end) - max(first, day_end - per_day[offset])
            if overlap > 0:
                days.append((cfg.start_day + offset, overlap))
        chunks.append(_Chunk(
            index=part + 1,
            first=first,
            count=end - first,
            days=tuple(days),
            profile_lo=cfg.profiles * first // total,
            profile_hi=cfg.profiles * end // total,
        ))
    return chunks


def _run_config(out_dir: Path, conversations: int, seed: int, start_date: date, days: int, file_prefix: str,
                malformed_rate: float) -> _RunConfig:
    digest = hashlib.sha256(f"{seed}:{file_prefix}".encode()).digest()
    salt = int.from_bytes(digest[:8], "big")
    alphabet = "abcdefghijklmnopqrstuvwxyz0123456789"
    tag = alphabet[digest[8] % 26] + "".join(alphabet[b % 36] for b in digest[9:12])
    profiles = max(1, round(conversations * PROFILES_PER_CONVERSATION))
    return _RunConfig(
        out_dir=str(out_dir),
        seed=seed,
        prefix=file_prefix,
        start_day=start_date.toordinal() - EPOCH_ORDINAL,
        days=days,
        conversations=conversations,
        profiles=profiles,
        talkers=max(1, int(profiles * TALKER_SHARE)),
        malformed_rate=malformed_rate,
        salt=salt,
        tag=tag,
    )


def existing_files(out_dir: Path, file_prefix: str) -> list[Path]:
    """Raw files already written by a run with this prefix (which a new run would rewrite)."""
    own_name = re.compile(rf"{re.escape(file_prefix)}-\d{{4,}}\.jsonl(\.gz)?")
    found: list[Path] = []
    for source in SOURCES:
        folder = out_dir / source
        if folder.is_dir():
            found += sorted(path for path in folder.glob(f"*/{file_prefix}-*") if own_name.fullmatch(path.name))
    return found


def _validate(conversations: int, seed: int, days: int, file_prefix: str, malformed_rate: float) -> None:
    if conversations < 1:
        raise ValueError("conversations must be at least 1")
    if seed < 0:
        raise ValueError("seed must be a non-negative integer")
    if days < 1:
        raise ValueError("days must be at least 1")
    if not _PREFIX_PATTERN.fullmatch(file_prefix):
        raise ValueError(f"file prefix {file_prefix!r} must be letters, digits, '_', '.', '-' (starting alphanumeric)")
    if not 0.0 <= malformed_rate < 0.5:
        raise ValueError("malformed_rate must be in [0, 0.5)")


def generate_raw_zone(
    out_dir: Path,
    conversations: int,
    seed: int,
    start_date: date = DEFAULT_START_DATE,
    days: int = DEFAULT_DAYS,
    file_prefix: str = DEFAULT_PREFIX,
    malformed_rate: float = DEFAULT_MALFORMED_RATE,
    workers: int | None = None,
    progress: bool = False,
    overwrite: bool = False,
) -> GenerationStats:
    """Write a raw zone of `conversations` conversations spread over `days` days from `start_date`.

    Deterministic: the same arguments give byte-identical files, whatever `workers` is. Raises
    FileExistsError when files of this `file_prefix` already exist (the raw zone is append-only),
    unless `overwrite`.
    """
    out_dir = Path(out_dir)
    _validate(conversations, seed, days, file_prefix, malformed_rate)
    clashes = existing_files(out_dir, file_prefix)
    if clashes and not overwrite:
        raise FileExistsError(
            f"{len(clashes)} file(s) with prefix {file_prefix!r} already exist under {out_dir} (e.g. {clashes[0]}); "
            "raw files are never rewritten: choose another --file-prefix or output directory"
        )
    cfg = _run_config(out_dir, conversations, seed, start_date, days, file_prefix, malformed_rate)
    chunks = _plan_chunks(cfg, start_date)
    workers = max(1, min(workers or os.cpu_count() or 1, len(chunks)))
    stats = GenerationStats()
    started = time.perf_counter()
    jobs = [(cfg, chunk) for chunk in chunks]
    if progress:
        print(f"[generate] {conversations:,} conversations over {days} days from {start_date}: "
              f"{len(chunks)} chunks on {workers} worker(s) into {out_dir}", file=sys.stderr, flush=True)
    if workers == 1:
        results = map(_run_chunk, jobs)
        _collect(results, stats, len(chunks), started, progress)
    else:
        with get_context("fork" if sys.platform.startswith("linux") else "spawn").Pool(workers) as pool:
            _collect(pool.imap_unordered(_run_chunk, jobs), stats, len(chunks), started, progress)
    return stats


def _collect(results: Any, stats: GenerationStats, total: int, started: float, progress: bool) -> None:
    for done, (chunk, chunk_stats) in enumerate(results, start=1):
        stats.add(chunk_stats)
        if progress:
            print(
                f"[generate] chunk {done}/{total} ({chunk.label()}, {chunk.count:,} conversations): "
                f"{stats.conversations:,} conversations, {stats.log_lines:,} log lines "
                f"in {time.perf_counter() - started:.1f}s",
                file=sys.stderr,
                flush=True,
            )


# --- CLI -----------------------------------------------------------------------------------------------------------
def _file_prefix(text: str) -> str:
    if not _PREFIX_PATTERN.fullmatch(text):
        raise argparse.ArgumentTypeError("letters, digits, '_', '.', '-' only, starting with a letter or digit")
    return text


def _rate(text: str) -> float:
    value = float(text)
    if not 0.0 <= value < 0.5:
        raise argparse.ArgumentTypeError("must be in [0, 0.5)")
    return value


def default_start_date(days: int = DEFAULT_DAYS, today: date | None = None) -> date:
    """First day of the window of `days` days that ends DEFAULT_END_MARGIN_DAYS before today."""
    return (today or date.today()) - timedelta(days=days + DEFAULT_END_MARGIN_DAYS)


def add_generate_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--conversations", type=positive_int, default=1000,
                        help="number of conversations (about 10 log lines each; default 1000)")
    parser.add_argument("--seed", type=non_negative_int, default=DEFAULT_SEED, help="random seed (default 42)")
    parser.add_argument("--out", type=Path, default=None,
                        help="raw zone directory (default: $CA_RAW_PATH, else data/raw in the project)")
    parser.add_argument("--start-date", type=iso_date, default=None,
                        help="first day of conversations, YYYY-MM-DD (default: the window of --days days that "
                             f"ends {DEFAULT_END_MARGIN_DAYS} days before today)")
    parser.add_argument("--days", type=positive_int, default=DEFAULT_DAYS,
                        help=f"number of days the conversations start on (default {DEFAULT_DAYS})")
    parser.add_argument("--file-prefix", type=_file_prefix, default=DEFAULT_PREFIX,
                        help="prefix of the file names and ids; use a new one to add files to an existing raw zone")
    parser.add_argument("--malformed-rate", type=_rate, default=DEFAULT_MALFORMED_RATE,
                        help=f"share of malformed lines in every source (default {DEFAULT_MALFORMED_RATE})")
    parser.add_argument("--workers", type=positive_int, default=None,
                        help="worker processes (default: CPU count); the output does not depend on it")
    parser.add_argument("--overwrite", action="store_true",
                        help="rewrite files of the same prefix instead of refusing")
    parser.add_argument("--quiet", action="store_true", help="no progress or summary output")


def run_generate(args: argparse.Namespace) -> int:
    started = time.perf_counter()
    if args.out is None:
        args.out = load_settings().raw_path
    try:
        stats = generate_raw_zone(
            out_dir=args.out,
            conversations=args.conversations,
            seed=args.seed,
            start_date=args.start_date or default_start_date(args.days),
            days=args.days,
            file_prefix=args.file_prefix,
            malformed_rate=args.malformed_rate,
            workers=args.workers,
            progress=not args.quiet and args.conversations >= PROGRESS_MIN_CONVERSATIONS,
            overwrite=args.overwrite,
        )
    except (FileExistsError, ValueError) as error:
        print(f"generate: {error}", file=sys.stderr)
        return 2
    if not args.quiet:
        print(
            f"wrote {stats.files:,} files to {args.out} in {time.perf_counter() - started:.1f}s: "
            f"{stats.conversations:,} conversations, {stats.log_lines:,} log lines, {stats.order_lines:,} order lines, "
            f"{stats.profile_lines:,} profile lines ({stats.duplicate_lines:,} duplicate, "
            f"{stats.malformed_lines:,} malformed)"
        )
    return 0
