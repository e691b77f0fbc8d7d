"""The one way to run dbt on this project (executable, environment, command), for the CLI, `bench` and the tests."""

from __future__ import annotations

import json
import subprocess
import sys
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any

from customer_agent_warehouse.settings import PROJECT_ROOT, Settings

DBT_EXECUTABLE = str(Path(sys.executable).parent / "dbt")
DEFAULT_PROFILES_DIR = PROJECT_ROOT / "profiles"


def build_arguments(full_refresh: bool = False, unit_tests: bool = False) -> list[str]:
    """`dbt build` as production runs it: dbt unit tests check the code, not the data, so they run in CI
    (./test.sh) and are skipped here unless asked for."""
    return (["build"] + (["--full-refresh"] if full_refresh else [])
            + ([] if unit_tests else ["--exclude-resource-type", "unit_test"]))


@dataclass(frozen=True)
class DbtRunner:
    """dbt on this project with one environment (CA_* paths absolute) and, optionally, its own target and log
    folders (tests and the benchmark keep each build's artifacts apart)."""

    env: Mapping[str, str]
    target: str | None = None
    profiles_dir: Path = DEFAULT_PROFILES_DIR
    target_path: Path | None = None
    log_path: Path | None = None

    @classmethod
    def for_settings(cls, settings: Settings, target: str | None = None, **options: Any) -> DbtRunner:
        return cls(env=settings.dbt_env(), target=target or settings.target, **options)

    def with_paths(self, target_path: Path | None, log_path: Path | None) -> DbtRunner:
        return replace(self, target_path=target_path, log_path=log_path)

    def artifacts_path(self) -> Path:
        """Where dbt writes run_results.json: --target-path, else DBT_TARGET_PATH, else the project's target/."""
        path = self.target_path or Path(self.env.get("DBT_TARGET_PATH") or "target")
        return path if path.is_absolute() else PROJECT_ROOT / path

    def command(self, args: Sequence[str], dbt_vars: Mapping[str, Any] | None = None) -> list[str]:
        command = [DBT_EXECUTABLE, *args, "--profiles-dir", str(self.profiles_dir), "--project-dir",
                   str(PROJECT_ROOT)]
        if self.target:
            command += ["--target", self.target]
        if self.target_path:
            command += ["--target-path", str(self.target_path)]
        if self.log_path:
            command += ["--log-path", str(self.log_path)]
        if dbt_vars:
            command += ["--vars", json.dumps(dict(dbt_vars), default=str)]
        return command

    def popen(self, args: Sequence[str], dbt_vars: Mapping[str, Any] | None = None,
              **popen_options: Any) -> subprocess.Popen:
        return subprocess.Popen(self.command(args, dbt_vars), cwd=PROJECT_ROOT, env=dict(self.env), **popen_options)

    def run(self, args: Sequence[str], dbt_vars: Mapping[str, Any] | None = None, *, capture: bool = False,
            pass_fds: Sequence[int] = ()) -> subprocess.CompletedProcess:
        return subprocess.run(self.command(args, dbt_vars), cwd=PROJECT_ROOT, env=dict(self.env),
                              capture_output=capture, text=capture, pass_fds=tuple(pass_fds), check=False)
