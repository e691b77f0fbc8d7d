"""`python -m customer_agent_warehouse <command>`: one entry point for the glue.

Each sub-command lives in its own module, which exposes
`add_<command>_arguments(parser)` and `run_<command>(args) -> int`. Only the
module of the chosen command is imported, so a light command never pays for
the heavy dependencies (dbt, Great Expectations) of another.
"""

from __future__ import annotations

import argparse
import importlib
import sys

COMMANDS: dict[str, tuple[str, str]] = {
    "generate": ("customer_agent_warehouse.generate", "write a realistic raw zone"),
    "build": ("customer_agent_warehouse.pipeline", "run dbt build on the raw zone"),
    "validate": ("customer_agent_warehouse.validate", "run the Great Expectations suites"),
    "run": ("customer_agent_warehouse.pipeline", "the main job: sample data, build, validate, summary"),
    "summary": ("customer_agent_warehouse.pipeline", "print row counts of the built warehouse"),
    "report": ("customer_agent_warehouse.report", "write the performance dashboard (HTML, offline)"),
    "bench": ("customer_agent_warehouse.bench", "measure generation, builds and validation"),
    "export": ("customer_agent_warehouse.activation.command", "write (and --push) Klaviyo API request bodies"),
}


def _top_level_help() -> str:
    lines = ["usage: python -m customer_agent_warehouse <command> [options]", "", "commands:"]
    lines += [f"  {name:<10} {help_text}" for name, (_, help_text) in COMMANDS.items()]
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    argv = list(sys.argv[1:] if argv is None else argv)
    if not argv or argv[0] in {"-h", "--help"} or argv[0] not in COMMANDS:
        print(_top_level_help())
        return 0 if argv and argv[0] in {"-h", "--help"} else 2
    command = argv[0]
    module_name, help_text = COMMANDS[command]
    module = importlib.import_module(module_name)
    parser = argparse.ArgumentParser(prog=f"python -m customer_agent_warehouse {command}", description=help_text)
    getattr(module, f"add_{command}_arguments")(parser)
    args = parser.parse_args(argv[1:])
    return int(getattr(module, f"run_{command}")(args) or 0)
