"""Field studies: conditions, study files, the runner (recordings, switch times, resume after SIGKILL, pause,
abort, operator switches), the analysis table and `study forget`."""
from __future__ import annotations

import json
import os
import re
import signal
import subprocess
import sys
import threading
import time
from pathlib import Path

import numpy as np
import pytest
from mcap.reader import make_reader

from react_ros import schema
from react_ros.recording import read_messages, read_metadata
from react_ros.recording.recover import has_summary
from react_ros.study.conditions import (
    ConditionSwitcher,
    GenerativeSource,
    MimeSource,
    NeutralSource,
    ReplaySource,
    ScriptedSource,
    SpeakerFrame,
)
from react_ros.study.studyfile import check_pseudonym, latin_square, load_study, study_from_dict

ROOT = Path(__file__).resolve().parents[1]
REACTION = "/react_ros/reaction"
A_DIM = 8


def _frame(attributes=None) -> SpeakerFrame:
    return SpeakerFrame(schema.neutral_frame() if attributes is None else attributes, np.zeros(A_DIM, np.float32))


def _write_study(path: Path, text: str) -> Path:
    path.write_text(text)
    return path


STUDY = """
name: pilot
raw_media: false
duration_s: 1.0
conditions:
  - {name: model, kind: generative, temperature: 0.8, seed: 1}
  - {name: mime, kind: mime, delay_s: 0.2}
  - {name: nod, kind: script, loop: true, keyframes: [{t: 0}, {t: 0.5, AU12: 0.9, AU26: 0.6}, {t: 1.0}]}
"""


def _cli(*args: str, **kwargs) -> subprocess.CompletedProcess:
    env = dict(os.environ, PYTHONPATH=str(ROOT))
    return subprocess.run([sys.executable, "-m", "react_ros.cli", *args], env=env, capture_output=True, text=True,
                          timeout=300, **kwargs)


# ------------------------------------------------------------------------------------------ study files

def test_latin_square_is_balanced():
    for n in (2, 3, 4, 5):
        rows = latin_square(n)
        assert len(rows) == (n if n % 2 == 0 else 2 * n)
        for row in rows:
            assert sorted(row) == list(range(n))
        for position in range(n):  # each condition equally often in each position
            counts = np.bincount([row[position] for row in rows], minlength=n)
            assert np.all(counts == counts[0])
        # carry-over: each condition is followed by each other one equally often (Williams design)
        follows = np.zeros((n, n), int)
        for row in rows:
            for a, b in zip(row, row[1:], strict=False):
                follows[a, b] += 1
        off = follows[~np.eye(n, dtype=bool)]
        assert np.all(off == off[0]) and off[0] > 0


def test_study_orders_are_counterbalanced(tmp_path):
    study = load_study(_write_study(tmp_path / "s.yaml", STUDY))
    orders = [study.order(row) for row in range(6)]
    assert orders[0] == ["model", "mime", "nod"]
    assert {tuple(o) for o in orders} == {tuple(o) for o in orders[:6]} and len({tuple(o) for o in orders}) == 6
    fixed = study_from_dict({"name": "f", "duration_s": 1, "counterbalance": "fixed",
                             "conditions": [{"name": "a", "kind": "neutral"}, {"name": "b", "kind": "neutral"}]})
    assert fixed.order(1) == ["a", "b"]


@pytest.mark.parametrize("data, message", [
    ({"name": "x", "conditions": [{"name": "a", "kind": "neutral"}]}, "no duration_s"),
    ({"name": "x", "duration_s": 1, "conditions": [{"name": "a", "kind": "mimic"}]}, "kind must be one of"),
    ({"name": "x", "duration_s": 1, "conditions": [{"name": "a", "kind": "mime", "delay": 1}]}, "unknown keys ['delay']"),
    ({"name": "x", "duration_s": 1, "conditions": [{"name": "a", "kind": "neutral"}, {"name": "a", "kind": "neutral"}]},
     "repeated: ['a']"),
    ({"name": "x", "duration_s": 1, "conditions": [{"name": "a", "kind": "script", "keyframes": [{"t": 0, "AU99": 1}]}]},
     "unknown attribute 'AU99'"),
    ({"name": "x", "duration_s": 1, "conditions": [{"name": "a", "kind": "script", "keyframes": [{"t": 1}, {"t": 0}]}]},
     "strictly increasing"),
    ({"name": "x", "duration_s": -1, "conditions": [{"name": "a", "kind": "neutral"}]}, "must be > 0"),
    ({"name": "x", "duration_s": 1, "raw_media": "yes", "conditions": [{"name": "a", "kind": "neutral"}]}, "raw_media"),
    ({"name": "x y", "duration_s": 1, "conditions": [{"name": "a", "kind": "neutral"}]}, "name must be"),
    ({"name": "x", "duration_s": 1, "conditions": [{"name": "a", "kind": "replay"}]}, "needs 'data'"),
])
def test_study_file_errors_say_where_and_why(data, message):
    with pytest.raises(ValueError) as error:
        study_from_dict(data, "study.yaml")
    assert message in str(error.value) and "study.yaml" in str(error.value)


def test_participant_ids_must_be_pseudonyms():
    for good in ("P01", "pilot-7", "S_003"):
        assert check_pseudonym(good) == good
    for bad in ("anna.schmidt@uni.de", "Anna Schmidt", "Anna", "", "P01/../x", "x" * 40 + "1"):
        with pytest.raises(ValueError):
            check_pseudonym(bad)


# ------------------------------------------------------------------------------------------ sources

def test_mime_repeats_the_speaker_after_its_delay():
    source = MimeSource(delay_s=0.2)  # 6 frames at 30 fps
    outputs = []
    for t in range(20):
        x = schema.neutral_frame()
        if t == 5:
            x[schema.index_of("AU12")] = 1.0
        outputs.append(source.step(_frame(x))[schema.index_of("AU12")])
    assert np.argmax(outputs) == 11 and outputs[11] == 1.0 and sum(outputs) == 1.0


def test_scripted_source_interpolates_keyframes_and_loops():
    source = ScriptedSource([{"t": 0}, {"t": 1.0, "AU12": 1.0}], fps=10, loop=True)
    values = [source.step(_frame())[schema.index_of("AU12")] for _ in range(15)]
    assert values[0] == 0.0 and values[5] == pytest.approx(0.5) and values[9] == pytest.approx(0.9)
    assert values[10] == 0.0 and values[14] == pytest.approx(0.4)  # looped after 1 s
    assert np.allclose(NeutralSource().step(_frame()), schema.neutral_frame())


def test_replay_plays_a_real_listener_from_a_mars_layout(tmp_path):
    rng = np.random.default_rng(0)
    listener = schema.clip_to_range(rng.uniform(0, 1, (12, 25)).astype(np.float32))
    listener[:, schema.EXPRESSION] = np.eye(8)[rng.integers(0, 8, 12)]
    for role, data in (("speaker", schema.neutral_frame()[None].repeat(12, 0)), ("listener", listener)):
        folder = tmp_path / "test" / "facial-attributes" / role / "session0"
        folder.mkdir(parents=True)
        np.save(folder / "clip0.npy", data)
    source = ReplaySource.from_mars(tmp_path, "test", 0)
    out = np.stack([source.step(_frame()) for _ in range(14)])
    assert np.allclose(out[:12], listener) and np.allclose(out[12:], listener[:2])
    with pytest.raises(ValueError, match="has 1 dyadic pairs"):
        ReplaySource.from_mars(tmp_path, "test", 3)


@pytest.fixture(scope="module")
def demo():
    from react_ros.runtime import load_graphs

    return load_graphs("torch", threads=1)


@pytest.fixture(scope="module")
def clip(demo):
    """The first 2 s of the demo clip through the front end (conditions loop it)."""
    from react_ros.study.runner import load_clip

    return load_clip(*_demo_clip(), demo.estimator_fn, max_frames=60)


def test_generative_source_is_causal(demo):
    rng = np.random.default_rng(1)
    frames = [SpeakerFrame(schema.clip_to_range(rng.uniform(0, 1, 25).astype(np.float32)),
                           rng.normal(size=demo.graphs.config.audio_dim).astype(np.float32)) for _ in range(40)]
    runs = []
    for change in (None, 20):
        source = GenerativeSource(demo.graphs, seed=4)
        out = []
        for t, frame in enumerate(frames):
            if t == change:
                frame = SpeakerFrame(np.ones(25, np.float32), frame.audio)
            out.append(source.step(frame))
        runs.append(np.stack(out))
    # The reaction at frame t comes from frames < t: changing frame 20 leaves frames 0..20 as they were.
    assert np.array_equal(runs[0][:21], runs[1][:21])
    assert not np.allclose(runs[0][21:], runs[1][21:])


def test_switcher_switches_at_the_next_frame_and_records_every_switch():
    ticks = iter(range(100, 200))
    switcher = ConditionSwitcher({"mime": MimeSource(0.0), "calm": NeutralSource()}, clock=lambda: next(ticks))
    seen = []
    switcher.listeners.append(seen.append)
    switcher.switch("mime")
    smile = schema.neutral_frame()
    smile[schema.index_of("AU12")] = 1.0
    assert switcher.step(_frame(smile))[schema.index_of("AU12")] == 1.0
    worker = threading.Thread(target=switcher.request, args=("calm",))
    worker.start()
    worker.join()
    assert switcher.active == "mime"  # not yet: a switch takes effect at the next frame
    assert np.allclose(switcher.step(_frame(smile)), schema.neutral_frame())
    assert [(e.previous, e.current, e.frame, e.reason) for e in seen] == [(None, "mime", 0, "schedule"),
                                                                         ("mime", "calm", 1, "operator")]
    assert seen[0].time_ns < seen[1].time_ns
    with pytest.raises(ValueError, match="unknown condition"):
        switcher.request("model")


def test_a_failing_source_gives_neutral_and_does_not_stop_the_session():
    class Broken:
        kind = "broken"

        def reset(self, seed=0):
            pass

        def step(self, frame):
            return np.full(25, np.nan, np.float32)

    switcher = ConditionSwitcher({"broken": Broken()})
    switcher.switch("broken")
    assert np.array_equal(switcher.step(_frame()), schema.neutral_frame()) and switcher.errors == 1


# ------------------------------------------------------------------------------------------ runner

def _recordings(directory: Path) -> list[Path]:
    return sorted(directory.glob("*.mcap"))


def _reactions(path: Path) -> list:
    return list(read_messages(path, topics=[REACTION]))


def test_two_participants_three_conditions_end_to_end(tmp_path):
    """One command runs the scripted study for two participants; recordings, switch times, counterbalanced
    order and the analysis table agree; `study forget` then leaves nothing of P01 on disk."""
    from react_ros.study.analysis import analyze

    study_file = _write_study(tmp_path / "study.yaml", STUDY)
    out = tmp_path / "out"
    run = _cli("study", "run", "--study", str(study_file), "--participant", "P01", "P02", "--out", str(out))
    assert run.returncode == 0, run.stderr
    study = load_study(study_file)
    root = out / "pilot"
    orders = {}
    for participant in ("P01", "P02"):
        state = json.loads((root / participant / "state.json").read_text())
        assert state["status"] == "done" and state["order"] == study.order(state["row"])
        orders[participant] = state["order"]
        switches = [e for e in state["events"] if e["type"] == "switch"]
        assert [e["current"] for e in switches] == state["order"]
        files = _recordings(root / participant)
        assert [f.name for f in files] == [f"{i + 1:02d}_{name}_seg1.mcap" for i, name in enumerate(state["order"])]
        previous_end = 0
        for i, (path, switch) in enumerate(zip(files, switches, strict=True)):
            meta = read_metadata(path)["session"]
            assert (meta["participant_id"], meta["condition"], int(meta["condition_index"])) == (
                participant, state["order"][i], i)
            frames = _reactions(path)
            assert len(frames) == 30  # 1 s at 30 fps
            # the switch happened after the last frame of the previous condition and before this one's first
            assert previous_end <= switch["time_ns"] <= frames[0].log_time_ns
            previous_end = frames[-1].log_time_ns
            recorded = [json.loads(m.message.data) for m in read_messages(path, topics=["/react_ros/study/events"])]
            assert recorded[0]["type"] == "switch" and recorded[0]["time_ns"] == switch["time_ns"]
            assert not list(read_messages(path, topics=["/camera/image_raw"]))  # features only (raw_media false)
    assert orders["P01"] == ["model", "mime", "nod"] and orders["P02"] == ["mime", "nod", "model"]

    result = analyze([root], root / "analysis")
    table = {(r["participant"], r["condition"]): r for r in result.rows}
    assert len(table) == 6
    for participant, order in orders.items():
        for i, name in enumerate(order):
            row = table[(participant, name)]
            assert (row["frames"], row["condition_index"], row["segments"]) == (30, i, 1)
            assert row["face_present_ratio"] == 1.0
    text = result.table.read_text().splitlines()
    assert len(text) == 7 and text[0].startswith("participant,condition,condition_index")
    assert result.report.is_file() and all(f.is_file() for f in result.figures)
    # The mime condition mirrors the participant (delayed 0.2 s): its lag is the delay, and it is far
    # closer to the Mime reference than the scripted nod.
    mime, nod = table[("P01", "mime")], table[("P01", "nod")]
    assert mime["lag_median"] == 6 and mime["FRDist_mime"] < nod["FRDist_mime"]

    forget = _cli("study", "forget", "P01", "--study", str(study_file), "--out", str(out))
    assert forget.returncode == 0, forget.stderr
    assert "removed" in forget.stdout and "01_model_seg1.mcap" in forget.stdout
    token = re.compile(r"(?<![A-Za-z0-9_-])P01(?![A-Za-z0-9_-])")
    left = sorted(p for p in out.rglob("*") if p.is_file())
    assert left and not [p for p in left if token.search(str(p.relative_to(out)))]
    for path in left:
        if path.suffix == ".mcap":
            assert read_metadata(path)["session"]["participant_id"] == "P02"
        elif path.suffix == ".parquet":
            import pyarrow.parquet as pq

            assert not token.search(json.dumps(pq.read_table(path).to_pylist())), path
        elif path.suffix != ".png":
            assert not token.search(path.read_text()), path
    assert len(_recordings(root / "P02")) == 3


def test_sigkill_mid_condition_loses_at_most_the_last_chunk_and_resumes_there(tmp_path):
    study_file = _write_study(tmp_path / "study.yaml", """
name: crash
duration_s: 2.0
counterbalance: fixed
conditions:
  - {name: first, kind: mime}
  - {name: second, kind: script, loop: true, keyframes: [{t: 0}, {t: 0.5, AU12: 1.0}, {t: 1.0}]}
  - {name: third, kind: neutral}
""")
    out = tmp_path / "out"
    env = dict(os.environ, PYTHONPATH=str(ROOT))
    flush_s = 0.2
    process = subprocess.Popen([sys.executable, "-m", "react_ros.cli", "study", "run", "--study", str(study_file),
                                "--participant", "P07", "--out", str(out), "--real-time", "--trace",
                                "--flush-interval", str(flush_s)], env=env, stdout=subprocess.PIPE, text=True)
    traced = 0
    try:
        for line in process.stdout:
            if line.startswith("frame 1 "):
                traced = int(line.split()[2]) + 1
                if traced >= 30:  # mid-way through the second condition
                    break
        process.send_signal(signal.SIGKILL)
        rest = process.stdout.read()
    finally:
        process.kill()
        process.wait()
    traced = max([traced] + [int(line.split()[2]) + 1 for line in rest.splitlines() if line.startswith("frame 1 ")])
    directory = out / "crash" / "P07"
    cut = directory / "02_second_seg1.mcap"
    readable = len(list(read_messages(cut, topics=["/react_ros/study/frame"])))
    assert read_metadata(cut)["session"]["condition"] == "second"  # the cut file still says what it is
    # At most what was written since the last flush is lost (plus the frame being written).
    assert traced - int(flush_s * 30) - 2 <= readable <= traced
    assert len(_reactions(directory / "01_first_seg1.mcap")) == 60
    assert not has_summary(cut)  # the mcap library's indexed reader cannot open the cut file

    resumed = _cli("study", "run", "--study", str(study_file), "--participant", "P07", "--out", str(out))
    assert resumed.returncode == 0, resumed.stderr
    for path in sorted(directory.glob("*.mcap")):  # recovered before resuming: every summary reads
        with open(path, "rb") as f:
            reader = make_reader(f)
            summary = reader.get_summary()
            frames = sum(1 for _ in reader.iter_messages(topics=["/react_ros/study/frame"]))
        assert summary is not None and summary.statistics.message_count > 0, path
        assert frames == (readable if path == cut else 60 - readable if path.name == "02_second_seg2.mcap" else 60)
    state = json.loads((directory / "state.json").read_text())
    assert [c["segments"] for c in state["conditions"]] == [
        ["01_first_seg1.mcap"], ["02_second_seg1.mcap", "02_second_seg2.mcap"], ["03_third_seg1.mcap"]]
    switches = [(e["current"], e["reason"]) for e in state["events"] if e["type"] == "switch"]
    assert switches == [("first", "schedule"), ("second", "schedule"), ("second", "resume"), ("third", "schedule")]
    assert [(e["file"], e["messages"] > 0) for e in state["events"] if e["type"] == "recovered"] == [
        ("02_second_seg1.mcap", True)]
    second = directory / "02_second_seg2.mcap"
    assert int(read_metadata(second)["session"]["first_frame"]) == readable
    frame_numbers = [int(m.message.data[1]) for p in (cut, second)
                     for m in read_messages(p, topics=["/react_ros/study/frame"])]
    assert frame_numbers == list(range(60))  # the condition continues where the recording ends, nothing twice

    from react_ros.study.analysis import analyze

    rows = {r["condition"]: r for r in analyze([directory], tmp_path / "analysis").rows}
    assert [(rows[c]["frames"], rows[c]["segments"]) for c in ("first", "second", "third")] == [(60, 1), (60, 2), (60, 1)]


def test_one_run_per_participant(tmp_path):
    """A second run of a participant who is being run refuses (exit 2, saying so), and so does `forget`; the
    same pseudonym twice on one command line is refused before anything runs."""
    study_file = _write_study(tmp_path / "study.yaml", """
name: busy
duration_s: 60
conditions:
  - {name: mime, kind: mime}
  - {name: neutral, kind: neutral}
""")
    out = tmp_path / "out"
    twice = _cli("study", "run", "--study", str(study_file), "--participant", "P04", "P04", "--out", str(out))
    assert twice.returncode == 2 and "P04 is given twice" in twice.stderr and not out.exists()
    env = dict(os.environ, PYTHONPATH=str(ROOT))
    first = subprocess.Popen([sys.executable, "-m", "react_ros.cli", "study", "run", "--study", str(study_file),
                              "--participant", "P04", "--out", str(out), "--real-time", "--trace"], env=env,
                             stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True)
    try:
        for line in first.stdout:
            if line.startswith("frame 0 "):
                break
        second = _cli("study", "run", "--study", str(study_file), "--participant", "P04", "--out", str(out))
        assert second.returncode == 2, second.stderr
        assert f"participant P04 is being run by another process (pid {first.pid})" in second.stderr
        erase = _cli("study", "forget", "P04", "--study", str(study_file), "--out", str(out))
        assert erase.returncode == 2 and "being run by another process" in erase.stderr
        assert first.poll() is None  # the first run goes on
    finally:
        first.send_signal(signal.SIGTERM)
        first.wait(60)
    state = json.loads((out / "busy" / "P04" / "state.json").read_text())
    assert [e["type"] for e in state["events"]].count("switch") == 1  # one run recorded, not two


def _features(n: int = 10):
    from react_ros.study.speaker import ClipFeatures

    attributes = np.repeat(schema.neutral_frame()[None], n, 0)
    return ClipFeatures(attributes, np.ones(n, bool), np.zeros((n, 8), np.float32), np.ones(n, bool),
                        np.zeros((n, 8, 8, 3), np.uint8), np.zeros(16000, np.float32), 16000)


def test_a_row_freed_by_forget_is_reused_and_rows_can_be_assigned_by_hand(tmp_path):
    from react_ros.study.runner import RunOptions, StudyRunner, forget, row_counts

    study = study_from_dict({"name": "rows", "duration_s": 1, "conditions": [
        {"name": n, "kind": "neutral"} for n in ("a", "b", "c", "d")]})
    out = tmp_path / "out"

    def row(participant: str, wanted: int | None = None) -> int:
        runner = StudyRunner(study, participant, out, _features(), options=RunOptions(row=wanted))
        assert runner.order == study.order(runner.state["row"])
        runner.release()
        return runner.state["row"]

    assert [row(p) for p in ("P01", "P02", "P03", "P04")] == [0, 1, 2, 3]
    forget(out, "rows", "P02")
    assert row_counts(out, study) == [1, 0, 1, 1]
    assert row("P05") == 1 and row_counts(out, study) == [1, 1, 1, 1]  # the freed row, not row 0 again
    assert row("P06") == 0
    assert row("P07", wanted=3) == 3 and row_counts(out, study) == [2, 1, 1, 2]
    assert row("P08") == 1  # the emptiest again
    with pytest.raises(ValueError, match="already has row 3"):
        row("P07", wanted=2)
    with pytest.raises(ValueError, match="rows 0..3"):
        row("P09", wanted=4)


def test_every_condition_goes_through_the_same_motion_limits(tmp_path, clip):
    """A script that jumps to a full smile in one frame: the recorded joint commands respect the profile's
    velocity and position limits, although the reaction itself jumps."""
    from react_ros.robot import load_profile
    from react_ros.study.runner import StudyRunner

    study = load_study(_write_study(tmp_path / "s.yaml", """
name: limits
duration_s: 0.5
robot_profile: animatronic
conditions:
  - {name: jump, kind: script, keyframes: [{t: 0}, {t: 0.033, AU12: 1.0, AU26: 1.0, AU1: 1.0}]}
  - {name: mime, kind: mime}
"""))
    StudyRunner(study, "P03", tmp_path / "out", clip).run()
    profile = load_profile("animatronic")
    for path in _recordings(tmp_path / "out" / "limits" / "P03"):
        joints = np.array([m.message.position for m in read_messages(path, topics=["/react_ros/joint_commands"])])
        reactions = np.array([m.message.data for m in _reactions(path)])
        assert len(joints) == len(reactions) == 15
        steps = np.abs(np.diff(np.vstack([profile.neutral, joints]), axis=0))
        assert np.all(steps <= profile.max_velocity / 30.0 + 1e-9)
        assert np.all(joints >= profile.lower - 1e-12) and np.all(joints <= profile.upper + 1e-12)
        if "jump" in path.name:
            # the last frame: the session starts with nobody present and eases in (online/presence.py)
            wanted = np.abs(profile.map(reactions[-1]) - profile.neutral)
            assert np.any(wanted > 3 * profile.max_velocity / 30.0)  # unlimited, the face would jump


def _demo_clip():
    from react_ros.data.democlip import default_clip

    return default_clip()


def _wait(condition, what: str, timeout: float = 60.0) -> None:
    deadline = time.monotonic() + timeout
    while not condition():
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out waiting for {what}")
        time.sleep(0.01)


def test_pause_resume_operator_switch_and_abort_lose_nothing(tmp_path, clip):
    from react_ros.study.runner import HOLD_NEUTRAL, Aborted, RunOptions, StudyRunner, send_control

    study = load_study(_write_study(tmp_path / "s.yaml", """
name: control
duration_s: 2.0
counterbalance: fixed
conditions:
  - {name: mime, kind: mime}
  - {name: nod, kind: script, keyframes: [{t: 0}, {t: 1, AU12: 1}]}
"""))
    out = tmp_path / "out"
    runner = StudyRunner(study, "P05", out, clip, options=RunOptions(real_time=True))
    outcome = {}

    def work():
        try:
            runner.run()
        except Aborted as stop:
            outcome["aborted"] = str(stop)

    worker = threading.Thread(target=work)
    worker.start()
    _wait(lambda: runner.switcher.frames >= 5, "frames")
    send_control(out, study, "P05", "pause")
    _wait(lambda: runner.state["status"] == "paused", "pause")
    held = runner.switcher.frames
    time.sleep(0.2)
    assert runner.switcher.frames == held  # paused: no frames
    send_control(out, study, "P05", "resume")
    _wait(lambda: runner.switcher.frames >= held + 3, "resume")
    send_control(out, study, "P05", "neutral")
    _wait(lambda: runner.switcher.active == HOLD_NEUTRAL, "operator switch")
    send_control(out, study, "P05", "abort")
    worker.join(30)
    assert "aborted in condition 'mime'" in outcome["aborted"]
    first = out / "control" / "P05" / "01_mime_seg1.mcap"
    recorded = [json.loads(m.message.data) for m in read_messages(first, topics=["/react_ros/study/events"])]
    controls = [(e["command"], e["by"]) for e in recorded if e["type"] == "control"]  # each command, who sent it
    assert controls == [(c, "control file") for c in ("pause", "resume", "neutral", "abort")]
    recorded = [e for e in recorded if e["type"] != "control"]
    assert [e["type"] for e in recorded] == ["switch", "pause", "resume", "switch", "abort"]
    switch = recorded[3]
    assert (switch["current"], switch["reason"]) == (HOLD_NEUTRAL, "operator")
    reactions = [np.array(m.message.data) for m in _reactions(first)]
    assert all(np.allclose(r, schema.neutral_frame()) for r in reactions[switch["frame"]:])

    StudyRunner(study, "P05", out, clip).run()  # resumes the aborted condition, then the next one
    state = json.loads((out / "control" / "P05" / "state.json").read_text())
    assert state["status"] == "done"
    assert sum(len(_reactions(out / "control" / "P05" / s)) for s in state["conditions"][0]["segments"]) == 60


def test_the_shipped_example_study_loads():
    study = load_study(ROOT / "config" / "studies" / "example.yaml")
    assert [c.kind for c in study.conditions] == ["generative", "mime", "neutral", "script"]
    assert not study.raw_media and len({tuple(study.order(r)) for r in range(4)}) == 4


# ------------------------------------------------------------------------------------------ operator console

CONSOLE_STUDY = """
name: console
duration_s: 20.0
counterbalance: fixed
conditions:
  - {name: mime, kind: mime}
  - {name: nod, kind: script, loop: true, keyframes: [{t: 0}, {t: 0.5, AU12: 1}, {t: 1}]}
"""


def _live_runner(tmp_path, clip, text=CONSOLE_STUDY):
    from react_ros.study.runner import Aborted, RunOptions, StudyRunner

    study = load_study(_write_study(tmp_path / "console.yaml", text))
    runner = StudyRunner(study, "P09", tmp_path / "out", clip, options=RunOptions(real_time=True))
    outcome = {}

    def work():
        try:
            runner.run()
        except Aborted as stop:
            outcome["aborted"] = str(stop)

    worker = threading.Thread(target=work)
    worker.start()
    return runner, worker, outcome


def _http(url: str, command: str | None = None, key: str | None = None, headers: dict | None = None):
    """GET (or POST a JSON command to) the console, presenting `key` as the page does."""
    import urllib.error
    import urllib.request

    data = None if command is None else json.dumps({"command": command}).encode()
    sent = {"X-Console-Key": key} if key else {}
    if command is not None:
        sent["Content-Type"] = "application/json"
    sent.update(headers or {})
    try:
        with urllib.request.urlopen(urllib.request.Request(url, data=data, headers=sent), timeout=10) as response:
            return response.status, response.read()
    except urllib.error.HTTPError as error:
        return error.code, error.read()


def _switch_event(runner, name: str) -> dict:
    return [e for e in runner.state["events"] if e["type"] == "switch" and e["current"] == name][-1]


def test_console_shows_live_values_and_its_commands_apply_at_the_next_frame(tmp_path, clip):
    from react_ros.study.console import OperatorConsole

    runner, worker, outcome = _live_runner(tmp_path, clip)
    with OperatorConsole(runner) as console:
        try:
            status, page = _http(console.url)
            assert status == 200 and b"operator console" in page
            _wait(lambda: runner.live.get("frame", -1) >= 3, "frames")
            first = json.loads(_http(console.base + "api/state", key=console.key)[1])
            _wait(lambda: runner.live["frame"] > first["frame"], "the next frame")
            second = json.loads(_http(console.base + "api/state", key=console.key)[1])
            assert second["frame"] > first["frame"] and len(second["reaction"]) == 25
            assert (second["condition"], second["active"], second["participant"]) == ("mime", "mime", "P09")
            assert 0 < second["time_left_s"] < 20 and second["face_present"] is True
            assert _http(console.base + "api/face.png", key=console.key)[1][:4] == b"\x89PNG"
            assert _http(console.base + "api/camera.png", key=console.key)[0] == 403  # features-only study: no camera image
            assert _http(console.base + "api/control", "switch nobody", key=console.key)[0] == 400

            status, body = _http(console.base + "api/control", "switch nod", key=console.key)
            assert status == 200
            clicked_at = json.loads(body)["frame"]
            _wait(lambda: runner.switcher.active == "nod", "switch")
            event = _switch_event(runner, "nod")
            # Within one frame period: at most the frame in progress is still made by the old source.
            assert clicked_at <= event["frame"] <= clicked_at + 1 and event["reason"] == "operator"

            assert _http(console.base + "api/control", "pause", key=console.key)[0] == 200
            _wait(lambda: runner.live["status"] == "paused", "pause")
            assert json.loads(_http(console.base + "api/state", key=console.key)[1])["status"] == "paused"
        finally:
            runner.command("abort")
            worker.join(30)
    assert "aborted" in outcome


def test_console_refuses_requests_without_its_key_from_other_sites_or_hosts(tmp_path, clip, capsys):
    """Every refused request changes nothing; the console's own JSON request with its key switches, and the
    control event names the console that sent it. Beyond localhost needs allow_remote (and warns); a port
    in use is a ConsoleError that names it."""
    from react_ros.study.console import ConsoleError, OperatorConsole

    runner, worker, outcome = _live_runner(tmp_path, clip)
    with OperatorConsole(runner) as console:
        try:
            _wait(lambda: runner.live.get("frame", -1) >= 2, "frames")
            host = f"127.0.0.1:{console.port}"
            assert _http(console.base)[0] == 403  # the page needs the key in its URL
            assert _http(console.base + "?key=wrong")[0] == 403
            assert _http(console.base + "api/state")[0] == 403
            assert _http(console.url)[0] == 200
            control = console.base + "api/control"
            refused = [
                _http(control, "switch nod"),  # no key
                _http(control, "switch nod", key="guess"),
                _http(control, "switch nod", key=console.key, headers={"Content-Type": "text/plain"}),  # a form
                _http(control, "switch nod", key=console.key, headers={"Origin": "http://evil.example"}),
                _http(control, "switch nod", key=console.key, headers={"Host": f"evil.example:{console.port}"}),
            ]
            assert [status for status, _ in refused] == [403] * 5, refused
            time.sleep(0.2)
            assert runner.switcher.active == "mime" and not [e for e in runner.state["events"]
                                                             if e["type"] == "control"]
            status, _ = _http(control, "switch nod", key=console.key,
                              headers={"Origin": f"http://{host}", "X-Console-Client": "desk1"})
            assert status == 200
            _wait(lambda: runner.switcher.active == "nod", "switch")
            sent = [e for e in runner.state["events"] if e["type"] == "control"]
            assert [(e["command"], e["by"]) for e in sent] == [("switch nod", "console desk1 at 127.0.0.1")]
            with pytest.raises(ConsoleError, match=f"port {console.port} on 127.0.0.1 is in use"):
                OperatorConsole(runner, "127.0.0.1", console.port)
        finally:
            runner.command("abort")
            worker.join(30)
    with pytest.raises(ConsoleError, match="--console-remote"):
        OperatorConsole(runner, "0.0.0.0", 0)
    OperatorConsole(runner, "0.0.0.0", 0, allow_remote=True).server.server_close()
    assert "WARNING: the operator console listens on 0.0.0.0" in capsys.readouterr().err


def _chromium() -> str | None:
    import shutil

    for name in ("chromium-headless-shell", "chromium", "chromium-browser", "google-chrome"):
        path = shutil.which(name) or (f"/usr/lib/chromium/{name}" if Path(f"/usr/lib/chromium/{name}").is_file()
                                      else None)
        if path:
            return path
    return None


ATTACK = """<!doctype html><html><body><form id="f" method="POST" enctype="text/plain" target="sink">
<input name='{"command":"switch nod","x":"' value='"}'></form><iframe name="sink"></iframe><script>
async function attack(base) {
  const body = JSON.stringify({command: 'switch nod'});
  const tries = [
    fetch(base + 'api/control', {method: 'POST', mode: 'no-cors', body}),
    fetch(base + 'api/control', {method: 'POST', body, headers: {'Content-Type': 'application/json',
                                                                 'X-Console-Key': 'guess'}}),
    fetch(base + 'api/state').then(r => r.text()),
  ];
  const results = await Promise.allSettled(tries);
  const form = document.getElementById('f'); form.action = base + 'api/control'; form.submit();
  return results.map(r => r.status + ':' + (r.status === 'fulfilled' ? String(r.value).slice(0, 40) : ''));
}
</script></body></html>"""


def _serve(page: str):
    """Another site: a page on another origin of the operator's browser."""
    from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

    class Handler(BaseHTTPRequestHandler):
        def log_message(self, *args):
            pass

        def do_GET(self):  # noqa: N802
            self.send_response(200)
            self.send_header("Content-Type", "text/html")
            self.end_headers()
            self.wfile.write(page.encode())

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    return server


def test_console_in_headless_chromium(tmp_path, clip):
    """The page loads in a real browser, shows live values, and its buttons change the robot's condition; a
    page of another site open in the same browser cannot change anything nor read the session."""
    playwright = pytest.importorskip("playwright.sync_api", reason="playwright not installed")
    browser_path = _chromium()
    if browser_path is None:
        pytest.skip("no Chromium on this machine (apt-get install chromium-headless-shell)")
    from react_ros.study.console import OperatorConsole

    runner, worker, outcome = _live_runner(tmp_path, clip)
    evil = _serve(ATTACK)
    try:
        with OperatorConsole(runner) as console, playwright.sync_playwright() as p:
            browser = p.chromium.launch(executable_path=browser_path, args=["--no-sandbox"])
            other = browser.new_page()
            other.goto(f"http://127.0.0.1:{evil.server_address[1]}/")
            results = other.evaluate(f"attack('{console.base}')")
            assert not [r for r in results if "P09" in r or "mime" in r], results  # nothing of the session read
            time.sleep(1.0)  # the form post has landed (refused)
            assert runner.switcher.active == "mime" and not [e for e in runner.state["events"]
                                                             if e["type"] == "control"]
            page = browser.new_page()
            page.goto(console.url)
            page.wait_for_function("Number(document.getElementById('frame').textContent) >= 3", timeout=30000)
            shown = int(page.text_content("#frame"))
            page.wait_for_function(f"Number(document.getElementById('frame').textContent) > {shown}", timeout=30000)
            assert page.text_content("#condition") == "mime" and page.text_content("#participant") == "P09"
            assert page.is_visible("#features_only") and not page.is_visible("#camera")
            assert page.locator("#reaction_bars .bar").count() == 25
            page.wait_for_selector("#switch-nod")
            before = runner.switcher.frames
            page.click("#switch-nod")
            page.wait_for_function("document.getElementById('active').textContent === 'nod'", timeout=30000)
            event = _switch_event(runner, "nod")
            after_click = runner.switcher.frames
            assert before <= event["frame"] <= after_click and event["reason"] == "operator"
            sent = [e for e in runner.state["events"] if e["type"] == "control"]
            assert sent[0]["command"] == "switch nod" and sent[0]["by"].startswith("console ")
            page.click("#neutral")
            page.wait_for_function("document.getElementById('active').textContent === 'hold_neutral'", timeout=30000)
            page.click("#stop")
            worker.join(30)
            browser.close()
    finally:
        evil.shutdown()
        if worker.is_alive():
            runner.command("abort")
            worker.join(30)
    assert "aborted in condition 'mime'" in outcome["aborted"]


STEPS_STUDY = """
name: steps
duration_s: 2.5
counterbalance: fixed
consent: {version: form-v3}
ready: true
blind: true
questionnaire:
  - {id: likeable, text: "The robot was likeable", scale: [1, 7]}
  - {id: remarks, text: "Anything else?", kind: text, required: false}
markers: [laugh, looked_away]
conditions:
  - {name: mime, kind: mime, label: X}
  - {name: nod, kind: script, loop: true, keyframes: [{t: 0}, {t: 0.5, AU12: 1}, {t: 1}], label: Y}
"""


def test_a_session_with_consent_questionnaires_and_markers_in_headless_chromium(tmp_path, clip):
    """The study file's steps, driven from the console page in a real browser: consent, start of each
    condition, two markers (a button and a key) and a note during the first, the questionnaire after each,
    coded labels only on the page, then `analyze` has the answers and the markers in its table."""
    playwright = pytest.importorskip("playwright.sync_api", reason="playwright not installed")
    browser_path = _chromium()
    if browser_path is None:
        pytest.skip("no Chromium on this machine (apt-get install chromium-headless-shell)")
    from react_ros.study.analysis import analyze
    from react_ros.study.console import OperatorConsole

    runner, worker, outcome = _live_runner(tmp_path, clip, STEPS_STUDY)
    try:
        with OperatorConsole(runner) as console, playwright.sync_playwright() as p:
            browser = p.chromium.launch(executable_path=browser_path, args=["--no-sandbox"])
            page = browser.new_page()
            page.goto(console.url)
            page.wait_for_selector("#consent_step:not([hidden])", timeout=30000)
            assert page.text_content("#consent_version") == "form-v3" and runner.live["status"] == "consent"
            page.fill("#consent_by", "exp-2")
            page.click("#consent")
            for position, answer in ((1, "5"), (2, "2")):
                page.wait_for_selector("#ready_step:not([hidden])", timeout=30000)
                assert runner.switcher.frames == (0 if position == 1 else 75)  # waits for the start
                page.click("#start")
                page.wait_for_function("document.getElementById('status').textContent === 'running'",
                                       timeout=30000)
                assert page.text_content("#condition") == ("X" if position == 1 else "Y")  # coded labels only
                assert "mime" not in page.text_content("#switches") and "nod" not in page.content().split(
                    "<script>")[0]
                if position == 1:  # paused, so that the condition is still on when they arrive
                    page.click("#pause")
                    page.wait_for_function("document.getElementById('status').textContent === 'paused'",
                                           timeout=30000)
                    page.click("#marker-laugh")
                    page.keyboard.press("2")  # looked_away
                    page.fill("#note_text", "participant sneezed")
                    page.click("#note")
                    _wait(lambda: sum(e["type"] in ("marker", "note") for e in runner.state["events"]) == 3, "marks")
                    page.click("#resume")
                page.wait_for_selector("#questionnaire:not([hidden])", timeout=30000)
                page.check(f"#q-likeable-{answer}")
                page.fill("#q-remarks", f"after {position}")
                page.click("#submit_answers")
            page.wait_for_selector("#done_step:not([hidden])", timeout=30000)
            worker.join(30)
            browser.close()
    finally:
        if worker.is_alive():
            runner.command("abort")
            worker.join(30)
    assert not outcome
    state = runner.state
    assert state["status"] == "done" and state["consent"]["by"] == "exp-2" and state["consent"]["version"] == "form-v3"
    assert state["answers"] == {"mime": {"likeable": 5, "remarks": "after 1"}, "nod": {"likeable": 2, "remarks": "after 2"}}
    types = [e["type"] for e in state["events"] if e["type"] != "control"]
    assert types[:2] == ["consent", "start"] and types.count("start") == 2 and types.count("answers") == 2
    marks = [e for e in state["events"] if e["type"] == "marker"]
    assert [(m["key"], m["condition"]) for m in marks] == [("laugh", "mime"), ("looked_away", "mime")]
    assert all(0 <= m["frame"] < 75 for m in marks)

    result = analyze([runner.dir], tmp_path / "analysis")
    table = {r["condition"]: r for r in result.rows}
    assert (table["mime"]["q_likeable"], table["nod"]["q_likeable"]) == (5, 2)
    assert (table["mime"]["marker_laugh"], table["mime"]["marker_looked_away"], table["nod"]["marker_laugh"]) == (1, 1, 0)
    assert table["mime"]["notes"] == 1 and (table["mime"]["label"], table["nod"]["label"]) == ("X", "Y")
    header = result.table.read_text().splitlines()[0].split(",")
    assert {"q_likeable", "q_remarks", "marker_laugh", "marker_looked_away", "notes", "label"} <= set(header)
    assert [p.name for p in result.parquet] == ["sessions.parquet", "comparisons.parquet"]


def test_raw_media_is_recorded_only_when_the_study_allows_it(tmp_path, clip):
    from react_ros.study.runner import StudyRunner

    for allowed in (True, False):
        study = load_study(_write_study(tmp_path / f"raw{allowed}.yaml", f"""
name: raw{allowed}
raw_media: {str(allowed).lower()}
duration_s: 0.2
conditions: [{{name: mime, kind: mime}}]
"""))
        StudyRunner(study, "P04", tmp_path / "out", clip).run()
        path = tmp_path / "out" / f"raw{allowed}" / "P04" / "01_mime_seg1.mcap"
        images = list(read_messages(path, topics=["/camera/image_raw"]))
        audio = list(read_messages(path, topics=["/audio"]))
        assert len(_reactions(path)) == 6
        if allowed:
            assert len(images) == len(audio) == 6 and images[0].message.width == clip.images.shape[2]
            assert np.array_equal(np.frombuffer(images[3].message.data, np.uint8).reshape(clip.images.shape[1:]),
                                  clip.images[3])
        else:
            assert images == audio == []


def test_a_changed_study_file_is_refused_for_a_participant_who_started(tmp_path, clip):
    from react_ros.study.runner import StudyRunner

    path = _write_study(tmp_path / "s.yaml", "name: change\nduration_s: 0.1\nconditions: [{name: a, kind: neutral}]\n")
    StudyRunner(load_study(path), "P06", tmp_path / "out", clip).run()
    path.write_text(path.read_text().replace("0.1", "0.2"))
    with pytest.raises(ValueError, match="study file changed"):
        StudyRunner(load_study(path), "P06", tmp_path / "out", clip).run()
