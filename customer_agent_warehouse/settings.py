"""Every `CA_*` environment variable of the project: its default, its meaning and its check (spec §2, §7, §10).

This module is the only place that reads `CA_*` variables (profiles/profiles.yml renders the dbt connection from
the same names); `python -m customer_agent_warehouse --help` lists them from `VARIABLES`. A bad value is a
`SettingsError` whose message is one line naming the variable, the value and the accepted form.
"""

from __future__ import annotations

import os
import re
import tempfile
import textwrap
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from pathlib import Path

from customer_agent_warehouse.ingest.sources import SOURCES as SOURCES  # re-exported: the one source list

PROJECT_ROOT = Path(__file__).resolve().parent.parent
DEFAULT_RAW_PATH = PROJECT_ROOT / "data" / "raw"
DEFAULT_DUCKDB_PATH = PROJECT_ROOT / "data" / "warehouse.duckdb"
DEFAULT_REPORT_DIR = PROJECT_ROOT / "reports"
SERVING_FOLDER = "serving"
TARGETS = ("duckdb", "postgres", "spark", "spark_thrift")
MIN_MEMORY_BYTES = 100_000_000
HELP_WIDTH = 110


class UsageError(Exception):
    """A foreseeable problem of the user's input or environment: one line that names what and the fix (exit 2)."""


class SettingsError(UsageError):
    """A `CA_*` variable has a value the project cannot use."""


# --- checks: each takes the variable's text and returns it (normalised) or raises ValueError(accepted form) ------
def _positive_int(text: str) -> str:
    if not re.fullmatch(r"[0-9]+", text) or not 1 <= int(text) <= 1024:
        raise ValueError("a whole number of threads from 1 to 1024, e.g. 2")
    return str(int(text))


def _positive_count(text: str) -> str:
    if not re.fullmatch(r"[0-9]+", text) or int(text) < 1:
        raise ValueError("a whole number of at least 1, e.g. 8")
    return str(int(text))


MEMORY_UNITS = {"": 1, "b": 1, "k": 10**3, "kb": 10**3, "m": 10**6, "mb": 10**6, "g": 10**9, "gb": 10**9,
                "t": 10**12, "tb": 10**12, "kib": 2**10, "mib": 2**20, "gib": 2**30, "tib": 2**40}


def memory_bytes(text: str) -> int | None:
    """Bytes of a DuckDB memory size such as `5GB`, `500MB` or `4GiB`; None for a percentage or an unknown form."""
    match = re.fullmatch(r"([0-9]+(?:\.[0-9]+)?) *([a-zA-Z]*)", text)
    if not match or match.group(2).lower() not in MEMORY_UNITS or not match.group(2):
        return None
    return int(float(match.group(1)) * MEMORY_UNITS[match.group(2).lower()])


def _memory(text: str) -> str:
    percent = re.fullmatch(r"([0-9]{1,3}) *%", text)
    if percent and 1 <= int(percent.group(1)) <= 100:
        return text
    size = memory_bytes(text)
    if size is None or size < MIN_MEMORY_BYTES:
        raise ValueError("a DuckDB memory size of at least 100MB such as 5GB, 500MB or 4GiB, or a share such as 80%")
    return text


def _target(text: str) -> str:
    if text not in TARGETS:
        raise ValueError(f"one of {', '.join(TARGETS)}")
    return text


def _port(text: str) -> str:
    if not re.fullmatch(r"[0-9]+", text) or not 1 <= int(text) <= 65535:
        raise ValueError("a TCP port from 1 to 65535, e.g. 5432")
    return str(int(text))


def _path(text: str) -> str:
    if "\x00" in text:
        raise ValueError("a file system path")
    return text


def _pg_database(text: str) -> str:
    # dbt-postgres renders the database as "name" without doubling a quote inside it
    if '"' in text or len(text.encode()) > 63:
        raise ValueError("a PostgreSQL database name of at most 63 bytes without a double quote, e.g. customer_agent")
    return text


def _url(text: str) -> str:
    if not re.fullmatch(r"https?://[^\s/]+(/\S*)?", text):
        raise ValueError("an http(s) URL such as https://a.klaviyo.com")
    return text.rstrip("/")


def _utc_time(text: str) -> str:
    if not re.fullmatch(r"[0-9]{4}-[0-9]{2}-[0-9]{2}([Tt ][0-9]{2}:[0-9]{2}(:[0-9]{2})?)? *([Zz]|\+00:?00)?", text):
        raise ValueError("an ISO-8601 UTC time such as 2026-12-01T00:00:00Z")
    return text


def _text(text: str) -> str:
    return text


@dataclass(frozen=True)
class Variable:
    name: str
    default: str  # as shown in --help; "" means none
    meaning: str
    check: Callable[[str], str] = _text


VARIABLES: tuple[Variable, ...] = (
    Variable("CA_RAW_PATH", "data/raw", f"the raw zone (folders {', '.join(f'{name}/' for name in SOURCES)}). "
             "Set explicitly, an empty or missing folder is an error: no sample data is generated into it", _path),
    Variable("CA_DUCKDB_PATH", "data/warehouse.duckdb", "the BUILD file that `dbt build` writes (locked while "
             "a build runs: <file>.lock names the holder)", _path),
    Variable("CA_DUCKDB_SERVING_PATH", "<folder of CA_DUCKDB_PATH>/serving/<its file name>", "the SERVING copy "
             "that BI tools open read-only, published atomically after every successful build", _path),
    Variable("CA_DUCKDB_THREADS", "2", "DuckDB threads of the build (one per core)", _positive_int),
    Variable("CA_DUCKDB_MEMORY", "5GB", "DuckDB memory limit of the build; beyond it DuckDB spills to "
             "<build file>.tmp/", _memory),
    Variable("CA_DBT_TARGET", "duckdb", f"dbt target ({', '.join(TARGETS)}) of build, validate, bench and export "
             "when --target is not given", _target),
    Variable("CA_VALIDATE_MEMORY", "2GB", "DuckDB memory limit of `validate`", _memory),
    Variable("CA_DUCKDB_TEMP_DIR", "<system temp>/ca_validate_duckdb_tmp", "spill folder of `validate`", _path),
    Variable("CA_PG_HOST", "localhost", "PostgreSQL server of the postgres target"),
    Variable("CA_PG_PORT", "5432", "its port", _port),
    Variable("CA_PG_USER", "postgres", "its user"),
    Variable("CA_PG_PASSWORD", "", "its password"),
    Variable("CA_PG_DATABASE", "customer_agent", "its database", _pg_database),
    Variable("CA_PG_THREADS", "4", "dbt threads of the postgres target", _positive_int),
    Variable("CA_SPARK_MASTER", "local[2]", "Spark master of the spark target"),
    Variable("CA_SPARK_WAREHOUSE", "data/spark-warehouse", "folder of Spark's managed tables", _path),
    Variable("CA_SPARK_DRIVER_MEMORY", "4g", "Spark driver JVM heap"),
    Variable("CA_SPARK_EXECUTOR_MEMORY", "1g", "Spark executor JVM heap (on a cluster: per executor)"),
    Variable("CA_SPARK_SHUFFLE_PARTITIONS", "8", "Spark partitions after a shuffle", _positive_count),
    Variable("CA_SPARK_THREADS", "4", "dbt threads of the spark target (one Spark session)", _positive_int),
    Variable("CA_SPARK_HOST", "localhost", "Spark Thrift server of the spark_thrift output"),
    Variable("CA_SPARK_PORT", "10000", "its port", _port),
    Variable("CA_SPARK_USER", "dbt", "its user"),
    Variable("CA_KLAVIYO_BASE_URL", "https://a.klaviyo.com", "API base URL for `export --push`", _url),
    Variable("CA_KLAVIYO_API_KEY", "", "private API key for `export --push`"),
    Variable("CA_TIMESTAMP_WINDOW_ANCHOR", "the start of the build", "default of the dbt var timestamp_window_anchor: "
             "the instant the plausible-time window's end counts from (the test suite pins it)", _utc_time),
    Variable("CA_CHROMIUM", "chromium on PATH", "the Chromium binary of the report tests (scripts/install_chromium.sh)",
             _path),
)
VARIABLES_BY_NAME = {variable.name: variable for variable in VARIABLES}


def read_variable(name: str, environ: Mapping[str, str] | None = None) -> str | None:
    """The checked value of a `CA_*` variable, or None when it is unset or blank (the default applies)."""
    variable = VARIABLES_BY_NAME[name]
    text = (os.environ if environ is None else environ).get(name, "").strip()
    if not text:
        return None
    try:
        return variable.check(text)
    except ValueError as error:
        raise SettingsError(f"{name}={text!r} is not valid: expected {error}") from None


def environment_help() -> str:
    """The `--help` section that lists every variable."""
    lines = ["environment variables (relative paths are relative to the current directory):"]
    column = max(len(variable.name) for variable in VARIABLES) + 2
    for variable in VARIABLES:
        default = f" (default: {variable.default})" if variable.default else ""
        lines += textwrap.wrap(f"{variable.meaning}{default}", width=HELP_WIDTH,
                               initial_indent=f"  {variable.name:<{column}}", subsequent_indent=" " * (column + 2),
                               break_on_hyphens=False)
    return "\n".join(lines)


# --- the resolved settings ---------------------------------------------------------------------------------------
@dataclass(frozen=True)
class Settings:
    raw_path: Path
    duckdb_path: Path
    raw_path_explicit: bool = False
    serving_path: Path | None = None
    duckdb_threads: str = "2"
    duckdb_memory: str = "5GB"
    target: str = "duckdb"

    @property
    def serving(self) -> Path:
        """The serving copy: CA_DUCKDB_SERVING_PATH, else `serving/<build file name>` beside the build file (the
        same file name, so the DuckDB catalog a BI tool sees has the build's name)."""
        return self.serving_path or self.duckdb_path.parent / SERVING_FOLDER / self.duckdb_path.name

    @property
    def readable_warehouse(self) -> Path:
        """What a reader opens: the serving copy, else the build file while nothing was published yet."""
        return self.serving if self.serving.is_file() else self.duckdb_path

    def dbt_env(self, base: Mapping[str, str] | None = None) -> dict[str, str]:
        """The environment a dbt subprocess needs: absolute paths, so the working directory does not matter."""
        env = dict(os.environ if base is None else base)
        env.update(CA_RAW_PATH=str(self.raw_path), CA_DUCKDB_PATH=str(self.duckdb_path),
                   CA_DUCKDB_SERVING_PATH=str(self.serving), CA_DBT_TARGET=self.target)
        env.setdefault("DBT_SEND_ANONYMOUS_USAGE_STATS", "false")
        return env


def _path_from(name: str, default: Path, environ: Mapping[str, str]) -> Path:
    value = read_variable(name, environ)
    return Path(value).expanduser().resolve() if value else default


def load_settings(environ: Mapping[str, str] | None = None) -> Settings:
    """Every `CA_*` variable checked (a SettingsError names the first bad one); paths made absolute."""
    environ = os.environ if environ is None else environ
    for variable in VARIABLES:
        read_variable(variable.name, environ)
    serving = read_variable("CA_DUCKDB_SERVING_PATH", environ)
    return Settings(
        raw_path=_path_from("CA_RAW_PATH", DEFAULT_RAW_PATH, environ),
        raw_path_explicit=read_variable("CA_RAW_PATH", environ) is not None,
        duckdb_path=_path_from("CA_DUCKDB_PATH", DEFAULT_DUCKDB_PATH, environ),
        serving_path=Path(serving).expanduser().resolve() if serving else None,
        duckdb_threads=read_variable("CA_DUCKDB_THREADS", environ) or "2",
        duckdb_memory=read_variable("CA_DUCKDB_MEMORY", environ) or "5GB",
        target=read_variable("CA_DBT_TARGET", environ) or "duckdb",
    )


def setting(name: str, environ: Mapping[str, str] | None = None) -> str:
    """A variable's checked value, else its default (for the variables whose default is a plain value)."""
    return read_variable(name, environ) or VARIABLES_BY_NAME[name].default


def validate_temp_dir(environ: Mapping[str, str] | None = None) -> Path:
    value = read_variable("CA_DUCKDB_TEMP_DIR", environ)
    return Path(value) if value else Path(tempfile.gettempdir()) / "ca_validate_duckdb_tmp"
