"""`python -m customer_agent_warehouse <command>`: one entry point for the glue.

Each sub-command lives in its own module and exposes `add_arguments(parser)` and
`run(args) -> int`. Modules are imported lazily so `--help` works before the
heavy dependencies (dbt, Great Expectations) are installed.
"""

from __future__ import annotations

import argparse
import importlib

COMMANDS: dict[str, tuple[str, str]] = {
    "generate": ("customer_agent_warehouse.generate", "write a realistic raw zone"),
    "build": ("customer_agent_warehouse.pipeline", "run dbt build on the raw zone"),
    "validate": ("customer_agent_warehouse.validate", "run the Great Expectations suites"),
    "run": ("customer_agent_warehouse.pipeline", "the main job: sample data, build, validate, summary"),
    "summary": ("customer_agent_warehouse.pipeline", "print row counts of the built warehouse"),
    "bench": ("customer_agent_warehouse.bench", "measure generation, builds and validation"),
}


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="python -m customer_agent_warehouse")
    sub = parser.add_subparsers(dest="command", required=True)
    for name, (module_name, help_text) in COMMANDS.items():
        command_parser = sub.add_parser(name, help=help_text)
        module = importlib.import_module(module_name)
        adder = getattr(module, f"add_{name}_arguments", None) or module.add_arguments
        adder(command_parser)
    return parser


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    module_name, _ = COMMANDS[args.command]
    module = importlib.import_module(module_name)
    runner = getattr(module, f"run_{args.command}", None) or module.run
    return int(runner(args) or 0)
