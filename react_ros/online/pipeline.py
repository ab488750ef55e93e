"""The robot's online loop without ROS: camera frames and audio chunks in, one reaction frame per camera frame out.

`ReactionPipeline` owns a speaker front end (`PipelineConfig.face_frontend`: "haar" = face crop + CNN attribute
estimator, "mesh" = BlazeFace + FaceMesh geometry, see docs/perception.md; both with the same streaming
log-mel audio) and an `OnlineGenerator`. Values the mesh front end marks unmeasured (its `measured` mask: AU9,
AU14, a covered mouth) reach the model as their neutral value (schema.neutral_frame): the model has no mask
input for single values, and neutral is what it saw for "nothing there" in training. Images and audio arrive independently and at their own pace (as ROS messages do):

- `push_audio(samples, sample_rate, stamp)` turns a chunk into audio feature frames at the video frame rate.
  Feature frame k of an audio stream ends at `origin + (k + 1) / fps`, where `origin` is the stamp of the
  stream's first sample. A chunk that starts more than `audio_gap_s` after the expected time (the
  microphone dropped out) or before it (the clock jumped back) restarts the stream at its own stamp.
- `push_image(image, stamp)` runs the face front end, pairs the frame with the newest audio feature frame
  that ends no later than `stamp + audio_lead_s` and no earlier than `stamp - audio_max_age_s`. Training
  pairs video frame k (the interval [k, k+1) / fps) with the audio feature frame ending at (k + 1) / fps
  (SpeakerFrontEnd.offline_features), hence the default lead of 1.5 frames: when that audio is already
  there it is used; when the microphone lags (chunks of tens of ms) the newest older frame is used
  instead of waiting, which would add the chunk length to the latency. No such audio ->
  the audio stream is marked missing for that frame (`audio_present = 0`) and the generator masks it.
  Silent audio is still audio (present, with the silence feature), as in training.
- The reaction for speaker frame t was generated from speaker frames < t (the generator is strictly
  causal), so it is ready as soon as frame t has been through the front end: `push_image` hands it to
  `emit` (publish it there) *before* pushing frame t into the generator, which is when the next window
  is computed. The reaction carries the stamp of speaker frame t.

Nothing raises on bad input: an unreadable image counts as `bad_images` and is a frame with no face; a bad
audio chunk counts as `bad_audio` and is dropped; a non-finite stamp counts as `bad_stamps` and the frame
is dropped; NaN features are masked as missing by the generator. Per-stage latency (seconds) comes with
every output and is accumulated in `stats`.
"""
from __future__ import annotations

import math
import time
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass, field, replace

import numpy as np

from react_ros import schema
from react_ros.media_perception.frontends import build_frontend
from react_ros.model.card import FACE_FRONTENDS, resolve_face_frontend  # noqa: F401 (callers import them here)
from react_ros.model.config import ROLE_LISTENER
from react_ros.model.generator import OnlineGenerator, SamplingConfig, WindowGenerator
from react_ros.perception.audio_features import SILENCE_FEATURE
from react_ros.perception.frontend import SpeakerFrontEnd
from react_ros.perception.image import as_uint8_image

__all__ = ["PipelineConfig", "ReactionOutput", "ReactionPipeline", "PipelineStats"]


@dataclass(frozen=True)
class PipelineConfig:
    fps: float = schema.FPS  # the speaker frame rate the model was trained at
    samples: int = 1  # reactions generated per frame (batched sampling); `sample_index` is the one output
    sample_index: int = 0
    seed: int = 0
    crop_mode: str = "full_frame"  # haar front end: "full_frame" for face-crop inputs, "haar" for camera scenes
    # "haar" (crop + CNN estimator: what the shipped demo model was trained on) | "mesh" (BlazeFace + FaceMesh)
    face_frontend: str = "auto"  # haar | mesh | auto: the one the model was trained on (its card's face_frontend)
    check_smiles: bool = True  # mesh: a smiling face that looks sad reads as distress (perception/expression_check.py)
    audio_max_age_s: float = 0.3  # newest paired audio may be this old; older -> audio missing
    audio_lead_s: float = 1.5 / schema.FPS  # audio may end up to this long after the frame stamp (see below)
    audio_gap_s: float = 0.25  # a chunk this far from the expected time restarts the audio stream
    audio_buffer_s: float = 2.0  # audio feature frames kept for pairing


@dataclass
class ReactionOutput:
    stamp: float  # stamp (s) of the speaker frame this reaction belongs to
    frame_index: int  # speaker frames pushed before this one since reset
    reaction: np.ndarray  # (25,) float32 in schema ranges: sample `sample_index`
    samples: np.ndarray  # (samples, 25) all generated samples for this frame
    face_present: bool
    audio_present: bool
    latency: dict[str, float] = field(default_factory=dict)  # seconds per stage
    speaker: np.ndarray | None = None  # (25,) speaker attributes of this frame (neutral when no face)
    audio_features: np.ndarray | None = None  # (A,) the audio feature frame paired with it
    face_reason: str = ""  # why the face is missing (the mesh front end's reason: no_face, occluded, turned, ...)
    speaker_id: int | None = None  # the front end's speaker track (changes with the person); None: not tracked
    presence: str = ""  # the session's presence state for this frame (online/presence.py); "" before the session


@dataclass
class PipelineStats:
    images: int = 0
    audio_chunks: int = 0
    bad_images: int = 0  # unreadable (None, zero-size, wrong dtype/shape)
    bad_audio: int = 0  # chunks that could not be turned into features
    bad_stamps: int = 0  # non-finite stamps (frame dropped)
    errors: int = 0  # unexpected exceptions caught in a stage (counted, never raised)
    outputs: int = 0
    face_present: int = 0
    audio_present: int = 0
    audio_restarts: int = 0
    windows: int = 0
    latency_sum: dict[str, float] = field(default_factory=dict)
    latency_max: dict[str, float] = field(default_factory=dict)

    def add_latency(self, stage: str, seconds: float) -> None:
        self.latency_sum[stage] = self.latency_sum.get(stage, 0.0) + seconds
        self.latency_max[stage] = max(self.latency_max.get(stage, 0.0), seconds)


class ReactionPipeline:
    def __init__(self, front_end: SpeakerFrontEnd, generator: OnlineGenerator,
                 config: PipelineConfig = PipelineConfig()) -> None:
        if generator.samples != config.samples:
            raise ValueError(f"ReactionPipeline: generator makes {generator.samples} samples, config says "
                             f"{config.samples}")
        if not 0 <= config.sample_index < config.samples:
            raise ValueError(f"ReactionPipeline: sample_index {config.sample_index} outside 0..{config.samples - 1}")
        self.front_end = front_end
        self.generator = generator
        self.config = config
        self.n_audio = front_end.n_audio_features
        if generator.audio_dim is not None and generator.audio_dim != self.n_audio:  # None: the source ignores audio
            raise ValueError(f"ReactionPipeline: front end makes {self.n_audio} audio features, "
                             f"the model expects {generator.audio_dim}")
        self.reset(config.seed)

    @classmethod
    def from_graphs(cls, graphs, estimator_fn, sampling: SamplingConfig = SamplingConfig(),
                    config: PipelineConfig = PipelineConfig(), trained_frontend: str | None = None,
                    role: int = ROLE_LISTENER) -> ReactionPipeline:
        """Build from a backend's graphs (runtime.load_graphs(...).graphs) and estimator function (the haar front
        end's; the mesh front end needs none). `trained_frontend`: the model card's face_frontend, what "auto"
        runs. `role`: a role-conditioned model's role (the robot answers a speaker; the REACT protocol's evaluation
        also asks a speaker's answer)."""
        frontend = resolve_face_frontend(config.face_frontend, trained_frontend)
        if frontend == "haar" and estimator_fn is None:
            raise ValueError("ReactionPipeline: the model bundle has no speaker-attribute estimator")
        front_end = build_frontend(frontend, crop_mode=config.crop_mode, estimator_fn=estimator_fn,
                                   check_smiles=config.check_smiles)
        generator = OnlineGenerator(WindowGenerator(graphs, sampling, role), config.samples)
        return cls(front_end, generator, replace(config, face_frontend=frontend))

    def reset(self, seed: int | None = None) -> None:
        """A new session: forget the speaker, the audio stream and the generated past."""
        self.seed = self.config.seed if seed is None else int(seed)
        self.front_end.reset()
        self.generator.reset(self.seed)
        self._queue: deque[np.ndarray] = deque()  # generated reaction frames (samples, 25), next is frame t
        self._audio: deque[tuple[float, np.ndarray]] = deque()  # (end time, features)
        self._audio_origin: float | None = None
        self._audio_rate: int | None = None
        self._audio_expected: float | None = None  # stamp the next chunk should have
        self._audio_received = 0  # samples since origin, at the chunk's rate
        self._audio_frames = 0
        self.stats = PipelineStats()

    def reset_context(self, seed: int | None = None) -> None:
        """Another speaker took over: forget the generated past and the speaker context, keep the front end
        (its tracker and the new speaker's neutral) and the audio stream."""
        self.seed = self.config.seed if seed is None else int(seed)
        self.generator.reset(self.seed)
        self._queue.clear()

    # ------------------------------------------------------------------------------------------ audio

    def push_audio(self, samples, sample_rate: int, stamp: float) -> int:
        """A chunk of mono (or (n, channels)) PCM whose first sample was captured at `stamp` (s).
        Returns the number of new audio feature frames; bad chunks are counted and dropped (0)."""
        self.stats.audio_chunks += 1
        started = time.perf_counter()
        try:
            stamp = float(stamp)
            rate = int(sample_rate)
            array = np.asarray(samples)
            if not math.isfinite(stamp) or rate <= 0 or array.size == 0 or array.ndim > 2:
                raise ValueError("bad chunk")
            if not (np.issubdtype(array.dtype, np.number) or array.dtype == np.bool_):
                raise ValueError("not PCM")
            n = array.shape[0]
            restart = (self._audio_expected is None or rate != self._audio_rate
                       or abs(stamp - self._audio_expected) > self.config.audio_gap_s)
            if restart:
                if self._audio_expected is not None:
                    self.stats.audio_restarts += 1
                self.front_end.audio.reset()
                self._audio_origin, self._audio_rate, self._audio_expected = stamp, rate, stamp
                self._audio_received = 0
                self._audio_frames = 0
            features = self.front_end.process_audio(array, rate)
        except Exception:  # noqa: BLE001 (a node must not die on one bad chunk)
            self.stats.bad_audio += 1
            if self._audio_received == 0:
                self._audio_expected = None  # nothing usable in this stream yet: the next chunk starts it
            return 0
        self._audio_received += n
        self._audio_expected = self._audio_origin + self._audio_received / rate
        fps = self.config.fps
        for row in np.asarray(features, np.float32):
            self._audio.append((self._audio_origin + (self._audio_frames + 1) / fps, row))
            self._audio_frames += 1
        keep = int(self.config.audio_buffer_s * fps) + 1
        while len(self._audio) > keep:
            self._audio.popleft()
        self.stats.add_latency("audio_features", time.perf_counter() - started)
        return len(features)

    def _paired_audio(self, stamp: float) -> tuple[np.ndarray, bool]:
        best = None
        for end, row in reversed(self._audio):
            if end <= stamp + self.config.audio_lead_s:
                best = (end, row)
                break
        if best is None or best[0] < stamp - self.config.audio_max_age_s:
            return np.full(self.n_audio, SILENCE_FEATURE, np.float32), False
        return best[1], True

    # ------------------------------------------------------------------------------------------ video

    def push_image(self, image, stamp: float,
                   emit: Callable[[ReactionOutput], None] | None = None) -> ReactionOutput | None:
        """A camera frame (BGR uint8 or anything FaceCropper reads) captured at `stamp` (s).

        Returns the reaction for this frame (and passes it to `emit` first, before the generator computes
        the next window), or None when the frame was dropped (non-finite stamp)."""
        self.stats.images += 1
        try:
            stamp = float(stamp)
        except (TypeError, ValueError):
            stamp = math.nan
        if not math.isfinite(stamp):
            self.stats.bad_stamps += 1
            return None
        latency: dict[str, float] = {}
        t0 = time.perf_counter()
        image = as_uint8_image(image)  # read once here: the front end gets uint8 and need not convert again
        if image is None:
            self.stats.bad_images += 1
        try:
            visual = self.front_end.process_image(image)
            attributes, face = visual.attributes, bool(visual.present)
            reason, speaker_id = getattr(visual, "reason", ""), getattr(visual, "speaker_id", None)
            measured = getattr(visual, "measured", None)  # mesh front end: unmeasured values -> neutral
            if measured is not None and face:
                attributes = np.where(measured, attributes, schema.neutral_frame()).astype(np.float32)
        except Exception:  # noqa: BLE001
            self.stats.errors += 1
            attributes, face = schema.neutral_frame(), False
            reason, speaker_id = "error", None
        t1 = time.perf_counter()
        latency["front_end"] = t1 - t0
        audio, audio_present = self._paired_audio(stamp)
        index = self.generator.frames_seen
        pushed = False
        if not self._queue:  # only the very first frame: its window comes from the (empty) context
            self._push_generator(attributes, face, audio, audio_present, latency)
            pushed = True
        frame = self._queue.popleft() if self._queue else self._neutral_frames(1)[0]
        reaction = schema.clip_to_range(frame[self.config.sample_index])
        output = ReactionOutput(stamp, index, reaction, schema.clip_to_range(frame), face, audio_present, latency,
                                np.asarray(attributes, np.float32), np.asarray(audio, np.float32),
                                "" if face else (reason if reason and reason != "ok" else "no_face"), speaker_id)
        self.stats.outputs += 1
        self.stats.face_present += int(face)
        self.stats.audio_present += int(audio_present)
        if emit is not None:
            try:
                emit(output)
            except Exception:  # noqa: BLE001 (a failing publisher must not stop the pipeline)
                self.stats.errors += 1
        if not pushed:  # push frame t now, after its reaction went out
            self._push_generator(attributes, face, audio, audio_present, latency)
        for stage, seconds in latency.items():
            self.stats.add_latency(stage, seconds)
        return output

    def _neutral_frames(self, n: int) -> np.ndarray:
        return np.repeat(schema.neutral_frame()[None, None], self.config.samples, 1).repeat(n, 0)

    def _push_generator(self, attributes, face: bool, audio, audio_present: bool, latency: dict) -> None:
        started = time.perf_counter()
        try:
            frames = self.generator.push(attributes[None], audio[None], np.array([float(face)], np.float32),
                                         np.array([float(audio_present)], np.float32))
        except Exception:  # noqa: BLE001
            self.stats.errors += 1
            frames = self._neutral_frames(0)  # the queue falls back to neutral frames while it is empty
        if len(frames):
            self.stats.windows += len(frames) // self.generator.window
            latency["generate"] = time.perf_counter() - started
        self._queue.extend(np.asarray(frames, np.float32))
