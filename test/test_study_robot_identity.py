"""The study runs the robot that was measured: a condition that is the model is, frame for frame, what
`react-ros run` runs (the same card-resolved sampling, front end, audio pairing and seed)."""
from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import numpy as np

from react_ros.recording import read_messages

ROOT = Path(__file__).resolve().parents[1]


def _cli(*args: str) -> subprocess.CompletedProcess:
    env = dict(os.environ, PYTHONPATH=str(ROOT))
    return subprocess.run([sys.executable, "-m", "react_ros.cli", *args], capture_output=True, text=True, env=env,
                          cwd=ROOT, timeout=600)


def _topic(path: Path, topic: str) -> np.ndarray:
    return np.array([m.message.data for m in read_messages(path, topics=[topic])], np.float32)


def test_study_model_condition_gives_exactly_the_reactions_of_react_ros_run(tmp_path):
    study = tmp_path / "same.yaml"
    study.write_text("name: same\nduration_s: 2\ncounterbalance: fixed\nseed: 0\nconditions:\n"
                     "  - {name: model, kind: generative}\n  - {name: mime, kind: mime}\n")
    ran = _cli("study", "run", "--study", str(study), "--participant", "P01", "--out", str(tmp_path / "study"),
               "--backend", "torch")
    assert ran.returncode == 0, ran.stderr
    robot = _cli("run", "--backend", "torch", "--fast", "--seconds", "2", "--seed", "0", "--features-only",
                 "--out", str(tmp_path / "run"))
    assert robot.returncode == 0, robot.stderr
    run_mcap = next((tmp_path / "run").glob("*.mcap"))
    study_mcap = tmp_path / "study" / "same" / "P01" / "01_model_seg1.mcap"
    for topic in ("/react_ros/features/speaker", "/react_ros/features/audio", "/react_ros/reaction"):
        a, b = _topic(run_mcap, topic), _topic(study_mcap, topic)
        assert a.shape == b.shape and len(a) == 60, topic
        # same model, front end and sampling frame for frame; the two paths may round float32 in the last bit
        # (measured 2.4e-7 after presence joined the session); a different robot differs by far more
        assert np.abs(a - b).max() <= 1e-6, f"{topic}: max difference {np.abs(a - b).max()}"
    reactions = _topic(study_mcap, "/react_ros/reaction")
    assert np.ptp(reactions[8:], axis=0).max() > 0.05  # the model moves the face: not two neutral recordings


def test_a_live_participant_without_ros_runs_through_the_same_session(tmp_path):
    """`study run --camera N --mic`: LiveInput (here a video file played as if it were a camera, no microphone)
    feeds the robot's session in real time; the recording is the study's, marked as a live camera."""
    from react_ros.data.democlip import default_clip
    from react_ros.recording import read_metadata
    from react_ros.runtime import load_graphs
    from react_ros.study.runner import RunOptions, StudyRunner, model_session
    from react_ros.study.speaker import LiveInput
    from react_ros.study.studyfile import study_from_dict

    study = study_from_dict({"name": "live", "duration_s": 1, "counterbalance": "fixed",
                             "conditions": [{"name": "model", "kind": "generative"}, {"name": "mime", "kind": "mime"}]})
    loaded = load_graphs("torch")
    camera = LiveInput(str(default_clip()[0]))
    try:
        runner = StudyRunner(study, "P02", tmp_path, camera, loaded.graphs, RunOptions(real_time=True),
                             session=model_session(loaded, study))
        state = runner.run()
    finally:
        camera.close()
    assert state["status"] == "done"
    for name in ("01_model_seg1.mcap", "02_mime_seg1.mcap"):
        path = tmp_path / "live" / "P02" / name
        assert read_metadata(path)["session"]["driver"] == "live camera"
        speaker = _topic(path, "/react_ros/features/speaker")
        frames = _topic(path, "/react_ros/study/frame")
        assert len(speaker) == len(frames) == 30
        assert frames[:, 2].mean() > 0.5 and frames[:, 3].max() == 0  # the face seen; no microphone, no audio
    assert runner.session.totals()["images"] == 60  # every frame through the session (front end, model, limits)
