"""`validate --target spark`: the same Great Expectations suites on Spark DataFrames of the managed tables.

Each suite's table is `spark.table('<schema>.<table>')` in the command's Spark session (the warehouse of
CA_SPARK_WAREHOUSE), validated through a GX Spark datasource (one dataframe asset per suite). The suites' own
SQL (UnexpectedRowsExpectation queries, the duplicates sample) is written in DuckDB's dialect: it is
transpiled once to Spark SQL with sqlglot (identifiers in backquotes, lambdas, list functions), with the
DuckDB variables (`getvariable('ca_followup_delay_hours')`, the seeds' lists `getvariable('ca_channels')`, ...)
replaced by their values first.
"""

from __future__ import annotations

import copy
import datetime as dt
import logging
import re
import time
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from customer_agent_warehouse.validate import (
    DATASOURCE_NAME,
    DEFAULT_EXPECTATIONS_DIR,
    DEFAULT_VALIDATION_REPORT_DIR,
    DUPLICATES_QUERY,
    SAMPLE_SIZE,
    SEEDS_DIR,
    Progress,
    SuiteSpec,
    ValidationOutcome,
    ValidationSetupError,
    _checked_suite,
    _GxRunner,
    _run_suites,
    _write_summary,
    load_suites,
    read_vocabulary,
    resolve_followup_delay_hours,
    resolve_time_bound,
)

BATCH_PLACEHOLDER = "ca_validate_batch"
_VARIABLE = re.compile(r"getvariable\('([a-z_]+)'\)")


def _spark_function(node: Any) -> Any:
    """The DuckDB functions the suites use that sqlglot leaves as they are, in Spark's words. The suites apply
    `len` to lists only (sqlglot reads it as a string length)."""
    from sqlglot import exp

    name = node.name.upper() if isinstance(node, exp.Anonymous) else ""
    if isinstance(node, exp.Length):
        return exp.func("size", node.this)
    if isinstance(node, exp.RegexpFullMatch):
        pattern = node.expression
        anchored = (exp.Literal.string(f"^(?:{pattern.this})$") if isinstance(pattern, exp.Literal)
                    else exp.func("concat", exp.Literal.string("^(?:"), pattern, exp.Literal.string(")$")))
        return exp.RegexpLike(this=node.this, expression=anchored)
    if name == "LIST_HAS_ALL":  # every element of the second list is in the first
        container, elements = node.expressions
        return exp.EQ(this=exp.func("size", exp.func("array_except", elements, container)),
                      expression=exp.Literal.number(0))
    if name == "TO_MICROSECONDS":  # an interval of that many microseconds
        micros = node.expressions[0]
        return exp.func("make_dt_interval", exp.Literal.number(0), exp.Literal.number(0), exp.Literal.number(0),
                        exp.Div(this=exp.cast(micros, "decimal(18, 6)"), expression=exp.Literal.number(1000000)))
    return node


def _duckdb_literal(value: Any) -> str:
    """A suite variable (a number, or a seed's list of strings) as a DuckDB literal, before transpiling."""
    if isinstance(value, int | float) and not isinstance(value, bool):
        return repr(float(value))
    if isinstance(value, str):
        return "'" + value.replace("'", "''") + "'"
    return "[" + ", ".join(_duckdb_literal(str(item)) for item in value) + "]"


def spark_sql(duckdb_sql: str, variables: dict[str, Any]) -> str:
    """A suite query in DuckDB's dialect as Spark SQL (`{batch}` kept for GX)."""
    import sqlglot

    text = _VARIABLE.sub(lambda match: _duckdb_literal(variables[match.group(1)]), duckdb_sql)
    tree = sqlglot.parse_one(text.replace("{batch}", BATCH_PLACEHOLDER), read="duckdb")
    sql = tree.sql("spark")
    for _ in range(4):  # a replaced node's arguments are rewritten on the next pass
        tree = tree.transform(_spark_function)
        sql, previous = tree.sql("spark"), sql
        if sql == previous:
            break
    return sql.replace(BATCH_PLACEHOLDER, "{batch}")


def spark_document(document: dict[str, Any], variables: dict[str, Any]) -> dict[str, Any]:
    """The suite with every SQL query in Spark's dialect."""
    translated = copy.deepcopy(document)
    for expectation in translated.get("expectations") or []:
        kwargs = expectation.get("kwargs") or {}
        if "unexpected_rows_query" in kwargs:
            kwargs["unexpected_rows_query"] = spark_sql(kwargs["unexpected_rows_query"], variables)
    return translated


class SparkGxRunner(_GxRunner):
    """The runner on Spark: GX's Spark datasource, one dataframe asset per suite (`spark.table(...)`), the
    suites' DuckDB SQL translated by `spark_sql`."""

    def __init__(self, spark: Any, variables: dict[str, Any], value_sets: dict[str, list[str]]) -> None:
        # A suite query Spark cannot run is reported by its suite; pyspark would also log it with a stack trace.
        logging.getLogger("SQLQueryContextLogger").setLevel(logging.CRITICAL)
        self._new_context()
        self.spark = spark
        self._variables = variables
        self._value_sets = value_sets
        self.datasource = self.context.data_sources.add_spark(name=DATASOURCE_NAME)

    def missing_tables(self, specs: Sequence[SuiteSpec]) -> list[str]:
        return [f"{spec.table} (suite {spec.name})" for spec in specs if not self.spark.catalog.tableExists(spec.table)]

    def _suite_document(self, spec: SuiteSpec) -> dict[str, Any]:
        return spark_document(super()._suite_document(spec), self._variables)

    def _validate(self, spec: SuiteSpec, validation_time: dt.datetime) -> Any:
        from great_expectations.core.run_identifier import RunIdentifier

        gx = self._gx
        asset = self.datasource.add_dataframe_asset(name=spec.name)
        batch_definition = asset.add_batch_definition_whole_dataframe(name="whole_table")
        document = self._suite_document(spec)
        suite = self.context.suites.add(_checked_suite(gx.ExpectationSuite(**document), document))
        definition = self.context.validation_definitions.add(
            gx.ValidationDefinition(name=spec.name, data=batch_definition, suite=suite))
        return definition.run(
            batch_parameters={"dataframe": self.spark.table(spec.table)},
            expectation_parameters={"validation_time": validation_time, **self._value_sets},
            result_format="SUMMARY",
            run_id=RunIdentifier(run_name="validate", run_time=validation_time.replace(tzinfo=dt.UTC)),
        )

    def _sample(self, spec: SuiteSpec, query: str) -> list[Any]:
        """First rows of a failing rule's query: the suites' rules arrive translated; the duplicates sample
        (DUPLICATES_QUERY, double-quoted identifiers) is translated here."""
        try:
            sql = spark_sql(query, self._variables) if query.startswith(DUPLICATES_QUERY[:30]) else query
            rows = self.spark.sql(sql.format(batch=spec.table)).limit(SAMPLE_SIZE).collect()
            return [row.asDict(recursive=True) for row in rows]
        except Exception as error:  # a sample is best effort; GX has already reported the failure
            return [f"(sample unavailable: {str(error).splitlines()[0]})"]


def validate_spark_warehouse(
    expectations_dir: Path = DEFAULT_EXPECTATIONS_DIR,
    report_dir: Path = DEFAULT_VALIDATION_REPORT_DIR,
    *,
    suites: Sequence[str] | None = None,
    followup_delay_hours: float | None = None,
    progress: Progress | None = None,
    validation_time: dt.datetime | None = None,
    seeds_dir: Path = SEEDS_DIR,
) -> ValidationOutcome:
    """The same suites and report on the Spark warehouse (CA_SPARK_WAREHOUSE), in this process's Spark session
    (a new one, under the warehouse lock, when there is none)."""
    from customer_agent_warehouse.settings import UsageError
    from customer_agent_warehouse.spark_session import active_or_new_session, warehouse_path

    started = time.monotonic()
    specs = load_suites(Path(expectations_dir), suites)
    delay, delay_source = resolve_followup_delay_hours(followup_delay_hours)
    vocabulary = read_vocabulary(seeds_dir)
    report = Path(report_dir).expanduser().resolve()
    warehouse = warehouse_path()
    hint = "run `python -m customer_agent_warehouse build --target spark` first"
    if not warehouse.is_dir():
        raise ValidationSetupError(f"validate: no Spark warehouse at {warehouse} (CA_SPARK_WAREHOUSE): {hint}")
    validation_time, time_source = resolve_time_bound(validation_time)
    variables = {"ca_followup_delay_hours": delay, **{f"ca_{key}": values for key, values in vocabulary.items()}}
    try:
        with active_or_new_session() as spark:
            missing = SparkGxRunner(spark, variables, vocabulary).missing_tables(specs)
            if missing:
                raise ValidationSetupError(f"validate: table {', '.join(missing)} not found in the Spark warehouse "
                                           f"{warehouse} (CA_SPARK_WAREHOUSE): {hint}")
            outcomes, docs = _run_suites(lambda: SparkGxRunner(spark, variables, vocabulary), specs, report,
                                         validation_time, False, progress)
    except UsageError as error:
        raise ValidationSetupError(f"validate: {error}") from None
    outcome = ValidationOutcome(
        success=all(suite.success for suite in outcomes), duckdb_path=f"Spark {warehouse}",
        suites=outcomes, report_dir=report, results_path=report / "results.json", html_path=report / "index.html",
        data_docs_path=docs, validation_time=validation_time, followup_delay_hours=delay,
        followup_delay_source=delay_source, elapsed_seconds=time.monotonic() - started,
        validation_time_source=time_source,
    )
    _write_summary(outcome)
    return outcome
