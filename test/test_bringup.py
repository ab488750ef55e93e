"""End to end: `react-ros run --fast` on the bundled demo clip exits 0 by itself and writes the side-by-side
video, the MCAP recording and the latency summary."""
from __future__ import annotations

import json
import os
import random
import subprocess
import sys
from pathlib import Path

import pytest

pytest.importorskip("rclpy")

ROOT = Path(__file__).resolve().parents[1]


def test_demo_clip_is_shipped_and_small():
    from react_ros.data.democlip import default_clip
    from react_ros.face.video import video_info

    video, wav = default_clip()
    assert video.stat().st_size < 1_000_000 and wav.is_file()
    frames, fps, width, height = video_info(video)
    assert fps == 30.0 and 15 * 30 <= frames <= 20 * 30 and (width, height) == (128, 128)


def test_react_ros_run_fast_on_the_demo_clip(tmp_path):
    from react_ros.face.video import video_info
    from react_ros.recording import read_messages, read_metadata

    out = tmp_path / "run"
    env = dict(os.environ, ROS_DOMAIN_ID=str(random.randint(1, 100)))
    result = subprocess.run(
        [sys.executable, "-m", "react_ros.cli", "run", "--fast", "--backend", "torch", "--robot", "animatronic",
         "--participant", "P42", "--condition", "model", "--out", str(out)],
        cwd=ROOT, env=env, capture_output=True, text=True, timeout=240)
    assert result.returncode == 0, result.stdout[-3000:] + result.stderr[-3000:]
    assert "end to end" in result.stdout
    summary = json.loads((out / "latency.json").read_text())
    assert summary["frames_published"] >= 470 and summary["commands"] >= 470
    assert summary["backend"] == "torch"
    for stage in ("front_end", "generate"):
        assert summary["stages"][stage]["median_ms"] > 0
    assert summary["end_to_end"]["n"] >= 470 and summary["end_to_end"]["p99_ms"] > 0
    assert summary["command_jitter"]["median_ms"] is not None
    frames, _, width, _ = video_info(out / "side_by_side.mp4")
    assert frames >= 470 and width > 256
    mcap = Path(summary["mcap"])
    assert mcap.is_file() and mcap.parent == out
    counts: dict[str, int] = {}
    last_command = None
    for message in read_messages(mcap):
        counts[message.topic] = counts.get(message.topic, 0) + 1
        if message.topic == "/react_ros/joint_commands":
            last_command = message.message
    # The session ends with the face eased back to the profile's neutral pose (shutdown).
    from react_ros.robot import load_profile

    profile = load_profile("animatronic")
    assert list(last_command.name) == profile.names
    assert max(abs(a - b) for a, b in zip(last_command.position, profile.neutral, strict=True)) < 1e-3
    assert counts["/react_ros/joint_commands"] >= 470 and counts["/camera/image_raw"] >= 470
    assert counts["/audio"] > 0 and counts["/diagnostics"] > 0
    metadata = read_metadata(mcap)
    assert metadata["session"]["participant_id"] == "P42"
    assert metadata["model"]["reaction_model_sha256"]
    assert json.loads(metadata["parameters"]["robot_profile"]) == "animatronic"


def test_react_ros_run_reports_a_backend_fallback_in_latency_json(tmp_path):
    """TensorRT asked for without an engine: the run goes on on ONNX Runtime and its summary says so."""
    out = tmp_path / "run"
    env = dict(os.environ, ROS_DOMAIN_ID=str(random.randint(1, 100)))
    result = subprocess.run(
        [sys.executable, "-m", "react_ros.cli", "run", "--fast", "--seconds", "1", "--no-record",
         "--backend", "tensorrt", "--fallback-backend", "onnxruntime", "--engine-dir", str(tmp_path / "no_engines"),
         "--out", str(out)],
        cwd=ROOT, env=env, capture_output=True, text=True, timeout=240)
    assert result.returncode == 0, result.stdout[-3000:] + result.stderr[-3000:]
    summary = json.loads((out / "latency.json").read_text())
    assert summary["backend"] == "onnxruntime" and summary["commands"] >= 25
    assert summary["fallback"]["requested"] == "tensorrt" and summary["fallback"]["used"] == "onnxruntime"
    assert "tensorrt" in summary["fallback"]["reason"].lower()
    assert summary["diagnostics"]["requested_backend"] == "tensorrt"


def test_react_ros_run_plays_a_24_fps_video_at_its_own_pace(tmp_path):
    """`--video` of a 23.976 fps clip: resampled to the model's 30 fps by time (not played 1.25x fast), said on
    stdout and in latency.json; the reactions' stamps span the clip's own duration."""
    from react_ros.data.democlip import default_clip
    from react_ros.face.video import iter_video, write_video

    clip = tmp_path / "clip24.mp4"
    frames = [frame for index, frame in zip(range(48), iter_video(default_clip()[0]), strict=False)]
    write_video(clip, frames, fps=24000 / 1001)
    out = tmp_path / "run"
    env = dict(os.environ, ROS_DOMAIN_ID=str(random.randint(1, 100)))
    result = subprocess.run(
        [sys.executable, "-m", "react_ros.cli", "run", "--fast", "--backend", "torch", "--video", str(clip),
         "--wav", "none", "--no-record", "--out", str(out)],
        cwd=ROOT, env=env, capture_output=True, text=True, timeout=240)
    assert result.returncode == 0, result.stdout[-3000:] + result.stderr[-3000:]
    assert "23.976 fps, played at 30.000 fps" in result.stdout
    summary = json.loads((out / "latency.json").read_text())
    assert summary["video_fps"] == 23.976 and summary["played_fps"] == 30.0
    assert summary["frames_published"] == 61  # 48 frames of 1/23.976 s = 2.002 s = 61 frames of 1/30 s
