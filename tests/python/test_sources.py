"""Issue 12: one list of raw sources per side, and the sides agree.

Python reads `customer_agent_warehouse.ingest.sources.SOURCES`; dbt has the seed `raw_sources` (the audit models'
`source` values are tested against it) and one dbt source per folder. No dbt run: the files are read.
"""

from __future__ import annotations

import csv
import re

import yaml

from customer_agent_warehouse import generate, settings
from customer_agent_warehouse.ingest.sources import RAW_TABLES, SOURCES
from tests.python.warehouse import PROJECT_ROOT


def _seed_rows() -> list[dict[str, str]]:
    with (PROJECT_ROOT / "seeds" / "raw_sources.csv").open(newline="") as handle:
        return list(csv.DictReader(handle))


def test_the_seed_lists_the_python_sources_in_order() -> None:
    assert tuple(row["source"] for row in _seed_rows()) == SOURCES
    assert tuple(RAW_TABLES) == SOURCES


def test_every_source_folder_is_a_dbt_source_with_its_tables() -> None:
    declared: dict[str, dict[str, str]] = {}
    for path in (PROJECT_ROOT / "models" / "staging").rglob("_*__sources.yml"):
        for source in yaml.safe_load(path.read_text())["sources"]:
            declared[source["name"]] = {table["name"]: table["identifier"] for table in source["tables"]}
    assert set(declared) == set(SOURCES)
    for name, (lines, files) in RAW_TABLES.items():
        assert declared[name] == {"lines": lines, "files": files}


def test_the_seed_names_models_that_exist() -> None:
    models = {path.stem for path in (PROJECT_ROOT / "models").rglob("*.sql")}
    for row in _seed_rows():
        assert {row["base_model"], row["staging_model"]} <= models, row


def test_the_python_glue_uses_the_one_list() -> None:
    assert generate.SOURCES is SOURCES and settings.SOURCES is SOURCES
    text = (PROJECT_ROOT / "customer_agent_warehouse" / "generate.py").read_text()
    assert not re.search(r"^SOURCES\s*=", text, re.MULTILINE)
    help_text = next(variable.meaning for variable in settings.VARIABLES if variable.name == "CA_RAW_PATH")
    assert all(f"{name}/" in help_text for name in SOURCES)
