"""Command line: ``python -m analysis COMMAND ...`` on CSV exports.

=========== ===========================================================================
``indices`` criterion, element and overall indices with SE and CI per domain
            (:mod:`analysis.cli.indices`)
``compare`` units against parent, province, previous period and each other; ranks
            with intervals (:mod:`analysis.cli.compare`)
``plan``    responses needed per unit for a target margin of error
            (:mod:`analysis.cli.plan`)
=========== ===========================================================================

Each command is a module with ``HELP``, ``configure(parser)`` and ``run(args) ->
exit code``; :data:`COMMANDS` lists them. What they share (reading and writing files,
the input, weighting and output options, building the design) is in
:mod:`analysis.cli.common`. Errors go to stderr with exit code 2 and no output file
is left behind by a failed run.
"""

from __future__ import annotations

import argparse
import os
import sys
from collections.abc import Callable, Sequence
from dataclasses import dataclass

from . import compare, indices, plan
from .common import CommandError, read_responses, write_table


@dataclass(frozen=True)
class Command:
    """A subcommand: its one-line help, its options and what it runs."""

    help: str
    configure: Callable[[argparse.ArgumentParser], None]
    run: Callable[[argparse.Namespace], int]


#: The subcommands, in the order ``--help`` lists them.
COMMANDS: dict[str, Command] = {
    "indices": Command(indices.HELP, indices.configure, indices.run),
    "compare": Command(compare.HELP, compare.configure, compare.run),
    "plan": Command(plan.HELP, plan.configure, plan.run),
}

__all__ = [
    "COMMANDS",
    "Command",
    "CommandError",
    "build_parser",
    "main",
    "read_responses",
    "write_table",
]


def build_parser() -> argparse.ArgumentParser:
    """The argument parser with one subparser per entry of :data:`COMMANDS`."""
    parser = argparse.ArgumentParser(
        prog="python -m analysis",
        description="SIPAS survey statistics on CSV exports.",
    )
    subparsers = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")
    for name, command in COMMANDS.items():
        sub = subparsers.add_parser(name, help=command.help, description=command.help)
        command.configure(sub)
        sub.set_defaults(run=command.run)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    """Run a command; report errors on stderr with exit code 2."""
    args = build_parser().parse_args(argv)
    try:
        return args.run(args)
    except BrokenPipeError:  # stdout closed early, e.g. piped into head
        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
        return 1
    except (ValueError, OSError) as exc:  # DesignError, QuestionnaireError, ...
        print(f"error: {exc}", file=sys.stderr)
        return 2
