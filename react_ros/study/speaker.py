"""Where a study's participant comes from: what feeds the robot's `ReactionSession`, frame by frame.

Every input has one method, `feed(session, k, origin, emit) -> clip frame`: it hands the session the audio up
to the end of condition frame k, then frame k (stamped `origin + k / fps`), exactly as the camera and
microphone nodes of `react-ros run` hand them to the reaction node, so the session's reactions are the robot's.

- `ClipInput`: a video + wav played as `react-ros run` plays it (BGR frames as the camera node reads them,
  int16 PCM in the microphone node's chunks up to each frame's end), looped to fill a condition.
- `LiveInput`: a camera and a microphone (react_ros.capture), stamped with the wall clock (`study run
  --camera N --mic`).
- `ClipFeatures`: front-end output computed beforehand (tests, and conditions that need no model); its
  `pipeline()` is the session's source that replays them, so it also runs through the session.
"""
from __future__ import annotations

import math
import threading
import time
from collections import deque
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from react_ros import schema
from react_ros.online.pipeline import PipelineConfig, PipelineStats, ReactionOutput
from react_ros.study.conditions import SpeakerFrame

__all__ = ["ClipInput", "LiveInput", "ClipFeatures", "FeatureReplay", "load_clip"]


def _pcm16(samples: np.ndarray) -> np.ndarray:
    """float [-1, 1] -> int16 the way the microphone node converts a wav file."""
    return np.round(np.clip(samples, -1, 1) * 32767).astype(np.int16)


class ClipInput:
    """A speaker clip, played to the session as `react-ros run` plays it (one frame period of audio, then the
    frame), looped: condition frame k shows clip frame k mod T, and the audio stream loops with it."""

    live = False

    def __init__(self, video: str | Path, wav: str | Path | None = None, max_frames: int | None = None,
                 fps: float = schema.FPS, chunk_ms: float = 32.0) -> None:
        from react_ros.capture import open_frames
        from react_ros.data.audio_io import read_wav

        frames, images = open_frames(str(video)), []
        try:
            while max_frames is None or len(images) < max_frames:
                image = frames.read()
                if image is None:
                    break
                images.append(image)
        finally:
            frames.release()
        if not images:
            raise ValueError(f"{video}: no frames")
        self.images = np.stack(images)  # (T, H, W, 3) BGR uint8, as the camera node publishes them
        samples, rate = read_wav(wav) if wav else (np.zeros(0, np.float32), 16000)
        self.samples, self.sample_rate, self.fps = _pcm16(samples), int(rate), float(fps)
        self.chunk = max(1, int(round(chunk_ms / 1000.0 * self.sample_rate)))  # the microphone node's chunk
        self.loop_samples = int(math.ceil(len(self.images) * self.sample_rate / self.fps))
        self.position = 0  # the next audio sample of the stream (stream samples count on across loops)

    def __len__(self) -> int:
        return len(self.images)

    def start(self, k: int) -> None:
        """Play from condition frame k (0, or where a resumed segment continues)."""
        self.position = int(math.ceil(k * self.sample_rate / self.fps))

    def image(self, k: int) -> np.ndarray:
        return self.images[k % len(self)]

    def feed(self, session, k: int, origin: float, emit) -> int:
        end = int(math.ceil((k + 1) * self.sample_rate / self.fps))
        while self.position < end:  # the microphone node's chunks, cut at the frame's end and the loop's end
            local = self.position % self.loop_samples
            stop = min(self.position + self.chunk, end, self.position - local + self.loop_samples)
            pcm = self.samples[local:min(local + stop - self.position, len(self.samples))]
            if len(pcm):
                session.on_audio(pcm, self.sample_rate, origin + self.position / self.sample_rate)
            self.position = stop
        session.on_image(self.image(k), origin + k / self.fps, emit)
        return k % len(self)

    def audio_chunk(self, k: int) -> np.ndarray:
        """The int16 samples of clip frame k (raw-media recording)."""
        i = k % len(self)
        a, b = int(round(i * self.sample_rate / self.fps)), int(round((i + 1) * self.sample_rate / self.fps))
        return self.samples[a:b].astype("<i2")


class LiveInput:
    """A live participant without ROS: an OpenCV camera and (optionally) a pyaudio microphone, stamped with the
    wall clock. `feed` waits for the camera's next frame and first hands the session the audio that came."""

    live = True

    def __init__(self, camera: int | str, microphone: int | None = None, sample_rate: int = 16000,
                 chunk_ms: float = 32.0) -> None:
        """camera: an OpenCV camera index (or a video file, played as if live: pilots and tests)."""
        from react_ros.capture import open_frames, open_microphone

        self.frames = open_frames(camera)
        self.fps = float(self.frames.rate)
        self.sample_rate = int(sample_rate)
        self._audio: deque[tuple[np.ndarray, float]] = deque(maxlen=256)
        self._lock = threading.Lock()
        self._last = np.zeros((8, 8, 3), np.uint8)
        self._last_audio = np.zeros(0, np.int16)
        self._mic = None
        if microphone is not None:
            def on_chunk(pcm, stamp) -> None:
                with self._lock:
                    self._audio.append((np.asarray(pcm), float(stamp)))

            self._mic = open_microphone(int(microphone), self.sample_rate, 1,
                                        max(1, int(round(chunk_ms / 1000.0 * self.sample_rate))), on_chunk)

    def __len__(self) -> int:
        return 1

    def start(self, k: int) -> None:
        pass

    def image(self, k: int) -> np.ndarray:
        return self._last

    def feed(self, session, k: int, origin: float, emit) -> int:
        image = self.frames.read()
        stamp = time.time()
        with self._lock:
            chunks, self._audio = list(self._audio), deque(maxlen=256)
        for pcm, chunk_stamp in chunks:
            session.on_audio(pcm, self.sample_rate, chunk_stamp)
        if chunks:
            self._last_audio = np.concatenate([c for c, _ in chunks]).reshape(-1).astype("<i2")
        if image is not None:
            self._last = image
        session.on_image(image, stamp, emit, bad_reason=None if image is not None else "unreadable_images")
        return k

    def audio_chunk(self, k: int) -> np.ndarray:
        return self._last_audio

    def close(self) -> None:
        self.frames.release()
        if self._mic is not None:
            audio, stream = self._mic
            stream.stop_stream()
            stream.close()
            audio.terminate()


@dataclass
class ClipFeatures:
    """A speaker clip already turned into per-frame front-end features (and its raw media for recording)."""

    attributes: np.ndarray  # (T, 25)
    face_present: np.ndarray  # (T,) bool
    audio: np.ndarray  # (T, A)
    audio_present: np.ndarray  # (T,) bool
    images: np.ndarray  # (T, H, W, 3) uint8
    samples: np.ndarray  # mono float32
    sample_rate: int
    fps: float = schema.FPS
    live = False

    def __len__(self) -> int:
        return len(self.attributes)

    def frame(self, k: int) -> SpeakerFrame:
        i = k % len(self)
        return SpeakerFrame(self.attributes[i], self.audio[i], bool(self.face_present[i]), bool(self.audio_present[i]))

    def start(self, k: int) -> None:
        pass

    def image(self, k: int) -> np.ndarray:
        return self.images[k % len(self)]

    def feed(self, session, k: int, origin: float, emit) -> int:
        session.on_image(k, origin + k / self.fps, emit)  # the replay source takes the frame index as its image
        return k % len(self)

    def audio_chunk(self, k: int) -> np.ndarray:
        """The raw samples of frame k (int16), for raw-media recording."""
        i = k % len(self)
        a, b = int(round(i * self.sample_rate / self.fps)), int(round((i + 1) * self.sample_rate / self.fps))
        return _pcm16(self.samples[a:b]).astype("<i2")

    def pipeline(self) -> FeatureReplay:
        return FeatureReplay(self)


class FeatureReplay:
    """A session source over `ClipFeatures`: each frame's front-end output as computed beforehand, no model
    (its "model" reaction is neutral; generative conditions bring their own generator)."""

    def __init__(self, clip: ClipFeatures) -> None:
        self.clip = clip
        self.config = PipelineConfig()
        self.reset()

    def reset(self, seed: int | None = None) -> None:
        self.stats = PipelineStats()

    def push_audio(self, samples, sample_rate: int, stamp: float) -> int:
        return 0

    def push_image(self, image, stamp: float, emit=None) -> ReactionOutput:
        frame = self.clip.frame(int(image))
        neutral = schema.neutral_frame()
        output = ReactionOutput(stamp, self.stats.outputs, neutral, neutral[None], frame.face_present,
                                frame.audio_present, {}, np.asarray(frame.attributes, np.float32),
                                np.asarray(frame.audio, np.float32))
        self.stats.images += 1
        self.stats.outputs += 1
        if emit is not None:
            emit(output)
        return output


def load_clip(video: str | Path, wav: str | Path | None, estimator_fn, crop_mode: str = "full_frame",
              max_frames: int | None = None) -> ClipFeatures:
    """The clip through the haar front end beforehand (its first `max_frames` frames: a condition never needs
    more, as the clip loops). `study run` plays the clip through the session instead (ClipInput)."""
    from react_ros.data.audio_io import read_wav
    from react_ros.face.video import read_video
    from react_ros.media_perception.frontends import build_frontend

    images = read_video(video)[:max_frames]
    if len(images) == 0:
        raise ValueError(f"{video}: no frames")
    samples, rate = read_wav(wav) if wav else (np.zeros(0, np.float32), 16000)
    front_end = build_frontend("haar", crop_mode=crop_mode, estimator_fn=estimator_fn)
    attributes, present, audio = front_end.offline_features(list(images), samples, rate)
    audio_frames = int(len(samples) * schema.FPS / rate)
    audio_present = np.arange(len(images)) < audio_frames
    return ClipFeatures(attributes, present, audio, audio_present, images, samples, rate)
