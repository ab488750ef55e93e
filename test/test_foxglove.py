"""The live Foxglove stream of a study session (react_ros/study/foxglove_stream.py) and the shipped layout: a real
WebSocket client on localhost sees the channels advertised and receives the runner's frames, with the same
values the recording holds; the layout's message paths exist in a recording."""
from __future__ import annotations

import asyncio
import json
import struct
import threading
from pathlib import Path

import numpy as np
import pytest

from react_ros import schema
from react_ros.recording import read_messages
from react_ros.study.runner import ClipFeatures, StudyRunner
from react_ros.study.studyfile import study_from_dict

foxglove = pytest.importorskip("foxglove")
websockets = pytest.importorskip("websockets")

ROOT = Path(__file__).resolve().parents[1]
LAYOUT = ROOT / "config" / "foxglove" / "react_ros_layout.json"
FRAMES = 20  # per condition


def _clip(n: int = 40) -> ClipFeatures:
    """A speaker whose smile rises frame by frame (no model needed for mime and neutral)."""
    attributes = np.repeat(schema.neutral_frame()[None], n, 0)
    attributes[:, schema.index_of("AU12")] = np.linspace(0, 1, n)
    return ClipFeatures(attributes, np.ones(n, bool), np.zeros((n, 8), np.float32), np.ones(n, bool),
                        np.zeros((n, 8, 8, 3), np.uint8), np.zeros(16000, np.float32), 16000)


def _runner(tmp_path) -> StudyRunner:
    study = study_from_dict({"name": "live", "duration_s": FRAMES / 30, "counterbalance": "fixed", "conditions": [
        {"name": "mime", "kind": "mime", "delay_s": 0.1}, {"name": "neutral", "kind": "neutral"}]})
    return StudyRunner(study, "P01", tmp_path / "out", _clip())


async def _watch(port: int, start) -> tuple[dict, dict[str, list]]:
    """Connect, subscribe to every advertised channel, start the session, collect its messages."""
    received: dict[str, list] = {}
    async with websockets.connect(f"ws://127.0.0.1:{port}", subprotocols=["foxglove.sdk.v1"]) as ws:
        info = json.loads(await asyncio.wait_for(ws.recv(), 5))
        advertised = json.loads(await asyncio.wait_for(ws.recv(), 5))
        topics = {c["id"]: c["topic"] for c in advertised["channels"]}
        await ws.send(json.dumps({"op": "subscribe", "subscriptions": [{"id": i, "channelId": i} for i in topics]}))
        await asyncio.sleep(0.3)
        start()
        while len(received.get("/react_ros/study/live", [])) < 2 * FRAMES:
            frame = await asyncio.wait_for(ws.recv(), 10)
            if isinstance(frame, bytes) and frame[0] == 1:  # messageData: op, subscription id, log time, payload
                subscription, _ = struct.unpack_from("<IQ", frame, 1)
                received.setdefault(topics[subscription], []).append(json.loads(frame[13:]))
    return {"info": info, "advertised": sorted(topics.values())}, received


def test_the_stream_serves_the_sessions_frames_to_a_websocket_client(tmp_path):
    from react_ros.study.foxglove_stream import TOPICS, FoxgloveStream

    stream = FoxgloveStream(port=0)
    runner = _runner(tmp_path)
    runner.frame_listeners.append(stream.publish)
    thread = threading.Thread(target=runner.run, daemon=True)
    try:
        hello, received = asyncio.run(_watch(stream.port, thread.start))
        thread.join(30)
    finally:
        stream.stop()
    assert hello["info"]["op"] == "serverInfo" and hello["advertised"] == sorted(TOPICS)
    live = received["/react_ros/study/live"]
    assert [m["condition"] for m in live] == ["mime"] * FRAMES + ["neutral"] * FRAMES
    assert live[-1]["status"] == "running" and stream.errors == 0
    # The streamed reactions are the recorded ones, frame by frame (mime: the rising smile, 3 frames late).
    streamed = np.array([m["data"] for m in received["/react_ros/reaction"]])
    recordings = sorted((tmp_path / "out" / "live" / "P01").glob("*.mcap"))
    recorded = np.array([m.message.data for path in recordings for m in read_messages(path, topics=[
        "/react_ros/reaction"])])
    np.testing.assert_allclose(streamed, recorded, atol=1e-6)
    assert streamed[FRAMES - 1, schema.index_of("AU12")] > 0.3  # mime moved the face, neutral did not
    np.testing.assert_allclose(streamed[FRAMES:], np.repeat(schema.neutral_frame()[None], FRAMES, 0), atol=1e-6)
    joints = received["/react_ros/joint_commands"][-1]
    assert joints["name"] == runner.profile.names and len(joints["position"]) == len(joints["name"])


def test_the_shipped_layout_plots_paths_that_recordings_have(tmp_path):
    """Every topic the layout shows is in a study recording (or the live-only channel), and the plotted
    indices exist in those messages."""
    from react_ros.study.foxglove_stream import TOPICS

    layout = json.loads(LAYOUT.read_text())
    runner = _runner(tmp_path)
    runner.run()
    recording = sorted((tmp_path / "out" / "live" / "P01").glob("*.mcap"))[0]
    messages = {m.topic: m.message for m in read_messages(recording)}
    paths = [series["value"] for panel in layout["configById"].values() for series in panel.get("paths", [])]
    topics = [panel["topicPath"] for panel in layout["configById"].values() if "topicPath" in panel]
    assert paths and topics
    for path in paths:
        topic, field = path.split(".", 1)
        name, index = field.rstrip("]").split("[")
        assert topic in messages and int(index) < len(getattr(messages[topic], name)), path
    for topic in topics:
        assert topic in messages or topic in TOPICS, topic
