"""`react-ros perceive`: a video (+ wav) or a MARS-layout tree through the mesh front end (see perceive.py)."""
from __future__ import annotations

import argparse
from pathlib import Path


def _perceive(args: argparse.Namespace) -> int:
    from react_ros.perception.perceive import ClipJob, run_jobs, tree_jobs  # noqa: PLC0415

    source, out = Path(args.input), Path(args.out)
    if source.is_dir():
        jobs = list(tree_jobs(source, out, preview=args.preview, full_range=args.full_range))
        if not jobs:
            raise ValueError(f"{source}: no <split>/video-raw|video-face-crop/<role>/<session>/*.mp4 found")
    elif source.is_file():
        wav = Path(args.wav) if args.wav else None
        if wav is not None and not wav.is_file():
            raise FileNotFoundError(f"wav file not found: {wav}")
        jobs = [ClipJob(video=source, wav=wav, out_root=out, relative=Path(source.stem), preview=not args.no_preview,
                        full_range=args.full_range)]
    else:
        raise FileNotFoundError(f"not a video or a directory: {source}")
    results = run_jobs(jobs, workers=args.jobs)
    counts: dict[str, int] = {}
    for video, status in sorted(results.items()):
        key = status.split(":")[0]
        counts[key] = counts.get(key, 0) + 1
        if key == "failed":
            print(f"{video}: {status}")
    print(", ".join(f"{n} {key}" for key, n in sorted(counts.items())) + f" -> {out}")
    return 1 if counts.get("failed") else 0


def add_commands(commands: argparse._SubParsersAction) -> None:
    parser = commands.add_parser(
        "perceive", help="video (+ wav) or a MARS tree -> facial attributes (25-d), mask, voice features, preview")
    parser.add_argument("input", help="a video file, or the root of a MARS-layout data set")
    parser.add_argument("--wav", help="the video's audio (single video only)")
    parser.add_argument("--out", required=True, help="output directory (tree mode: a new MARS-layout root)")
    parser.add_argument("--jobs", type=int, default=1, help="parallel processes (tree mode)")
    parser.add_argument("--preview", action="store_true", help="tree mode: also write preview videos")
    parser.add_argument("--no-preview", action="store_true", help="single video: skip the preview video")
    parser.add_argument("--full-range", action="store_true",
                        help="the full-range face detector: smaller faces further away (slower)")
    parser.set_defaults(func=_perceive)
