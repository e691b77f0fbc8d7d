"""The command line (issue 12, "Python package and CLI"; issue 16): sub-commands, one-line errors with exit code
2, every CA_* variable declared once in settings.py and listed by --help, the shared dbt runner, the lock."""

from __future__ import annotations

import re
import subprocess
import sys
from pathlib import Path

import duckdb
import pytest

from customer_agent_warehouse import __version__
from customer_agent_warehouse.cli import COMMANDS, main
from customer_agent_warehouse.dbt_runner import DBT_EXECUTABLE, DbtRunner
from customer_agent_warehouse.pipeline import may_generate_sample
from customer_agent_warehouse.settings import (
    DEFAULT_RAW_PATH,
    PROJECT_ROOT,
    VARIABLES,
    VARIABLES_BY_NAME,
    SettingsError,
    load_settings,
)
from tests.python.warehouse import Warehouse

CA_NAME = re.compile(r"\bCA_[A-Z][A-Z0-9_]*[A-Z0-9]\b")
ENV_READ = re.compile(r"(?:environ\.get\(|environ\[|getenv\()([^,)\]]*)")
SCANNED = ("customer_agent_warehouse/**/*.py", "profiles/*.yml", "models/**/*.sql", "models/**/*.yml",
           "macros/**/*.sql", "*.sh", "scripts/*.sh", "dbt_project.yml")


def cli(*args: str, env: dict[str, str] | None = None) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "customer_agent_warehouse", *args], cwd=PROJECT_ROOT, env=env,
                          capture_output=True, text=True, check=False)


def one_line_error(result: subprocess.CompletedProcess) -> str:
    assert result.returncode == 2, result.stdout[-2000:] + result.stderr[-2000:]
    assert "Traceback" not in result.stderr + result.stdout
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1, result.stderr
    return lines[0]


def test_unknown_command_is_one_line_and_exit_2(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["frobnicate"]) == 2
    error = capsys.readouterr().err.strip().splitlines()
    assert len(error) == 1 and "unknown command 'frobnicate'" in error[0] and "build" in error[0]


def test_bad_option_is_one_line_and_exit_2() -> None:
    line = one_line_error(cli("build", "--target", "oracle"))
    assert "--target" in line and "duckdb" in line


def test_version_and_console_script() -> None:
    assert cli("--version").stdout.strip().endswith(__version__)
    script = Path(sys.executable).with_name("ca-warehouse")
    result = subprocess.run([str(script), "--version"], capture_output=True, text=True, check=False)
    assert result.returncode == 0 and result.stdout.strip() == f"ca-warehouse {__version__}"


def test_help_lists_every_command_and_every_ca_variable() -> None:
    result = cli("--help")
    assert result.returncode == 0
    for name in COMMANDS:
        assert re.search(rf"^\s+{name}\s", result.stdout, re.MULTILINE), name
    for variable in VARIABLES:
        assert variable.name in result.stdout
    assert variable.name in cli("build", "--help").stdout


def test_every_ca_variable_used_anywhere_is_declared_and_read_only_in_settings() -> None:
    used: dict[str, set[str]] = {}
    readers = []
    for pattern in SCANNED:
        for path in PROJECT_ROOT.glob(pattern):
            text = path.read_text()
            for name in CA_NAME.findall(text):
                used.setdefault(name, set()).add(str(path.relative_to(PROJECT_ROOT)))
            if path.suffix == ".py" and path.name != "settings.py":
                # Any environment read outside settings.py must name a literal variable that is not CA_*.
                for argument in ENV_READ.findall(text):
                    if not re.fullmatch(r"[\"'](?!CA_)[A-Z0-9_]+[\"']", argument.strip()):
                        readers.append(f"{path.relative_to(PROJECT_ROOT)}: {argument.strip()}")
    undeclared = {name: sorted(files) for name, files in used.items() if name not in VARIABLES_BY_NAME}
    assert not undeclared, f"declare these in settings.VARIABLES: {undeclared}"
    assert not readers, f"read CA_* variables through settings.py: {readers}"
    assert {"CA_RAW_PATH", "CA_DUCKDB_PATH", "CA_DUCKDB_SERVING_PATH"} <= set(used)


@pytest.mark.parametrize(("name", "value", "expected"), [
    ("CA_DUCKDB_THREADS", "abc", "whole number of threads"),
    ("CA_DUCKDB_THREADS", "0", "whole number of threads"),
    ("CA_DUCKDB_MEMORY", "lots", "memory size"),
    ("CA_DUCKDB_MEMORY", "5KB", "at least 100MB"),
    ("CA_DBT_TARGET", "oracle", "duckdb, postgres, spark, spark_thrift"),
    ("CA_PG_PORT", "http", "TCP port"),
    ("CA_TIMESTAMP_WINDOW_ANCHOR", "next week", "ISO-8601 UTC time"),
])
def test_a_bad_setting_is_one_line_naming_it(tmp_path: Path, name: str, value: str, expected: str) -> None:
    env = Warehouse(tmp_path).env() | {name: value}
    line = one_line_error(cli("summary", env=env))
    assert name in line and repr(value) in line and expected in line
    with pytest.raises(SettingsError, match=name):
        load_settings(env)


@pytest.mark.parametrize(("name", "value"), [("CA_DUCKDB_THREADS", "abc"), ("CA_DUCKDB_MEMORY", "lots")])
def test_plain_dbt_build_names_a_bad_setting_without_a_traceback(tmp_path: Path, name: str, value: str) -> None:
    warehouse = Warehouse(tmp_path)
    warehouse.write("conversation_logs", "a.jsonl", ["{}"])
    result = DbtRunner(env=warehouse.env() | {name: value}, target_path=tmp_path / "target",
                       log_path=tmp_path / "logs").run(["build"], capture=True)
    assert result.returncode == 2
    assert f"{name}={value!r} is not valid" in result.stdout and "Traceback" not in result.stdout + result.stderr
    assert not warehouse.db.exists(), "nothing was built"


def test_good_settings_are_accepted() -> None:
    settings = load_settings({"CA_DUCKDB_THREADS": "4", "CA_DUCKDB_MEMORY": "1.5GB", "CA_DBT_TARGET": "spark",
                              "CA_DUCKDB_PATH": "/srv/wh/build.duckdb"})
    assert (settings.duckdb_threads, settings.duckdb_memory, settings.target) == ("4", "1.5GB", "spark")
    assert settings.serving == Path("/srv/wh/serving/build.duckdb")
    assert load_settings({"CA_DUCKDB_SERVING_PATH": "/bi/wh.duckdb"}).serving == Path("/bi/wh.duckdb")
    assert load_settings({}).raw_path == DEFAULT_RAW_PATH and not load_settings({}).raw_path_explicit


def test_a_postgres_database_name_with_a_double_quote_is_refused() -> None:
    assert load_settings({"CA_PG_DATABASE": "ca-test it's entrepôt"}).target == "duckdb"
    with pytest.raises(SettingsError, match="CA_PG_DATABASE='a\"b' is not valid: expected a PostgreSQL database name"):
        load_settings({"CA_PG_DATABASE": 'a"b'})


def test_sample_data_only_into_the_default_raw_zone_or_when_asked() -> None:
    assert may_generate_sample(load_settings({}), sample=False)
    explicit = load_settings({"CA_RAW_PATH": str(DEFAULT_RAW_PATH)})
    assert not may_generate_sample(explicit, sample=False)
    assert may_generate_sample(explicit, sample=True)


def test_missing_warehouse_is_one_line_for_every_reading_command(tmp_path: Path) -> None:
    env = Warehouse(tmp_path).env()
    for command in (["summary"], ["publish"], ["validate"]):
        line = one_line_error(cli(*command, env=env))
        assert str(tmp_path / "warehouse.duckdb") in line and "build" in line, (command, line)


HOLD_LOCK = ("import sys; from pathlib import Path; from customer_agent_warehouse.locking import BuildLock, "
             "lock_path_for; path = Path(sys.argv[1]); lock = BuildLock(path, lock_path_for(path)).acquire(); "
             "print('locked', flush=True); sys.stdin.read()")


def test_a_locked_warehouse_is_one_line_naming_the_holder(tmp_path: Path) -> None:
    warehouse = Warehouse(tmp_path)
    warehouse.write("conversation_logs", "a.jsonl", [{"log_id": "l1", "conversation_id": "c1", "type": "message",
                                                      "occurred_at": "2026-11-20T10:00:00Z"}])
    with duckdb.connect(str(warehouse.db)) as connection:
        connection.execute("create schema marts; create table marts.t as select 1 as x")
    holder = subprocess.Popen([sys.executable, "-c", HOLD_LOCK, str(warehouse.db)], stdin=subprocess.PIPE,
                              stdout=subprocess.PIPE, text=True)
    try:
        assert holder.stdout.readline().strip() == "locked"
        for command in (["build"], ["publish"], ["run"], ["validate"], ["summary", "--build-file"]):
            line = one_line_error(cli(*command, env=warehouse.env()))
            assert "being built by" in line and f"pid {holder.pid}" in line, (command, line)
    finally:
        holder.communicate("")
    # DuckDB's own write lock (a process writing the build file) is named too, in one line.
    with duckdb.connect(str(warehouse.db)):
        line = one_line_error(cli("summary", "--build-file", env=warehouse.env()))
        assert "being built" in line and str(warehouse.db) in line


def test_an_unwritable_warehouse_path_is_one_line(tmp_path: Path) -> None:
    blocker = tmp_path / "a-file"
    blocker.write_text("not a folder")
    warehouse = Warehouse(tmp_path)
    warehouse.write("conversation_logs", "a.jsonl", ["{}"])
    env = warehouse.env() | {"CA_DUCKDB_PATH": str(blocker / "warehouse.duckdb")}
    line = one_line_error(cli("build", env=env))
    assert "CA_DUCKDB_PATH" in line and str(blocker) in line


def test_the_dbt_runner_builds_one_command() -> None:
    runner = DbtRunner(env={}, target="postgres", target_path=Path("/t"), log_path=Path("/l"))
    command = runner.command(["build", "--full-refresh"], {"as_of": "2026-11-20T12:00:00Z"})
    assert command[:3] == [DBT_EXECUTABLE, "build", "--full-refresh"]
    assert command[command.index("--target") + 1] == "postgres"
    assert command[command.index("--project-dir") + 1] == str(PROJECT_ROOT)
    assert command[command.index("--vars") + 1] == '{"as_of": "2026-11-20T12:00:00Z"}'
    assert "--target" not in DbtRunner(env={}).command(["build"])


def test_validate_has_no_thrift_target_and_says_so_in_one_line() -> None:
    result = cli("validate", "--target", "spark_thrift")
    assert result.returncode == 2
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1 and "--target spark_thrift" in lines[0] and "--target spark" in lines[0], result.stderr
