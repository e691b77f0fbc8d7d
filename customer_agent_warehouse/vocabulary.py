"""The project's vocabulary, read from the dbt seeds (the one place each list of allowed values lives).

dbt tests the models against the seeds with `relationships`; the Python side (`validate`'s Great Expectations
suites, the bench floor) reads the same CSV files through this module, so a store that adds a channel or a
reason adds one row to one seed. A suite names a list by its key: `"value_set": {"$PARAMETER": "channels"}` in
a column expectation, `getvariable('ca_channels')` in SQL.
"""

from __future__ import annotations

import csv
from dataclasses import dataclass
from pathlib import Path

from customer_agent_warehouse.settings import PROJECT_ROOT

SEEDS_DIR = PROJECT_ROOT / "seeds"


@dataclass(frozen=True)
class Vocabulary:
    """One list of allowed values: the key suites use, the seed and its column."""

    key: str
    seed: str
    column: str


VOCABULARIES = (
    Vocabulary("channels", "channels", "channel"),
    Vocabulary("conversation_outcomes", "conversation_outcomes", "outcome"),
    Vocabulary("escalation_reasons", "escalation_reasons", "escalation_reason"),
    Vocabulary("consent_statuses", "consent_statuses", "consent_status"),
)


class VocabularyError(Exception):
    """A seed of the vocabulary is missing or malformed; the message is one line naming the file."""


def seed_path(seed: str, seeds_dir: Path = SEEDS_DIR) -> Path:
    return seeds_dir / f"{seed}.csv"


def read_seed_column(seed: str, column: str, seeds_dir: Path = SEEDS_DIR) -> list[str]:
    """The non-empty values of one column of a seed CSV, in file order."""
    path = seed_path(seed, seeds_dir)
    try:
        with path.open(newline="", encoding="utf-8") as handle:
            reader = csv.DictReader(handle)
            if column not in (reader.fieldnames or []):
                raise VocabularyError(f"seed {path} has no column {column!r}: restore its header line")
            values = [row[column].strip() for row in reader if (row.get(column) or "").strip()]
    except OSError as error:
        raise VocabularyError(f"cannot read seed {path}: {error.strerror or error}; restore it from git") from error
    if not values:
        raise VocabularyError(f"seed {path} lists no {column}: add at least one row")
    return values


def value_sets(seeds_dir: Path = SEEDS_DIR) -> dict[str, list[str]]:
    """Every vocabulary by key, e.g. {"channels": ["web_chat", "sms", ...], ...}."""
    return {vocabulary.key: read_seed_column(vocabulary.seed, vocabulary.column, seeds_dir)
            for vocabulary in VOCABULARIES}
