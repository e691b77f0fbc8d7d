"""`validate`: run every Great Expectations suite in `expectations/` against the built warehouse.

Usage::

    python -m customer_agent_warehouse validate [--duckdb-path PATH] [--report-dir DIR] [--suite NAME ...]
        [--followup-delay-hours H] [--validation-time ISO-8601] [--memory-limit 2GB] [--threads N]
        [--expectations-dir DIR] [--data-docs]

Suites are GX 1.x `ExpectationSuite` JSON files, one per table; `meta.table` ("schema.table") names the
relation a suite validates. The warehouse is `--duckdb-path`, else `CA_DUCKDB_PATH`, else
`data/warehouse.duckdb` in the project (see `settings.py`). It is opened READ-ONLY: nothing is written to it.
Other code calls `validate_warehouse(duckdb_path, expectations_dir, report_dir)` -> `ValidationOutcome`.

Route (how expectations are evaluated) -- in the database, through GX's SQL datasource:

* GX `SQLDatasource` + `duckdb_engine` (SQLAlchemy dialect), one `TableAsset` per suite; every metric is a
  DuckDB query (bundled aggregates for counts, `LIMIT`ed streaming queries for samples), so no table is
  loaded into pandas and memory stays bounded by DuckDB's `memory_limit` (2GB here), whatever the size.
* Known trap, reproduced with GX 1.24.1 + duckdb 2.0.0 + duckdb-engine 0.17.0: out of the box every
  expectation fails with `IndexError: list index out of range` (GX issues #10738, #11579). GX fetches a
  metric's rows after closing the SQLAlchemy connection it ran on; closing rolls the connection back, and
  `duckdb_engine`'s cursor *is* the DuckDB connection (duckdb_engine issue #1087), so the pending result is
  dropped and the fetch returns `[]`. `ge_connection.py` fixes it at the DB-API layer: SQLAlchemy's `creator=`
  hands out connections whose every cursor is an independent DuckDB cursor on one read-only database.
* SQLAlchemy must be 2.0.x: with 2.1, `duckdb_engine`'s column reflection queries `pg_catalog.pg_collation`
  (absent in DuckDB), GX falls back to an unqualified `SELECT * FROM <table>` and schema-qualified tables
  are not found. Pinned: sqlalchemy==2.0.58, duckdb-engine==0.17.0, greenlet==3.5.6 (sqlalchemy's).
* GX has no regex or LIKE support for the `duckdb` dialect ("Regex is not supported for dialect duckdb"),
  so format rules (ids, e-mails, E.164 phones, normalised labels) and cross-column / cross-table rules are
  `UnexpectedRowsExpectation`s in DuckDB SQL; `meta.columns` names the columns they guard.
* Speed on 10M staged rows: uniqueness is `count(DISTINCT)` (GX proportion of unique values, bundled with
  the other aggregates) on staging and `dim_conversations`, and a `GROUP BY ... HAVING count(*) > 1` rule on
  tables that may be empty; never `expect_column_values_to_be_unique`, whose window-function SQL is ~10x
  slower. "Well-formed" ids use `ascii()` of the first and last character instead of a regex.
* Samples of bad values: GX's `partial_unexpected_list` for column expectations; for SQL rules and
  uniqueness (GX returns their rows only in the unbounded COMPLETE format) one extra `LIMIT 5` query, only
  when the expectation failed.

Dynamic values: timestamps are bounded by the suite parameter `validation_time` (`{"$PARAMETER":
"validation_time"}`): `--validation-time`, else the end of the plausible-time window the build accepted times in
(build_record.py: `timestamp_window_anchor`, else the warehouse's last build, else the last dbt invocation, plus
`timestamp_max_days_after_build` days), so validation does not depend on the validating machine's clock. Lists of
allowed values come from the seeds (`vocabulary.py`): `{"$PARAMETER": "channels"}` as a `value_set`,
`getvariable('ca_channels')` in SQL (also `conversation_outcomes`, `escalation_reasons`, `consent_statuses`).
`seg_recommendation_followup` compares `followup_due_at - recommended_at` with the DuckDB variable
`ca_followup_delay_hours`, set to the dbt var `followup_delay_hours` the build used: `--followup-delay-hours`, else
`vars` of the last dbt invocation in `target/run_results.json` (`$DBT_TARGET_PATH` when set), else
`vars.followup_delay_hours` of `dbt_project.yml`, else 2.

Report folder (default `reports/validation/`, `--report-dir`), rewritten on every run:

* `index.html`      -- self-contained summary a person can open: suites, failures, samples of bad values, a link to
  each suite's page;
* `suites/<suite>.html` -- the suite's page: every expectation with its columns, arguments, observed values and
  sample of bad values, rendered from `suites/<suite>.json`;
* `results.json`    -- the same as data: run, warehouse, per-suite statistics and failures;
* `suites/<suite>.json` -- the full GX `ExpectationSuiteValidationResult` of each suite;
* `data_docs/index.html` -- only with `--data-docs`: GX Data Docs, whose pages load their styles and scripts from
  CDNs (blank without the internet).

Every page of the folder works offline: inline CSS, no script, no remote asset, relative links only.

Exit codes: 0 all expectations passed; 1 an expectation failed; 2 the run could not start (warehouse
missing or locked, a suite's table missing, a suite file invalid), with a one-line message on stderr.
"""

from __future__ import annotations

import argparse
import atexit
import contextlib
import datetime as dt
import html
import json
import logging
import os
import shutil
import sys
import time
import warnings
from collections.abc import Callable, Iterable, Sequence
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

from customer_agent_warehouse.arguments import add_target_argument, positive_int
from customer_agent_warehouse.build_record import (
    BuildRecordError,
    as_float,
    cli_vars,
    project_var,
    resolve_validation_time,
    run_results_path,
)
from customer_agent_warehouse.locking import WarehouseLocked, busy_message, ensure_not_being_built, lock_path_for
from customer_agent_warehouse.settings import (
    DEFAULT_REPORT_DIR,
    PROJECT_ROOT,
    UsageError,
    load_settings,
    read_variable,
    setting,
    validate_temp_dir,
)
from customer_agent_warehouse.vocabulary import SEEDS_DIR, VocabularyError, value_sets

DEFAULT_EXPECTATIONS_DIR = PROJECT_ROOT / "expectations"
DEFAULT_VALIDATION_REPORT_DIR = DEFAULT_REPORT_DIR / "validation"
DEFAULT_FOLLOWUP_DELAY_HOURS = 2.0
DEFAULT_MEMORY_LIMIT = setting("CA_VALIDATE_MEMORY", {})
SAMPLE_SIZE = 5
BUILD_HINT = "run `dbt build --profiles-dir profiles` first, or set CA_DUCKDB_PATH to the built warehouse"
DATASOURCE_NAME = "warehouse"
# Sample for a failing uniqueness expectation (count(DISTINCT) based): some duplicated values and their counts.
DUPLICATES_QUERY = (
    'SELECT "{column}" AS duplicated_value, count(*) AS occurrences FROM {batch} WHERE "{column}" IS NOT NULL '
    'GROUP BY 1 HAVING count(*) > 1 ORDER BY 2 DESC, 1'
)

Progress = Callable[["SuiteOutcome"], None]


class ValidationSetupError(Exception):
    """The validation could not start; the message is one line that names the path and the fix."""


@dataclass(frozen=True)
class SuiteSpec:
    name: str
    table: str
    path: Path
    document: dict[str, Any]

    @property
    def schema_name(self) -> str:
        return self.table.split(".", 1)[0]

    @property
    def table_name(self) -> str:
        return self.table.split(".", 1)[1]


@dataclass(frozen=True)
class ExpectationFailure:
    suite: str
    table: str
    columns: tuple[str, ...]
    expectation_type: str
    description: str
    unexpected_count: int | None
    sample: list[Any]
    error: str | None = None

    def line(self) -> str:
        where = self.table + (f".{'/'.join(self.columns)}" if self.columns else "")
        rule = self.expectation_type + (f" ({_short_text(self.description, 110)})" if self.description else "")
        if self.error:
            return f"{where}: {rule} raised {self.error}"
        count = "" if self.unexpected_count is None else f" {self.unexpected_count:,} unexpected;"
        return f"{where}: {rule} --{count} sample: {_short(self.sample)}"


@dataclass(frozen=True)
class SuiteOutcome:
    name: str
    table: str
    success: bool
    expectations: int
    failed: int
    elapsed_seconds: float
    failures: list[ExpectationFailure] = field(default_factory=list)
    result_path: Path | None = None
    page_path: Path | None = None

    def line(self) -> str:
        status = "PASS" if self.success else "FAIL"
        passed = self.expectations - self.failed
        return (f"{status}  {self.name:<40} {self.table:<46} {passed:>3}/{self.expectations:<3} expectations passed"
                f"  {self.elapsed_seconds:6.2f}s")


@dataclass(frozen=True)
class ValidationOutcome:
    success: bool
    duckdb_path: Path | str  # the warehouse: a DuckDB file, or "PostgreSQL user@host:port/database"
    suites: list[SuiteOutcome]
    report_dir: Path
    results_path: Path
    html_path: Path
    data_docs_path: Path | None
    validation_time: dt.datetime
    followup_delay_hours: float
    followup_delay_source: str
    elapsed_seconds: float
    validation_time_source: str = "--validation-time"

    @property
    def exit_code(self) -> int:
        return 0 if self.success else 1

    @property
    def failures(self) -> list[ExpectationFailure]:
        return [failure for suite in self.suites for failure in suite.failures]

    @property
    def expectations(self) -> int:
        return sum(suite.expectations for suite in self.suites)

    def summary_line(self) -> str:
        failed_suites = sum(not suite.success for suite in self.suites)
        state = "passed" if self.success else (
            f"FAILED: {len(self.failures)} of {self.expectations} expectations failed in {failed_suites} suite(s)")
        return (f"validate: {len(self.suites)} suites, {self.expectations} expectations, {state} "
                f"({self.elapsed_seconds:.1f}s); results {self.results_path}; report {self.html_path}")


# ---------------------------------------------------------------------------------------------- suites
def load_suites(expectations_dir: Path, only: Sequence[str] | None = None) -> list[SuiteSpec]:
    """Every `*.json` suite of the folder (sorted), or only the named ones."""
    if not expectations_dir.is_dir():
        raise ValidationSetupError(f"validate: no expectations folder at {expectations_dir}")
    specs = [_load_suite(path) for path in sorted(expectations_dir.glob("*.json"))]
    if only:
        unknown = sorted(set(only) - {spec.name for spec in specs})
        if unknown:
            raise ValidationSetupError(f"validate: no suite named {', '.join(unknown)} in {expectations_dir}")
        specs = [spec for spec in specs if spec.name in set(only)]
    if not specs:
        raise ValidationSetupError(f"validate: no suite (*.json) in {expectations_dir}")
    return specs


def _load_suite(path: Path) -> SuiteSpec:
    try:
        document = json.loads(path.read_text())
    except (OSError, ValueError) as error:
        raise ValidationSetupError(f"validate: cannot read suite {path}: {error}") from error
    table = str((document.get("meta") or {}).get("table") or "")
    if table.count(".") != 1:
        raise ValidationSetupError(f'validate: suite {path} must name its table as meta.table = "schema.table"')
    return SuiteSpec(name=str(document.get("name") or path.stem), table=table, path=path, document=document)


# ---------------------------------------------------------------------------------------------- settings
def resolve_duckdb_path(cli_value: str | os.PathLike[str] | None = None) -> Path:
    """`--duckdb-path`, else CA_DUCKDB_PATH, else the project's data/warehouse.duckdb."""
    if cli_value:
        return Path(cli_value).expanduser().resolve()
    return load_settings().duckdb_path


def resolve_followup_delay_hours(override: float | None = None, project_root: Path = PROJECT_ROOT) -> tuple[float, str]:
    """The dbt var `followup_delay_hours` the build used, and where the value came from."""
    if override is not None:
        return float(override), "--followup-delay-hours"
    run_results = run_results_path(project_root)
    from_run = as_float(cli_vars(run_results).get("followup_delay_hours"))
    if from_run is not None:
        return from_run, f"{run_results} (vars of the last dbt invocation)"
    from_project = as_float(project_var(project_root / "dbt_project.yml", "followup_delay_hours"))
    if from_project is not None:
        return from_project, "dbt_project.yml"
    return DEFAULT_FOLLOWUP_DELAY_HOURS, "default"


# The start of the warehouse's last build that read log lines, on every engine (build_record.py): log staging's
# processed_at and the log lines' loaded_at, the greater of those the warehouse has.
LAST_BUILD_QUERIES = ("select max(processed_at) from staging.stg_customer_agent__conversation_logs",
                      "select max(loaded_at) from staging.base_customer_agent__log_lines")


def resolve_time_bound(validation_time: dt.datetime | None,
                       last_build: Callable[[], dt.datetime | None] | None = None) -> tuple[dt.datetime, str]:
    """The latest acceptable event time and its source (build_record.py); one-line error when unreadable."""
    try:
        return resolve_validation_time(validation_time, last_build=last_build)
    except BuildRecordError as error:
        raise ValidationSetupError(str(error)) from None


def _last_build_of(run: Callable[[str], Any]) -> Callable[[], dt.datetime | None]:
    """LAST_BUILD_QUERIES through `run` (a query returning its first row); None when the warehouse cannot tell."""
    def last_build() -> dt.datetime | None:
        found = []
        for query in LAST_BUILD_QUERIES:
            try:
                row = run(query)
            except Exception:  # an older or partial warehouse without the table: the others decide
                continue
            if row and isinstance(row[0], dt.datetime):
                found.append(row[0])
        return max(found, default=None)
    return last_build


def read_vocabulary(seeds_dir: Path = SEEDS_DIR) -> dict[str, list[str]]:
    """The seeds' lists of allowed values (suite parameters and `ca_<key>` DuckDB variables)."""
    try:
        return value_sets(seeds_dir)
    except VocabularyError as error:
        raise ValidationSetupError(f"validate: {error}") from None


# ---------------------------------------------------------------------------------------------- warehouse
def open_warehouse(duckdb_path: Path, memory_limit: str | None, threads: int | None) -> Any:
    """The warehouse opened read-only, or a one-line ValidationSetupError."""
    if not duckdb_path.is_file():
        raise ValidationSetupError(f"validate: no warehouse at {duckdb_path}: {BUILD_HINT}")
    try:
        ensure_not_being_built(duckdb_path)
    except WarehouseLocked as error:
        raise ValidationSetupError(f"validate: {error}") from None
    import duckdb

    from customer_agent_warehouse.ge_connection import open_read_only

    try:
        connection = open_read_only(duckdb_path, memory_limit=memory_limit, threads=threads)
    except duckdb.Error as error:
        first = str(error).splitlines()[0] if str(error) else type(error).__name__
        if "lock" in first.lower():
            raise ValidationSetupError(
                f"validate: {busy_message(duckdb_path, lock_path_for(duckdb_path))}") from error
        raise ValidationSetupError(f"validate: cannot open {duckdb_path} read-only: {first}") from error
    temp_dir = validate_temp_dir()
    connection.execute(f"SET temp_directory = '{temp_dir.resolve()!s}'".replace("\\", "/"))
    return connection


def check_tables(connection: Any, specs: Iterable[SuiteSpec], duckdb_path: Path) -> None:
    existing = {f"{schema}.{name}".lower() for schema, name in connection.execute(
        "SELECT table_schema, table_name FROM information_schema.tables").fetchall()}
    missing = [f"{spec.table} (suite {spec.name})" for spec in specs if spec.table.lower() not in existing]
    if missing:
        raise ValidationSetupError(
            f"validate: table {', '.join(missing)} not found in {duckdb_path}: {BUILD_HINT}")


# ---------------------------------------------------------------------------------------------- running
def validate_warehouse(
    duckdb_path: Path,
    expectations_dir: Path = DEFAULT_EXPECTATIONS_DIR,
    report_dir: Path = DEFAULT_VALIDATION_REPORT_DIR,
    *,
    suites: Sequence[str] | None = None,
    followup_delay_hours: float | None = None,
    memory_limit: str | None = DEFAULT_MEMORY_LIMIT,
    threads: int | None = None,
    data_docs: bool = False,
    progress: Progress | None = None,
    validation_time: dt.datetime | None = None,
    seeds_dir: Path = SEEDS_DIR,
) -> ValidationOutcome:
    """Validate the warehouse read-only with every suite; write the report folder; never print.

    `validation_time` is the upper bound of every timestamp, in UTC (naive values are UTC); default: the end of
    the build's plausible-time window (build_record.py), never the clock when the build recorded it.
    Raises ValidationSetupError (one-line message) when the warehouse, a table, a suite file or a seed is missing.
    """
    started = time.monotonic()
    duckdb_path = Path(duckdb_path).expanduser().resolve()
    specs = load_suites(Path(expectations_dir), suites)
    delay, delay_source = resolve_followup_delay_hours(followup_delay_hours)
    vocabulary = read_vocabulary(seeds_dir)
    report = Path(report_dir).expanduser().resolve()
    database = open_warehouse(duckdb_path, memory_limit, threads)
    try:
        check_tables(database, specs, duckdb_path)
        validation_time, time_source = resolve_time_bound(
            validation_time, _last_build_of(lambda query: database.execute(query).fetchone()))
        lists = {f"ca_{key}": values for key, values in vocabulary.items()}
        variables = {"ca_followup_delay_hours": delay, **lists}
        outcomes, docs = _run_suites(lambda: _GxRunner(database, duckdb_path, variables, vocabulary),
                                     specs, report, validation_time, data_docs, progress)
    finally:
        database.close()
    outcome = ValidationOutcome(
        success=all(suite.success for suite in outcomes), duckdb_path=duckdb_path, suites=outcomes,
        report_dir=report, results_path=report / "results.json", html_path=report / "index.html",
        data_docs_path=docs, validation_time=validation_time, followup_delay_hours=delay,
        followup_delay_source=delay_source, elapsed_seconds=time.monotonic() - started,
        validation_time_source=time_source,
    )
    _write_summary(outcome)
    return outcome


def _run_suites(new_runner: Callable[[], _GxRunner], specs: Sequence[SuiteSpec], report: Path,
                validation_time: dt.datetime, data_docs: bool, progress: Progress | None,
                ) -> tuple[list[SuiteOutcome], Path | None]:
    """Every suite through one GX runner; the suite results and pages written, Data Docs when asked."""
    with warnings.catch_warnings():
        _ignore_known_warnings()
        runner = new_runner()
        try:
            results = [runner.run(spec, validation_time, progress) for spec in specs]
            outcomes = _write_suite_results(report, results, validation_time)
            shutil.rmtree(report / "data_docs", ignore_errors=True)  # never leave an earlier run's docs
            docs = runner.build_data_docs(report / "data_docs") if data_docs else None
        finally:
            runner.close()
    return outcomes, docs


def validate_postgres_warehouse(
    postgres: Any,
    expectations_dir: Path = DEFAULT_EXPECTATIONS_DIR,
    report_dir: Path = DEFAULT_VALIDATION_REPORT_DIR,
    *,
    suites: Sequence[str] | None = None,
    followup_delay_hours: float | None = None,
    data_docs: bool = False,
    progress: Progress | None = None,
    validation_time: dt.datetime | None = None,
    seeds_dir: Path = SEEDS_DIR,
) -> ValidationOutcome:
    """The same suites and report on the PostgreSQL warehouse of `postgres` (a PostgresSettings), read-only:
    GX's PostgreSQL datasource (SQLAlchemy + psycopg2), the SQL rules translated by ge_postgres.py."""
    started = time.monotonic()
    specs = load_suites(Path(expectations_dir), suites)
    delay, delay_source = resolve_followup_delay_hours(followup_delay_hours)
    vocabulary = read_vocabulary(seeds_dir)
    report = Path(report_dir).expanduser().resolve()
    with contextlib.closing(postgres.connect(create_database=False)) as connection, connection.cursor() as cursor:
        cursor.execute("select table_schema || '.' || table_name from information_schema.tables")
        existing = {row[0].lower() for row in cursor.fetchall()}
        validation_time, time_source = resolve_time_bound(
            validation_time, _last_build_of(lambda query: cursor.execute(query) or cursor.fetchone()))
    missing = [f"{spec.table} (suite {spec.name})" for spec in specs if spec.table.lower() not in existing]
    if missing:
        raise ValidationSetupError(f"validate: table {', '.join(missing)} not found in PostgreSQL {postgres.where}: "
                                   "run `python -m customer_agent_warehouse build --target postgres` first")
    variables = {"ca_followup_delay_hours": delay, **{f"ca_{key}": values for key, values in vocabulary.items()}}
    outcomes, docs = _run_suites(lambda: _PostgresGxRunner(postgres, variables, vocabulary),
                                 specs, report, validation_time, data_docs, progress)
    outcome = ValidationOutcome(
        success=all(suite.success for suite in outcomes), duckdb_path=f"PostgreSQL {postgres.where}",
        suites=outcomes, report_dir=report, results_path=report / "results.json", html_path=report / "index.html",
        data_docs_path=docs, validation_time=validation_time, followup_delay_hours=delay,
        followup_delay_source=delay_source, elapsed_seconds=time.monotonic() - started,
        validation_time_source=time_source,
    )
    _write_summary(outcome)
    return outcome


_shutdown_noise_silenced = False


def _silence_native_shutdown_noise_at_exit() -> None:
    """With GX and duckdb_engine in one process, DuckDB's binding layer (nanobind) prints dozens of spurious
    "leaked instance/type/function" lines while the interpreter tears modules down (teardown order, not a real
    leak: duckdb_engine's SQLAlchemy compiler hooks keep DuckDB objects alive until after nanobind's check).
    At exit -- after every line of the program is flushed -- stderr goes to /dev/null; registered once."""
    global _shutdown_noise_silenced
    if _shutdown_noise_silenced:
        return
    _shutdown_noise_silenced = True

    def silence() -> None:
        sys.stdout.flush()
        sys.stderr.flush()
        os.dup2(os.open(os.devnull, os.O_WRONLY), 2)

    atexit.register(silence)


def _naive_utc(value: dt.datetime) -> dt.datetime:
    """Warehouse timestamps are naive UTC: compare with a naive UTC bound."""
    return value.astimezone(dt.UTC).replace(tzinfo=None) if value.tzinfo else value


def _ignore_known_warnings() -> None:
    """Noise of the pinned stack, not data problems (inside a `warnings.catch_warnings()` block)."""
    # GX 1.24 deprecates TableAsset.schema_name; a DuckDB URL has no schema, so it is the only way to name one.
    warnings.filterwarnings("ignore", message=".*schema_name.*is deprecated", category=DeprecationWarning)
    # SQLAlchemy's PostgreSQL reflection does not know DuckDB's list type; the suites never need that type.
    warnings.filterwarnings("ignore", message="Did not recognize type")
    warnings.filterwarnings("ignore", message="module 'sre_.*' is deprecated", category=DeprecationWarning)


class _GxRunner:
    """One ephemeral GX context, one SQL datasource on the read-only warehouse, one validation per suite."""

    def __init__(self, database: Any, duckdb_path: Path, variables: dict[str, Any],
                 value_sets: dict[str, list[str]]) -> None:
        from customer_agent_warehouse.ge_connection import connection_factory, session_setup

        self._new_context()
        self._database = database
        self._value_sets = value_sets
        self._setup = session_setup(variables, file_search_path=PROJECT_ROOT)
        self.datasource = self.context.data_sources.add_sql(
            name=DATASOURCE_NAME,
            connection_string=f"duckdb:///{duckdb_path.as_posix()}",
            kwargs={"creator": connection_factory(database, self._setup)},
        )

    def _new_context(self) -> None:
        import great_expectations as gx
        from great_expectations.data_context.types.base import (
            DataContextConfig,
            InMemoryStoreBackendDefaults,
            ProgressBarsConfig,
        )

        _silence_native_shutdown_noise_at_exit()
        self._gx = gx
        self.context = gx.get_context(mode="ephemeral", project_config=DataContextConfig(
            store_backend_defaults=InMemoryStoreBackendDefaults(init_temp_docs_sites=False),
            progress_bars=ProgressBarsConfig(globally=False),
        ))

    def _suite_document(self, spec: SuiteSpec) -> dict[str, Any]:
        return {key: value for key, value in spec.document.items() if key != "id"}

    def run(self, spec: SuiteSpec, validation_time: dt.datetime, progress: Progress | None) -> tuple[SuiteOutcome, Any]:
        """Validate one suite; a suite GX cannot run at all (invalid JSON content, ...) is a failed suite."""
        started = time.monotonic()
        try:
            result = self._validate(spec, validation_time)
            failures = [self._failure(spec, item) for item in result.results if not item.success]
            success, expectations = bool(result.success), len(result.results)
        except Exception as error:  # reported as the suite's failure, the other suites still run
            message = f"{type(error).__name__}: {str(error).splitlines()[0] if str(error) else ''}"[:300]
            result = {"success": False, "suite": spec.name, "table": spec.table, "error": message}
            failures = [ExpectationFailure(suite=spec.name, table=spec.table, columns=(),
                                           expectation_type="(suite could not run)", description="",
                                           unexpected_count=None, sample=[], error=message)]
            success, expectations = False, len(spec.document.get("expectations") or [])
        outcome = SuiteOutcome(
            name=spec.name, table=spec.table, success=success, expectations=expectations,
            failed=min(len(failures), expectations), elapsed_seconds=time.monotonic() - started, failures=failures,
        )
        if progress:
            progress(outcome)
        return outcome, result

    def _validate(self, spec: SuiteSpec, validation_time: dt.datetime) -> Any:
        from great_expectations.core.run_identifier import RunIdentifier

        gx = self._gx
        asset = self.datasource.add_table_asset(name=spec.name, table_name=spec.table_name,
                                                schema_name=spec.schema_name)
        batch_definition = asset.add_batch_definition_whole_table(name="whole_table")
        document = self._suite_document(spec)
        suite = _checked_suite(gx.ExpectationSuite(**document), document)
        suite = self.context.suites.add(suite)
        definition = self.context.validation_definitions.add(
            gx.ValidationDefinition(name=spec.name, data=batch_definition, suite=suite))
        return definition.run(
            expectation_parameters={"validation_time": validation_time, **self._value_sets},
            result_format="SUMMARY",
            run_id=RunIdentifier(run_name="validate", run_time=validation_time.replace(tzinfo=dt.UTC)),
        )

    def _failure(self, spec: SuiteSpec, item: Any) -> ExpectationFailure:
        config = item.expectation_config
        kwargs = config.kwargs
        result = item.result or {}
        error = _exception_message(item.exception_info)
        if config.type == "unexpected_rows_expectation":
            count = result.get("observed_value")
            sample = [] if error else self._sample(spec, kwargs["unexpected_rows_query"])
        elif config.type == "expect_column_proportion_of_unique_values_to_be_between" and not error:
            count, sample = None, self._sample(spec, DUPLICATES_QUERY.format(column=kwargs["column"], batch="{batch}"))
        elif "partial_unexpected_list" in result:
            count, sample = result.get("unexpected_count"), list(result["partial_unexpected_list"][:SAMPLE_SIZE])
        else:
            count, sample = None, [{"observed_value": result.get("observed_value")}]
        return ExpectationFailure(
            suite=spec.name, table=spec.table, columns=_columns(kwargs, config.meta or {}),
            expectation_type=config.type, description=config.description or "",
            unexpected_count=count if isinstance(count, int) else None, sample=sample, error=error,
        )

    def _sample(self, spec: SuiteSpec, query: str) -> list[Any]:
        """First rows of a failing rule's query (GX returns rows only in its unbounded COMPLETE result format)."""
        cursor = self._database.cursor()
        try:
            self._setup(cursor)
            sql = query.format(batch=spec.table)
            relation = cursor.execute(f"SELECT * FROM ({sql}) AS unexpected_rows LIMIT {SAMPLE_SIZE}")
            names = [column[0] for column in relation.description]
            return [dict(zip(names, row, strict=True)) for row in relation.fetchall()]
        except Exception as error:  # a sample is best effort; GX has already reported the failure
            return [f"(sample unavailable: {str(error).splitlines()[0]})"]
        finally:
            cursor.close()

    def build_data_docs(self, site_dir: Path) -> Path | None:
        try:
            self.context.add_data_docs_site(site_name="validation", site_config={
                "class_name": "SiteBuilder",
                "store_backend": {"class_name": "TupleFilesystemStoreBackend", "base_directory": str(site_dir)},
                "site_index_builder": {"class_name": "DefaultSiteIndexBuilder"},
            })
            self.context.build_data_docs(site_names=["validation"])
        except Exception as error:  # the self-made report and the JSON results are still written
            logging.getLogger(__name__).warning("GX Data Docs not built: %s", error)
            return None
        index = site_dir / "index.html"
        return index if index.is_file() else None

    def close(self) -> None:
        with contextlib.suppress(Exception):  # best effort; the database connection is closed next
            self.datasource.get_execution_engine().engine.dispose()


class _PostgresGxRunner(_GxRunner):
    """The runner on PostgreSQL: GX's PostgreSQL datasource, a read-only UTC session with the suite variables,
    the suites' DuckDB SQL rules translated (ge_postgres.py)."""

    def __init__(self, postgres: Any, variables: dict[str, Any], value_sets: dict[str, list[str]]) -> None:
        from customer_agent_warehouse.ge_postgres import session_options

        self._new_context()
        self._value_sets = value_sets
        self._variables = variables
        self.datasource = self.context.data_sources.add_postgres(
            name=DATASOURCE_NAME, connection_string=postgres.sqlalchemy_url(),
            kwargs={"connect_args": {"options": session_options(variables), "connect_timeout": 10}},
        )

    def _suite_document(self, spec: SuiteSpec) -> dict[str, Any]:
        from customer_agent_warehouse.ge_postgres import postgres_sql

        document = super()._suite_document(spec)
        expectations = []
        for expectation in document.get("expectations") or []:
            kwargs = dict(expectation.get("kwargs") or {})
            if "unexpected_rows_query" in kwargs:
                kwargs["unexpected_rows_query"] = postgres_sql(kwargs["unexpected_rows_query"], self._variables)
            expectations.append({**expectation, "kwargs": kwargs})
        return {**document, "expectations": expectations}

    def _sample(self, spec: SuiteSpec, query: str) -> list[Any]:
        """First rows of a failing rule's (already translated) query."""
        import sqlalchemy as sa

        try:
            with self.datasource.get_execution_engine().engine.connect() as connection:
                sql = query.format(batch=spec.table)
                result = connection.execute(sa.text(f"SELECT * FROM ({sql}) AS unexpected_rows LIMIT {SAMPLE_SIZE}"))
                return [dict(row._mapping) for row in result]
        except Exception as error:  # a sample is best effort; GX has already reported the failure
            return [f"(sample unavailable: {str(error).splitlines()[0]})"]


def _checked_suite(suite: Any, document: dict[str, Any]) -> Any:
    """GX logs and drops an expectation it cannot build (unknown type, bad kwargs): never skip one silently."""
    wanted = [str(item.get("type")) for item in document.get("expectations") or []]
    built = [expectation.expectation_type for expectation in suite.expectations]
    if len(built) != len(wanted):
        dropped = list(wanted)
        for name in built:
            dropped.remove(name)
        raise ValueError(f"{len(dropped)} expectation(s) could not be loaded (unknown type or invalid kwargs): "
                         f"{', '.join(dropped)}")
    return suite


def _columns(kwargs: dict[str, Any], meta: dict[str, Any]) -> tuple[str, ...]:
    if kwargs.get("column"):
        return (str(kwargs["column"]),)
    if kwargs.get("column_A"):
        return (str(kwargs["column_A"]), str(kwargs["column_B"]))
    for key in ("column_list", "column_set"):
        if kwargs.get(key):
            return tuple(str(column) for column in kwargs[key])
    return tuple(str(column) for column in meta.get("columns", []))


def _exception_message(exception_info: Any) -> str | None:
    if not exception_info:
        return None
    infos = [exception_info] if "raised_exception" in exception_info else list(exception_info.values())
    for info in infos:
        if isinstance(info, dict) and info.get("raised_exception"):
            message = str(info.get("exception_message") or "exception")
            return message.splitlines()[0][:300]
    return None


def _short(value: Any, limit: int = 300) -> str:
    return _short_text(json.dumps(value, default=str, ensure_ascii=False), limit)


def _short_text(text: str, limit: int) -> str:
    return text if len(text) <= limit else text[: limit - 3] + "..."


# ---------------------------------------------------------------------------------------------- report
# The report folder is fully offline: index.html and one page per suite (suites/<suite>.html, rendered here from
# the suite's results JSON) use inline CSS only and link each other with relative links. GX Data Docs load their
# styles and scripts from CDNs (blank without the internet), so they are built only on request (--data-docs).
RESULT_FIELDS = ("observed_value", "element_count", "missing_count", "unexpected_count", "unexpected_percent")
SHOWN_AS_COLUMNS = {"batch_id", "catch_exceptions", "column", "column_A", "column_B", "column_list", "column_set"}
REPORT_STYLE = """
body { font-family: system-ui, sans-serif; margin: 2rem; color: #222; }
table { border-collapse: collapse; margin-bottom: 2rem; }
th, td { border: 1px solid #ccc; padding: .35rem .6rem; text-align: left; vertical-align: top; }
th { background: #f3f3f3; } tr.pass td:first-child { color: #137333; font-weight: bold; }
tr.fail td:first-child { color: #b3261e; font-weight: bold; } tr.fail { background: #fdf3f2; }
code { font-size: .9em; } td.sample code, td.arguments code { word-break: break-all; white-space: pre-wrap; }
.banner { padding: .6rem 1rem; border-radius: 4px; display: inline-block; font-weight: bold; }
.banner.pass { background: #e6f4ea; color: #137333; } .banner.fail { background: #fce8e6; color: #b3261e; }
"""


def _page(title: str, body: str) -> str:
    return (f'<!doctype html>\n<html lang="en"><head><meta charset="utf-8"><title>{html.escape(title)}</title>'
            f"<style>{REPORT_STYLE}</style></head><body>\n{body}\n</body></html>\n")


def _banner(success: bool, text: str) -> str:
    return f'<p class="banner {"pass" if success else "fail"}">{html.escape(text)}</p>'


def _write_suite_results(report_dir: Path, results: list[tuple[SuiteOutcome, Any]],
                         validation_time: dt.datetime) -> list[SuiteOutcome]:
    """suites/<suite>.json (the full GX result) and suites/<suite>.html (rendered from that JSON) per suite."""
    suites_dir = report_dir / "suites"
    shutil.rmtree(suites_dir, ignore_errors=True)
    suites_dir.mkdir(parents=True, exist_ok=True)
    written = []
    for outcome, result in results:
        path = suites_dir / f"{outcome.name}.json"
        document = result if isinstance(result, dict) else result.to_json_dict()
        path.write_text(json.dumps(document, indent=2, default=str) + "\n")
        page = suites_dir / f"{outcome.name}.html"
        suite = SuiteOutcome(**{**outcome.__dict__, "result_path": path, "page_path": page})
        page.write_text(_render_suite_page(suite, json.loads(path.read_text()), validation_time))
        written.append(suite)
    return written


def _write_summary(outcome: ValidationOutcome) -> None:
    document = {
        "success": outcome.success,
        "warehouse": str(outcome.duckdb_path),
        "validation_time_utc": outcome.validation_time.isoformat(),
        "validation_time_source": outcome.validation_time_source,
        "elapsed_seconds": round(outcome.elapsed_seconds, 3),
        "followup_delay_hours": outcome.followup_delay_hours,
        "followup_delay_source": outcome.followup_delay_source,
        "data_docs": str(outcome.data_docs_path) if outcome.data_docs_path else None,
        "statistics": {"suites": len(outcome.suites), "expectations": outcome.expectations,
                       "failed_expectations": len(outcome.failures),
                       "failed_suites": sum(not suite.success for suite in outcome.suites)},
        "suites": [
            {key: value for key, value in asdict(suite).items() if key != "failures"} for suite in outcome.suites
        ],
        "failures": [asdict(failure) for failure in outcome.failures],
    }
    outcome.report_dir.mkdir(parents=True, exist_ok=True)
    outcome.results_path.write_text(json.dumps(document, indent=2, default=str) + "\n")
    outcome.html_path.write_text(_render_html(outcome))


def _failure_rows(failures: Iterable[ExpectationFailure], with_suite: bool) -> str:
    esc = html.escape
    return "".join(
        "<tr>" + (f'<td><a href="suites/{esc(f.suite)}.html">{esc(f.suite)}</a></td>' if with_suite else "")
        + f"<td><code>{esc(f.table)}</code></td><td><code>{esc(', '.join(f.columns))}</code></td>"
        f"<td><code>{esc(f.expectation_type)}</code><br><small>{esc(f.description)}</small></td>"
        f"<td>{'' if f.unexpected_count is None else f'{f.unexpected_count:,}'}</td>"
        f'<td class="sample"><code>{esc(f.error or _short(f.sample, 1000))}</code></td></tr>'
        for f in failures)


def _failure_table(failures: list[ExpectationFailure], with_suite: bool) -> str:
    if not failures:
        return ""
    suite_header = "<th>Suite</th>" if with_suite else ""
    return (f"<h2>Failing expectations</h2><table><tr>{suite_header}<th>Table</th><th>Column(s)</th>"
            "<th>Expectation</th><th>Unexpected</th><th>Sample of bad values</th></tr>"
            f"{_failure_rows(failures, with_suite)}</table>")


def _render_html(outcome: ValidationOutcome) -> str:
    esc = html.escape
    state = "All expectations passed" if outcome.success else f"{len(outcome.failures)} expectation(s) failed"
    rows = []
    for suite in outcome.suites:
        rows.append(
            f'<tr class="{"pass" if suite.success else "fail"}"><td>{"PASS" if suite.success else "FAIL"}</td>'
            f'<td><a href="suites/{esc(suite.name)}.html">{esc(suite.name)}</a></td>'
            f"<td><code>{esc(suite.table)}</code></td>"
            f"<td>{suite.expectations - suite.failed}/{suite.expectations}</td>"
            f"<td>{suite.elapsed_seconds:.2f}s</td>"
            f'<td><a href="suites/{esc(suite.name)}.html">results</a> · '
            f'<a href="suites/{esc(suite.name)}.json">JSON</a></td></tr>')
    docs = ""
    if outcome.data_docs_path:
        docs = ("<p>Also rendered by Great Expectations (their pages load styles and scripts from CDNs: they need "
                f'the internet): <a href="{esc(outcome.data_docs_path.relative_to(outcome.report_dir).as_posix())}">'
                "GX Data Docs</a></p>")
    body = f"""<h1>Customer Agent warehouse: validation</h1>
{_banner(outcome.success, state)}
<p>Warehouse <code>{esc(str(outcome.duckdb_path))}</code> (read-only), validated in {outcome.elapsed_seconds:.1f}s:
{len(outcome.suites)} suites, {outcome.expectations} expectations; event times up to
{esc(outcome.validation_time.isoformat(timespec="seconds"))} UTC ({esc(outcome.validation_time_source)}).
<code>followup_delay_hours</code> = {outcome.followup_delay_hours:g} ({esc(outcome.followup_delay_source)}).</p>
<h2>Suites</h2><table><tr><th>Status</th><th>Suite</th><th>Table</th><th>Passed</th><th>Time</th><th>Results</th></tr>
{"".join(rows)}</table>
{_failure_table(outcome.failures, with_suite=True)}
{docs}
<p><a href="results.json">results.json</a></p>"""
    return _page(f"Warehouse validation: {state}", body)


def _arguments(kwargs: dict[str, Any]) -> str:
    shown = {key: value for key, value in kwargs.items() if key not in SHOWN_AS_COLUMNS}
    return "<br>".join(f"{html.escape(key)}: <code>{html.escape(value if isinstance(value, str) else _short(value))}"
                       "</code>" for key, value in shown.items())


def _observed(result: dict[str, Any]) -> str:
    parts = []
    for key in RESULT_FIELDS:
        if result.get(key) is not None:
            value = result[key]
            text = f"{value:.4g}%" if key == "unexpected_percent" else _short(value, 200)
            parts.append(f"{html.escape(key)}: <code>{html.escape(text)}</code>")
    return "<br>".join(parts)


def _expectation_rows(document: dict[str, Any], failures: list[ExpectationFailure]) -> list[str]:
    """One row per expectation result, in suite order; a failure's sample is the one printed by the CLI."""
    esc, samples, rows = html.escape, iter(failures), []
    for item in document.get("results") or []:
        config, result = item.get("expectation_config") or {}, item.get("result") or {}
        success = bool(item.get("success"))
        failure = None if success else next(samples, None)
        error = _exception_message(item.get("exception_info"))
        sample = (failure.error or _short(failure.sample, 1000)) if failure else (error or "")
        rows.append(
            f'<tr class="{"pass" if success else "fail"}"><td>{"PASS" if success else "FAIL"}</td>'
            f"<td><code>{esc(str(config.get('type')))}</code><br><small>{esc(config.get('description') or '')}"
            f"</small></td><td><code>{esc(', '.join(_columns(config.get('kwargs') or {}, config.get('meta') or {})))}"
            f'</code></td><td class="arguments">{_arguments(config.get("kwargs") or {})}</td>'
            f'<td>{_observed(result)}</td><td class="sample"><code>{esc(sample)}</code></td></tr>')
    return rows


def _render_suite_page(suite: SuiteOutcome, document: dict[str, Any], validation_time: dt.datetime) -> str:
    """The suite's own result page, from its results JSON (GX `ExpectationSuiteValidationResult`)."""
    esc = html.escape
    passed = suite.expectations - suite.failed
    state = f"{'PASS' if suite.success else 'FAIL'}: {passed}/{suite.expectations} expectations passed"
    rows = _expectation_rows(document, suite.failures)
    if document.get("error"):
        rows = [f'<tr class="fail"><td>FAIL</td><td colspan="5"><code>{esc(str(document["error"]))}</code></td></tr>']
    body = f"""<p><a href="../index.html">&larr; all suites</a></p>
<h1>Suite {esc(suite.name)}</h1>
{_banner(suite.success, state)}
<p>Table <code>{esc(suite.table)}</code>, event times up to {esc(validation_time.isoformat(timespec="seconds"))}
UTC, validated in {suite.elapsed_seconds:.2f}s.
Full result: <a href="{esc(suite.name)}.json">{esc(suite.name)}.json</a>.</p>
{_failure_table(suite.failures, with_suite=False)}
<h2>Expectations</h2><table><tr><th>Status</th><th>Expectation</th><th>Column(s)</th><th>Arguments</th>
<th>Observed</th><th>Sample of bad values</th></tr>
{"".join(rows)}</table>"""
    return _page(f"Suite {suite.name}: {state}", body)


# ---------------------------------------------------------------------------------------------- CLI
def add_validate_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--duckdb-path", help="warehouse file (default: CA_DUCKDB_PATH, else data/warehouse.duckdb)")
    parser.add_argument("--report-dir", type=Path, default=DEFAULT_VALIDATION_REPORT_DIR,
                        help="where results.json, index.html, suites/ and data_docs/ go (default reports/validation)")
    parser.add_argument("--expectations-dir", type=Path, default=DEFAULT_EXPECTATIONS_DIR,
                        help="folder of suite JSON files (default expectations/)")
    parser.add_argument("--suite", action="append", dest="suites", metavar="NAME",
                        help="run only this suite (repeatable)")
    parser.add_argument("--followup-delay-hours", type=float,
                        help="the dbt var followup_delay_hours the build used (default: read from dbt, else 2)")
    parser.add_argument("--memory-limit", default=setting("CA_VALIDATE_MEMORY"),
                        help="DuckDB memory limit while validating (default CA_VALIDATE_MEMORY or 2GB)")
    parser.add_argument("--threads", type=positive_int, default=read_variable("CA_DUCKDB_THREADS"),
                        help="DuckDB threads (default CA_DUCKDB_THREADS, else DuckDB's default)")
    add_target_argument(parser)
    parser.add_argument("--validation-time", type=_parse_time, metavar="ISO-8601",
                        help="latest acceptable event time, e.g. 2026-11-21T00:00:00Z (default: the end of the build's "
                             "plausible-time window: timestamp_window_anchor, else the start of the warehouse's "
                             "last build, plus timestamp_max_days_after_build days)")
    parser.add_argument("--data-docs", action=argparse.BooleanOptionalAction, default=False,
                        help="also build GX Data Docs in data_docs/ (their pages load styles and scripts from CDNs, "
                             "so they need the internet; the project's own pages do not); default: not built")


def _parse_time(text: str) -> dt.datetime:
    try:
        return _naive_utc(dt.datetime.fromisoformat(text.strip().replace("Z", "+00:00")))
    except ValueError as error:
        raise argparse.ArgumentTypeError(f"not an ISO-8601 time: {text!r}") from error


def print_suite(outcome: SuiteOutcome) -> None:
    print(outcome.line(), flush=True)
    for failure in outcome.failures:
        print(f"      x {failure.line()}", flush=True)


def run_validate(args: argparse.Namespace) -> int:
    if args.target == "spark_thrift":
        raise UsageError("validate has no --target spark_thrift: validate the DuckDB build (--target duckdb), or "
                         "run `build --target spark` with CA_SPARK_MASTER on the cluster and `validate --target spark`")
    duckdb_path = resolve_duckdb_path(args.duckdb_path)
    try:
        if args.target == "postgres":
            outcome = _validate_postgres(args)
        elif args.target == "spark":
            outcome = _validate_spark(args)
        else:
            print(f"validate: warehouse {duckdb_path} (read-only)", flush=True)
            outcome = validate_warehouse(
                duckdb_path, args.expectations_dir, args.report_dir, suites=args.suites,
                followup_delay_hours=args.followup_delay_hours, memory_limit=args.memory_limit,
                threads=args.threads,
                data_docs=args.data_docs, progress=print_suite, validation_time=args.validation_time,
            )
    except ValidationSetupError as error:
        print(str(error), file=sys.stderr)
        return 2
    print(f"validate: followup_delay_hours = {outcome.followup_delay_hours:g} ({outcome.followup_delay_source})")
    print(f"validate: event times up to {outcome.validation_time.isoformat(timespec='seconds')} UTC "
          f"({outcome.validation_time_source})")
    print(outcome.summary_line())
    return outcome.exit_code


def _validate_postgres(args: argparse.Namespace) -> ValidationOutcome:
    from customer_agent_warehouse.postgres_connection import PostgresSettings

    postgres = PostgresSettings.from_environment()
    print(f"validate: warehouse PostgreSQL {postgres.where} (read-only)", flush=True)
    return validate_postgres_warehouse(
        postgres, args.expectations_dir, args.report_dir, suites=args.suites,
        followup_delay_hours=args.followup_delay_hours, data_docs=args.data_docs, progress=print_suite,
        validation_time=args.validation_time,
    )


def _validate_spark(args: argparse.Namespace) -> ValidationOutcome:
    from customer_agent_warehouse.validate_spark import validate_spark_warehouse

    print("validate: warehouse Spark (CA_SPARK_WAREHOUSE), Spark DataFrames", flush=True)
    return validate_spark_warehouse(
        args.expectations_dir, args.report_dir, suites=args.suites, followup_delay_hours=args.followup_delay_hours,
        progress=print_suite, validation_time=args.validation_time,
    )
