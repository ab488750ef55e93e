"""Study conditions as reaction sources: what the robot's face does, frame by frame, in each condition.

Every source has one small interface (no ROS): `reset(seed)` at the start of a condition, then
`step(frame) -> (25,) reaction` once per speaker frame, where `frame` is a `SpeakerFrame` (the front end's
output: speaker attributes, audio features, presence flags). Sources only produce reactions; the robot's
safety (profile mapping, smoothing, velocity and position limits, the watchdog) lives downstream in
react_ros.robot and applies to every condition alike.

- `GenerativeSource`: the model (react_ros.model.generator.OnlineGenerator) with its diversity setting
  (temperature, seed); strictly causal, the reaction for frame t comes from frames < t.
- `MimeSource`: the speaker's own attributes `delay_s` later (the classic control; 0 = perfect mimicry).
- `NeutralSource`: the neutral face.
- `ReplaySource`: a real listener's reactions from a MARS-layout data set, looped.
- `ScriptedSource`: linear interpolation between YAML keyframes ({t: seconds, AU12: 0.8, ...}).

`ConditionSwitcher` holds several sources and switches between them while running (thread-safe; takes
effect at the next frame); every switch becomes a `SwitchEvent` with its time, for the recording.
"""
from __future__ import annotations

import json
import threading
import time
from collections import deque
from collections.abc import Callable, Sequence
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Protocol

import numpy as np

from react_ros import schema

__all__ = ["SpeakerFrame", "ReactionSource", "GenerativeSource", "MimeSource", "NeutralSource", "ReplaySource",
           "ScriptedSource", "SwitchEvent", "ConditionSwitcher", "parse_keyframes"]


@dataclass
class SpeakerFrame:
    """One speaker frame as the front end delivers it."""

    attributes: np.ndarray  # (25,) speaker attributes (neutral when no face)
    audio: np.ndarray  # (A,) audio feature frame
    face_present: bool = True
    audio_present: bool = True


class ReactionSource(Protocol):
    kind: str

    def reset(self, seed: int = 0) -> None: ...

    def step(self, frame: SpeakerFrame) -> np.ndarray: ...


class NeutralSource:
    kind = "neutral"

    def reset(self, seed: int = 0) -> None:
        pass

    def step(self, frame: SpeakerFrame) -> np.ndarray:
        return schema.neutral_frame()


class MimeSource:
    """The speaker's attributes `delay_s` ago (neutral until the delay has passed)."""

    kind = "mime"

    def __init__(self, delay_s: float = 0.0, fps: float = schema.FPS) -> None:
        if not delay_s >= 0:
            raise ValueError(f"mime delay must be >= 0 s, got {delay_s}")
        self.delay_frames = int(round(delay_s * fps))
        self.reset()

    def reset(self, seed: int = 0) -> None:
        self._history: deque[np.ndarray] = deque(maxlen=self.delay_frames + 1)

    def step(self, frame: SpeakerFrame) -> np.ndarray:
        self._history.append(np.asarray(frame.attributes, np.float32).copy())
        if len(self._history) <= self.delay_frames:
            return schema.neutral_frame()
        return schema.clip_to_range(self._history[0])


class ReplaySource:
    """Recorded reactions (T, 25) played frame by frame, looped; `from_mars` takes a real listener."""

    kind = "replay"

    def __init__(self, reactions: np.ndarray, name: str = "") -> None:
        reactions = np.asarray(reactions, np.float32)
        if reactions.ndim != 2 or reactions.shape[1] != schema.REACTION_DIM or len(reactions) == 0:
            raise ValueError(f"replay needs (T, {schema.REACTION_DIM}) reactions, got shape {reactions.shape}")
        self.reactions = schema.clip_to_range(reactions)
        self.name = name
        self.reset()

    @classmethod
    def from_mars(cls, root: str | Path, split: str = "test", pair: int = 0, role: str = "listener") -> ReplaySource:
        """The `role` side of dyadic pair number `pair` (in scan order) of a MARS-layout data set."""
        from react_ros.data import layout
        from react_ros.data.pairs import scan
        from react_ros.data.readers import read_attributes

        pairs = scan(root, split)
        if not 0 <= pair < len(pairs):
            raise ValueError(f"replay: {root}/{split} has {len(pairs)} dyadic pairs, asked for pair {pair}")
        clip = pairs[pair].clip_id(role)
        return cls(read_attributes(clip.path(root, layout.ATTRIBUTES)), str(clip))

    def reset(self, seed: int = 0) -> None:
        self.position = 0

    def step(self, frame: SpeakerFrame) -> np.ndarray:
        out = self.reactions[self.position % len(self.reactions)].copy()
        self.position += 1
        return out


def parse_keyframes(entries: Sequence[dict], where: str = "script") -> tuple[np.ndarray, np.ndarray]:
    """[{t: s, AU12: 0.8, valence: 0.2}, ...] -> times (K,), reactions (K, 25) (unnamed attributes neutral)."""
    if not isinstance(entries, list | tuple) or not entries:
        raise ValueError(f"{where}: keyframes must be a non-empty list of {{t: seconds, attribute: value}}")
    times, frames = [], []
    for i, entry in enumerate(entries):
        if not isinstance(entry, dict) or "t" not in entry:
            raise ValueError(f"{where}: keyframe {i} needs a time 't' (seconds), got {entry!r}")
        frame = schema.neutral_frame()
        for key, value in entry.items():
            if key == "t":
                continue
            try:
                frame[schema.index_of(str(key))] = float(value)
            except KeyError:
                raise ValueError(f"{where}: keyframe {i}: unknown attribute {key!r}; known: "
                                 f"{', '.join(schema.ATTRIBUTE_NAMES)}") from None
            except (TypeError, ValueError):
                raise ValueError(f"{where}: keyframe {i}: {key} must be a number, got {value!r}") from None
        times.append(float(entry["t"]))
        frames.append(schema.clip_to_range(frame))
    times_array = np.array(times)
    if not np.all(np.isfinite(times_array)) or np.any(np.diff(times_array) <= 0) or times_array[0] < 0:
        raise ValueError(f"{where}: keyframe times must be >= 0 and strictly increasing, got {times}")
    return times_array, np.stack(frames).astype(np.float32)


class ScriptedSource:
    """Linear interpolation between keyframes at the frame rate; holds the last one, or loops."""

    kind = "script"

    def __init__(self, keyframes: Sequence[dict], fps: float = schema.FPS, loop: bool = False,
                 where: str = "script") -> None:
        self.times, self.frames = parse_keyframes(keyframes, where)
        self.fps, self.loop = float(fps), bool(loop)
        self.reset()

    def reset(self, seed: int = 0) -> None:
        self.position = 0

    def step(self, frame: SpeakerFrame) -> np.ndarray:
        t = self.position / self.fps
        self.position += 1
        if self.loop and self.times[-1] > 0:
            t = t % self.times[-1]
        out = np.array([np.interp(t, self.times, self.frames[:, d]) for d in range(schema.REACTION_DIM)], np.float32)
        return schema.clip_to_range(out)


class GenerativeSource:
    """The diffusion model, streaming: the reaction for frame t is emitted before frame t is pushed
    (as ReactionPipeline does), so it depends only on earlier speaker frames."""

    kind = "generative"

    def __init__(self, graphs, sampling=None, seed: int = 0) -> None:
        from react_ros.model.generator import OnlineGenerator, SamplingConfig, WindowGenerator

        self.sampling = sampling if sampling is not None else SamplingConfig()
        self.generator = OnlineGenerator(WindowGenerator(graphs, self.sampling), samples=1)
        self.seed = int(seed)
        self.reset(self.seed)

    def reset(self, seed: int | None = None) -> None:
        self.generator.reset(self.seed if seed is None else int(seed))
        self._queue: deque[np.ndarray] = deque()

    def _push(self, frame: SpeakerFrame) -> None:
        frames = self.generator.push(np.asarray(frame.attributes, np.float32)[None],
                                     np.asarray(frame.audio, np.float32)[None],
                                     np.array([float(frame.face_present)], np.float32),
                                     np.array([float(frame.audio_present)], np.float32))
        self._queue.extend(np.asarray(frames, np.float32)[:, 0])

    def step(self, frame: SpeakerFrame) -> np.ndarray:
        first = self.generator.frames_seen == 0 and not self._queue
        if first:  # the first window comes from the empty context
            self._push(frame)
        out = self._queue.popleft() if self._queue else schema.neutral_frame()
        if not first:
            self._push(frame)
        return schema.clip_to_range(out)


@dataclass
class SwitchEvent:
    time_ns: int  # wall clock (time.time_ns) when the switch took effect
    frame: int  # the switcher's frame counter: the first frame produced by the new source
    previous: str | None
    current: str
    reason: str  # "schedule", "operator", "resume", ...

    def to_json(self) -> str:
        return json.dumps(asdict(self))


class ConditionSwitcher:
    """Named sources, one active; `switch` while running (any thread), every switch recorded as an event."""

    def __init__(self, sources: dict[str, ReactionSource], clock: Callable[[], int] = time.time_ns) -> None:
        if not sources:
            raise ValueError("ConditionSwitcher needs at least one source")
        self.sources = dict(sources)
        self.clock = clock
        self.active: str | None = None
        self.events: list[SwitchEvent] = []
        self.listeners: list[Callable[[SwitchEvent], None]] = []
        self.frames = 0
        self.errors = 0
        self._pending: tuple[str, str, int | None] | None = None
        self._lock = threading.Lock()

    def request(self, name: str, reason: str = "operator", seed: int | None = None) -> None:
        """Switch at the next frame (safe from another thread, e.g. an operator console)."""
        if name not in self.sources:
            raise ValueError(f"unknown condition {name!r}; known: {', '.join(self.sources)}")
        with self._lock:
            self._pending = (name, reason, seed)

    def switch(self, name: str, reason: str = "schedule", seed: int | None = None) -> SwitchEvent:
        """Switch now: reset the new source (with `seed`) and record the event."""
        if name not in self.sources:
            raise ValueError(f"unknown condition {name!r}; known: {', '.join(self.sources)}")
        source = self.sources[name]
        source.reset(0 if seed is None else seed)
        event = SwitchEvent(int(self.clock()), self.frames, self.active, name, reason)
        self.active = name
        self.events.append(event)
        for listener in list(self.listeners):
            listener(event)
        return event

    def step(self, frame: SpeakerFrame) -> np.ndarray:
        """The active source's reaction for this frame; a failing source gives neutral (counted)."""
        with self._lock:
            pending, self._pending = self._pending, None
        if pending is not None:
            self.switch(pending[0], pending[1], pending[2])
        if self.active is None:
            raise RuntimeError("ConditionSwitcher.step before any switch()")
        try:
            out = np.asarray(self.sources[self.active].step(frame), np.float32).reshape(schema.REACTION_DIM)
            if not np.all(np.isfinite(out)):
                raise ValueError("non-finite reaction")
        except Exception:  # noqa: BLE001 (one bad frame must not stop a session with a participant)
            self.errors += 1
            out = schema.neutral_frame()
        self.frames += 1
        return schema.clip_to_range(out)
