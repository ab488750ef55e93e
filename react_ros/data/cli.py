"""`react-ros data synth|check|demo-clip`: data sets in the MARS layout, and the bundled demo clip."""
from __future__ import annotations

import argparse
from pathlib import Path


def add_commands(commands) -> None:
    from react_ros.data.families import SUMMARIES

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
    synth.add_argument("--family", default="default", choices=list(SUMMARIES),
                       help="the listeners' law (docs/families.md): "
                            + " ".join(f"{name}: {summary}" for name, summary in SUMMARIES.items()))
    synth.add_argument("--quiet", action="store_true")
    synth.set_defaults(func=_synth)

    check = data.add_parser("check", help="scan a MARS-layout data set and report problems")
    check.add_argument("--data", required=True)
    check.add_argument("--splits", nargs="+", default=["train", "val", "test"])
    check.set_defaults(func=_check)

    demo = data.add_parser("demo-clip", help="regenerate the bundled demo clip (speaker.mp4 + speaker.wav)")
    demo.add_argument("--out", default=None, help="folder (default: react_ros/assets/demo_clip)")
    demo.add_argument("--seconds", type=float, default=16.0)
    demo.add_argument("--size", type=int, default=128)
    demo.add_argument("--seed", type=int, default=0)
    demo.set_defaults(func=_demo_clip)


def _synth(args: argparse.Namespace) -> int:
    from react_ros.data.synth import SynthConfig, generate

    config = SynthConfig(
        out=Path(args.out), sessions=args.sessions, clips_per_session=args.clips_per_session,
        min_seconds=args.min_seconds, max_seconds=args.max_seconds, video=not args.no_video,
        video_size=args.video_size, seed=args.seed, family=args.family,
    )
    clips = generate(config, progress=not args.quiet)
    print(f"wrote {len(clips)} dyadic clips ({2 * len(clips)} recordings) to {config.out}")
    return 0


def _check(args: argparse.Namespace) -> int:
    from react_ros.data.pairs import scan

    total = 0
    for split in args.splits:
        pairs = scan(args.data, split)
        total += len(pairs)
        print(f"{split}: {len(pairs)} dyadic pairs in {len({p.session for p in pairs})} sessions")
    return 0 if total else 1


def _demo_clip(args: argparse.Namespace) -> int:
    from react_ros.data.democlip import CLIP_DIR, make_demo_clip

    video, wav = make_demo_clip(args.out or CLIP_DIR, args.seconds, args.size, args.seed)
    print(f"wrote {video} and {wav}")
    return 0
