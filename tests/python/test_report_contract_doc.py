"""docs/contract.md stays in step with the code: every relation, var, seed and metric it names exists (or is
marked *(not yet landed)*), and every mart, segment, var and metric of the project is in it."""

from __future__ import annotations

import re

import yaml

from tests.python.warehouse import PROJECT_ROOT

CONTRACT = PROJECT_ROOT / "docs" / "contract.md"
NOT_LANDED = "(not yet landed)"
# `schema.relation`, or a bare name with a model prefix
MODEL_NAME = re.compile(r"`(?:(?:staging|intermediate|marts|segments|audit)\.([a-z_]+)"
                        r"|((?:fct|dim|seg|agg|stg|int|base)_[a-z_]+))`")


def contract_text() -> str:
    return CONTRACT.read_text()


def models() -> set[str]:
    return {path.stem for path in (PROJECT_ROOT / "models").rglob("*.sql")}


def landed_lines() -> list[str]:
    """The contract's lines outside the paragraphs or bullets marked not yet landed."""
    blocks = re.split(r"\n(?=\* |\n)", contract_text())
    return [line for block in blocks if NOT_LANDED not in block for line in block.splitlines()]


def test_every_model_the_contract_names_exists() -> None:
    named = {"".join(match) for line in landed_lines() for match in MODEL_NAME.findall(line)}
    assert named, "the contract names no model"
    assert named - models() == set()


def test_every_mart_and_segment_is_in_the_contract() -> None:
    text = contract_text()
    public = {path.stem for folder in ("marts", "segments", "audit")
              for path in (PROJECT_ROOT / "models" / folder).rglob("*.sql")}
    assert {name for name in public if f"`{name}`" not in text and f".{name}`" not in text} == set()


def test_every_dbt_var_is_in_the_contract() -> None:
    project = yaml.safe_load((PROJECT_ROOT / "dbt_project.yml").read_text())
    text = contract_text()
    assert {name for name in project["vars"] if f"`{name}`" not in text} == set()


def test_every_seed_the_contract_names_exists_and_the_reverse() -> None:
    seeds = {path.stem for path in (PROJECT_ROOT / "seeds").glob("*.csv")}
    named = set(re.findall(r"seed `([a-z_]+)`", " ".join(landed_lines())))
    assert named and named <= seeds
    assert {seed for seed in seeds if f"`{seed}`" not in contract_text()} == set()


def test_every_metric_is_in_the_contract() -> None:
    semantic = yaml.safe_load((PROJECT_ROOT / "models" / "marts" / "performance" /
                               "_performance__semantic_models.yml").read_text())
    text = contract_text()
    assert {metric["name"] for metric in semantic["metrics"] if f"`{metric['name']}`" not in text} == set()


def test_the_readme_links_the_contract_and_no_file_outside_the_project() -> None:
    readme = (PROJECT_ROOT / "README.md").read_text()
    assert "(docs/contract.md)" in readme
    assert not re.search(r"\]\(\.\./|`\.\./", readme) and "SPEC.md" not in readme, "a link out of the project"
    assert "Python 3.11-3.13" in readme and "3.11+" not in readme
