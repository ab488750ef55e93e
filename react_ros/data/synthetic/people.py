"""People of a synthetic conversation: a session's speaker script, each clip's speaker (the script with its own
timing), and the `default` family's listener, who mirrors the speaker's smile after their own delay, drifts
toward the speaker's valence, and nods, raises their brows or hums at the speaker's pauses."""
from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np
from scipy.ndimage import gaussian_filter1d

from react_ros import schema
from react_ros.data.synthetic import signals
from react_ros.data.synthetic.signals import FPS, SR


@dataclass
class Script:
    """A session's speaker behaviour over time, at the frame rate (T frames)."""

    speaking: np.ndarray  # (T,) 0/1 turn mask
    syllables: np.ndarray  # (T,) 0..1 mouth/loudness envelope while speaking
    valence: np.ndarray
    arousal: np.ndarray
    smile: np.ndarray
    brow: np.ndarray
    frown: np.ndarray
    syllable_rate: float
    base_f0: float


@dataclass
class Person:
    """The behaviour of one person in one clip (T frames)."""

    attributes: np.ndarray  # (T, 25)
    head_pose: np.ndarray  # (T, 3) pitch, yaw, roll (rad)
    blink: np.ndarray  # (T,) 0..1
    audio: np.ndarray  # (T * SR / FPS,) float32
    speaking: np.ndarray = field(default_factory=lambda: np.zeros(0))
    events: dict[str, np.ndarray] = field(default_factory=dict)  # what a family's law did (for its tests)


def make_script(rng: np.random.Generator, length: int) -> Script:
    """Turns of speech with pauses, slow affect and expressive events for one session."""
    speaking = np.zeros(length)
    t = int(rng.uniform(0.2, 1.0) * FPS)
    while t < length:
        turn = int(rng.uniform(1.5, 5.0) * FPS)
        speaking[t:t + turn] = 1.0
        t += turn + int(rng.uniform(0.4, 1.6) * FPS)
    rate = rng.uniform(3.5, 5.0)
    times = np.arange(length) / FPS
    phase = 2 * np.pi * rate * times + 0.6 * np.sin(2 * np.pi * 0.37 * times + rng.uniform(0, 6))
    syllables = speaking * (0.5 + 0.5 * np.sin(phase)) ** 2
    valence = np.tanh(signals.ou(rng, length, tau_s=6.0, scale=0.45, mean=rng.uniform(-0.2, 0.4)))
    arousal = np.tanh(signals.ou(rng, length, tau_s=4.0, scale=0.3, mean=0.1) + 0.3 * gaussian_filter1d(speaking, 8))
    smile = signals.bumps(rng, length, 0.2, (1.0, 3.0), weight=np.clip(0.6 + valence, 0.2, 1.0))
    brow = signals.bumps(rng, length, 0.25, (0.4, 1.0), weight=np.clip(speaking + 0.1, 0.0, 1.0))
    frown = signals.bumps(rng, length, 0.06, (1.0, 2.5), weight=np.clip(0.3 - valence, 0.05, 1.0))
    return Script(speaking, syllables, valence, arousal, smile, brow, frown, rate, rng.uniform(100.0, 220.0))


def speaker_from_script(rng: np.random.Generator, script: Script, length: int) -> Person:
    """One clip's speaker: the session script with small timing and amplitude changes."""
    jitter = int(rng.integers(-6, 7))

    def vary(signal: np.ndarray, amount: float = 0.15) -> np.ndarray:
        return signals.shift(signal, jitter)[:length] * (1.0 + rng.normal(0.0, amount))

    speaking = signals.shift(script.speaking, jitter)[:length]
    syllables = signals.shift(script.syllables, jitter)[:length]
    valence = vary(script.valence, 0.1) + rng.normal(0, 0.05)
    arousal = vary(script.arousal, 0.1)
    smile, brow, frown = vary(script.smile), vary(script.brow), vary(script.frown)
    col = signals.au_columns()
    aus = np.zeros((length, 15))
    aus[:, col["AU1"]] = 0.85 * brow + 0.1 * speaking
    aus[:, col["AU2"]] = 0.7 * brow
    aus[:, col["AU4"]] = 0.9 * frown
    aus[:, col["AU6"]] = 0.7 * smile
    aus[:, col["AU7"]] = 0.3 * frown + 0.1 * smile
    aus[:, col["AU10"]] = 0.15 * syllables + 0.2 * frown
    aus[:, col["AU12"]] = smile
    aus[:, col["AU14"]] = 0.25 * smile
    aus[:, col["AU15"]] = 0.4 * np.clip(-valence, 0, 1)
    aus[:, col["AU17"]] = 0.3 * signals.bumps(rng, length, 0.05, (0.5, 1.5))
    aus[:, col["AU23"]] = 0.3 * frown
    aus[:, col["AU24"]] = 0.25 * frown
    aus[:, col["AU25"]] = 0.85 * syllables + 0.2 * smile
    aus[:, col["AU26"]] = 0.6 * syllables
    aus += rng.normal(0.0, 0.015, size=aus.shape)
    attributes = signals.assemble(aus, valence + 0.3 * smile - 0.2 * frown, arousal + 0.2 * brow)

    times = np.arange(length) / FPS
    head = np.stack([
        0.06 * gaussian_filter1d(brow, 3) - 0.03 * gaussian_filter1d(syllables, 2),
        0.08 * np.sin(2 * np.pi * 0.11 * times + rng.uniform(0, 6)),
        0.05 * np.sin(2 * np.pi * 0.07 * times + rng.uniform(0, 6)),
    ], axis=1)
    audio = speech_audio(rng, syllables, speaking, attributes[:, schema.AROUSAL], script.base_f0)
    return Person(attributes, head.astype(np.float32), signals.blinks(rng, length, 0.25), audio, speaking)


def speech_audio(rng: np.random.Generator, syllables: np.ndarray, speaking: np.ndarray,
                 arousal: np.ndarray, base_f0: float) -> np.ndarray:
    """A voiced, vowel-like signal: syllable envelope x harmonics shaped by changing formants."""
    length = len(syllables)
    n = int(round(length * SR / FPS))
    frame_times = np.arange(length) / FPS
    times = np.arange(n) / SR
    envelope = np.interp(times, frame_times, syllables)
    loud = np.interp(times, frame_times, 0.55 + 0.35 * arousal)
    f0 = base_f0 * (1.0 + 0.18 * np.interp(times, frame_times, arousal) + 0.06 * np.sin(2 * np.pi * 0.4 * times))
    phase = 2 * np.pi * np.cumsum(f0) / SR
    # A new vowel about every syllable: formant pairs of /a/, /i/, /u/, /e/, /o/.
    vowels = np.array([[730, 1090], [270, 2290], [300, 870], [530, 1840], [570, 840]], dtype=float)
    choice = rng.integers(0, len(vowels), size=int(length / FPS * 6) + 2)
    formants = vowels[choice[(times * 6).astype(int)]]
    signal = np.zeros(n)
    for h in range(1, 13):
        freq = h * f0
        weight = (np.exp(-((freq - formants[:, 0]) / 180.0) ** 2)
                  + 0.6 * np.exp(-((freq - formants[:, 1]) / 250.0) ** 2) + 0.25 / h)
        signal += weight * np.sin(h * phase)
    signal *= envelope * loud
    signal += rng.normal(0.0, 0.004, size=n)  # room noise: silence is never digital zero
    return signals.normalise(signal)


@dataclass(frozen=True)
class ListenerTraits:
    """Person-specific reaction style: what makes each appropriate reaction different."""

    smile_delay: int  # frames between the speaker's smile and the listener's
    smile_gain: float
    valence_tau_s: float  # how fast valence drifts toward the speaker's
    valence_offset: float
    nod_probability: float  # at a speaker pause
    brow_probability: float
    backchannel_probability: float
    frown_sensitivity: float
    dimpler: float
    blink_rate: float

    @classmethod
    def draw(cls, rng: np.random.Generator) -> ListenerTraits:
        return cls(
            smile_delay=int(rng.integers(6, 25)),
            smile_gain=float(rng.uniform(0.5, 1.0)),
            valence_tau_s=float(rng.uniform(1.0, 4.0)),
            valence_offset=float(rng.uniform(-0.15, 0.2)),
            nod_probability=float(rng.uniform(0.3, 0.9)),
            brow_probability=float(rng.uniform(0.1, 0.6)),
            backchannel_probability=float(rng.uniform(0.1, 0.5)),
            frown_sensitivity=float(rng.uniform(0.3, 1.0)),
            dimpler=float(rng.uniform(0.0, 0.5)),
            blink_rate=float(rng.uniform(0.2, 0.45)),
        )


def listener_reaction(rng: np.random.Generator, speaker: Person, traits: ListenerTraits) -> Person:
    """A listener who reacts causally to the speaker with their own traits."""
    s = speaker.attributes
    length = len(s)
    col = signals.au_columns()
    delayed = signals.delay(s, traits.smile_delay)
    smile = traits.smile_gain * gaussian_filter1d(delayed[:, col["AU12"]], 4.0)
    smile += 0.1 * signals.bumps(rng, length, 0.03, (1.0, 2.0))

    # Valence relaxes toward the (delayed) speaker valence with the listener's time constant.
    alpha = 1.0 / (traits.valence_tau_s * FPS)
    target = delayed[:, schema.VALENCE] + traits.valence_offset
    valence = np.empty(length)
    value = target[0]
    for t in range(length):
        value += alpha * (target[t] - value)
        valence[t] = value
    arousal = 0.6 * gaussian_filter1d(delayed[:, schema.AROUSAL], 6.0) - 0.1

    # Reactions at the speaker's pauses: nods, brow raises, hummed backchannels.
    brow = np.zeros(length)
    nod = np.zeros(length)
    hum = np.zeros(length)
    for onset in signals.pause_onsets(speaker.speaking):
        start = onset + int(rng.integers(3, 10))
        if rng.random() < traits.nod_probability:
            signals.add_bump(nod, start, rng.uniform(0.5, 0.9) * FPS, rng.uniform(0.6, 1.0))
        if rng.random() < traits.brow_probability:
            signals.add_bump(brow, start, rng.uniform(0.4, 0.8) * FPS, rng.uniform(0.5, 0.9))
        if rng.random() < traits.backchannel_probability:
            signals.add_bump(hum, start + 2, 0.35 * FPS, 1.0)

    frown = traits.frown_sensitivity * gaussian_filter1d(delayed[:, col["AU4"]], 3.0)
    aus = np.zeros((length, 15))
    aus[:, col["AU1"]] = 0.8 * brow + 0.2 * delayed[:, col["AU1"]]
    aus[:, col["AU2"]] = 0.6 * brow
    aus[:, col["AU4"]] = 0.7 * frown + 0.4 * np.clip(-valence, 0, 1) * traits.frown_sensitivity
    aus[:, col["AU6"]] = 0.8 * smile
    aus[:, col["AU7"]] = 0.2 * frown + 0.15 * smile
    aus[:, col["AU12"]] = smile
    aus[:, col["AU14"]] = traits.dimpler * smile
    aus[:, col["AU15"]] = 0.5 * np.clip(-valence, 0, 1)
    aus[:, col["AU17"]] = 0.4 * hum + 0.2 * frown
    aus[:, col["AU24"]] = 0.3 * hum + 0.2 * frown
    aus[:, col["AU25"]] = 0.25 * np.clip(smile - 0.3, 0, 1)
    aus[:, col["AU26"]] = 0.1 * np.clip(smile - 0.5, 0, 1)
    aus += rng.normal(0.0, 0.015, size=aus.shape)
    attributes = signals.assemble(aus, valence + 0.25 * smile, arousal + 0.2 * brow + 0.1 * nod)

    times = np.arange(length) / FPS
    # A nod is a down-up-down head pitch oscillation inside the bump.
    pitch = 0.18 * nod * np.sin(2 * np.pi * 2.2 * times)
    head = np.stack([
        pitch,
        0.05 * np.sin(2 * np.pi * 0.09 * times + rng.uniform(0, 6)),
        0.04 * smile + 0.03 * np.sin(2 * np.pi * 0.05 * times + rng.uniform(0, 6)),
    ], axis=1)
    audio = hum_audio(rng, hum, length)
    return Person(attributes, head.astype(np.float32), signals.blinks(rng, length, traits.blink_rate), audio,
                  (hum > 0.1).astype(float))


def hum_audio(rng: np.random.Generator, hum: np.ndarray, length: int) -> np.ndarray:
    """Closed-mouth "mm-hm" backchannels: low hums on a quiet noise floor."""
    n = int(round(length * SR / FPS))
    times = np.arange(n) / SR
    envelope = np.interp(times, np.arange(length) / FPS, hum)
    f0 = rng.uniform(90.0, 200.0) * (1.0 + 0.1 * np.sin(2 * np.pi * 3.0 * times))
    phase = 2 * np.pi * np.cumsum(f0) / SR
    signal = envelope * (np.sin(phase) + 0.3 * np.sin(2 * phase) + 0.1 * np.sin(3 * phase))
    signal += rng.normal(0.0, 0.004, size=n)
    return signals.normalise(signal, peak=0.35)
