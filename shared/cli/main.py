"""The `classops` command: one small function per subcommand, wired by argparse.

Global options (`--kubeconfig`, `--namespace`, `-o/--output`) are accepted before or after the
subcommand. Each command group is a module of `shared.cli` with `add(commands, subcommand)`
(`subcommand(commands, name, help)` gives a parser with the global options; the group adds its
own and `set_defaults(func=cmd_<name>)`, a `cmd_<name>(args) -> int`), wired by one line in
`build_parser`. Settings come from `options.settings(args)` only. Exit codes: 0 done, 1 the
schedule is invalid (every problem printed, one per line), 2 any other error (one line on
stderr, never a traceback).

Imports stay light: a subcommand imports the SDKs it needs (the Kubernetes client, boto3,
matplotlib) when it runs, so `validate` and `plan` start in a fraction of a second.
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import Sequence

from shared.cli import inspection_group, runtime_group, stack_group, timetable_group
from shared.cli.options import UsageError
from shared.handlers.registry import Registry
from shared.timetable import TimetableError


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="classops", description=__doc__.splitlines()[0])
    _add_globals(parser, None)
    commands = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")
    timetable_group.add(commands, _subcommand)  # validate, plan
    stack_group.add(commands, _subcommand)  # render, deploy
    inspection_group.add(commands, _subcommand)  # check, status
    runtime_group.add(commands, _subcommand)  # serve, events
    return parser


def _add_globals(parser: argparse.ArgumentParser, default: object,
                 outputs: Sequence[str] = ("table", "json")) -> None:
    # On a subcommand the defaults are SUPPRESSed, so `classops -o json plan` is not undone by
    # the subparser's own default (argparse applies subparser defaults last).
    parser.add_argument("--kubeconfig", default=default, help="kubeconfig file (default: none)")
    parser.add_argument("--namespace", default=default, help="the course's namespace")
    parser.add_argument("-o", "--output", choices=outputs,
                        default="table" if default is None else default, help="output format")


def _subcommand(commands: argparse._SubParsersAction[argparse.ArgumentParser], name: str,
                help: str, outputs: Sequence[str] = ("table", "json")
                ) -> argparse.ArgumentParser:
    sub = commands.add_parser(name, help=help, description=help)
    _add_globals(sub, argparse.SUPPRESS, outputs)
    return sub


def main(argv: Sequence[str] | None = None, registry: Registry | None = None) -> int:
    """Run one command; `registry` replaces the functions package (tests bring their own)."""
    parser = build_parser()
    try:
        args = parser.parse_args(argv)
    except SystemExit as stop:  # argparse has printed usage or help already
        return stop.code if isinstance(stop.code, int) else 2
    args.registry = registry
    try:
        return int(args.func(args))
    except TimetableError as err:  # an invalid schedule: every problem, then exit 1
        for problem in err.problems:
            print(problem, file=sys.stderr)
        return 1
    except UsageError as err:
        print(f"classops: error: {err}", file=sys.stderr)
    except OSError as err:
        print(f"classops: error: {err.strerror}: {err.filename or ''}".rstrip(": "),
              file=sys.stderr)
    except KeyboardInterrupt:
        return 130
    except Exception as err:  # the promise is one line, never a traceback
        print(f"classops: error: {type(err).__name__}: {err}", file=sys.stderr)
    return 2


if __name__ == "__main__":
    sys.exit(main())


