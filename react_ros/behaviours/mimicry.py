"""Delayed mimicry: the robot copies the person's 25 attributes a fixed number of frames later.

    reaction[t] = speaker[t - delay]      (the first frame is held for t < delay)

The simplest reaction a robot can show, and the baseline a learned model must beat: real listeners mirror
much of what they see a fraction of a second later. `fit_mimicry_delay` chooses the delay on a training
split; `delayed_copy` is the offline form (evaluation reference), `DelayedMimicry` the streaming form with
the online generator's interface (push speaker frames, get reaction frames back).
"""
from __future__ import annotations

from collections import deque

import numpy as np

from react_ros import schema
from react_ros.metrics.mimicry import delayed_copy, fit_mimicry_delay  # noqa: F401 (re-exported)


class DelayedMimicry:
    """Streaming delayed mimicry with the online generator's interface.

    `push(visual, audio=None, visual_present=None)` takes n speaker frames (n, 25) and returns n reaction
    frames (n, samples, 25): for each pushed frame, the frame seen `delay` frames earlier. Frames where the
    face is absent (present 0) are replaced by the last one seen, so the robot holds its expression rather
    than copying a missing face; before any face it shows the neutral frame. Memory is `delay` + 1 frames.
    """

    def __init__(self, delay: int, samples: int = 1):
        if delay < 0:
            raise ValueError(f"the delay must be >= 0 frames, got {delay}")
        if samples < 1:
            raise ValueError(f"samples must be >= 1, got {samples}")
        self.delay = int(delay)
        self.samples = int(samples)
        self.audio_dim = None  # any: mimicry ignores the voice
        self.window = 1  # a frame out per frame in
        self.reset()

    def reset(self, seed: int = 0) -> None:  # noqa: ARG002 (deterministic: the seed only matches the interface)
        self.history: deque[np.ndarray] = deque(maxlen=self.delay + 1)
        self.last_seen: np.ndarray | None = None
        self.frames_seen = 0

    def push(self, visual, audio=None, visual_present=None, audio_present=None) -> np.ndarray:  # noqa: ARG002 (audio: interface)
        visual = np.asarray(visual, np.float32).reshape(-1, schema.REACTION_DIM)
        present = np.ones(len(visual)) if visual_present is None else np.asarray(visual_present).reshape(-1)
        if len(present) != len(visual):
            raise ValueError(f"{len(present)} presence flags for {len(visual)} frames")
        out = np.empty((len(visual), self.samples, schema.REACTION_DIM), np.float32)
        for i, frame in enumerate(visual):
            if present[i] > 0.5 and np.isfinite(frame).all():
                self.last_seen = frame.copy()
            seen = self.last_seen if self.last_seen is not None else schema.neutral_frame().astype(np.float32)
            if not self.history:  # hold the first frame, as `delayed_copy` does
                self.history.extend([seen] * self.delay)
            self.history.append(seen)
            out[i] = self.history[0]
        self.frames_seen += len(visual)
        return out
