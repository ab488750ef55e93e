"""Training windows drawn from whole clips held in memory, vectorised over the batch.

A window at start t has exactly what the online generator has at t: speaker frames [t-C, t) (missing
before the clip starts), the listener's own past [t-P, t) (neutral before the clip starts) and the
target reaction [t, t+w). Modality dropout teaches the model the "no face" / "silent" states and gives
the unconditional model for classifier-free guidance."""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from react_ros import schema
from react_ros.data.features import ClipFeatures
from react_ros.model.config import ModelConfig


@dataclass(frozen=True)
class Augmentation:
    drop_visual: float = 0.15
    drop_audio: float = 0.15
    drop_both: float = 0.1  # the unconditional model for guidance
    visual_noise: float = 0.03  # the attribute estimator is not perfect on a robot
    lost_face_span: float = 0.1  # probability of a random span without a face in the context
    past_noise: float = 0.01
    # Exposure bias: on the robot the past is the model's own output, which drifts. A constant offset on
    # the past of some windows (the target stays true) teaches the model to pull back toward what the
    # speaker calls for instead of continuing its own error.
    past_shift: float = 0.1  # std of the offset, in units of each attribute's range
    past_shift_probability: float = 0.5
    # A stale past: the same person at another moment of the clip. A past the model invented (a smile the
    # real person never made) then contradicts the input, and the model learns to follow the input instead
    # of continuing it; without this it only follows its past where the target's own dynamics predict the
    # next window (e.g. a speaker's scripted smile seen only through the listener's delayed mirror).
    past_stale_probability: float = 0.25


class WindowSampler:
    def __init__(self, clips: list[ClipFeatures], config: ModelConfig, seed: int = 0):
        if not clips:
            raise ValueError("no clips to train on")
        self.config = config
        lengths = np.array([len(c.target) for c in clips])
        usable = lengths - config.window
        if (usable < 0).any():
            short = [c.id for c, u in zip(clips, usable, strict=True) if u < 0]
            raise ValueError(f"clips shorter than one window ({config.window} frames): {short[:3]}")
        self.visual = np.concatenate([c.visual for c in clips]).astype(np.float32)
        self.audio = np.concatenate([c.audio for c in clips]).astype(np.float32)
        self.target = np.concatenate([c.target for c in clips]).astype(np.float32)
        # Perceived speakers (data/perceived.py): which values the front end measured. Unmeasured values are
        # already neutral, as on the robot; frames with nothing measured are frames without a face.
        self.mask = np.concatenate([np.ones(c.visual.shape, bool) if c.visual_mask is None else c.visual_mask
                                    for c in clips])
        self.role = np.array([c.role for c in clips], np.float32)  # per clip: which role its target answers in
        self.starts = np.concatenate([[0], np.cumsum(lengths)[:-1]])
        self.usable = usable + 1
        self.weights = self.usable / self.usable.sum()
        self.rng = np.random.default_rng(seed)
        self.neutral = schema.neutral_frame()

    def batch(self, size: int, augment: Augmentation | None = Augmentation()) -> dict[str, np.ndarray]:
        c, rng = self.config, self.rng
        clip = rng.choice(len(self.usable), size=size, p=self.weights)
        t = (rng.random(size) * self.usable[clip]).astype(int)
        base = self.starts[clip]
        ctx = t[:, None] + np.arange(-c.context, 0)[None]
        present = (ctx >= 0).astype(np.float32)
        ctx_index = base[:, None] + np.maximum(ctx, 0)
        visual = self.visual[ctx_index] * present[..., None]
        audio = self.audio[ctx_index] * present[..., None]
        window = self.target[base[:, None] + t[:, None] + np.arange(c.window)[None]]
        past_start = t
        if augment is not None and augment.past_stale_probability > 0:
            stale = rng.random(size) < augment.past_stale_probability
            other = (rng.random(size) * self.usable[clip]).astype(int)
            past_start = np.where(stale, other, t)
        past_t = past_start[:, None] + np.arange(-c.past, 0)[None]
        past = np.where((past_t >= 0)[..., None], self.target[base[:, None] + np.maximum(past_t, 0)], self.neutral)
        measured = self.mask[ctx_index]
        visual_present, audio_present = present * measured.any(-1), present.copy()
        if augment is not None:  # estimator noise on measured values only: unmeasured ones are exactly neutral
            noise = rng.normal(0, augment.visual_noise, visual.shape).astype(np.float32)
            visual = visual + noise * measured
            past = past + rng.normal(0, augment.past_noise, past.shape).astype(np.float32)
            shifted = rng.random(size) < augment.past_shift_probability
            span = (schema.UPPER - schema.LOWER).astype(np.float32)
            offset = rng.normal(0, augment.past_shift, (size, 1, c.reaction_dim)).astype(np.float32) * span
            past = past + offset * shifted[:, None, None]
            past = schema.clip_to_range(past)
            lost = rng.random(size) < augment.lost_face_span
            for i in np.flatnonzero(lost):
                a, b = np.sort(rng.integers(0, c.context + 1, size=2))
                visual_present[i, a:b] = 0
            roll = rng.random(size)
            both = roll < augment.drop_both
            only_v = (roll >= augment.drop_both) & (roll < augment.drop_both + augment.drop_visual)
            only_a = (roll >= augment.drop_both + augment.drop_visual) & (
                roll < augment.drop_both + augment.drop_visual + augment.drop_audio)
            visual_present[both | only_v] = 0
            audio_present[both | only_a] = 0
        visual = visual * visual_present[..., None]
        audio = audio * audio_present[..., None]
        return {"visual": visual.astype(np.float32), "visual_present": visual_present,
                "audio": audio.astype(np.float32), "audio_present": audio_present,
                "past": past.astype(np.float32), "window": window.astype(np.float32), "role": self.role[clip]}
