"""MCAP session recording: round trip with the mcap reader, features-only sessions, SIGINT and SIGKILL."""
from __future__ import annotations

import os
import queue
import signal
import subprocess
import sys
import threading
import time
from pathlib import Path

from mcap.reader import make_reader
from mcap_ros2.decoder import DecoderFactory

from react_ros.recording import McapRecorder, message_definition, read_messages, read_metadata

HEADER = {"stamp": {"sec": 12, "nanosec": 345}, "frame_id": "camera"}


def _messages(k: int) -> list[tuple[str, str, dict]]:
    return [
        ("/camera/image_raw", "sensor_msgs/msg/Image",
         {"header": HEADER, "height": 2, "width": 3, "encoding": "bgr8", "is_bigendian": 0, "step": 9,
          "data": bytes(range(k % 200, k % 200 + 18))}),
        ("/audio", "std_msgs/msg/UInt8MultiArray",
         {"layout": {"dim": [{"label": "samples", "size": 4, "stride": 8}], "data_offset": 0}, "data": bytes(8)}),
        ("/react_ros/reaction", "std_msgs/msg/Float32MultiArray",
         {"layout": {"dim": [{"label": "AU1,AU2", "size": 2, "stride": 2}], "data_offset": 0}, "data": [0.25, k]}),
        ("/react_ros/joint_commands", "sensor_msgs/msg/JointState",
         {"header": HEADER, "name": ["jaw", "brow"], "position": [0.1, float(k)], "velocity": [0.0, 0.0],
          "effort": []}),
        ("/diagnostics", "diagnostic_msgs/msg/DiagnosticArray",
         {"header": HEADER, "status": [{"level": 1, "name": "react_ros", "message": "ok", "hardware_id": "torch",
                                        "values": [{"key": "rate_hz", "value": "30"}]}]}),
    ]


def test_message_definitions_carry_their_dependencies():
    text = message_definition("sensor_msgs/msg/JointState")
    assert text.startswith("std_msgs/Header header")
    assert "MSG: std_msgs/Header" in text and "MSG: builtin_interfaces/Time" in text


def test_round_trip_with_the_mcap_reader(tmp_path):
    path = tmp_path / "session.mcap"
    meta = {"session": {"participant_id": "P07", "condition": "B", "seed": 3},
            "model": {"reaction_model_sha256": "abc", "engine_sha256": "def"}}
    with McapRecorder(path, meta) as recorder:
        for k in range(10):
            for topic, datatype, message in _messages(k):
                assert recorder.write(topic, datatype, message)
        recorder.add_metadata("parameters", {"backend": "torch", "steps": 4})
    with open(path, "rb") as f:
        reader = make_reader(f, decoder_factories=[DecoderFactory()])
        summary = reader.get_summary()
        schemas = {s.name for s in summary.schemas.values()}
        assert {"sensor_msgs/msg/Image", "sensor_msgs/msg/JointState", "std_msgs/msg/Float32MultiArray",
                "std_msgs/msg/UInt8MultiArray", "diagnostic_msgs/msg/DiagnosticArray"} <= schemas
        assert summary.statistics.message_count == 50
        decoded = list(reader.iter_decoded_messages())
    joints = [m for _, channel, _, m in decoded if channel.topic == "/react_ros/joint_commands"]
    assert [j.position[1] for j in joints] == list(range(10))
    assert joints[0].name == ["jaw", "brow"] and joints[0].header.stamp.nanosec == 345
    image = next(m for _, channel, _, m in decoded if channel.topic == "/camera/image_raw")
    assert image.encoding == "bgr8" and len(image.data) == 18
    diagnostics = next(m for _, channel, _, m in decoded if channel.topic == "/diagnostics")
    assert diagnostics.status[0].values[0].key == "rate_hz"
    metadata = read_metadata(path)
    assert metadata["session"]["participant_id"] == "P07"
    assert metadata["model"]["engine_sha256"] == "def"
    assert metadata["parameters"]["steps"] == "4"


def test_features_only_sessions_leave_out_raw_media(tmp_path):
    path = tmp_path / "features.mcap"
    with McapRecorder(path, raw_media=False) as recorder:
        recorder.mark_raw_media("/camera/image_raw", "/audio")
        for topic, datatype, message in _messages(0):
            recorder.write(topic, datatype, message)
        assert recorder.dropped_media == 2
    topics = {m.topic for m in read_messages(path)}
    assert topics == {"/react_ros/reaction", "/react_ros/joint_commands", "/diagnostics"}


WRITER_SCRIPT = r"""
import sys, time
sys.path.insert(0, {root!r})
from test_recording import _messages
from react_ros.recording import McapRecorder
recorder = McapRecorder(sys.argv[1], {{"session": {{"participant_id": "P1"}}}}, chunk_size=4096,
                        flush_interval_s=0.05)
recorder.install_signal_handlers()
k = 0
try:
    while True:
        for topic, datatype, message in _messages(k):
            recorder.write(topic, datatype, message)
        k += 1
        if k % 10 == 0:
            recorder.flush()
            print("flushed", k, flush=True)
        time.sleep(0.002)
except KeyboardInterrupt:
    print("interrupted", k, flush=True)
"""


def _start_writer(tmp_path: Path) -> tuple[subprocess.Popen, Path]:
    path = tmp_path / "live.mcap"
    script = tmp_path / "writer.py"
    script.write_text(WRITER_SCRIPT.format(root=str(Path(__file__).parent)))
    env = dict(os.environ, PYTHONPATH=str(Path(__file__).resolve().parents[1]))
    process = subprocess.Popen([sys.executable, str(script), str(path)], stdout=subprocess.PIPE, text=True, env=env)
    return process, path


def _wait_for_flushes(process: subprocess.Popen, count: int) -> int:
    flushed = 0
    deadline = time.monotonic() + 60
    while flushed < count and time.monotonic() < deadline:
        line = process.stdout.readline()
        if not line:
            break
        if line.startswith("flushed"):
            flushed = int(line.split()[1])
    assert flushed > 0, "the writer subprocess never flushed"
    return flushed


def _lines_until(process: subprocess.Popen, prefix: str, hang_s: float = 600) -> list[str]:
    """The writer's lines up to the first one starting with `prefix`. What is timed is the event (the line),
    not the machine's speed: `hang_s` only stops a writer that never answers (a loaded 2-core machine may
    take its time, and a recording that closes slowly still closes cleanly)."""
    lines: queue.Queue[str | None] = queue.Queue()
    threading.Thread(target=lambda: [lines.put(line) for line in process.stdout] + [lines.put(None)],
                     daemon=True).start()
    seen = []
    while True:
        line = lines.get(timeout=hang_s)
        assert line is not None, f"the writer ended without {prefix!r}: {seen[-5:]}"
        seen.append(line)
        if line.startswith(prefix):
            return seen


def test_sigint_closes_the_recording_cleanly(tmp_path):
    process, path = _start_writer(tmp_path)
    flushed = _wait_for_flushes(process, 30)
    process.send_signal(signal.SIGINT)
    rest = _lines_until(process, "interrupted")  # the handler closed the file, then KeyboardInterrupt
    assert process.wait(timeout=600) == 0, rest[-5:]
    written = int(rest[-1].split()[1])
    assert written >= flushed
    with open(path, "rb") as f:  # a seeking reader needs the footer and summary of a clean close
        reader = make_reader(f)
        summary = reader.get_summary()
        assert summary is not None
        counts = {summary.channels[cid].topic: n for cid, n in summary.statistics.channel_message_counts.items()}
    assert set(counts) == {t for t, _, _ in _messages(0)}
    # Every topic holds every message written up to the signal (the round in progress may be partial).
    assert all(n >= written for n in counts.values())
    assert read_metadata(path)["session"]["participant_id"] == "P1"


def test_sigkill_loses_at_most_the_last_chunk(tmp_path):
    process, path = _start_writer(tmp_path)
    flushed = _wait_for_flushes(process, 30)
    process.kill()
    process.communicate(timeout=30)
    counts: dict[str, int] = {}
    for message in read_messages(path):  # the file has no footer: read what its complete chunks hold
        counts[message.topic] = counts.get(message.topic, 0) + 1
    assert set(counts) == {t for t, _, _ in _messages(0)}
    assert all(n >= flushed for n in counts.values()), (counts, flushed)
    assert read_metadata(path)["session"]["participant_id"] == "P1"
