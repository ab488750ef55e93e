"""`react-ros`: the command-line tool. Each sub-command imports its module lazily so that
`react-ros --help` is instant and a missing optional dependency only affects its own command."""
from __future__ import annotations

import argparse
import importlib
import sys
from pathlib import Path

# Modules that define `add_commands(subparsers)`: export (onnx/engines/check), run (ROS bringup), ...
_COMMAND_MODULES = ["react_ros.training.cli", "react_ros.evaluation.cli", "react_ros.evaluation.tune",
                    "react_ros.evaluation.families", "react_ros.training.recipe", "react_ros.export.cli", "react_ros.bringup.cli", "react_ros.bench.cli",
                    "react_ros.study.cli", "react_ros.perceive.cli", "react_ros.evaluation.real_people", "react_ros.ament_install", "react_ros.demo"]


def _data_synth(args: argparse.Namespace) -> int:
    from react_ros.data.synth import SynthConfig, generate

    config = SynthConfig(
        out=Path(args.out), sessions=args.sessions, clips_per_session=args.clips_per_session,
        min_seconds=args.min_seconds, max_seconds=args.max_seconds, video=not args.no_video,
        video_size=args.video_size, seed=args.seed, family=args.family,
    )
    clips = generate(config, progress=not args.quiet)
    print(f"wrote {len(clips)} dyadic clips ({2 * len(clips)} recordings) to {config.out}")
    return 0


def _data_check(args: argparse.Namespace) -> int:
    from react_ros.data.pairs import scan

    total = 0
    for split in args.splits:
        pairs = scan(args.data, split)
        total += len(pairs)
        print(f"{split}: {len(pairs)} dyadic pairs in {len({p.session for p in pairs})} sessions")
    return 0 if total else 1


def _family_names() -> list[str]:
    from react_ros.data.families import SUMMARIES

    return list(SUMMARIES)


def _family_help() -> str:
    from react_ros.data.families import SUMMARIES

    return " ".join(f"{name}: {summary}" for name, summary in SUMMARIES.items())


def _ros_study(args: argparse.Namespace) -> int:
    """`study run --ros NODE`: the study layer cannot import ROS, so the command line wires it to the node link."""
    from react_ros.nodes.study_link import run_study

    return run_study(args)


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="react-ros", description=__doc__)
    commands = parser.add_subparsers(dest="command", required=True)

    data = commands.add_parser("data", help="data sets in the MARS layout").add_subparsers(dest="data_command",
                                                                                            required=True)
    synth = data.add_parser("synth", help="write a synthetic dyadic data set in the MARS layout")
    synth.add_argument("--out", required=True, help="root directory to write")
    synth.add_argument("--sessions", type=int, default=4)
    synth.add_argument("--clips-per-session", type=int, default=3, help="listeners per session")
    synth.add_argument("--min-seconds", type=float, default=20.0)
    synth.add_argument("--max-seconds", type=float, default=30.0)
    synth.add_argument("--video-size", type=int, default=128, help="face-crop video side in pixels")
    synth.add_argument("--no-video", action="store_true", help="attributes, coefficients and audio only")
    synth.add_argument("--seed", type=int, default=0)
    synth.add_argument("--family", default="default", choices=_family_names(),
                       help="the listeners' law (docs/families.md): " + _family_help())
    synth.add_argument("--quiet", action="store_true")
    synth.set_defaults(func=_data_synth)

    check = data.add_parser("check", help="scan a MARS-layout data set and report problems")
    check.add_argument("--data", required=True)
    check.add_argument("--splits", nargs="+", default=["train", "val", "test"])
    check.set_defaults(func=_data_check)


    for module in _COMMAND_MODULES:  # each area registers its own sub-commands (imports stay lazy inside)
        try:
            extension = importlib.import_module(module)
        except ModuleNotFoundError as error:
            if error.name is None or not module.startswith(error.name):
                raise  # a real missing dependency inside the module, not an area that is absent
            continue
        extension.add_commands(commands)
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
