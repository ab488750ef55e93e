"""`react-ros study run|control|forget` and `react-ros analyze` (field experiments with participants)."""
from __future__ import annotations

import argparse
import sys
from pathlib import Path


def _run(args: argparse.Namespace) -> int:
    from react_ros.data.democlip import default_clip
    from react_ros.runtime import load_graphs
    from react_ros.study.runner import (
        ClipInput,
        LiveInput,
        RunOptions,
        check_not_running,
    )
    from react_ros.study.studyfile import check_participants, load_study

    study = load_study(args.study)
    check_participants(args.participant)
    check_not_running(args.out, study, args.participant)
    if args.ros:  # the running robot's reaction node instead of the clip (wired by react_ros/cli.py)
        return args.ros_study(args)
    loaded = load_graphs(args.backend, model_dir=args.model or None, threads=args.threads)
    if args.camera is not None:  # a live participant without ROS: the same session and recording
        clip, video = LiveInput(args.camera, args.mic), f"camera {args.camera}"
        args.real_time = True
    else:
        video, wav = default_clip()
        video, wav = Path(args.video or video), (None if args.no_audio else Path(args.wav or wav))
        clip = ClipInput(video, wav, max_frames=max(int(round(c.duration_s * study.fps)) for c in study.conditions),
                         fps=study.fps)
    info = {k: v for k, v in loaded.info.items() if isinstance(v, str | int | float)}
    if args.console and not args.real_time:
        print("note: --console without --real-time: the offline clip runs as fast as it can", file=sys.stderr)
    if args.row is not None and len(args.participant) != 1:
        raise ValueError("--row assigns one participant's counterbalancing row: give one --participant")
    options = RunOptions(real_time=args.real_time, flush_interval_s=args.flush_interval, backend=args.backend,
                         trace=args.trace, row=args.row)
    try:
        return _participants(args, study, loaded, clip, options, info, video)
    finally:
        if isinstance(clip, LiveInput):
            clip.close()  # the camera and microphone


def _participants(args, study, loaded, clip, options, info, video) -> int:
    from react_ros.study.console import run_participant
    from react_ros.study.runner import StudyRunner, model_session

    for participant in args.participant:  # one after the other (a scripted study, or a session of several)
        session = model_session(loaded, study, args.face_frontend)
        runner = StudyRunner(study, participant, args.out, clip, loaded.graphs, options,
                             {**info, **session.summary()["sampling"], "face_frontend": session.info["face_frontend"],
                              "clip": str(video)}, session=session)
        print(f"study {study.name}: participant {participant} (order "
              f"{', '.join(study.label(n) for n in runner.order)}) -> {runner.dir}", flush=True)
        stream = None
        if args.foxglove:  # the live stream to the Foxglove app (the foxglove extra)
            from react_ros.study.foxglove_stream import FoxgloveStream

            stream = FoxgloveStream(args.console_host, args.foxglove)
            runner.frame_listeners.append(stream.publish)
            print(f"foxglove: {stream.url} (layout: config/foxglove/react_ros_layout.json)", flush=True)
        state = run_participant(runner, f"study {study.name}: participant {participant}",
                                (args.console_host, args.console_port, args.console_remote) if args.console else None,
                                stream)
        if state is None:
            return 3
        for entry in state["conditions"]:
            print(f"  {entry['index'] + 1}. {study.label(entry['name'])}: {entry['frames']} frames in "
                  f"{', '.join(entry['segments'])}", flush=True)
    return 0


def _control(args: argparse.Namespace) -> int:
    from react_ros.study.runner import send_control
    from react_ros.study.studyfile import load_study

    command = " ".join(args.command)
    path = send_control(args.out, load_study(args.study), args.participant, command)
    print(f"sent {command!r} to {path}")
    return 0


def _forget(args: argparse.Namespace) -> int:
    from react_ros.study.runner import forget
    from react_ros.study.studyfile import load_study

    study = load_study(args.study)
    removed = forget(args.out, study.name, args.participant)
    for path in removed:
        print(f"removed {path}")
    print(f"{len(removed)} items removed for participant {args.participant}" if removed
          else f"nothing recorded for participant {args.participant} under {Path(args.out) / study.name}")
    return 0


def _recover(args: argparse.Namespace) -> int:
    from react_ros.recording.recover import recover_all

    for result in recover_all(args.paths):
        print(result)
    return 0


def _analyze(args: argparse.Namespace) -> int:
    from react_ros.study.analysis import analyze

    result = analyze(args.recordings, args.out, window_s=args.window, mime_delay_s=args.mime_delay)
    print(f"{len(result.rows)} rows -> {result.table}\nreport -> {result.report}")
    return 0


def add_commands(commands) -> None:
    study = commands.add_parser("study", help="field experiments: run a participant through a study, erase one")
    sub = study.add_subparsers(dest="study_command", required=True)

    run = sub.add_parser("run", help="run (or resume) one participant through the study's conditions")
    run.add_argument("--study", required=True, help="study YAML file")
    run.add_argument("--participant", required=True, nargs="+", help="pseudonyms such as P01 (never names); "
                     "several run one after the other")
    run.add_argument("--out", default="out/studies", help="recordings go to OUT/<study name>/<participant>/")
    run.add_argument("--row", type=int, default=None, help="a new participant's counterbalancing row, by hand "
                     "(default: the row with the fewest participants, so rows freed by forget are reused)")
    run.add_argument("--video", default="", help="speaker clip (default: the bundled demo clip)")
    run.add_argument("--wav", default="", help="speaker audio (default: the demo clip's)")
    run.add_argument("--no-audio", action="store_true")
    run.add_argument("--camera", type=int, default=None, metavar="N", help="a live participant: OpenCV camera N "
                     "instead of the clip (real time)")
    run.add_argument("--mic", type=int, nargs="?", const=-1, default=None, metavar="DEVICE",
                     help="with --camera: the microphone (pyaudio device, default device when none is given; "
                          "needs the audio extra)")
    run.add_argument("--backend", default="torch", help="torch | onnxruntime | tensorrt")
    run.add_argument("--model", default="", help="model directory (default: the shipped demo model)")
    run.add_argument("--threads", type=int, default=1)
    run.add_argument("--face-frontend", default="auto", choices=("auto", "haar", "mesh"),
                     help="speaker front end (auto: the one the model card says it was trained on)")
    run.add_argument("--real-time", action="store_true", help="pace frames at the study's fps, as live")
    run.add_argument("--flush-interval", type=float, default=0.5, help="seconds; the most a crash can lose")
    run.add_argument("--console", action="store_true", help="serve the operator console (a web page) while running")
    run.add_argument("--console-host", default="127.0.0.1")
    run.add_argument("--console-port", type=int, default=8765)
    run.add_argument("--console-remote", action="store_true", help="allow --console-host beyond localhost (the "
                     "robot can then be driven from that network by whoever has the printed URL and key)")
    run.add_argument("--foxglove", type=int, default=0, metavar="PORT", help="stream live to the Foxglove app on "
                     "this port (ws://CONSOLE_HOST:PORT; needs the foxglove extra)")
    run.add_argument("--ros", default="", metavar="NODE", help="drive the running reaction node (e.g. "
                     "/reaction_node, started with conditions_file:= this study) instead of the clip")
    run.add_argument("--trace", action="store_true", help=argparse.SUPPRESS)
    run.set_defaults(func=_run)

    control = sub.add_parser("control", help="pause | resume | abort | neutral | switch NAME, for a running study")
    control.add_argument("--study", required=True)
    control.add_argument("--participant", required=True)
    control.add_argument("--out", default="out/studies")
    control.add_argument("command", nargs="+")
    control.set_defaults(func=_control)

    erase = sub.add_parser("forget", help="delete everything recorded for one participant (right to erasure)")
    erase.add_argument("participant")
    erase.add_argument("--study", required=True)
    erase.add_argument("--out", default="out/studies")
    erase.set_defaults(func=_forget)

    recover = sub.add_parser("recover", help="rebuild the summary of MCAP recordings cut short (SIGKILL, power cut) "
                             "so that the mcap library, ros2 bag and Foxglove open them (study run does it itself)")
    recover.add_argument("paths", nargs="+", help="MCAP files or folders (searched recursively)")
    recover.set_defaults(func=_recover)

    analyze = commands.add_parser("analyze", help="per participant and condition: how the robot's reactions relate "
                                                  "to the participant (Markdown report, plots, CSV table)")
    analyze.add_argument("recordings", nargs="+", help="MCAP files or folders (searched recursively)")
    analyze.add_argument("--out", default="out/analysis")
    analyze.add_argument("--window", type=float, default=4.0, help="seconds per window for lags and diversity")
    analyze.add_argument("--mime-delay", type=float, default=0.0, help="delay (s) of the Mime reference")
    analyze.set_defaults(func=_analyze)

