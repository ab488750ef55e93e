"""`react-ros run`: the whole robot pipeline in one process on a clip (default: the bundled demo clip;
`react-ros data demo-clip` regenerates it)."""
from __future__ import annotations

import argparse
import sys
from pathlib import Path


def add_commands(commands) -> None:
    run = commands.add_parser("run", help="camera + microphone + reaction nodes in one process on a clip (ROS 2)")
    run.add_argument("--clip", default=None, help="folder with speaker.mp4 + speaker.wav (default: the bundled demo clip)")
    run.add_argument("--video", default=None, help="speaker video (overrides --clip)")
    run.add_argument("--wav", default=None, help="speaker audio (overrides --clip; 'none' = no audio)")
    run.add_argument("--camera", type=int, default=None, metavar="N",
                     help="live: OpenCV camera N instead of a clip (real time, --seconds long, default 30)")
    run.add_argument("--mic", type=int, nargs="?", const=-1, default=None, metavar="DEVICE",
                     help="live: capture the microphone (pyaudio input DEVICE, default input when omitted; "
                          "needs the [audio] extra) instead of the clip's wav")
    run.add_argument("--config", default=None, help="ROS 2 params file (default: config/reaction.yaml)")
    run.add_argument("--robot", default=None, help="robot profile name or YAML (default: from the params file)")
    run.add_argument("--backend", default=None, help="torch | onnxruntime | tensorrt (default: from the params file)")
    run.add_argument("--fallback-backend", default=None)
    run.add_argument("--model", default=None, help="model bundle directory (default: the demo model)")
    run.add_argument("--engine-dir", default=None)
    run.add_argument("--face-frontend", default=None, choices=("auto", "haar", "mesh"),
                     help="speaker front end (default: from the params file, auto = the one the model was trained on)")
    run.add_argument("--vmc", nargs="?", const="127.0.0.1:39539", default=None, metavar="HOST:PORT",
                     help="also stream the face to an avatar tool over VMC (OSC; default 127.0.0.1:39539); the robot "
                          "profile defaults to arkit_blendshapes (docs/human_face.md)")
    run.add_argument("--face-style", default=None, choices=("cartoon", "human"),
                     help="the screen face and the side-by-side video: cartoon | human (default: from the params file)")
    run.add_argument("--seed", type=int, default=None)
    run.add_argument("--steps", type=int, default=None)
    run.add_argument("--participant", default=None, help="participant id (recording metadata)")
    run.add_argument("--condition", default=None, help="study condition: model (default) | mime | neutral (recorded as metadata)")
    run.add_argument("--features-only", action="store_true", help="record no raw video/audio (privacy)")
    run.add_argument("--no-record", action="store_true", help="do not write the MCAP recording")
    run.add_argument("--seconds", type=float, default=None, help="play only the first seconds of the clip")
    run.add_argument("--out", default="out/run")
    run.add_argument("--fast", action="store_true",
                     help="publish as fast as the reaction node keeps up instead of in real time (tests)")
    run.set_defaults(func=run_command)


def run_command(args: argparse.Namespace) -> int:
    from react_ros.bringup.runner import run_clip
    from react_ros.data.democlip import VIDEO_FILE, WAV_FILE, default_clip

    if args.camera is not None or args.mic is not None:
        return _run_live(args)
    video, wav = default_clip()
    if args.clip:
        video, wav = Path(args.clip) / VIDEO_FILE, Path(args.clip) / WAV_FILE
    video = Path(args.video) if args.video else video
    wav = None if args.wav == "none" else (Path(args.wav) if args.wav else wav)
    if not video.is_file():
        raise FileNotFoundError(f"speaker video not found: {video}")
    if wav is not None and not wav.is_file():
        raise FileNotFoundError(f"speaker audio not found: {wav} (use --wav none for video only)")
    result = run_clip(video, wav, args.out, args.config, _overrides(args), fast=args.fast, max_seconds=args.seconds,
                      record=not args.no_record, vmc=_vmc(args))
    return _report(result)


def _overrides(args: argparse.Namespace) -> dict:
    overrides = {}
    for key, value in (("robot_profile", args.robot), ("backend", args.backend),
                       ("fallback_backend", args.fallback_backend), ("model_dir", args.model),
                       ("engine_dir", args.engine_dir), ("face_frontend", args.face_frontend),
                       ("face_style", args.face_style),
                       ("seed", args.seed), ("steps", args.steps),
                       ("participant_id", args.participant), ("condition", args.condition)):
        if value is not None:
            overrides[key] = value
    if args.features_only:
        overrides["record_raw_media"] = False
    if args.vmc is not None and args.robot is None:  # avatar tools read ARKit blendshape names
        overrides["robot_profile"] = "arkit_blendshapes"
    return overrides


def _vmc(args: argparse.Namespace) -> tuple[str, int] | None:
    from react_ros.robot.vmc import parse_address

    return None if args.vmc is None else parse_address(args.vmc)


def _run_live(args: argparse.Namespace) -> int:
    """--camera N and/or --mic: check the devices first (a clear error naming a missing one, exit status 2),
    then run in real time. A camera shows a whole scene, so the haar front end looks for the face in it."""
    from react_ros.bringup.runner import run_clip
    from react_ros.capture import check_camera, check_microphone
    from react_ros.data.democlip import VIDEO_FILE, default_clip

    if args.mic is not None:
        print(f"microphone: {check_microphone(args.mic)}")
    if args.camera is not None:
        width, height = check_camera(args.camera)
        print(f"camera {args.camera}: {width}x{height}")
        video = args.camera
    else:  # --mic alone: the clip's (or the demo clip's) video with the live microphone
        video = Path(args.video) if args.video else (Path(args.clip) / VIDEO_FILE if args.clip else default_clip()[0])
        if not video.is_file():
            raise FileNotFoundError(f"speaker video not found: {video}")
    overrides = _overrides(args)
    if args.camera is not None:
        overrides.setdefault("crop_mode", "haar")
    wav = None
    if args.mic is None and args.wav not in (None, "none"):
        wav = Path(args.wav)
    result = run_clip(video, wav, args.out, args.config, overrides, max_seconds=args.seconds,
                      record=not args.no_record, microphone=args.mic, vmc=_vmc(args))
    return _report(result)


def _report(result) -> int:
    from react_ros.bringup.runner import format_summary

    print(format_summary(result.summary))
    print(f"video -> {result.video}\nrecording -> {result.mcap}\nsummary -> {result.summary_path}")
    ok = result.summary["commands"] > 0
    if not ok:
        print("react-ros run: no face commands were published", file=sys.stderr)
    return 0 if ok else 1
