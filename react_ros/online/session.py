"""A reaction session without ROS: everything between "a camera frame / an audio chunk arrived" and "publish
this reaction, these joint positions and velocities, this face image, these diagnostics".

The reaction node (nodes/reaction_node.py), `react-ros run` (through the node), `react-ros eval --online`
and the benchmarks drive this one object, so the robot's loop is tested without rclpy (test/test_session.py).

    session = ReactionSession.from_loaded(load_graphs(...), sampling, SessionConfig(...))
    session.start(seed)
    session.on_audio(pcm, rate, stamp)                # every microphone chunk
    session.on_image(bgr, stamp, emit)                # every camera frame: emit(Command) once, before the
                                                      # next window is computed
    session.tick()                                    # on a timer: a Command while input is stale (watchdog)
    session.ease_to_neutral()                         # at shutdown: Commands back to the neutral pose
    session.diagnostics()                             # a plain-data snapshot for /diagnostics

Where reactions come from is a `ReactionSource`: the model's `ReactionPipeline` (online/pipeline.py) today;
a study condition may plug in another source (mimicry, neutral, replay, scripted) with the same four members
(react_ros/study/live.py does, switchable while running); a source's optional `diagnostics()` -> {key: value}
is added to the session's diagnostics.
Everything after the source (motion limits, watchdog, face image, counters, latency) stays the same.

Thread safety: `on_image`/`on_audio` may run on one thread and `tick`/`diagnostics` on another (the node runs
the watchdog on its own thread, online/watchdog.py); the source and the motion state each have a lock, and
`tick` never waits for the source, so a stalled generator cannot freeze the face.

Presence (online/presence.py): every reaction frame goes through the speaker's presence state (present | lost |
absent); absent for longer than `presence_grace_s` eases the face to an attentive neutral and resets the source's
context once (counted in `faces_lost` and `context_resets`); a new speaker track resets the context too
(`speaker_changes`). The state and its reason are on /diagnostics (`presence`, `presence_reason`), so in the
recording, and on every Command.

Input stamps are checked per stream (online/stamps.py): a garbage stamp (1970, 2038, NaN) is replaced by the
receive time and counted in `bad_stamps`, an out-of-order or duplicate one drops the message, so a command
always carries a plausible stamp. /diagnostics shows latency percentiles over a recent window and a level
that follows the current input (online/health.py): back to OK once bad input stops.
"""
from __future__ import annotations

import math
import threading
import time
from collections import Counter
from collections.abc import Callable, Iterator
from dataclasses import dataclass, replace
from typing import Protocol

import numpy as np

from react_ros import schema
from react_ros.online.health import ERROR, OK, WARN, HealthLevel, LatencyWindow
from react_ros.online.latency import LatencyRecord
from react_ros.online.pipeline import PipelineConfig, PipelineStats, ReactionOutput, ReactionPipeline
from react_ros.online.presence import ABSENT, Presence, PresenceConfig
from react_ros.online.stamps import FrameGaps, StampChecker
from react_ros.robot import MotionConfig, MotionController, RobotProfile, load_profile

__all__ = ["Command", "ReactionSession", "ReactionSource", "SessionConfig", "SessionDiagnostics", "fallback_of"]


class ReactionSource(Protocol):
    """Where reaction frames come from: one ReactionOutput per camera frame, handed to `emit` first."""

    stats: PipelineStats

    def reset(self, seed: int | None = None) -> None: ...

    def push_audio(self, samples, sample_rate: int, stamp: float) -> int: ...

    def push_image(self, image, stamp: float,
                   emit: Callable[[ReactionOutput], None] | None = None) -> ReactionOutput | None: ...


@dataclass(frozen=True)
class SessionConfig:
    pipeline: PipelineConfig = PipelineConfig()
    robot_profile: str = "screen_face"  # profile name in config/robots or a YAML path
    face_image: str = "auto"  # render the face: auto (screen profiles) | true | false
    face_image_size: int = 256
    face_style: str = "cartoon"  # cartoon | human (online/face_style.py)
    smoothing_s: float = 0.06
    input_timeout_s: float = 0.15  # no reaction for this long: the watchdog eases to neutral (4.5 frames at 30 fps)
    reset_after_gap_s: float = 3.0  # a gap this long starts a fresh speaker context
    diagnostics_period_s: float = 1.0  # the period `diagnostics()` is called at (for the rate)
    max_stamp_skew_s: float = 10.0  # an input stamp further than this from the receive time is garbage (inf: any)
    latency_window_s: float = 10.0  # /diagnostics percentiles are over this much recent time
    # presence (online/presence.py): the speaker's face gone this long -> attentive neutral and a fresh context
    presence_grace_s: float = 0.4
    presence_confirm_s: float = 0.1  # a face seen this long wakes the robot again
    presence_ease_s: float = 0.3  # the face blends to / from the attentive neutral over this long


@dataclass
class Command:
    """What to publish now: the robot's joints and, for screen faces, the rendered face."""

    stamp: float  # seconds (wall clock) to stamp the messages with: the camera frame's for reactions
    positions: np.ndarray  # (joints,) in the profile's units
    velocities: np.ndarray  # (joints,)
    shown: np.ndarray | None = None  # (25,) the reaction the face image shows (None: not rendered)
    face: np.ndarray | None = None  # (H, W, 3) BGR uint8 face image (None: not rendered)
    output: ReactionOutput | None = None  # the reaction frame; None for watchdog and shutdown commands
    gap_started: bool = False  # the first watchdog command of an input gap
    presence: str = ""  # present | lost | absent (online/presence.py); "" for watchdog and shutdown commands

    @property
    def reaction(self) -> np.ndarray | None:
        return None if self.output is None else self.output.reaction


@dataclass
class SessionDiagnostics:
    values: dict[str, str]  # key/values of the diagnostics message
    stale: bool  # no input: the face is easing to neutral
    problems: bool  # bad messages or errors so far (history; `level` is the current state)
    level: int = OK  # diagnostic_msgs level now: OK, WARN (stale, bad input recently, fallback), ERROR
    reason: str = ""  # what the level is about

    @property
    def message(self) -> str:
        if self.reason:
            return self.reason
        return "no input: face easing to neutral" if self.stale else "reacting"

    @classmethod
    def error(cls, reason: str, state: str = "unconfigured") -> SessionDiagnostics:
        """The node cannot work (a configuration error): ERROR with the reason, for /diagnostics."""
        return cls({"state": state, "error": reason}, stale=True, problems=True, level=ERROR, reason=reason)

    @classmethod
    def unconfigured(cls, error: str = "") -> SessionDiagnostics:
        """No session yet: ERROR with the reason after a failed configure, else WARN (waiting to be configured)."""
        if error:
            return cls.error(error)
        return cls({"state": "unconfigured"}, stale=True, problems=False, level=WARN,
                   reason="not configured (waiting for the lifecycle manager)")


# Counters shown in diagnostics, in this order (always present, 0 when nothing happened).
COUNTERS = ("images", "audio_chunks", "commands", "watchdog_commands", "dropped_frames", "bad_images", "bad_audio",
            "bad_stamps", "unknown_encoding", "empty_image", "bad_image_size", "odd_audio_bytes", "bad_audio_layout",
            "empty_audio", "input_gaps", "context_resets", "errors", "windows", "audio_restarts", "unreadable_images",
            "faces_lost", "speaker_changes")
# Model/runtime facts shown in diagnostics when known.
INFO_KEYS = ("backend", "precision", "reaction_model_sha256", "estimator_sha256", "engine_sha256", "sampler",
             "steps", "requested_backend", "fallback_reason", "face_frontend", "trained_face_frontend")


def fallback_of(info: dict) -> dict:
    """{requested, used, reason} of a runtime.load_graphs info: reason is None when nothing fell back."""
    requested = info.get("requested") or {}
    return {"requested": requested.get("backend", info.get("backend")), "used": info.get("backend"),
            "reason": info.get("fallback_reason")}


class ReactionSession:
    def __init__(self, source: ReactionSource, profile: RobotProfile, config: SessionConfig = SessionConfig(),
                 info: dict | None = None, renderer=None, clock: Callable[[], float] = time.monotonic,
                 wall_clock: Callable[[], float] = time.time) -> None:
        """source: where reactions come from; profile: the robot's face; renderer: FaceRenderer for the face image
        (made from the config when None and the face is rendered); clock: monotonic seconds (watchdog, gaps);
        wall_clock: seconds since the epoch (stamps of watchdog commands, end-to-end latency)."""
        self.source = source
        self.profile = profile
        self.config = config
        self.info = dict(info or {})
        self.fallback = fallback_of(self.info)
        if self.fallback["reason"]:
            self.info.update(requested_backend=self.fallback["requested"])
        self.clock, self.wall_clock = clock, wall_clock
        motion = MotionConfig(smoothing_s=config.smoothing_s, stale_after_s=config.input_timeout_s)
        self.motion = MotionController(profile, motion)
        choice = str(config.face_image).lower()
        self.render = profile.render if choice == "auto" else choice in ("true", "1", "yes")
        self.display = MotionController(RobotProfile.identity(), motion) if self.render else None
        if self.render and renderer is None:
            from react_ros.online.face_style import face_renderer

            renderer = face_renderer(config.face_style, config.face_image_size)
        self.renderer = renderer if self.render else None
        self.counters: Counter[str] = Counter()
        self.latency = LatencyRecord()  # the whole run (summary, latency.json)
        self.windows: dict[str, LatencyWindow] = {}  # recent latencies per stage (/diagnostics)
        self.health = HealthLevel(("bad_images", "bad_audio", "bad_stamps", "errors"))
        self._stamps = {"image": StampChecker(config.max_stamp_skew_s), "audio": StampChecker(config.max_stamp_skew_s)}
        self._gaps = FrameGaps()
        self._busy_s = 0.0  # how long the previous camera frame kept this session busy
        self.active = False
        self._source_lock = threading.Lock()
        self._motion_lock = threading.Lock()
        self._period: Counter[str] = Counter()
        self._earlier = PipelineStats()  # the source's counts from before its last reset
        self._last_image: float | None = None
        self._was_stale = True
        self.presence = Presence(PresenceConfig(config.presence_grace_s, config.presence_confirm_s,
                                                config.presence_ease_s))
        self._presence_reset: str | None = None  # set by the emit: reset the source after this frame

    @classmethod
    def from_loaded(cls, loaded, sampling=None, config: SessionConfig = SessionConfig(), **kwargs) -> ReactionSession:
        """A session on the model: `loaded` is runtime.load_graphs(...)'s result, `sampling` a SamplingConfig."""
        from react_ros.model.card import ModelCard
        from react_ros.model.generator import SamplingConfig

        sampling = sampling or SamplingConfig()
        trained = ModelCard.read(loaded.info.get("model_dir")).face_frontend
        source = ReactionPipeline.from_graphs(loaded.graphs, loaded.estimator_fn, sampling, config.pipeline, trained)
        # both on /diagnostics: a front end other than the trained one feeds the model features it never saw
        info = dict(loaded.info, sampler=sampling.sampler, steps=sampling.steps, temperature=sampling.temperature,
                    guidance=sampling.guidance, noise_correlation=sampling.noise_correlation,
                    blend_frames=sampling.blend_frames, amplitude_calibrated=bool(sampling.amplitude),
                    style_gain_sd=sampling.style_gain_sd, style_channel_sd=sampling.style_channel_sd,
                    style_delay_mean=sampling.style_delay_mean,
                    style_delay_sd=sampling.style_delay_sd,
                    face_frontend=source.config.face_frontend, trained_face_frontend=trained)
        return cls(source, load_profile(config.robot_profile), config, info, **kwargs)

    # ------------------------------------------------------------------------------------- session

    def start(self, seed: int | None = None) -> None:
        """A new session (activate): fresh speaker context and generated past, the face from neutral."""
        with self._source_lock:
            self._reset_source(seed)
        with self._motion_lock:
            self.motion.reset()
            if self.display is not None:
                self.display.reset()
        self._last_image = None
        self.presence.reset()
        self._presence_reset = None
        self.active = True

    def stop(self) -> None:
        self.active = False

    def _reset_source(self, seed: int | None) -> None:
        stats = self.source.stats
        for name in ("images", "audio_chunks", "bad_images", "bad_audio", "bad_stamps", "errors", "outputs",
                     "audio_restarts", "windows"):
            setattr(self._earlier, name, getattr(self._earlier, name) + getattr(stats, name))
        self.source.reset(self.config.pipeline.seed if seed is None else seed)
        for checker in self._stamps.values():  # a fresh context may come from a restarted driver
            checker.reset()
        self._gaps.reset()

    def _reset_context(self, why: str) -> None:
        """The speaker left (`faces_lost`: everything is forgotten) or another one took over (`speaker_changes`:
        the source's context only, when it can, so the front end keeps tracking the new speaker)."""
        self.counters["context_resets"] += 1
        self.counters[why] += 1
        partial = getattr(self.source, "reset_context", None)
        if why == "speaker_changes" and partial is not None:
            partial(self.config.pipeline.seed)
        else:
            self._reset_source(None)

    def count(self, name: str, n: int = 1) -> None:
        """Count something that happened outside the session (e.g. a recording error): shown in diagnostics."""
        self.counters[name] += n

    # ------------------------------------------------------------------------------------- inputs

    def on_image(self, image, stamp: float | None, emit: Callable[[Command], None],
                 bad_reason: str | None = None) -> ReactionOutput | None:
        """A camera frame (BGR uint8, or None when it could not be decoded: `bad_reason` says why; it still counts
        as a frame without a face). stamp: capture time (s); 0 or None: the time it arrived; a garbage stamp is
        replaced by the arrival time, an out-of-order or duplicate one drops the frame (None is returned).
        `emit(command)` is called with this frame's reaction before the next window is computed."""
        now = self.clock()
        self.counters["images"] += 1
        self._period["images"] += 1
        if bad_reason is not None:
            self.counters[bad_reason] += 1
            self.counters["bad_images"] += 1
        if self._last_image is not None and now - self._last_image > self.config.reset_after_gap_s:
            with self._source_lock:
                self._reset_source(None)
            self.counters["context_resets"] += 1
        stamp = self._checked("image", stamp, self.wall_clock())
        if stamp is None:
            return None
        self.counters["dropped_frames"] += self._gaps.add(stamp, busy_s=self._busy_s)
        self._last_image = now
        with self._source_lock:
            output = self.source.push_image(image, stamp, emit=lambda out: self._emit(out, emit))
        if self._presence_reset is not None:  # after the frame: the source is never reset inside its own call
            with self._source_lock:
                self._reset_context(self._presence_reset)
            self._presence_reset = None
        self._busy_s = self.clock() - now
        if output is not None:  # stage latencies, including the window computed after the emit
            for stage, seconds in output.latency.items():
                self._add_latency(stage, seconds)
        return output

    def _checked(self, stream: str, stamp: float | None, received: float) -> float | None:
        """The stamp to use for a message of `stream`, or None to drop it (counted in `bad_stamps`)."""
        try:
            stamp = 0.0 if stamp is None else float(stamp)
        except (TypeError, ValueError):
            stamp = math.nan
        check = self._stamps[stream].check(stamp, received)
        if check.bad:
            self.counters["bad_stamps"] += 1
            self.counters[check.problem] += 1
        return check.stamp if check.usable else None

    def _add_latency(self, stage: str, seconds: float) -> None:
        window = self.windows.setdefault(stage, LatencyWindow(self.config.latency_window_s))
        if window.add(seconds, self.clock()):  # non-finite or negative (clock trouble): counted, never kept
            self.latency.add(stage, seconds)

    def on_audio(self, samples, sample_rate: int, stamp: float | None, bad_reason: str | None = None) -> int:
        """A microphone chunk whose first sample was captured at `stamp` (None or <= 0: it arrived just now);
        `bad_reason`: it could not be decoded (counted, dropped). Returns the new audio feature frames."""
        self.counters["audio_chunks"] += 1
        if bad_reason is not None:
            self.counters[bad_reason] += 1
            self.counters["bad_audio"] += 1
            return 0
        try:
            duration = len(samples) / float(sample_rate)
        except (TypeError, ValueError, ZeroDivisionError):
            duration = 0.0  # the source counts the chunk as bad
        stamp = self._checked("audio", stamp, self.wall_clock() - duration)
        if stamp is None:
            return 0
        with self._source_lock:
            return self.source.push_audio(samples, sample_rate, stamp)

    # ------------------------------------------------------------------------------------- outputs

    def _emit(self, output: ReactionOutput, emit: Callable[[Command], None]) -> None:
        now = self.clock()
        step = self.presence.update(output.stamp, output.face_present, output.reaction,
                                    getattr(output, "face_reason", ""), getattr(output, "speaker_id", None))
        if step.reset_context:
            self._presence_reset = "faces_lost" if step.state == ABSENT else "speaker_changes"
        # what the robot shows is what is published and recorded, with the presence state
        output = replace(output, reaction=step.reaction, presence=step.state)
        with self._motion_lock:
            positions = self.motion.update(output.reaction, now)
            velocities = self.motion.velocities.copy()
            shown = self.display.update(output.reaction, now) if self.display is not None else None
            self._was_stale = False
            self.counters["commands"] += 1  # under the lock: the watchdog thread counts commands too
        self._add_latency("end_to_end", self.wall_clock() - output.stamp)
        self._period["outputs"] += 1
        self._period["face_present"] += int(output.face_present)
        self._period["audio_present"] += int(output.audio_present)
        emit(Command(output.stamp, positions, velocities, shown, self._face(shown), output, presence=step.state))

    def _face(self, shown) -> np.ndarray | None:
        if shown is None or self.renderer is None:
            return None
        return self.renderer.render(schema.clip_to_range(np.asarray(shown, np.float32)))

    def tick(self) -> Command | None:
        """Watchdog: while input is stale (camera gone, generator stalled) a step toward neutral; else None."""
        now = self.clock()
        with self._motion_lock:
            if not self.motion.is_stale(now):
                return None
            gap_started = not self._was_stale
            if gap_started:
                self._was_stale = True
                self.counters["input_gaps"] += 1
            positions = self.motion.tick(now)
            velocities = self.motion.velocities.copy()
            shown = self.display.tick(now) if self.display is not None else None
            self.counters["commands"] += 1
            self.counters["watchdog_commands"] += 1
        return Command(self.wall_clock(), positions, velocities, shown, self._face(shown), gap_started=gap_started)

    def ease_to_neutral(self, rate_hz: float = 50.0, max_s: float = 2.0) -> Iterator[Command]:
        """Shutdown: commands from here to neutral within the velocity limits, one per 1/rate_hz s (no face)."""
        with self._motion_lock:
            steps = list(self.motion.ease_to_neutral(self.clock(), rate_hz=rate_hz, max_s=max_s))
        for positions in steps:
            self.counters["commands"] += 1
            yield Command(self.wall_clock(), positions, np.zeros_like(positions))

    def is_stale(self) -> bool:
        return self.motion.is_stale(self.clock())

    # ------------------------------------------------------------------------------------- diagnostics

    def totals(self) -> dict[str, int]:
        """Every counter since the session was made: the session's own and its source's (across resets)."""
        stats = self.source.stats
        totals = Counter(self.counters)
        totals["windows"] = self._earlier.windows + stats.windows
        totals["audio_restarts"] = self._earlier.audio_restarts + stats.audio_restarts
        totals["unreadable_images"] = self._earlier.bad_images + stats.bad_images
        totals["bad_audio"] += self._earlier.bad_audio + stats.bad_audio
        totals["bad_stamps"] += self._earlier.bad_stamps + stats.bad_stamps
        totals["errors"] += self._earlier.errors + stats.errors
        return {key: int(totals.get(key, 0)) for key in (*COUNTERS, *sorted(set(totals) - set(COUNTERS)))}

    def diagnostics(self) -> SessionDiagnostics:
        """A snapshot for /diagnostics; rates and presence are over the time since the previous snapshot."""
        counts, self._period = self._period, Counter()
        outputs = counts["outputs"]
        stale = self.is_stale()
        values: dict[str, str] = {
            "state": "active" if self.active else "inactive",
            "rate_hz": f"{outputs / self.config.diagnostics_period_s:.2f}",
            "face_present": f"{counts['face_present'] / outputs:.2f}" if outputs else "0",
            "audio_present": f"{counts['audio_present'] / outputs:.2f}" if outputs else "0",
            "stale": "true" if stale else "false",
            "presence": self.presence.state,
            "presence_reason": self.presence.reason,
        }
        for key in INFO_KEYS:
            if self.info.get(key) is not None:
                values[key] = str(self.info[key])
        for key, value in self.info.items():
            if key.endswith("_id") or key.endswith("sha256"):
                values.setdefault(key, str(value))
        now = self.clock()
        for stage, window in self.windows.items():  # recent: an outlier leaves the window again
            summary = window.summary_ms(now)
            if summary["count"]:
                values[f"latency_{stage}_ms_median"] = f"{summary['median']:.2f}"
                values[f"latency_{stage}_ms_p99"] = f"{summary['p99']:.2f}"
        totals = self.totals()
        values.update({key: str(value) for key, value in totals.items()})
        values.update(getattr(self.source, "diagnostics", dict)())  # e.g. a study's active condition
        problems = any(totals[key] for key in ("bad_images", "bad_audio", "errors")) or bool(self.fallback["reason"])
        level, reason = self.health.update(totals, stale=stale and self.active)
        if self.fallback["reason"] and level == OK:  # running, but not on the backend that was asked for
            level, reason = WARN, f"running on {self.fallback['used']}, not {self.fallback['requested']}"
        running, trained = self.info.get("face_frontend"), self.info.get("trained_face_frontend")
        if running and trained and running != trained and level == OK:
            level, reason = WARN, f"face front end {running}, but the model was trained on {trained}"
        if level == OK:
            reason = "" if self.active else "inactive"  # configured, waiting for activate (or deactivated)
            if self.active and self.presence.state == ABSENT:  # fine, but say why the face is neutral
                reason = f"no speaker ({self.presence.reason}): attentive neutral"

        return SessionDiagnostics(values, stale, problems, level, reason)

    def summary(self) -> dict:
        """The run summary's part that the session knows: backend (and fallback), sampling, counts, stages."""
        return {
            "backend": self.info.get("backend"),
            "fallback": self.fallback,
            "model": {k: v for k, v in self.info.items() if k.endswith("sha256")},
            "sampling": {k: self.info.get(k) for k in ("sampler", "steps", "temperature", "guidance",
                                                       "noise_correlation", "blend_frames", "amplitude_calibrated",
                                                       "style_gain_sd", "style_channel_sd", "style_delay_mean",
                                                       "style_delay_sd")},
            "counts": self.totals(),
            "stages": {stage: s for stage, s in self.latency.summary().items() if stage != "end_to_end"},
        }

