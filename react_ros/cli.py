"""`react-ros`: the command-line tool. Each area's command module registers its own sub-commands with
`add_commands(subparsers)`; the modules import their heavy dependencies inside the command functions, so that
`react-ros --help` is instant and a missing optional dependency only affects its own command."""
from __future__ import annotations

import argparse
import sys

from react_ros import ament_install, demo
from react_ros.bench import cli as bench_cli
from react_ros.bringup import cli as bringup_cli
from react_ros.data import cli as data_cli
from react_ros.evaluation import cli as evaluation_cli
from react_ros.evaluation import real_people as real_people_cli
from react_ros.evaluation import tune as tune_cli
from react_ros.export import cli as export_cli
from react_ros.media_perception import cli as media_perception_cli
from react_ros.study import cli as study_cli
from react_ros.training import cli as training_cli

# The one registry of sub-commands, in --help order: plain imports, so test_layers sees every arrow.
COMMAND_MODULES = (data_cli, training_cli, evaluation_cli, tune_cli, export_cli, bringup_cli, bench_cli, study_cli,
                   media_perception_cli, real_people_cli, ament_install, demo)


def _ros_study(args: argparse.Namespace) -> int:
    """`study run --ros NODE`: the study layer cannot import ROS, so the command line wires it to the node link."""
    from react_ros.nodes.study_link import run_study

    return run_study(args)


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="react-ros", description=__doc__)
    commands = parser.add_subparsers(dest="command", required=True)
    for module in COMMAND_MODULES:
        module.add_commands(commands)
    parser.set_defaults(ros_study=_ros_study)
    return parser


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    try:
        return int(args.func(args) or 0)
    except (ValueError, FileNotFoundError) as error:  # bad input: a clear message, not a traceback
        print(f"react-ros: error: {error}", file=sys.stderr)
        return 2


if __name__ == "__main__":
    sys.exit(main())
