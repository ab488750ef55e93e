"""Study conditions on the running reaction node (rclpy wheels, real topics): the `condition` parameter switches
the published reaction at the next camera frame, an unknown condition is refused and the node keeps running,
`~/condition` is latched, /diagnostics shows the active condition, and every switch is in the recording with
its time."""
from __future__ import annotations

import json
import time

import numpy as np
import pytest

rclpy = pytest.importorskip("rclpy")

import test_nodes  # noqa: E402
from rclpy.parameter import Parameter  # noqa: E402
from rclpy.qos import DurabilityPolicy, QoSProfile, ReliabilityPolicy  # noqa: E402
from std_msgs.msg import String  # noqa: E402
from test_nodes import Harness, make_node  # noqa: E402

from react_ros import schema  # noqa: E402
from react_ros.recording import read_messages  # noqa: E402

DELAY = 6  # mime_delay_s 0.2 at 30 fps
context, clip = test_nodes.context, test_nodes.clip  # the ROS context and the clip (module fixtures)


def test_switching_the_running_nodes_condition(context, clip, tmp_path):
    frames, samples, rate = clip
    node = make_node(context, tmp_path, condition="", mime_delay_s=0.2, record=True, record_raw_media=False)
    seen: list = []  # (publish wall time, reaction, speaker) of every reaction frame, in order
    node.output_hooks.append(lambda command, published: seen.append(
        (published, command.reaction.copy(), schema.clip_to_range(command.output.speaker))))
    harness = Harness(context, node)
    try:
        assert node.conditions.active == "model"
        harness.play(frames, samples, rate, count=15)
        assert harness.wait(lambda: len(seen) >= 15)
        node.set_parameters([Parameter("condition", value="mime")])
        switched_at = len(seen)
        harness.play(frames, samples, rate, start=15, count=20)
        assert harness.wait(lambda: len(seen) >= 35)
        result = node.set_parameters([Parameter("condition", value="neutral")])[0]
        assert result.successful
        neutral_at = len(seen)
        harness.play(frames, samples, rate, start=35, count=10)
        assert harness.wait(lambda: len(seen) >= 45)

        refused = node.set_parameters([Parameter("condition", value="smile")])[0]
        assert not refused.successful and "unknown condition 'smile'" in refused.reason and "mime" in refused.reason
        assert node.get_parameter("condition").value == "neutral" and node.active
        harness.play(frames, samples, rate, start=45, count=5)
        assert harness.wait(lambda: len(seen) >= 50)  # still running, still neutral

        reactions = np.stack([r for _, r, _ in seen])
        speaker = np.stack([s for _, _, s in seen])
        neutral = schema.neutral_frame()
        # The model up to the switch; mime from the next frame (neutral for its delay, then the speaker
        # DELAY frames earlier); neutral from the frame after that switch.
        assert not np.allclose(reactions[switched_at - 1], neutral)
        np.testing.assert_array_equal(reactions[switched_at:switched_at + DELAY], np.repeat(neutral[None], DELAY, 0))
        np.testing.assert_array_equal(reactions[switched_at + DELAY:neutral_at], speaker[switched_at:neutral_at - DELAY])
        np.testing.assert_array_equal(reactions[neutral_at:], np.repeat(neutral[None], len(seen) - neutral_at, 0))
        np.testing.assert_allclose(np.array(harness.reactions[-1].data), neutral)  # what went out on the topic

        late: list = []  # a late subscriber still gets the active condition (transient local)
        harness.tester.create_subscription(String, "/reaction_node/condition", late.append, QoSProfile(
            depth=1, reliability=ReliabilityPolicy.RELIABLE, durability=DurabilityPolicy.TRANSIENT_LOCAL))
        assert harness.wait(lambda: bool(late)) and late[-1].data == "neutral"
        assert harness.wait(lambda: any(d.get("condition") == "neutral" for d in harness.diagnostics), 3)
    finally:
        harness.close()
    events = [json.loads(m.message.data) for m in read_messages(node.last_recording, topics=["/react_ros/study/events"])]
    assert events[0]["type"] == "condition" and events[0]["current"] == "model"  # the recording starts with it
    events = events[1:]
    assert [(e["current"], e["frame"], e["reason"]) for e in events] == [("mime", switched_at, "parameter"),
                                                                         ("neutral", neutral_at, "parameter")]
    for event, first in zip(events, (switched_at, neutral_at), strict=True):  # its time: at that frame
        assert seen[first - 1][0] < event["time_ns"] * 1e-9 < seen[first][0]


def test_an_unknown_starting_condition_fails_configure(context, tmp_path):
    from react_ros.nodes.common import ConfigError

    with pytest.raises(ConfigError, match="unknown condition 'smile'.*model, mime, neutral"):
        make_node(context, tmp_path, condition="smile")  # autostart: the reason, not a node without a face


def test_conditions_come_from_a_study_file(context, tmp_path):
    study = tmp_path / "study.yaml"
    study.write_text("name: s\nduration_s: 1\nconditions:\n  - {name: nod, kind: script, keyframes: "
                     "[{t: 0}, {t: 1, AU12: 1.0}]}\n")
    node = make_node(context, tmp_path, conditions_file=str(study), condition="nod")
    try:
        assert node.conditions.active == "nod"
        assert list(node.conditions.switcher.sources) == ["model", "mime", "neutral", "nod"]
        refused = node.set_parameters([Parameter("mime_delay_s", value=1.0)])[0]
        assert not refused.successful and "configure" in refused.reason
    finally:
        node.shutdown_gracefully()
        node.destroy_node()
    time.sleep(0.1)


STUDY = """name: robot
duration_s: 0.6
conditions:
  - {name: mime, kind: mime, delay_s: 0.1}
  - {name: neutral, kind: neutral}
  - {name: nod, kind: script, loop: true, keyframes: [{t: 0}, {t: 0.3, AU12: 1.0}, {t: 0.6}]}
"""


def test_study_run_drives_the_running_node_through_the_counterbalanced_order(context, clip, tmp_path):
    """`study run --ros`: the runner switches the node's condition per the participant's order over the node's
    own services, one node recording per condition; an abort mid-condition resumes there."""
    import threading

    from react_ros.nodes.study_link import NodeLink
    from react_ros.recording import read_metadata
    from react_ros.study.robot import RobotStudyRunner
    from react_ros.study.runner import Aborted
    from react_ros.study.studyfile import load_study

    frames, samples, rate = clip
    study_path = tmp_path / "robot.yaml"
    study_path.write_text(STUDY)
    study = load_study(study_path)
    node = make_node(context, tmp_path, conditions_file=str(study_path))
    harness = Harness(context, node)
    playing = threading.Thread(target=harness.play, args=(frames, samples, rate), kwargs={"count": 240}, daemon=True)
    link = NodeLink("/reaction_node", context=context)
    try:
        playing.start()
        assert harness.wait(lambda: len(harness.reactions) >= 5)
        assert link.conditions() == ["model", "mime", "neutral", "nod"]  # the study's, from /diagnostics
        first = RobotStudyRunner(study, "P01", tmp_path / "out", link)
        assert first.order == study.order(0)  # the first participant: row 0 of the Latin square
        assert RobotStudyRunner(study, "P02", tmp_path / "out", link).order == study.order(1) != study.order(0)
        threading.Timer(0.3, first.command, ("abort",)).start()  # mid first condition
        with pytest.raises(Aborted):
            first.run()
        assert not node.recording.active and first.state["conditions"][0]["status"] == "running"
        resumed = RobotStudyRunner(study, "P01", tmp_path / "out", link)
        state = resumed.run()  # resumes the first condition
        live = resumed.live  # what the operator console shows: the node's own values
        assert len(live["reaction"]) == 25 and live["active"] in study.order(0) and live["latency_ms"] > 0
        assert node.conditions.active == state["order"][-1] and not node.recording.active
    finally:
        link.close()
        playing.join()
        harness.close()
    assert state["status"] == "done" and [e["name"] for e in state["conditions"]] == study.order(0)
    directory = tmp_path / "out" / "robot" / "P01"
    for entry in state["conditions"]:
        assert entry["elapsed_s"] == pytest.approx(0.6)
        for segment in entry["segments"]:
            recording = directory / segment
            metadata = read_metadata(recording)["session"]
            assert metadata["participant_id"] == "P01" and metadata["condition"] == entry["name"]
            events = [json.loads(m.message.data) for m in read_messages(recording, topics=["/react_ros/study/events"])]
            assert events[0]["type"] == "condition" and events[-1]["current"] == entry["name"]  # this condition
            reactions = list(read_messages(recording, topics=["/react_ros/reaction"]))
            assert reactions
            if entry["name"] == "neutral":  # the frames after it took effect are neutral
                after = [m for m in reactions if m.log_time_ns > events[-1]["time_ns"]]
                assert after and all(np.allclose(m.message.data, schema.neutral_frame()) for m in after)
    segments = [s for entry in state["conditions"] for s in entry["segments"]]
    assert len(state["conditions"][0]["segments"]) == 2  # aborted, resumed in a new recording ...
    assert len(set(segments)) == len(segments) == 4  # ... which does not overwrite the first (same second)
