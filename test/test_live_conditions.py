"""Study conditions on the live loop without ROS (react_ros/study/live.py): the session's reactions come from a
ConditionSwitcher; the model condition is exactly the session without conditions; a switch applies at the next
camera frame; mime repeats the speaker `delay` frames later; unknown conditions are refused."""
from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from react_ros import schema
from react_ros.online import PipelineConfig, ReactionSession, SessionConfig
from react_ros.study.live import MODEL, attach_conditions, node_sources
from react_ros.study.studyfile import study_from_dict

FPS = 30.0


@pytest.fixture(scope="module")
def clip():
    from react_ros.data.audio_io import read_wav
    from react_ros.data.democlip import default_clip
    from react_ros.face.video import read_video

    video, wav = default_clip()
    samples, rate = read_wav(wav)
    return read_video(video)[:48], samples, rate


@pytest.fixture(scope="module")
def loaded():
    from react_ros.runtime import load_graphs

    return load_graphs("torch", threads=1)


class Clock:
    def __init__(self, t: float = 100.0) -> None:
        self.t = t

    def __call__(self) -> float:
        return self.t


def make_session(loaded, seed: int = 3) -> tuple[ReactionSession, Clock]:
    clock = Clock()
    config = SessionConfig(PipelineConfig(seed=seed), robot_profile="animatronic")
    return ReactionSession.from_loaded(loaded, config=config, clock=clock, wall_clock=clock), clock


def play(session, clock, clip, frames: range, commands: list, before=None) -> None:
    """Frames of the clip in stream time; `before(k)` runs right before frame k (an operator's switch)."""
    images, samples, rate = clip
    for k in frames:
        a, b = int(np.ceil(k * rate / FPS)), int(np.ceil((k + 1) * rate / FPS))
        session.on_audio(samples[a:b], rate, 1000.0 + a / rate)
        clock.t += 1 / FPS
        if before is not None:
            before(k)
        session.on_image(images[k % len(images)], 1000.0 + k / FPS, commands.append)


def test_the_model_condition_gives_exactly_the_sessions_reactions(loaded, clip):
    plain, plain_clock = make_session(loaded)
    conditioned, clock = make_session(loaded)
    live = attach_conditions(conditioned, node_sources(0.2), seed=3)
    assert live.switcher.active == MODEL
    expected, got = [], []
    for session, c, out in ((plain, plain_clock, expected), (conditioned, clock, got)):
        session.start(3)
        play(session, c, clip, range(24), out)
    np.testing.assert_array_equal(np.stack([c.reaction for c in got]), np.stack([c.reaction for c in expected]))
    np.testing.assert_array_equal(np.stack([c.positions for c in got]), np.stack([c.positions for c in expected]))
    assert not np.allclose(got[-1].reaction, schema.neutral_frame())  # the model moved the face


def test_a_switch_applies_at_the_next_frame_mime_repeats_the_speaker_and_neutral_is_neutral(loaded, clip):
    session, clock = make_session(loaded)
    live = attach_conditions(session, node_sources(0.2), seed=3)  # mime: 6 frames later
    delay = 6
    session.start(3)
    commands: list = []
    requests = {12: "mime", 30: "neutral", 40: MODEL}
    play(session, clock, clip, range(44), commands,
         before=lambda k: live.request(requests[k]) if k in requests else None)
    reactions = np.stack([c.reaction for c in commands])
    speaker = np.stack([schema.clip_to_range(c.output.speaker) for c in commands])
    assert [(e.frame, e.current) for e in live.switcher.events] == [(0, MODEL), (12, "mime"), (30, "neutral"),
                                                                    (40, MODEL)]
    assert not np.allclose(reactions[11], schema.neutral_frame())  # the model, right before the switch
    np.testing.assert_array_equal(reactions[12:12 + delay], np.repeat(schema.neutral_frame()[None], delay, 0))
    np.testing.assert_array_equal(reactions[12 + delay:30], speaker[12:30 - delay])  # the speaker, 6 frames later
    assert np.ptp(speaker[12:30 - delay], axis=0).max() > 0  # (a moving face: the lag is visible)
    np.testing.assert_array_equal(reactions[30:40], np.repeat(schema.neutral_frame()[None], 10, 0))
    assert not np.allclose(reactions[40:], schema.neutral_frame())  # back to the model, warm: no cold start
    # The same motion limits for every condition: joints within the profile's range throughout.
    positions = np.stack([c.positions for c in commands])
    assert np.all(positions >= session.profile.lower - 1e-9) and np.all(positions <= session.profile.upper + 1e-9)
    values = session.diagnostics().values
    assert values["condition"] == MODEL and values["condition_switches"] == "4"


def test_an_unknown_condition_is_refused_with_the_known_ones_and_nothing_changes(loaded, clip):
    session, clock = make_session(loaded)
    live = attach_conditions(session, node_sources(0.2), initial="neutral")
    session.start(0)
    with pytest.raises(ValueError, match="unknown condition 'smile'.*model, mime, neutral"):
        live.request("smile")
    commands: list = []
    play(session, clock, clip, range(3), commands)
    assert live.switcher.active == "neutral" and len(commands) == 3
    with pytest.raises(ValueError, match="unknown condition"):
        attach_conditions(make_session(loaded)[0], node_sources(), initial="smile")


def test_a_study_files_conditions_join_the_robots(loaded):
    from react_ros.study.conditions import GenerativeSource
    from react_ros.study.live import ModelCondition

    study = study_from_dict({"name": "s", "duration_s": 1, "conditions": [
        {"name": "nod", "kind": "script", "keyframes": [{"t": 0}, {"t": 1, "AU12": 1.0}]},
        {"name": "slow_mime", "kind": "mime", "delay_s": 1.0},
        {"name": "model", "kind": "generative", "temperature": 1.0, "seed": 3},  # what the node runs
        {"name": "calm", "kind": "generative", "temperature": 0.5, "seed": 3}]})  # less diverse: its own
    session, _ = make_session(loaded, seed=3)
    sources = node_sources(0.5, study, loaded.graphs, dict(session.info, seed=3))
    assert list(sources) == [MODEL, "mime", "neutral", "nod", "slow_mime", "calm"]
    assert sources["slow_mime"].delay_frames == 30 and sources["mime"].delay_frames == 15
    assert isinstance(sources[MODEL], ModelCondition)  # no second model running for the same setting
    assert isinstance(sources["calm"], GenerativeSource) and sources["calm"].sampling.temperature == 0.5
    assert isinstance(node_sources(0.5, study, loaded.graphs, dict(session.info, seed=4))[MODEL], GenerativeSource)


class FakeNode:
    """A RobotLink double that keeps the parameters and recordings a reaction node would (timeline of calls)."""

    def __init__(self, known=("model", "mime", "neutral", "nod")) -> None:
        self.known, self.params, self.calls, self.recordings = set(known), {}, [], 0
        self.recording = False

    def set_parameters(self, **values) -> None:
        if "condition" in values and values["condition"] not in self.known:
            raise ValueError(f"condition: unknown condition {values['condition']!r}")
        self.params.update(values)
        self.calls.append(("condition", values.get("condition")))

    def conditions(self) -> list[str]:
        return sorted(self.known)

    def status(self) -> dict:
        smile = schema.neutral_frame()
        smile[schema.index_of("AU12")] = 0.9 if self.params.get("condition") == "mime" else 0.0
        return {"active": self.params.get("condition"), "reaction": smile.tolist(), "latency_ms": 12.5}

    def set_recording(self, on: bool) -> str:
        if on and not self.recording:
            self.recordings += 1
        self.recording = bool(on)
        self.calls.append(("record", on))
        return f"{self.params['output_dir']}/session_{self.recordings}_{self.params['condition']}.mcap" if on else ""


def test_robot_runner_pause_holds_neutral_and_stops_the_clock_and_refusals_say_why(tmp_path):
    import threading
    import time

    from react_ros.study.robot import RobotStudyRunner

    study = study_from_dict({"name": "r", "duration_s": 0.4, "counterbalance": "fixed",
                             "conditions": [{"name": "mime", "kind": "mime"}, {"name": "nod", "kind": "script",
                                                                              "keyframes": [{"t": 0}]}]})
    node = FakeNode()
    runner = RobotStudyRunner(study, "P01", tmp_path, node, poll_s=0.01)
    for delay, command in ((0.1, "pause"), (0.5, "resume"), (0.6, "switch smile"), (0.65, "neutral")):
        threading.Timer(delay, runner.command, (command,)).start()
    started = time.monotonic()
    state = runner.run()
    took = time.monotonic() - started
    assert state["status"] == "done" and [c["elapsed_s"] for c in state["conditions"]] == [0.4, 0.4]
    assert took >= 0.8 + 0.4 - 0.05  # the condition's clock stood still for the 0.4 s pause
    conditions = [value for kind, value in node.calls if kind == "condition"]
    assert conditions[:3] == ["mime", "neutral", "mime"]  # pause holds neutral, resume restores
    events = {e["type"]: e for e in state["events"]}
    assert "unknown condition 'smile'" in events["control_error"]["error"]
    assert [e["current"] for e in state["events"] if e["type"] == "switch"] == ["mime", "neutral", "nod"]
    assert [Path(p).name for c in state["conditions"] for p in c["segments"]] == ["session_1_mime.mcap",
                                                                                "session_2_nod.mcap"]
    assert not node.recording and node.params["participant_id"] == "P01"
    stranger = FakeNode(known=("model", "mime", "neutral"))  # a node started without the study's conditions
    with pytest.raises(ValueError, match=r"does not know the conditions \['nod'\].*conditions_file"):
        RobotStudyRunner(study, "P02", tmp_path, stranger).run()
    assert stranger.calls == []  # refused before the participant's session began


def test_the_operator_console_runs_a_robot_session(tmp_path):
    """study run --ros --console: the page shows the node's values and its buttons switch the node."""
    import json
    import threading
    import time
    import urllib.request

    from react_ros.study.console import OperatorConsole
    from react_ros.study.robot import RobotStudyRunner

    study = study_from_dict({"name": "r", "duration_s": 30, "counterbalance": "fixed",
                             "conditions": [{"name": "mime", "kind": "mime"}, {"name": "nod", "kind": "script",
                                                                              "keyframes": [{"t": 0}]}]})
    node = FakeNode()
    runner = RobotStudyRunner(study, "P01", tmp_path, node, poll_s=0.01)
    from react_ros.study.runner import Aborted

    thread = threading.Thread(target=lambda: pytest.raises(Aborted, runner.run), daemon=True)
    with OperatorConsole(runner) as console:
        thread.start()

        def state() -> dict:
            request = urllib.request.Request(console.base + "api/state", headers={"X-Console-Key": console.key})
            return json.loads(urllib.request.urlopen(request, timeout=5).read())

        def post(command: str) -> dict:
            request = urllib.request.Request(console.base + "api/control", json.dumps({"command": command}).encode(),
                                             headers={"X-Console-Key": console.key,
                                                      "Content-Type": "application/json"})
            return json.loads(urllib.request.urlopen(request, timeout=5).read())

        deadline = time.monotonic() + 10
        while state().get("status") != "running" and time.monotonic() < deadline:
            time.sleep(0.02)
        s = state()
        assert s["condition"] == "mime" and s["active"] == "mime" and s["sources"] == ["mime", "nod", "neutral"]
        assert s["reaction"][schema.index_of("AU12")] == pytest.approx(0.9) and 0 < s["time_left_s"] <= 30
        assert urllib.request.urlopen(f"{console.base}api/face.png?key={console.key}", timeout=5).status == 200
        assert post("switch nod")["ok"]
        deadline = time.monotonic() + 5
        while node.params["condition"] != "nod" and time.monotonic() < deadline:
            time.sleep(0.01)
        assert node.params["condition"] == "nod"  # the button switched the robot
        post("abort")
        thread.join(5)
    assert runner.state["status"] == "aborted" and not node.recording
