"""`react-ros study run`: one participant through a study's conditions, one MCAP per condition.

For now the speaker is a clip played offline (the bundled demo clip by default, looped to fill each
condition): the front end turns it into speaker features once, and each frame goes
    ConditionSwitcher (the condition's reaction source) -> MotionController (robot profile, smoothing,
    velocity and position limits: the same safety for every condition) -> the recording.
On the robot the reaction node runs the same conditions (study/live.py) and `study run --ros` schedules
them there (study/robot.py).

Output, under `<out>/<study name>/`:
    participants.json                 pseudonym -> counterbalancing row (rows assigned in order of first run)
    <participant>/state.json          order, per-condition status and segments, every switch event
    <participant>/NN_<condition>_segK.mcap   the recording (segment 1, and 2, 3... after an interruption)
    <participant>/control             written by `react-ros study control` (pause/resume/abort/switch)

Each recording holds per frame: /react_ros/reaction (the source's 25-d reaction), /react_ros/joint_commands
(after the motion limits), /react_ros/features/speaker and /react_ros/features/audio (the participant's
features), /react_ros/study/frame ([clip frame, condition frame, face present, audio present, latency s]),
raw /camera/image_raw and /audio only when the study allows raw media; /react_ros/study/events (JSON: switch,
pause, resume, abort) and metadata "session", "study", "condition", "model".

Interruptions: pause/resume (control file) keep writing the same segment; abort (control file, SIGINT,
SIGTERM) closes the recording cleanly; a SIGKILL or power cut loses at most the chunk in progress
(the recorder flushes every `flush_interval_s`). Running `study run` again resumes at the first condition
that is not done: the frames already recorded in its segments count, and a new segment records the rest.
"""
from __future__ import annotations

import json
import math
import os
import signal
import threading
import time
from collections import deque
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from react_ros.study.conditions import NeutralSource, SwitchEvent
from react_ros.study.sources import is_the_model, make_source
from react_ros.study.speaker import ClipFeatures, ClipInput, LiveInput, load_clip  # noqa: F401 (their old home)
from react_ros.study.studyfile import Study, check_pseudonym

REACTION_TOPIC = "/react_ros/reaction"
JOINT_TOPIC = "/react_ros/joint_commands"
SPEAKER_TOPIC = "/react_ros/features/speaker"
AUDIO_FEATURE_TOPIC = "/react_ros/features/audio"
FRAME_TOPIC = "/react_ros/study/frame"
EVENT_TOPIC = "/react_ros/study/events"
IMAGE_TOPIC = "/camera/image_raw"
AUDIO_TOPIC = "/audio"
HOLD_NEUTRAL = "hold_neutral"
COMMANDS = ("pause", "resume", "abort", "neutral", "switch")  # the operator's "hold neutral" source, available in every study
# The session's steps (study/steps.py): consent WHO, start (a ready condition), answers {json} (the questionnaire),
# skip (a break), mark KEY (an event marker), note TEXT (the operator's note)
STEP_COMMANDS = ("consent", "start", "answers", "skip", "mark", "note")

FLOAT_ARRAY = "std_msgs/msg/Float32MultiArray"


# ------------------------------------------------------------------------------------------------ storage

def write_json_atomic(path: Path, data: dict) -> None:
    """Write-then-rename, so a kill never leaves half a state file."""
    tmp = path.with_suffix(path.suffix + ".tmp")
    with open(tmp, "w") as f:
        f.write(json.dumps(data, indent=1) + "\n")
        f.flush()
        os.fsync(f.fileno())
    os.replace(tmp, path)


def study_root(out: str | Path, study: Study) -> Path:
    return Path(out) / study.name


class ParticipantBusy(ValueError):
    """Another process is running this participant."""


def claim_participant(directory: Path, participant: str):
    """An exclusive lock on the participant's folder for this process (released when the returned file is
    closed, or by the system when the process dies, even by SIGKILL); ParticipantBusy when another holds it."""
    import fcntl

    directory.mkdir(parents=True, exist_ok=True)
    lock = open(directory / "run.lock", "a+")  # noqa: SIM115 (held open: the lock lives as long as the file)
    try:
        fcntl.flock(lock, fcntl.LOCK_EX | fcntl.LOCK_NB)
    except BlockingIOError:
        lock.seek(0)
        holder = lock.read().strip() or "?"
        lock.close()
        raise ParticipantBusy(f"participant {participant} is being run by another process (pid {holder}); one run "
                              f"per participant: wait for it, or stop it first") from None
    lock.seek(0)
    lock.truncate()
    lock.write(f"{os.getpid()}\n")
    lock.flush()
    return lock


def check_not_running(out: str | Path, study: Study, participants) -> None:
    """ParticipantBusy at once when another process runs one of them (before loading a model for nothing)."""
    for participant in participants:
        directory = study_root(out, study) / check_pseudonym(participant)
        if (directory / "run.lock").is_file():
            claim_participant(directory, participant).close()


def _registry_lock(root: Path):
    """The study's registry lock: participants start at the same time without taking the same row."""
    import fcntl

    root.mkdir(parents=True, exist_ok=True)
    lock = open(root / ".participants.lock", "a+")  # noqa: SIM115 (closed by the caller)
    fcntl.flock(lock, fcntl.LOCK_EX)
    return lock


def assign_row(root: Path, participant: str, rows: int = 1, wanted: int | None = None) -> int:
    """The participant's counterbalancing row: kept if known; else `wanted` (assigned by hand), or the row with
    the fewest participants now (the lowest of those), so a row freed by `forget` or by a dropout assigned
    elsewhere is the next one taken and the design stays balanced. rows: the study's row count."""
    with _registry_lock(root):
        path = root / "participants.json"
        registry = json.loads(path.read_text()) if path.is_file() else {"participants": {}}
        known = registry["participants"].get(participant)
        if known is not None:
            if wanted is not None and int(known) % rows != wanted % rows:
                raise ValueError(f"participant {participant} already has row {known}; a participant keeps their row "
                                 f"(forget them first to assign another)")
            return int(known)
        if wanted is not None and not 0 <= wanted < rows:
            raise ValueError(f"row {wanted} does not exist: this study has rows 0..{rows - 1}")
        used = [int(r) % rows for r in registry["participants"].values()]
        row = wanted if wanted is not None else min(range(rows), key=lambda r: (used.count(r), r))
        registry["participants"][participant] = row
        write_json_atomic(path, registry)
        return row


def row_counts(out: str | Path, study: Study) -> list[int]:
    """Participants per counterbalancing row now (a balanced design: counts differ by at most one)."""
    path = study_root(out, study) / "participants.json"
    rows = json.loads(path.read_text())["participants"].values() if path.is_file() else []
    counts = [0] * study.rows
    for row in rows:
        counts[int(row) % study.rows] += 1
    return counts


def count_frames(paths: list[Path]) -> int:
    """Complete frames readable in these recordings (a cut-short file counts its complete chunks); the frame
    topic is written last for each frame, so it marks the frames whose messages all made it to disk."""
    from react_ros.recording import read_messages

    return sum(1 for p in paths if p.is_file() for _ in read_messages(p, topics=[FRAME_TOPIC]))


# ------------------------------------------------------------------------------------------------ sources

def study_sources(study: Study, graphs=None, model_sampling=None) -> dict:
    """The study's conditions as sources: a generative condition that is the session's model (see `is_the_model`)
    is the session's own pipeline (`ModelCondition`), frame for frame what `react-ros run` runs; the others get
    their own source; plus the operator's hold-neutral."""
    from react_ros.study.live import ModelCondition

    sources = {spec.name: ModelCondition() if is_the_model(spec, model_sampling)
               else make_source(spec, study, graphs, model_sampling) for spec in study.conditions}
    sources.setdefault(HOLD_NEUTRAL, NeutralSource())
    return sources


def model_session(loaded, study: Study, face_frontend: str = "auto"):
    """The robot's ReactionSession on a loaded model, set up from its card by the one resolver
    (model.card.run_setting: sampling, front end), as the reaction node sets it up; the study's robot profile."""
    from react_ros.model.card import run_setting
    from react_ros.online import PipelineConfig, ReactionSession, SessionConfig

    setting = run_setting(loaded.info.get("model_dir"), face_frontend)
    config = SessionConfig(PipelineConfig(seed=study.seed, face_frontend=setting.face_frontend),
                           robot_profile=study.robot_profile, face_image="false", max_stamp_skew_s=math.inf)
    return ReactionSession.from_loaded(loaded, setting.sampling, config)


# ------------------------------------------------------------------------------------------------ messages

def _array(values, label: str) -> dict:
    values = [float(v) for v in np.asarray(values).reshape(-1)]
    return {"layout": {"dim": [{"label": label, "size": len(values), "stride": len(values)}], "data_offset": 0},
            "data": values}


def _header(time_ns: int, frame_id: str) -> dict:
    return {"stamp": {"sec": time_ns // 1_000_000_000, "nanosec": time_ns % 1_000_000_000}, "frame_id": frame_id}


# ------------------------------------------------------------------------------------------------ runner

class Aborted(Exception):
    pass


@dataclass
class RunOptions:
    real_time: bool = False  # pace frames at the study's fps (as a live session would); else as fast as possible
    flush_interval_s: float = 0.5  # the most a SIGKILL can lose
    backend: str = "torch"
    trace: bool = False  # print one line per recorded frame (used by the crash test)
    row: int | None = None  # a new participant's counterbalancing row, assigned by hand (None: the emptiest)


class StudyRunner:
    def __init__(self, study: Study, participant: str, out: str | Path, clip, graphs=None,
                 options: RunOptions | None = None, model_info: dict | None = None, session=None) -> None:
        """clip: the participant (a `ClipInput`, `LiveInput` or `ClipFeatures`, study/speaker.py); session: the
        robot's ReactionSession (`model_session`); None: one over the clip's precomputed features (ClipFeatures
        only). graphs: for generative conditions that are not the session's model."""
        from react_ros.online import ReactionSession, SessionConfig
        from react_ros.robot import load_profile
        from react_ros.study.live import attach_conditions

        self.study = study
        self.participant = check_pseudonym(participant)
        self.root = study_root(out, study)
        self.dir = self.root / self.participant
        self.clip = clip
        self.options = options or RunOptions()
        self.model_info = dict(model_info or {})
        self.profile = load_profile(study.robot_profile)
        if session is None:
            config = SessionConfig(robot_profile=study.robot_profile, face_image="false", max_stamp_skew_s=math.inf)
            session = ReactionSession(clip.pipeline(), self.profile, config)
        self.session = session
        self._now = 0.0  # the session's clock: the stream's time (clip frames), or the wall clock (live)
        if not clip.live:
            session.clock = session.wall_clock = lambda: self._now
        self.motion = session.motion
        window = getattr(getattr(session.source, "generator", None), "generate_window", None)
        sources = study_sources(study, graphs, getattr(window, "sampling", None))  # None: the session has no model
        self.conditioned = attach_conditions(session, sources, initial=HOLD_NEUTRAL)
        self.switcher = self.conditioned.switcher
        self._source_index = {name: i for i, name in enumerate(self.switcher.sources)}  # recorded per frame
        self.switcher.listeners.append(self._on_switch)
        self.recorder = None
        self._lock = None  # the participant's lock file while this runner holds it
        self.state: dict = {}
        self._signal = None
        self._current: dict | None = None  # the condition entry being recorded
        self._paused_for = 0.0
        self._commands: deque[str] = deque()  # from an in-process operator console (thread-safe appends)
        self.live: dict = {"status": "starting"}  # what an operator console shows, replaced every frame
        self.frame_listeners: list = []  # fn(live) after every frame (e.g. the Foxglove stream)

    # ---------------------------------------------------------------------------------------- state

    @property
    def state_path(self) -> Path:
        return self.dir / "state.json"

    @property
    def control_path(self) -> Path:
        return self.dir / "control"

    def _load_state(self) -> dict:
        if self.state_path.is_file():
            state = json.loads(self.state_path.read_text())
            if state.get("study_sha256") != self.study.sha256:
                raise ValueError(f"{self.state_path}: the study file changed since participant {self.participant} "
                                 f"started (sha256 {state.get('study_sha256', '')[:12]} -> {self.study.sha256[:12]}); "
                                 f"restore it, or record this participant under a new pseudonym")
            return state
        row = assign_row(self.root, self.participant, self.study.rows, self.options.row)
        order = self.study.order(row)
        return {"study": self.study.name, "study_sha256": self.study.sha256, "participant": self.participant,
                "row": row, "order": order, "status": "new",
                "conditions": [{"name": name, "index": i, "status": "pending", "segments": [],
                                "frames": int(round(self.study.condition(name).duration_s * self.study.fps))}
                               for i, name in enumerate(order)],
                "events": []}

    @property
    def order(self) -> list[str]:
        """This participant's condition order (assigns the counterbalancing row on first use)."""
        self.claim()
        self.state = self.state or self._load_state()
        return list(self.state["order"])

    def claim(self) -> None:
        """Take the participant's lock (ParticipantBusy when another run holds it); kept until `release`."""
        if self._lock is None:
            self._lock = claim_participant(self.dir, self.participant)

    def release(self) -> None:
        if self._lock is not None:
            self._lock.close()
            self._lock = None

    def _save(self) -> None:
        write_json_atomic(self.state_path, self.state)

    def _event(self, kind: str, **values) -> None:
        event = {"type": kind, "time_ns": time.time_ns(), **values}
        self.state["events"].append(event)
        self._save()
        if self.recorder is not None:
            self.recorder.write(EVENT_TOPIC, "std_msgs/msg/String", {"data": json.dumps(event)}, event["time_ns"])
            self.recorder.flush()

    def _on_switch(self, event: SwitchEvent) -> None:
        self._event("switch", frame=event.frame, previous=event.previous, current=event.current, reason=event.reason,
                    condition=self._current["name"] if self._current else None,
                    switch_time_ns=event.time_ns)

    # ---------------------------------------------------------------------------------------- running

    def run(self) -> dict:
        """Run (or resume) every condition not done yet; returns the state. Raises Aborted when stopped,
        ParticipantBusy when another process runs this participant."""
        self.claim()
        try:
            return self._run()
        finally:
            self.release()

    def _run(self) -> dict:
        self.state = self.state or self._load_state()
        self._recover()
        if self.control_path.exists():
            self.control_path.unlink()  # commands for an earlier run do not apply to this one
        previous = {}
        if threading.current_thread() is threading.main_thread():  # SIGINT/SIGTERM: abort cleanly
            previous = {signum: signal.getsignal(signum) for signum in (signal.SIGINT, signal.SIGTERM)}
            for signum in previous:
                signal.signal(signum, self._on_signal)
        try:
            resumed = self.state["status"] != "new"
            steps = self.study.steps
            if steps.consent_version and not self.state.get("consent"):
                self._wait_step("consent")
            self.state.setdefault("answers", {})
            self.state["status"] = "running"
            self._save()
            for i, entry in enumerate(self.state["conditions"]):
                if entry["status"] != "done":
                    if steps.ready:
                        self._wait_step("ready", entry)
                    self._run_condition(entry, resumed)
                    resumed = False
                if steps.questionnaire and entry["name"] not in self.state["answers"]:
                    self._wait_step("questionnaire", entry)
                if steps.break_s and i + 1 < len(self.state["conditions"]) and not entry.get("break_done"):
                    self._wait_step("break", entry)
            self.state["status"] = "done"
            self._save()
            self.live = {**self._live_base(None), "status": "done"}
        finally:
            for signum, handler in previous.items():
                signal.signal(signum, handler)
        return self.state

    def _on_signal(self, signum, frame) -> None:
        self._signal = signum  # the frame loop stops at the next frame and closes the recording cleanly

    def _live_base(self, entry: dict | None) -> dict:
        """What every live state shows (condition names coded in a blind study)."""
        return {"participant": self.participant, "study": self.study.name,
                "condition": self.study.label(entry["name"]) if entry else None,
                "position": entry["index"] + 1 if entry else None, "conditions": len(self.state["conditions"]),
                "markers": list(self.study.steps.markers), "raw_media": self.study.raw_media,
                "consent_version": self.study.steps.consent_version}

    def _wait_step(self, step: str, entry: dict | None = None) -> None:
        """A step between conditions: consent (consent WHO), ready (start), questionnaire (answers {json}),
        break (break_s, or skip); abort, marks and notes work here too. Waits for the operator (console or
        `study control`)."""
        self.state["status"] = step
        self._save()
        try:
            self._wait_for(step, entry)
        finally:
            if self.state["status"] == step:
                self.state["status"] = "running"
                self._save()

    def _wait_for(self, step: str, entry: dict | None) -> None:
        ends = time.monotonic() + self.study.steps.break_s if step == "break" else None
        questions = [q.as_dict() for q in self.study.steps.questionnaire] if step == "questionnaire" else []
        while True:
            self.live = {**self._live_base(entry), "status": step, "questionnaire": questions,
                         "break_left_s": max(0.0, ends - time.monotonic()) if ends else None}
            for command in (["abort"] if self._signal is not None else []) + self._read_control():
                word, _, argument = command.partition(" ")
                if word == "abort":
                    self._event("abort", step=step, condition=entry and entry["name"])
                    self.state["status"] = "aborted"
                    self.live = dict(self.live, status="aborted")
                    raise Aborted(f"aborted at the {step} step" + (f" of condition {entry['name']!r}" if entry else "")
                                  + "; run again to resume")
                if word in ("mark", "note"):
                    self._mark(word, argument, entry, None)
                elif step == "consent" and word == "consent":
                    self.state["consent"] = {"by": argument.strip(), "time_ns": time.time_ns(),
                                             "version": self.study.steps.consent_version}
                    self._event("consent", **self.state["consent"])
                    return
                elif step == "ready" and word == "start":
                    self._event("start", condition=entry["name"])
                    return
                elif step == "questionnaire" and word == "answers":
                    self.state["answers"][entry["name"]] = json.loads(argument)  # checked by command()
                    self._event("answers", condition=entry["name"], answers=self.state["answers"][entry["name"]])
                    return
                elif step == "break" and word in ("skip", "start"):
                    break
                else:
                    self._event("control_error", command=command, error=f"not at the {step} step")
            else:
                if ends is None or time.monotonic() < ends:
                    time.sleep(0.05)
                    continue
            entry["break_done"] = True  # the break ended (its time, or skip)
            self._event("break_done", condition=entry["name"])
            return

    def _mark(self, word: str, argument: str, entry: dict | None, frame: int | None) -> None:
        """An event marker (mark KEY) or the operator's note (note TEXT), with the condition and frame."""
        condition = entry["name"] if entry else None
        if word == "mark":
            self._event("marker", key=argument.strip(), condition=condition, frame=frame)
        else:
            self._event("note", text=argument.strip(), condition=condition, frame=frame)

    def _recover(self) -> None:
        """A crashed run's recordings get their summaries rebuilt before the participant resumes."""
        from react_ros.recording.recover import has_summary, recover

        for entry in self.state["conditions"]:
            for name in entry["segments"]:
                path = self.dir / name
                if path.is_file() and not has_summary(path):
                    result = recover(path)
                    self._event("recovered", file=name, messages=result.messages)

    def _run_condition(self, entry: dict, resumed: bool) -> None:
        from react_ros.recording import McapRecorder

        spec = self.study.condition(entry["name"])
        segments = [self.dir / name for name in entry["segments"]]
        done = count_frames(segments)
        segment = len(segments) + 1
        path = self.dir / f"{entry['index'] + 1:02d}_{spec.name}_seg{segment}.mcap"
        entry["segments"].append(path.name)
        entry["status"] = "running"
        self._current = entry
        metadata = {
            "session": {"participant_id": self.participant, "condition": spec.name, "condition_index": entry["index"],
                        "order": self.state["order"], "row": self.state["row"], "segment": segment,
                        "first_frame": done, "frames_planned": entry["frames"], "seed": self.study.seed,
                        "start_time_ns": time.time_ns(), "fps": self.study.fps,
                        "driver": "live camera" if self.clip.live else "offline clip",
                        "sources": list(self.switcher.sources), "label": spec.label},
            "study": self.study.as_dict(),
            "condition": spec.as_dict(),
            "model": self.model_info,
        }
        self.recorder = McapRecorder(path, metadata, raw_media=self.study.raw_media,
                                     flush_interval_s=self.options.flush_interval_s)
        self.recorder.mark_raw_media(IMAGE_TOPIC, AUDIO_TOPIC)
        self._save()
        try:
            seed = int(spec.options.get("seed", self.study.seed)) + done  # a resumed segment gets fresh noise
            self.switcher.switch(spec.name, "resume" if (resumed or done) else "schedule", seed)
            self.clip.start(done)
            self._origin = 1.0  # the stream's clock (s) at condition frame 0: any finite stamp is plausible
            self._now = self._origin + done / self.study.fps
            self.session.start(seed)  # fresh speaker context and noise, the face from neutral
            self._frames(entry, done)
            entry["status"] = "done"
            self._event("condition_done", condition=spec.name, frames=entry["frames"])
        finally:
            self.recorder.close()
            self.recorder = None
            self._save()

    def _frames(self, entry: dict, start: int) -> None:
        fps = self.study.fps
        began = time.monotonic() - start / fps
        k = start
        while k < entry["frames"]:
            if self.options.real_time:
                delay = began + k / fps - time.monotonic()
                if delay > 0:
                    time.sleep(delay)
            self._check_control(entry, k)  # right before the frame: a command applies to the next frame
            if self._paused_for:
                began += self._paused_for  # a pause does not make the frames after it hurry
                self._paused_for = 0.0
            self._step(entry, k)
            k += 1

    def _step(self, entry: dict, k: int) -> None:
        commands = []
        t0 = time.perf_counter()
        self._now = self._origin + k / self.study.fps
        clip_frame = self.clip.feed(self.session, k, self._origin, commands.append)  # audio, then the frame
        latency = time.perf_counter() - t0
        if not commands:
            raise RuntimeError(f"the session gave no reaction for frame {k} (see its counters: "
                               f"{self.session.totals()})")
        command = commands[0]
        output = command.output
        reaction, positions = output.reaction, command.positions
        now = time.time_ns()
        r = self.recorder
        r.write(REACTION_TOPIC, FLOAT_ARRAY, _array(reaction, "reaction"), now)
        r.write(JOINT_TOPIC, "sensor_msgs/msg/JointState",
                {"header": _header(now, "face"), "name": self.profile.names, "position": positions.tolist(),
                 "velocity": command.velocities.tolist(), "effort": []}, now)
        r.write(SPEAKER_TOPIC, FLOAT_ARRAY, _array(output.speaker, "speaker"), now)
        r.write(AUDIO_FEATURE_TOPIC, FLOAT_ARRAY, _array(output.audio_features, "audio_features"), now)
        if self.study.raw_media:
            image = self.clip.image(k)
            r.write(IMAGE_TOPIC, "sensor_msgs/msg/Image",
                    {"header": _header(now, "camera"), "height": image.shape[0], "width": image.shape[1],
                     "encoding": "bgr8", "is_bigendian": 0, "step": image.shape[1] * 3, "data": image.tobytes()}, now)
            chunk = self.clip.audio_chunk(k)
            r.write(AUDIO_TOPIC, "std_msgs/msg/UInt8MultiArray",
                    {"layout": {"dim": [{"label": f"pcm_s16le_{self.clip.sample_rate}", "size": len(chunk),
                                         "stride": 2 * len(chunk)}], "data_offset": 0}, "data": chunk.tobytes()}, now)
        self.live = {**self._live_base(entry), "status": self.state.get("status", "running"),
                     "active": self.study.label(self.switcher.active), "frame": k,
                     "frames": entry["frames"], "time_left_s": (entry["frames"] - k - 1) / self.study.fps,
                     "switch_frame": self.switcher.events[-1].frame if self.switcher.events else 0,
                     "switcher_frame": self.switcher.frames, "reaction": reaction.tolist(),
                     "speaker": np.asarray(output.speaker).tolist(), "face_present": output.face_present,
                     "audio_present": output.audio_present, "latency_ms": latency * 1000.0,
                     "joints": dict(zip(self.profile.names, positions.tolist(), strict=True)),
                     "clip_frame": clip_frame, "raw_media": self.study.raw_media}
        for listener in self.frame_listeners:
            listener(self.live)
        # Last: a frame counts as recorded when this message is readable (a chunk may end mid-frame).
        r.write(FRAME_TOPIC, FLOAT_ARRAY,
                _array([clip_frame, k, output.face_present, output.audio_present, latency,
                        self._source_index[self.switcher.active]],
                       "clip_frame,condition_frame,face_present,audio_present,latency_s,source"), now)
        if self.options.trace:
            print(f"frame {entry['index']} {k}", flush=True)

    # ---------------------------------------------------------------------------------------- control

    def command(self, text: str, by: str = "operator") -> None:
        """An operator command (pause, resume, abort, neutral, switch NAME, and the steps': consent WHO, start,
        answers {json}, skip, mark KEY, note TEXT), applied before the next frame (or at the step waiting for
        it); `by` names who sent it (e.g. which console) in the control event. Bad commands: ValueError."""
        self._commands.append((check_command(self.study, text, list(self.switcher.sources)), by))

    def _read_control(self) -> list[str]:
        """The commands since the last frame (the console's and the control file's), each logged with its sender."""
        received = []
        while self._commands:
            received.append(self._commands.popleft())
        try:
            text = self.control_path.read_text()
            self.control_path.unlink()
        except FileNotFoundError:
            text = ""
        received += [(line.strip(), "control file") for line in text.splitlines() if line.strip()]
        for command, by in received:
            self._event("control", command=command, by=by)
        return [command for command, _ in received]

    def _check_control(self, entry: dict, k: int) -> None:
        commands = self._read_control()
        paused = was_paused = False
        entered = time.monotonic()
        while True:
            if self._signal is not None:
                commands.insert(0, "abort")
            for command in commands:
                word, _, argument = command.partition(" ")
                if word == "abort":
                    self._event("abort", condition=entry["name"], frame=k,
                                signal=self._signal and signal.Signals(self._signal).name)
                    self.state["status"] = "aborted"
                    self.live = dict(self.live, status="aborted")
                    raise Aborted(f"aborted in condition {entry['name']!r} at frame {k}; run again to resume")
                if word == "pause" and not paused:
                    paused = was_paused = True
                    self.state["status"] = "paused"
                    self.live = dict(self.live, status="paused")
                    self._event("pause", condition=entry["name"], frame=k)
                elif word == "resume" and paused:
                    paused = False
                    self.state["status"] = "running"
                    self.live = dict(self.live, status="running")
                    self._event("resume", condition=entry["name"], frame=k)
                elif word in ("switch", "neutral"):
                    name = HOLD_NEUTRAL if word == "neutral" else self.study.unlabel(argument.strip())
                    try:
                        self.switcher.request(name, "operator")
                    except ValueError as error:
                        self._event("control_error", command=command, error=str(error))
                elif word in ("mark", "note"):
                    self._mark(word, argument, entry, k)
                elif word not in ("pause", "resume"):
                    self._event("control_error", command=command, error="unknown command")
            if not paused:
                if was_paused:
                    self._paused_for = time.monotonic() - entered
                return
            time.sleep(0.05)
            commands = self._read_control()


def check_command(study: Study, text: str, sources: list[str] | None = None) -> str:
    """An operator command checked against the study (ValueError saying why not): the text to queue."""
    from react_ros.study.steps import check_answers

    text = str(text).strip()
    word, _, argument = text.partition(" ")
    argument = argument.strip()
    if word not in COMMANDS + STEP_COMMANDS:
        raise ValueError(f"unknown command {text!r}: use {', '.join(COMMANDS + STEP_COMMANDS)}")
    if word == "switch":
        name = study.unlabel(argument)
        known = sources if sources is not None else [c.name for c in study.conditions]
        if name not in known:
            raise ValueError(f"unknown condition {argument!r}; known: {', '.join(study.label(n) for n in known)}")
    elif word == "consent" and not argument:
        raise ValueError("consent needs who recorded it (e.g. 'consent experimenter-2')")
    elif word == "mark" and argument not in study.steps.markers:
        raise ValueError(f"unknown marker {argument!r}; the study's markers: {', '.join(study.steps.markers) or 'none'}")
    elif word == "note" and not argument:
        raise ValueError("note needs a text")
    elif word == "answers":
        try:
            answers = json.loads(argument or "null")
        except ValueError:
            raise ValueError("answers must be a JSON object: answers {\"likeable\": 5}") from None
        return "answers " + json.dumps(check_answers(study.steps, answers))
    return f"{word} {argument}".strip()


def send_control(out: str | Path, study: Study, participant: str, command: str) -> Path:
    """Append a command for a running `study run` (see `check_command`)."""
    command = check_command(study, command)
    directory = study_root(out, study) / check_pseudonym(participant)
    if not directory.is_dir():
        raise FileNotFoundError(f"no session of participant {participant} under {directory.parent}")
    path = directory / "control"
    with open(path, "a") as f:
        f.write(command + "\n")
    return path


def forget(out: str | Path, study_name: str, participant: str) -> list[Path]:
    """Delete everything recorded for one participant under the study's output; returns what was removed:
    their folder, their registry entry, and derived files that name them (an analysis table or report
    naming them, with the figures beside it). Other participants' recordings are never touched."""
    import re
    import shutil

    participant = check_pseudonym(participant)
    root = Path(out) / study_name
    removed: list[Path] = []
    directory = root / participant
    if directory.is_dir():
        claim_participant(directory, participant).close()  # ParticipantBusy while a run records them
        removed += sorted(p for p in directory.rglob("*") if p.is_file())
        shutil.rmtree(directory)
    registry_path = root / "participants.json"
    if registry_path.is_file():
        registry = json.loads(registry_path.read_text())
        if registry["participants"].pop(participant, None) is not None:
            write_json_atomic(registry_path, registry)
            removed.append(Path(f"{registry_path} (entry {participant})"))
    # The id as a whole token (P1 must not match P10), in names and in text outputs.
    token = re.compile(rf"(?<![A-Za-z0-9_-]){re.escape(participant)}(?![A-Za-z0-9_-])")
    derived = {".csv", ".md", ".json", ".txt", ".tsv"}
    for path in sorted(root.rglob("*")) if root.is_dir() else []:
        if not path.is_file() or path == registry_path or path.suffix == ".mcap":
            continue
        if token.search(path.name) or (path.suffix in derived and token.search(path.read_text(errors="replace"))) \
                or (path.suffix == ".parquet" and token.search(_parquet_text(path))):
            figures = [f for f in path.parent.iterdir() if f.suffix in (".png", ".svg")] if path.suffix == ".md" else []
            for doomed in [path, *figures]:
                if doomed.exists():
                    doomed.unlink()
                    removed.append(doomed)
    return removed


def _parquet_text(path: Path) -> str:
    """A Parquet table's values as text (to find a participant's id in it); without pyarrow its raw bytes cannot
    be searched (compressed), so the file counts as naming everyone and is removed."""
    try:
        import pyarrow.parquet as pq
    except ImportError:
        return path.stem + " " + "".join(chr(c) for c in range(32, 127))
    return json.dumps(pq.read_table(path).to_pylist(), default=str)
