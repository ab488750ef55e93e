"""`react-ros perceive`: a video (+ wav) or a MARS-layout tree through the mesh front end (see perceive.py)."""
from __future__ import annotations

import argparse
from pathlib import Path


def _perceive(args: argparse.Namespace) -> int:
    from react_ros.media_perception.clips import ClipJob, run_jobs, tree_jobs  # noqa: PLC0415

    source, out = Path(args.input or ""), Path(args.out)
    if args.camera is not None:
        if args.input:
            raise ValueError("give either a video/tree or --camera, not both")
        jobs = [ClipJob(video=args.camera, wav=None, out_root=out, relative=Path(f"camera{args.camera}"),
                        preview=not args.no_preview, full_range=args.full_range,
                        camera_frames=max(1, round(args.seconds * 30)))]
    elif not args.input:
        raise ValueError("give a video, a MARS-layout root, or --camera N")
    elif source.is_dir():
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
    parser.add_argument("input", nargs="?", help="a video file, or the root of a MARS-layout data set")
    parser.add_argument("--camera", type=int, help="instead of a file: OpenCV camera N (check a camera set-up)")
    parser.add_argument("--seconds", type=float, default=10.0, help="with --camera: how long to record")
    parser.add_argument("--wav", help="the video's audio (single video only)")
    parser.add_argument("--out", required=True, help="output directory (tree mode: a new MARS-layout root)")
    parser.add_argument("--jobs", type=int, default=1, help="parallel processes (tree mode)")
    parser.add_argument("--preview", action="store_true", help="tree mode: also write preview videos")
    parser.add_argument("--no-preview", action="store_true", help="single video: skip the preview video")
    parser.add_argument("--full-range", action="store_true",
                        help="the full-range face detector: smaller faces further away (slower)")
    parser.set_defaults(func=_perceive)
