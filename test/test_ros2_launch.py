"""`ros2 launch react_ros reaction.launch.py` as an integrator runs it: the real launch, launch_ros and ros2cli
(unmodified upstream sources from ../shared/vendor/ros2, installed by test/ros2_support.py into a cached venv),
react_ros registered by `react-ros ros-install` into a fresh prefix, the bundled demo clip.

Checks: `ros2 pkg executables` finds the three node executables; the three nodes come up without any Fast DDS
transport setting, and a plain rclpy subscriber in a default environment (no Fast DDS variables, ROS's default
discovery range) receives their face commands; a node that dies of a configuration error makes `ros2 launch`
exit non-zero with the reason; every camera frame the reaction node received gets its JointState
(stamped with the frame's stamp), no frame lost mid-stream, audio reaches the front end; SIGINT shuts
everything down cleanly (exit 0, every process "finished cleanly"); the MCAP recording is complete (footer).
"""
from __future__ import annotations

import json
import os
import random
import re
import signal
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pytest
import ros2_support

ROOT = Path(__file__).resolve().parents[1]
CLIP = ROOT / "react_ros" / "assets" / "demo_clip"
FPS = 30.0


@pytest.fixture(scope="module")
def ros2(tmp_path_factory):
    vendor = ros2_support.vendor_dir()
    if vendor is None:
        pytest.skip("no ../shared/vendor/ros2 (the upstream launch/ros2cli sources); set REACT_ROS_ROS2_VENDOR")
    try:
        venv = ros2_support.ros2_venv(vendor)
    except RuntimeError as error:
        if os.environ.get("CI"):
            raise
        pytest.skip(f"cannot install the ros2 command line here: {str(error)[:300]}")
    prefix = tmp_path_factory.mktemp("ament_prefix")
    env = ros2_support.ros2_environment(prefix, domain_id=random.randint(30, 99))
    python = str(venv / "bin" / "python")
    subprocess.run([python, "-m", "react_ros.ament_install", "--prefix", str(prefix)], env=env, check=True,
                   capture_output=True, timeout=60)
    return venv / "bin" / "ros2", env


def test_the_ros2_venv_sees_this_interpreters_packages(ros2):
    """rclpy as the test's interpreter has it, wherever that is (a `python -m venv` too, not only the system's)."""
    import rclpy

    ros2_bin, env = ros2
    found = subprocess.run([str(ros2_bin.parent / "python"), "-c", "import rclpy; print(rclpy.__file__)"], env=env,
                           capture_output=True, text=True, timeout=60)
    assert found.returncode == 0, found.stderr
    assert Path(found.stdout.strip()).resolve() == Path(rclpy.__file__).resolve()


def test_ros2_finds_the_package_and_its_executables(ros2):
    ros2_bin, env = ros2
    listed = subprocess.run([str(ros2_bin), "pkg", "executables", "react_ros"], env=env, capture_output=True,
                            text=True, timeout=60)
    assert listed.returncode == 0, listed.stderr
    assert set(listed.stdout.split()) == {"react_ros", "react-ros-camera", "react-ros-microphone",
                                          "react-ros-reaction", "react-ros-vmc"}


def _wait_for(log: Path, pattern: str, process: subprocess.Popen, timeout_s: float) -> re.Match:
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        match = re.search(pattern, log.read_text(errors="replace"))
        if match:
            return match
        if process.poll() is not None:
            break
        time.sleep(0.2)
    raise AssertionError(f"no {pattern!r} in the launch output:\n{log.read_text(errors='replace')[-4000:]}")


def default_environment(env: dict[str, str]) -> dict[str, str]:
    """What a robot's own processes have: no Fast DDS variables and ROS's default discovery range (the
    LOCALHOST range would hide that Fast DDS's LARGE_DATA and default transports do not discover each other)."""
    return {k: v for k, v in env.items() if not k.startswith(("FASTDDS_", "FASTRTPS_", "RMW_FASTRTPS_"))
            and k != "ROS_AUTOMATIC_DISCOVERY_RANGE"}


def test_launch_runs_the_clip_talks_to_a_default_subscriber_and_shuts_down_cleanly(ros2, tmp_path):
    ros2_bin, env = ros2
    env = default_environment(env)
    log = tmp_path / "launch.log"
    sessions = tmp_path / "sessions"
    listener = subprocess.Popen([sys.executable, str(ROOT / "test" / "ros2_listener.py"), "120"], env=env,
                                stdout=subprocess.PIPE, text=True)
    assert listener.stdout.readline().strip() == "listening"
    command = [str(ros2_bin), "launch", "react_ros", "reaction.launch.py", f"video_file:={CLIP / 'speaker.mp4'}",
               f"wav_file:={CLIP / 'speaker.wav'}", "record:=true", f"output_dir:={sessions}"]
    with open(log, "w") as out:
        process = subprocess.Popen(command, env=env, stdout=out, stderr=subprocess.STDOUT, cwd=tmp_path,
                                   start_new_session=True)
    try:
        _wait_for(log, r"\[reaction_node\]: active:", process, 120)
        text = log.read_text()
        for name in ("react-ros-camera", "react-ros-microphone", "react-ros-reaction"):
            pid = int(re.search(rf"\[{name}-\d+\]: process started with pid \[(\d+)\]", text).group(1))
            environ = Path(f"/proc/{pid}/environ").read_bytes().split(b"\0")
            assert not [v for v in environ if v.startswith(b"FASTDDS_")], name  # the launch sets none by default
        published = int(_wait_for(log, r"\[camera_node\]: end of .* after (\d+) frames", process, 120).group(1))
        # The events are the lines; the caps only stop a launch that hangs (a loaded 2-core machine is slow).
        _wait_for(log, r"\[microphone_node\]: end of .* after \d+ chunks", process, 120)
        time.sleep(1.0)  # the last frames through the reaction node
        listener.send_signal(signal.SIGINT)
        heard = json.loads(listener.communicate(timeout=30)[0])
        os.kill(process.pid, signal.SIGINT)
        code = process.wait(timeout=180)  # a cap for a hang, not a speed target
    finally:
        for running in (process, listener):
            if running.poll() is None:
                os.killpg(running.pid, signal.SIGKILL) if running is process else running.kill()
                running.wait()
    text = log.read_text(errors="replace")
    assert code == 0, text[-4000:]
    for name in ("react-ros-camera", "react-ros-microphone", "react-ros-reaction"):
        assert re.search(rf"\[{name}-\d+\]: process has finished cleanly", text), f"{name}:\n{text[-4000:]}"
    assert "Traceback" not in text, text[-4000:]
    assert published == 480  # the whole clip (16 s at 30 fps) was played

    from mcap.reader import make_reader

    from react_ros.recording.recorder import read_messages

    (recording,) = sessions.glob("*.mcap")
    with open(recording, "rb") as f:
        assert make_reader(f).get_summary() is not None  # closed cleanly: summary and footer written
    frames, commands, audio_present = [], {}, []
    for message in read_messages(recording):
        if message.topic == "/camera/image_raw":
            frames.append(message.message.header.stamp.sec * 10**9 + message.message.header.stamp.nanosec)
        elif message.topic == "/react_ros/joint_commands":
            stamp = message.message.header.stamp
            commands.setdefault(stamp.sec * 10**9 + stamp.nanosec, message.log_time_ns)
        elif message.topic == "/react_ros/features/audio":
            audio_present.append(message.message.layout.dim[0].label.endswith("audio_present=1"))
    # Frames published before the reaction node subscribed are gone (best effort, volatile); from the first
    # frame it received on, the camera's stamps say how many it published.
    span = int(round((frames[-1] - frames[0]) * 1e-9 * FPS)) + 1
    # With Fast DDS's default transports (the interoperable default, issue 30) best-effort camera frames can be
    # lost on the way (measured 423 of 458 here once; docs/ros.md has the delivery figures): most must arrive.
    assert 0.8 * span <= len(frames) <= span
    assert len(frames) >= 30  # how many depends on how long the reaction node took to configure
    answered = [stamp for stamp in frames if stamp in commands]
    assert len(answered) >= len(frames) - 2, f"{len(frames)} frames, {len(answered)} commands for them"
    # The outside subscriber was not cut off: once discovery matched it (within a few seconds of the first
    # reaction) it heard every reaction the node made but a couple (reliable, keep-last 10, on a loaded machine).
    stamps = heard.pop("reaction_stamps")
    assert stamps and set(stamps) <= set(commands), "the subscriber heard stamps the node never sent"
    late_start_s = (min(stamps) - answered[0]) * 1e-9
    assert late_start_s <= 5.0, f"the first reaction reached the subscriber {late_start_s:.1f} s late"
    since_matched = [stamp for stamp in answered if stamp >= min(stamps)]
    missing = len(set(since_matched) - set(stamps))
    assert missing <= max(2, 0.02 * len(since_matched)), (f"{missing} of {len(since_matched)} reactions lost mid-"
                                                          f"stream; {heard}, first {late_start_s:.2f} s late")
    assert heard["face_commands"] >= heard["reactions"], heard
    assert np.mean(audio_present) > 0.5  # the microphone's audio reached the front end
    latency_ms = np.array([(commands[s] - s) * 1e-6 for s in answered])
    print(f"\n{len(frames)} frames received of {published}, {len(answered)} answered, end to end median "
          f"{np.median(latency_ms):.1f} ms, p99 {np.percentile(latency_ms, 99):.1f} ms; a default-environment "
          f"subscriber heard {heard['reactions']} reactions (from {late_start_s:.2f} s after the first), {heard['face_commands']} face commands")


@pytest.mark.parametrize("arguments,reason", [
    (["robot:=nonexistent"], "robot profile 'nonexistent' not found"),
    (["input_reliability:=sometimes"], "reliability 'sometimes'"),
    (["params_file:={broken}"], "Couldn't parse params file"),
    (["use_camera:=true", "video_file:=/nonexistent/clip.mp4"], "/nonexistent/clip.mp4"),
    (["input_depth:=five"], "parameter input_depth = 'five' refused: expected an integer in 1..1000"),
    (["fastdds_transports:=LARGE_DTA"], "fastdds_transports 'LARGE_DTA': expected one of"),
])
def test_a_node_that_dies_of_a_configuration_error_fails_the_launch(ros2, tmp_path, arguments, reason):
    ros2_bin, env = ros2
    broken = tmp_path / "broken.yaml"
    broken.write_text("reaction_node:\n  ros__parameters:\n    steps: [1, 2\n")  # not YAML
    command = [str(ros2_bin), "launch", "react_ros", "reaction.launch.py", "use_camera:=false",
               "use_microphone:=false", *(a.format(broken=broken) for a in arguments)]
    result = subprocess.run(command, env=env, capture_output=True, text=True, timeout=120, cwd=tmp_path)
    output = result.stdout + result.stderr
    assert result.returncode != 0, output[-3000:]
    assert reason in output, output[-3000:]
    assert "Traceback" not in output, output[-3000:]
    if "fastdds_transports" not in arguments[0]:  # refused by the launch file itself, before any node starts
        assert re.search(r"required node \w+ exited with status [1-9]", output), output[-3000:]
