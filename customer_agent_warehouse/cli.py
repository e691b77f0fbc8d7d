"""`python -m customer_agent_warehouse <command>` (console script `ca-warehouse`): one entry point for the glue.

Each sub-command lives in a module that exposes `add_<command>_arguments(parser)` and `run_<command>(args) ->
int`. Only the module of the chosen command is imported, so a light command never pays for the heavy
dependencies (dbt, Great Expectations) of another. A foreseeable problem (a bad setting or argument, a locked or
missing warehouse, an unusable raw zone) is one line on stderr and exit code 2, never a traceback.
"""

from __future__ import annotations

import argparse
import importlib
import sys
from collections.abc import Sequence
from dataclasses import dataclass
from typing import NoReturn

from customer_agent_warehouse import __version__
from customer_agent_warehouse.settings import UsageError, environment_help, load_settings

PROG = "ca-warehouse" if sys.argv and sys.argv[0].endswith("ca-warehouse") else "python -m customer_agent_warehouse"


@dataclass(frozen=True)
class Command:
    module: str
    help: str


COMMANDS: dict[str, Command] = {
    "generate": Command("customer_agent_warehouse.generate", "write a realistic raw zone"),
    "load": Command("customer_agent_warehouse.loading", "load the raw zone into a server target's raw tables "
                    "(postgres)"),
    "build": Command("customer_agent_warehouse.pipeline", "run dbt build on the raw zone (after `load` on a server "
                     "target), then publish the serving copy"),
    "validate": Command("customer_agent_warehouse.validate", "run the Great Expectations suites"),
    "publish": Command("customer_agent_warehouse.serving", "publish the build file as the serving copy (and "
                       "Parquet files)"),
    "run": Command("customer_agent_warehouse.pipeline", "the main job: raw zone, build, validate, publish, summary"),
    "summary": Command("customer_agent_warehouse.pipeline", "print row counts of the serving copy"),
    "report": Command("customer_agent_warehouse.report", "write the performance dashboard (HTML, offline)"),
    "bench": Command("customer_agent_warehouse.bench", "measure generation, builds and validation"),
    "export": Command("customer_agent_warehouse.activation.command", "write (and --push) Klaviyo API request "
                      "bodies"),
}


class Parser(argparse.ArgumentParser):
    """argparse with one-line errors: `<prog>: error: <message> (see <prog> --help)`, exit code 2."""

    def error(self, message: str) -> NoReturn:
        self.exit(2, f"{self.prog}: error: {message} (see {self.prog} --help)\n")


def _command_name(argv: Sequence[str]) -> str | None:
    return next((arg for arg in argv if not arg.startswith("-")), None)


def build_parser(command: str | None = None) -> Parser:
    """The parser; only `command`'s module is imported to add its options."""
    parser = Parser(prog=PROG, description="Customer Agent warehouse: raw zone -> dbt -> serving copy.",
                    epilog=environment_help(), formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--version", action="version", version=f"%(prog)s {__version__}")
    subparsers = parser.add_subparsers(dest="command", metavar="<command>", title="commands", parser_class=Parser)
    for name, spec in COMMANDS.items():
        subparser = subparsers.add_parser(name, help=spec.help, description=spec.help, epilog=environment_help(),
                                          formatter_class=argparse.RawDescriptionHelpFormatter)
        if name == command:
            getattr(importlib.import_module(spec.module), f"add_{name}_arguments")(subparser)
    return parser


def _parse(argv: list[str], command: str | None) -> argparse.Namespace:
    """The arguments, or SystemExit from argparse (help, version, a bad option: one line, exit 2)."""
    if command is not None and command not in COMMANDS:
        Parser(prog=PROG).error(f"unknown command {command!r}; commands: {', '.join(COMMANDS)}")
    parser = build_parser(command)
    args = parser.parse_args(argv)
    if args.command is None:
        parser.print_help()
        parser.exit(2)
    return args


def _fail(command: str | None, message: str) -> int:
    print(f"{' '.join(filter(None, (PROG, command)))}: error: {message}", file=sys.stderr)
    return 2


def main(argv: Sequence[str] | None = None) -> int:
    argv = list(sys.argv[1:] if argv is None else argv)
    command = _command_name(argv)
    try:
        args = _parse(argv, command)
        load_settings()  # every CA_* variable checked up front
        module = importlib.import_module(COMMANDS[args.command].module)
        return int(getattr(module, f"run_{args.command}")(args) or 0)
    except UsageError as error:
        return _fail(command, str(error))
    except SystemExit as exit_request:
        if isinstance(exit_request.code, int) or exit_request.code is None:
            return exit_request.code or 0
        return _fail(command, str(exit_request.code))
    except BrokenPipeError:  # output piped into e.g. `head`
        sys.stderr.close()
        return 0
    except KeyboardInterrupt:
        print(f"{PROG} {command}: interrupted", file=sys.stderr)
        return 130
