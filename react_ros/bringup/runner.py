"""In-process bringup: the camera, microphone and reaction nodes in one process and one executor, with the
same parameter file as launch/reaction.launch.py (config/reaction.yaml), playing a clip.

`run_clip(...)` plays a video + wav through the camera and microphone nodes (in real time, or as fast as the
reaction node keeps up with `fast=True`: each frame waits for its command, at most 1 s), records the
session to MCAP through the reaction node, and writes to `out`:

    side_by_side.mp4   speaker | robot face (the rendered screen face, or the reaction drawn as a face with
                       the joint commands as bars for joint profiles), one row per speaker frame
    session MCAP       out/<session>.mcap (the reaction node's recording)
    latency.json       per-stage median/p99, end-to-end (speaker frame published -> its command published)
                       median/p99, command interval jitter, counts, backend/model ids
"""
from __future__ import annotations

import json
import math
import threading
import time
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import yaml

from react_ros import schema
from react_ros.online.latency import summary_ms


def default_config_path() -> Path:
    """config/reaction.yaml of the source tree, or of the installed ROS package."""
    local = Path(__file__).resolve().parents[2] / "config" / "reaction.yaml"
    if local.is_file():
        return local
    try:
        from ament_index_python.packages import get_package_share_directory

        return Path(get_package_share_directory("react_ros")) / "config" / "reaction.yaml"
    except Exception:  # noqa: BLE001
        return local


def load_parameters(path: str | Path) -> dict[str, dict]:
    """{node name: {parameter: value}} from a ROS 2 params file."""
    path = Path(path)
    if not path.is_file():
        raise FileNotFoundError(f"parameter file not found: {path}")
    data = yaml.safe_load(path.read_text()) or {}
    out = {}
    for node, section in data.items():
        params = (section or {}).get("ros__parameters")
        if not isinstance(params, dict):
            raise ValueError(f"{path}: section {node!r} has no ros__parameters mapping")
        out[node.lstrip("/")] = dict(params)
    return out


def overrides(values: dict):
    from rclpy.parameter import Parameter

    return [Parameter(name, value=value) for name, value in values.items()]


@dataclass
class RunResult:
    out: Path
    video: Path
    mcap: Path | None
    summary_path: Path
    summary: dict


def run_clip(video: str | Path | int, wav: str | Path | None, out: str | Path, config: str | Path | None = None,
             reaction_overrides: dict | None = None, fast: bool = False, max_seconds: float | None = None,
             record: bool = True, video_size: int = 128, progress: bool = True,
             microphone: int | None = None, vmc: tuple[str, int] | None = None) -> RunResult:
    """video: a file, or an OpenCV camera index (live: real time, `max_seconds` long, default 30 s);
    wav: a file, or None; microphone: a pyaudio input device (-1 = the default) instead of `wav`;
    vmc: (host, port) to also run the VMC bridge node (joint commands -> avatar tools)."""
    import rclpy
    from rclpy.executors import SingleThreadedExecutor
    from rclpy.signals import SignalHandlerOptions

    from react_ros.face.video import read_video
    from react_ros.nodes.camera_node import CameraNode
    from react_ros.nodes.microphone_node import MicrophoneNode
    from react_ros.nodes.reaction_node import ReactionNode

    out = Path(out)
    out.mkdir(parents=True, exist_ok=True)
    params = load_parameters(config or default_config_path())
    live = isinstance(video, int)
    if live:  # a camera: the params file's rate, real time, a bounded length
        camera_params = dict(params.get("camera_node", {}), video_file="", device=video, loop=False)
        fast, max_seconds = False, 30.0 if max_seconds is None else max_seconds
    else:
        camera_params = dict(params.get("camera_node", {}), video_file=str(video), loop=False)
    camera_params["rate"] = float(camera_params.get("rate") or 0.0)
    mic_params = dict(params.get("microphone_node", {}), wav_file="" if microphone is not None else str(wav or ""),
                      loop=False)
    if microphone is not None:
        mic_params["device_index"] = int(microphone)
    reaction_params = dict(params.get("reaction_node", {}))
    reaction_params.update(record=record, output_dir=str(out), autostart=True)
    if fast:  # the clip's timeline runs ahead of the wall clock: its stamps are not garbage
        reaction_params.update(max_stamp_skew_s=0.0)
    reaction_params.update(reaction_overrides or {})

    # The runtime only loads: make the ONNX export the node may load (requested or fallback backend) first.
    from react_ros.export.prepare import prepare_backends

    prepare_backends((reaction_params.get("backend"), reaction_params.get("fallback_backend")),
                     reaction_params.get("model_dir") or None, reaction_params.get("engine_dir") or None)
    frames_clip = [] if live else read_video(video)  # live: the camera's frames, kept as they are published
    started = time.time()
    owns_context = not rclpy.ok()
    if owns_context:
        rclpy.init(signal_handler_options=SignalHandlerOptions.NO)
    collected: list[tuple] = []  # (stamp, frame index, reaction, positions, display reaction, publish time)
    published = threading.Event()
    nodes = []
    reaction = camera = None
    recorder_path, diagnostics, session_summary, profile, camera_history = None, {}, {}, None, []
    rates: dict = {}  # a file's own frame rate and the rate it was played at (resampled when they differ)
    # One single-threaded executor per node, each in its own thread (as separate processes would be).
    # A shared MultiThreadedExecutor scans its growing list of pending callbacks while holding the GIL;
    # once the camera, microphone and reaction callbacks queue up that starves them (measured: 8 s of
    # clip took 50 s, end-to-end 0.8 s), and it does not recover.
    executors: list = []
    spinning = threading.Event()
    try:
        reaction = ReactionNode(parameter_overrides=overrides(reaction_params))
        nodes.append(reaction)
        if not reaction.active:
            raise RuntimeError("reaction_node failed to configure/activate (see the log above)")

        def on_output(command, wall) -> None:
            output = command.output
            collected.append((output.stamp, output.frame_index, output.reaction.copy(), np.array(command.positions),
                              None if command.shown is None else np.array(command.shown), wall))
            published.set()

        reaction.output_hooks.append(on_output)
        camera = CameraNode(parameter_overrides=overrides(camera_params), manual=fast)
        nodes.append(camera)
        if live:
            camera.frame_hooks.append(lambda frame, stamp, index: frames_clip.append(
                _thumbnail(frame, video_size)))
        use_mic = bool(wav) or microphone is not None
        microphone = MicrophoneNode(parameter_overrides=overrides(mic_params), manual=fast) if use_mic else None
        if microphone is not None:
            nodes.append(microphone)
        if vmc is not None:
            from react_ros.nodes.vmc_node import VmcNode

            vmc_params = dict(params.get("vmc_node", {}), host=vmc[0], port=int(vmc[1]),
                              joint_topic=str(reaction_params.get("joint_topic", "/react_ros/joint_commands")))
            nodes.append(VmcNode(parameter_overrides=overrides(vmc_params)))
        spinning.set()
        for node in nodes:
            executor = SingleThreadedExecutor()
            executor.add_node(node)
            executors.append(executor)
            threading.Thread(target=_spin, args=(executor, spinning), daemon=True).start()
        time.sleep(0.5)  # discovery: subscriptions match the publishers before the first frame
        if live:
            total = int(max_seconds * camera.rate)
        else:
            from react_ros.capture import resampled_count

            file_rate = getattr(camera.frames, "file_rate", camera.rate)  # resampled to camera.rate when it differs
            total = resampled_count(len(frames_clip), file_rate, camera.rate)
            total = total if max_seconds is None else min(total, int(max_seconds * camera.rate))
            rates = {"video_fps": round(file_rate, 3), "played_fps": round(camera.rate, 3)}
            if progress and file_rate != camera.rate:
                print(f"{video}: {file_rate:.3f} fps, played at {camera.rate:.3f} fps (frames repeated or skipped "
                      "by their time)", flush=True)
        if fast:
            _play_fast(camera, microphone, total, published, collected,
                       lambda: reaction.session.counters["audio_chunks"])
        else:
            _wait_real_time(camera, microphone, total, collected, progress)
        time.sleep(0.3)
    finally:
        spinning.clear()
        for executor in executors:
            executor.shutdown(timeout_sec=2.0)
        for node in reversed(nodes):
            shutdown = getattr(node, "shutdown_gracefully", None)
            if shutdown is not None:
                shutdown()
        if reaction is not None and reaction.session is not None:
            diagnostics = reaction.diagnostics()
            session_summary = reaction.session.summary()
            recorder_path = reaction.last_recording
            profile = reaction.session.profile
        if camera is not None:
            camera_history = list(camera.history)
        for node in nodes:
            node.destroy_node()
        if owns_context and rclpy.ok():
            rclpy.shutdown()
    elapsed = time.time() - started
    summary = summarize(collected, camera_history, session_summary, diagnostics, fast, elapsed)
    video_path = out / "side_by_side.mp4"
    write_side_by_side(video_path, frames_clip, collected, camera_history, profile, video_size,
                       str(reaction_params.get("face_style", "cartoon")))
    summary.update(video=str(video_path), mcap=str(recorder_path) if recorder_path else None, **rates)
    summary_path = out / "latency.json"
    summary_path.write_text(json.dumps(summary, indent=2) + "\n")
    return RunResult(out, video_path, recorder_path, summary_path, summary)


def _thumbnail(frame: np.ndarray, size: int) -> np.ndarray:
    """A live frame shrunk for the side-by-side video (so a long camera run does not keep full frames)."""
    import cv2

    return cv2.resize(frame, (size, size), interpolation=cv2.INTER_AREA)


def _spin(executor, spinning: threading.Event) -> None:
    while spinning.is_set():
        try:
            executor.spin_once(timeout_sec=0.05)
        except Exception:  # noqa: BLE001 (shutdown races)
            if not spinning.is_set():
                return


def _play_fast(camera, microphone, total: int, published: threading.Event, collected: list,
               audio_received=None) -> None:
    """Publish frame k's audio (up to the frame's end) then frame k; wait for its command (<= 1 s).
    audio_received() -> chunks the reaction node has taken: the frame waits for its audio (<= 1 s), since the
    two topics are separate subscriptions whose callbacks may run in either order, and a frame handled
    before its audio pairs with older audio (the run would not be reproducible)."""
    fps = camera.rate
    origin = time.time()
    sent = 0
    for k in range(total):
        frame = camera.read()
        if frame is None:
            break
        if microphone is not None:
            end = int(math.ceil((k + 1) * microphone.sample_rate / fps))
            sent += microphone.publish_until(end, origin)
            deadline = time.monotonic() + 1.0
            while audio_received is not None and audio_received() < sent and time.monotonic() < deadline:
                time.sleep(0.0005)
            if audio_received is not None:
                sent = min(sent, audio_received())  # a chunk lost on the way (best effort) is not waited for again
        published.clear()
        before = len(collected)
        camera.publish_frame(frame, stamp=origin + k / fps)
        deadline = time.monotonic() + 1.0
        while len(collected) == before and time.monotonic() < deadline:
            published.wait(0.05)
    camera.finished = True


def _wait_real_time(camera, microphone, total: int, collected: list, progress: bool) -> None:
    """The nodes' own timers play the clip; return when it has been played (or `total` frames)."""
    last_report = time.monotonic()
    while not camera.finished and camera.published < total:
        time.sleep(0.05)
        if progress and time.monotonic() - last_report > 2.0:
            last_report = time.monotonic()
            print(f"  {camera.published}/{total} frames, {len(collected)} commands", flush=True)
    camera.finished = True
    if microphone is not None:
        microphone.finished = True


def summarize(collected, camera_history, session_summary: dict, diagnostics: dict, fast: bool, elapsed: float) -> dict:
    """The run summary (latency.json): the session's own summary (backend and fallback, model ids, sampling,
    stage latencies, counts) and what only the whole run can measure: end to end from the camera node's
    publish to the command's publish, the command interval and its jitter."""
    published_at = {round(stamp, 6): wall for stamp, _, wall in camera_history}
    e2e = [wall - published_at[round(stamp, 6)] for stamp, _, _, _, _, wall in collected
           if round(stamp, 6) in published_at]
    times = np.array([c[5] for c in collected])
    intervals = np.diff(times) if len(times) > 1 else np.zeros(0)
    jitter = np.abs(intervals - np.median(intervals)) if len(intervals) else np.zeros(0)
    fallback = session_summary.get("fallback") or {}
    return {
        "mode": "fast (each frame waits for its command)" if fast else "real time",
        "frames_published": len(camera_history),
        "commands": len(collected),
        "seconds": round(elapsed, 2),
        "backend": session_summary.get("backend"),
        "fallback": fallback,
        "fallback_from": fallback.get("requested") if fallback.get("reason") else None,
        "model": session_summary.get("model", {}),
        "sampling": session_summary.get("sampling", {}),
        "stages": session_summary.get("stages", {}),
        "end_to_end": summary_ms(e2e),
        "command_interval": summary_ms(intervals),
        "command_jitter": summary_ms(jitter),
        "counts": session_summary.get("counts", {}),
        "diagnostics": diagnostics,
    }


def format_summary(summary: dict) -> str:
    rows = [("stage", "median ms", "p99 ms", "n")]
    for stage, values in summary["stages"].items():
        rows.append((stage, values["median_ms"], values["p99_ms"], values["n"]))
    for name in ("end_to_end", "command_interval", "command_jitter"):
        values = summary[name]
        rows.append((name.replace("_", " "), values["median_ms"], values["p99_ms"], values["n"]))
    width = max(len(str(r[0])) for r in rows) + 2
    lines = [f"{summary['mode']}; backend {summary['backend']}; {summary['frames_published']} frames -> "
             f"{summary['commands']} commands in {summary['seconds']} s"]
    for r in rows:
        lines.append(f"{str(r[0]):<{width}}{str(r[1]):>10}{str(r[2]):>10}{str(r[3]):>7}")
    return "\n".join(lines)


def write_side_by_side(path: Path, frames_clip: np.ndarray, collected, camera_history, profile, size: int,
                       face_style: str = "cartoon") -> int:
    """speaker | robot face, one row per command of a published speaker frame. A blendshape profile drawn in the
    human style shows its commanded weights themselves (what an avatar shows); other profiles show the reaction
    and their joint commands as bars."""
    import cv2

    from react_ros.face.video import tile, write_video
    from react_ros.online.face_style import face_renderer

    index_of = {round(stamp, 6): index for stamp, index, _ in camera_history}
    renderer = face_renderer(face_style, size)
    blendshapes = face_style == "human" and profile is not None and tuple(profile.names) == schema.ARKIT_BLENDSHAPES
    labels = ["speaker", f"robot ({profile.name})" if profile is not None else "robot"]

    def frames():
        for stamp, _, reaction, positions, shown, _ in collected:
            index = index_of.get(round(stamp, 6))
            if index is None or not 0 <= index < len(frames_clip):
                continue
            speaker = cv2.resize(frames_clip[index], (size, size), interpolation=cv2.INTER_AREA)
            if blendshapes:
                face = renderer.render_weights(positions)
            else:
                face = renderer.render(shown if shown is not None else reaction)
                if shown is None:
                    _draw_joint_bars(face, positions, profile)
            yield tile([speaker, face], labels)

    try:
        return write_video(path, frames(), fps=schema.FPS)
    except ValueError:  # no frames: write one neutral row so the file exists
        blank = np.zeros((size, size, 3), np.uint8)
        return write_video(path, [tile([blank, renderer.render(schema.neutral_frame())], labels)], fps=schema.FPS)


def _draw_joint_bars(image: np.ndarray, positions, profile) -> None:
    """Joint commands as small bars along the bottom: where each joint sits in [min, max]."""
    import cv2

    n = len(profile.names)
    height, width = image.shape[:2]
    bar_w = max(2, width // (n + 1))
    span = np.maximum(profile.upper - profile.lower, 1e-9)
    for k in range(n):
        level = float((positions[k] - profile.lower[k]) / span[k])
        x0 = int(k * width / n) + 1
        top = int(height - 1 - level * height * 0.25)
        cv2.rectangle(image, (x0, top), (x0 + bar_w - 2, height - 1), (80, 200, 80), -1)
