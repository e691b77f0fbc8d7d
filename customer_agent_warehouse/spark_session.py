"""The one Spark session of a `--target spark` command, with the settings of the profile's `spark` output.

`build`, `load` and `validate --target spark` start Spark once in this process: the loader reads the raw zone
with it, then dbt runs in-process (`dbt.cli.main.dbtRunner`) and dbt-spark's session method gets the same
SparkSession back from `getOrCreate()` (the embedded Derby metastore admits one process, so a second JVM on the
same warehouse could not start). The session's settings are the `server_side_parameters` of the `spark` output
in profiles/profiles.yml, rendered from the same CA_* variables, so the loader and dbt can never disagree.

One command per warehouse at a time: an exclusive lock on `<CA_SPARK_WAREHOUSE>.lock` is taken before the JVM
starts; a second command fails at once with one line naming CA_SPARK_WAREHOUSE.
"""

from __future__ import annotations

import os
import shutil
import subprocess
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from customer_agent_warehouse.locking import BuildLock, WarehouseLocked, lock_path_for
from customer_agent_warehouse.settings import PROJECT_ROOT, UsageError, read_variable, setting

PROFILE = PROJECT_ROOT / "profiles" / "profiles.yml"
ENSURE_JAVA = PROJECT_ROOT / "scripts" / "ensure_java.sh"
#: dbt-spark forces it on its session; set here too so the session is the same before dbt starts.
FORCED_SETTINGS = {"spark.sql.ansi.enabled": "false"}


def _env_var(environ: Mapping[str, str] | None, overrides: Mapping[str, str]) -> Any:
    """dbt's env_var for the profile: the CA_* variables checked by settings.py (their defaults otherwise)."""
    def env_var(name: str, default: str | None = None) -> str:
        value = overrides.get(name) or read_variable(name, environ)
        if value is None and default is None:
            raise UsageError(f"profiles/profiles.yml needs the environment variable {name}")
        return value if value is not None else default
    return env_var


def spark_settings(environ: Mapping[str, str] | None = None,
                   overrides: Mapping[str, str] | None = None) -> dict[str, str]:
    """The `server_side_parameters` of the profile's `spark` output, rendered as dbt renders them."""
    import jinja2
    import yaml

    profile = yaml.safe_load(PROFILE.read_text())
    parameters = profile["customer_agent_warehouse"]["outputs"]["spark"]["server_side_parameters"]
    renderer = jinja2.Environment(undefined=jinja2.StrictUndefined)
    env_var = _env_var(environ, overrides or {})
    return {name: renderer.from_string(str(value)).render(env_var=env_var) for name, value in parameters.items()}


def warehouse_path(environ: Mapping[str, str] | None = None) -> Path:
    """CA_SPARK_WAREHOUSE (relative paths from the project root, where dbt runs)."""
    return (PROJECT_ROOT / setting("CA_SPARK_WAREHOUSE", environ).rstrip("/")).resolve()


def ensure_java() -> None:
    """JAVA_HOME of a Java 17/21 runtime (scripts/ensure_java.sh installs one when missing)."""
    if os.environ.get("JAVA_HOME") and shutil.which("java"):
        return
    result = subprocess.run(["bash", str(ENSURE_JAVA)], capture_output=True, text=True, check=False)
    if result.returncode != 0:
        raise UsageError(result.stderr.strip().splitlines()[-1] if result.stderr.strip()
                         else "Spark needs Java 17 or 21: install a JRE (scripts/ensure_java.sh)")
    java_home = result.stdout.strip()
    os.environ["JAVA_HOME"] = java_home
    os.environ["PATH"] = f"{java_home}/bin{os.pathsep}{os.environ.get('PATH', '')}"


def warehouse_lock(warehouse: Path) -> BuildLock:
    return BuildLock(warehouse, lock_path_for(warehouse))


def busy_message(warehouse: Path) -> str:
    return (f"the Spark warehouse {warehouse} (CA_SPARK_WAREHOUSE) is in use by another Spark build, load or "
            "validation: wait for it to finish, or give this job its own CA_SPARK_WAREHOUSE (its Derby metastore "
            "admits one process)")


@contextmanager
def spark_session() -> Iterator[Any]:
    """The command's SparkSession under the warehouse lock; stopped at the end."""
    warehouse = warehouse_path()
    try:
        lock = warehouse_lock(warehouse).acquire()
    except WarehouseLocked:
        raise UsageError(busy_message(warehouse)) from None
    try:
        ensure_java()
        os.environ.setdefault("SPARK_LOCAL_IP", "127.0.0.1")
        warehouse.mkdir(parents=True, exist_ok=True)
        from pyspark.sql import SparkSession

        builder = SparkSession.builder.enableHiveSupport()
        # The warehouse as an absolute path: the session's folders never depend on the working directory.
        settings = spark_settings(overrides={"CA_SPARK_WAREHOUSE": str(warehouse)})
        for name, value in {**settings, **FORCED_SETTINGS}.items():
            builder = builder.config(name, value)
        session = builder.getOrCreate()
        session.sparkContext.setLogLevel("ERROR")
        try:
            yield session
        finally:
            session.stop()
    finally:
        lock.release()


@contextmanager
def active_or_new_session() -> Iterator[Any]:
    """The SparkSession this process already runs (`build --target spark`), else a new one for the block."""
    from pyspark.sql import SparkSession

    active = SparkSession.getActiveSession()
    if active is not None:
        yield active
        return
    with spark_session() as session:
        yield session


METASTORE_BUSY = ("Unable to instantiate org.apache.hadoop.hive.ql.metadata.SessionHiveMetaStoreClient",
                  "Another instance of Derby may have already booted the database")


def is_metastore_busy(error: BaseException | str) -> bool:
    """True for Spark's error when another process holds the warehouse's Derby metastore."""
    text = str(error)
    return any(marker in text for marker in METASTORE_BUSY)
