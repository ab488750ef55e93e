"""The building blocks of synthetic behaviour: smooth events, slow drifts, causal delays, pauses, and the
assembly of AUs and affect into 25-d reaction frames. Every family's law is written with these."""
from __future__ import annotations

import numpy as np

from react_ros import schema
from react_ros.data.expressions import expression_probabilities

FPS = schema.FPS
SR = schema.AUDIO_SAMPLE_RATE


def bumps(rng: np.random.Generator, length: int, rate_per_s: float, width_s: tuple[float, float],
           weight: np.ndarray | None = None) -> np.ndarray:
    """Smooth 0..1 events at random times (a Poisson process, optionally thinned by `weight`)."""
    out = np.zeros(length)
    count = rng.poisson(rate_per_s * length / FPS)
    for start in rng.integers(0, length, size=count):
        if weight is not None and rng.random() > weight[start]:
            continue
        add_bump(out, int(start), rng.uniform(*width_s) * FPS, rng.uniform(0.5, 1.0))
    return np.clip(out, 0.0, 1.0)


def add_bump(signal: np.ndarray, start: int, width_frames: float, amplitude: float) -> None:
    """Add a raised-cosine bump (attack, hold, release) starting at `start`."""
    width = max(int(width_frames), 3)
    end = min(start + width, len(signal))
    if end <= start:
        return
    phase = np.linspace(0.0, np.pi, width)[: end - start]
    signal[start:end] = np.maximum(signal[start:end], amplitude * np.sin(phase) ** 0.7)


def ou(rng: np.random.Generator, length: int, tau_s: float, scale: float, mean: float = 0.0) -> np.ndarray:
    """A slow Ornstein-Uhlenbeck drift (affect that changes over seconds)."""
    alpha = 1.0 / (tau_s * FPS)
    noise = rng.normal(0.0, scale * np.sqrt(2 * alpha), size=length)
    out = np.empty(length)
    value = mean + rng.normal(0.0, scale)
    for t in range(length):
        value += alpha * (mean - value) + noise[t]
        out[t] = value
    return out


def delay(signal: np.ndarray, frames: int) -> np.ndarray:
    """signal(t - frames), holding the first value: a causal reaction delay."""
    if frames <= 0:
        return signal.copy()
    return np.concatenate([np.repeat(signal[:1], frames, axis=0), signal[:-frames]], axis=0)


def shift(signal: np.ndarray, frames: int) -> np.ndarray:
    """Shift either way, holding the edge value (per-clip timing jitter of the script)."""
    if frames >= 0:
        return delay(signal, frames)
    return np.concatenate([signal[-frames:], np.repeat(signal[-1:], -frames, axis=0)], axis=0)


def pause_onsets(speaking: np.ndarray) -> np.ndarray:
    """Frames where a turn of speech ends (speaking goes from 1 to 0)."""
    return np.flatnonzero((speaking[:-1] > 0.5) & (speaking[1:] <= 0.5)) + 1


def assemble(aus: np.ndarray, valence: np.ndarray, arousal: np.ndarray) -> np.ndarray:
    """(T, 25) reaction frames from AUs, valence and arousal (clipped), with their expression probabilities."""
    aus = np.clip(aus, 0.0, 1.0)
    valence = np.clip(valence, -1.0, 1.0)
    arousal = np.clip(arousal, -1.0, 1.0)
    frames = np.zeros((len(valence), schema.REACTION_DIM), dtype=np.float32)
    frames[:, schema.AU] = aus
    frames[:, schema.VALENCE] = valence
    frames[:, schema.AROUSAL] = arousal
    frames[:, schema.EXPRESSION] = expression_probabilities(aus, valence, arousal)
    return frames


def au_columns() -> dict[str, int]:
    """AU name -> column of the (T, 15) AU block."""
    return {name: i for i, name in enumerate(schema.AU_NAMES)}


def normalise(signal: np.ndarray, peak: float = 0.6) -> np.ndarray:
    """Scaled to `peak` at its loudest, as float32 audio."""
    top = np.abs(signal).max()
    return (signal * (peak / top) if top > 0 else signal).astype(np.float32)


def blinks(rng: np.random.Generator, length: int, rate_per_s: float) -> np.ndarray:
    """0..1 eyelid closures at random times, `rate_per_s` on average."""
    blink = np.zeros(length)
    for start in np.sort(rng.integers(0, length, size=rng.poisson(rate_per_s * length / FPS))):
        add_bump(blink, int(start), 6, 1.0)
    return blink.astype(np.float32)
