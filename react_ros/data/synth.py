"""Synthetic dyadic conversations written in exactly the MARS layout.

No real data can be shipped, so tests, the demo and the demo model use conversations generated here.
They are built to be *learnable* and *genuinely multiple*:

- A session has one speaker "script" (turns with pauses, slow affect, smiles, brow emphasis, frowns).
  Each clip of the session replays that script with small timing and amplitude variations, so the
  speaker inputs of one session are alike and the other listeners' reactions are appropriate too.
- Each clip has its own listener with person-specific traits: the delay and gain with which they
  mirror the speaker's smile, how fast their valence drifts toward the speaker's, how often they nod
  or raise their brows at the speaker's pauses, how they blink and hum backchannels.
- Speaker audio is a voiced, speech-like signal whose syllables drive the mouth (AU25/AU26) and whose
  pitch and loudness carry the arousal; listeners hum short "mm-hm"s at some pauses.

That is the `default` family; `react_ros.data.families` holds the others (listeners that only mirror, that
only answer pauses, that carry their own affect, ...), chosen with `SynthConfig.family`.

Everything is drawn from `numpy.random.default_rng((seed, session, clip, ...))`, so a seed gives
byte-identical attribute files. Videos are rendered with the project's face renderer.
"""
from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
from scipy.ndimage import gaussian_filter1d
from tqdm import tqdm

from react_ros import schema
from react_ros.data import layout
from react_ros.data.expressions import expression_probabilities

FPS = schema.FPS
SR = schema.AUDIO_SAMPLE_RATE


@dataclass(frozen=True)
class SynthConfig:
    out: Path
    sessions: int = 4
    clips_per_session: int = 3  # listeners per session: the appropriate reactions of an input
    min_seconds: float = 20.0
    max_seconds: float = 30.0
    split_fractions: tuple[float, float, float] = (0.6, 0.2, 0.2)  # train, val, test
    video: bool = True
    video_splits: tuple[str, ...] | None = None  # render videos only for these splits (None: every split)
    video_size: int = 128
    coefficients: bool = True
    seed: int = 0
    family: str = "default"  # the listeners' law, see react_ros.data.families


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


# ----------------------------------------------------------------------------- helpers

def _bumps(rng: np.random.Generator, length: int, rate_per_s: float, width_s: tuple[float, float],
           weight: np.ndarray | None = None) -> np.ndarray:
    """Smooth 0..1 events at random times (a Poisson process, optionally thinned by `weight`)."""
    out = np.zeros(length)
    count = rng.poisson(rate_per_s * length / FPS)
    for start in rng.integers(0, length, size=count):
        if weight is not None and rng.random() > weight[start]:
            continue
        _add_bump(out, int(start), rng.uniform(*width_s) * FPS, rng.uniform(0.5, 1.0))
    return np.clip(out, 0.0, 1.0)


def _add_bump(signal: np.ndarray, start: int, width_frames: float, amplitude: float) -> None:
    """Add a raised-cosine bump (attack, hold, release) starting at `start`."""
    width = max(int(width_frames), 3)
    end = min(start + width, len(signal))
    if end <= start:
        return
    phase = np.linspace(0.0, np.pi, width)[: end - start]
    signal[start:end] = np.maximum(signal[start:end], amplitude * np.sin(phase) ** 0.7)


def _ou(rng: np.random.Generator, length: int, tau_s: float, scale: float, mean: float = 0.0) -> np.ndarray:
    """A slow Ornstein-Uhlenbeck drift (affect that changes over seconds)."""
    alpha = 1.0 / (tau_s * FPS)
    noise = rng.normal(0.0, scale * np.sqrt(2 * alpha), size=length)
    out = np.empty(length)
    value = mean + rng.normal(0.0, scale)
    for t in range(length):
        value += alpha * (mean - value) + noise[t]
        out[t] = value
    return out


def _delay(signal: np.ndarray, frames: int) -> np.ndarray:
    """signal(t - frames), holding the first value: a causal reaction delay."""
    if frames <= 0:
        return signal.copy()
    return np.concatenate([np.repeat(signal[:1], frames, axis=0), signal[:-frames]], axis=0)


def _shift(signal: np.ndarray, frames: int) -> np.ndarray:
    """Shift either way, holding the edge value (per-clip timing jitter of the script)."""
    if frames >= 0:
        return _delay(signal, frames)
    return np.concatenate([signal[-frames:], np.repeat(signal[-1:], -frames, axis=0)], axis=0)


def _pause_onsets(speaking: np.ndarray) -> np.ndarray:
    return np.flatnonzero((speaking[:-1] > 0.5) & (speaking[1:] <= 0.5)) + 1


def _assemble(aus: np.ndarray, valence: np.ndarray, arousal: np.ndarray) -> np.ndarray:
    aus = np.clip(aus, 0.0, 1.0)
    valence = np.clip(valence, -1.0, 1.0)
    arousal = np.clip(arousal, -1.0, 1.0)
    frames = np.zeros((len(valence), schema.REACTION_DIM), dtype=np.float32)
    frames[:, schema.AU] = aus
    frames[:, schema.VALENCE] = valence
    frames[:, schema.AROUSAL] = arousal
    frames[:, schema.EXPRESSION] = expression_probabilities(aus, valence, arousal)
    return frames


def _au_columns() -> dict[str, int]:
    return {name: i for i, name in enumerate(schema.AU_NAMES)}


# ----------------------------------------------------------------------------- speaker

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
    valence = np.tanh(_ou(rng, length, tau_s=6.0, scale=0.45, mean=rng.uniform(-0.2, 0.4)))
    arousal = np.tanh(_ou(rng, length, tau_s=4.0, scale=0.3, mean=0.1) + 0.3 * gaussian_filter1d(speaking, 8))
    smile = _bumps(rng, length, 0.2, (1.0, 3.0), weight=np.clip(0.6 + valence, 0.2, 1.0))
    brow = _bumps(rng, length, 0.25, (0.4, 1.0), weight=np.clip(speaking + 0.1, 0.0, 1.0))
    frown = _bumps(rng, length, 0.06, (1.0, 2.5), weight=np.clip(0.3 - valence, 0.05, 1.0))
    return Script(speaking, syllables, valence, arousal, smile, brow, frown, rate, rng.uniform(100.0, 220.0))


def speaker_from_script(rng: np.random.Generator, script: Script, length: int) -> Person:
    """One clip's speaker: the session script with small timing and amplitude changes."""
    jitter = int(rng.integers(-6, 7))

    def vary(signal: np.ndarray, amount: float = 0.15) -> np.ndarray:
        return _shift(signal, jitter)[:length] * (1.0 + rng.normal(0.0, amount))

    speaking = _shift(script.speaking, jitter)[:length]
    syllables = _shift(script.syllables, jitter)[:length]
    valence = vary(script.valence, 0.1) + rng.normal(0, 0.05)
    arousal = vary(script.arousal, 0.1)
    smile, brow, frown = vary(script.smile), vary(script.brow), vary(script.frown)
    col = _au_columns()
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
    aus[:, col["AU17"]] = 0.3 * _bumps(rng, length, 0.05, (0.5, 1.5))
    aus[:, col["AU23"]] = 0.3 * frown
    aus[:, col["AU24"]] = 0.25 * frown
    aus[:, col["AU25"]] = 0.85 * syllables + 0.2 * smile
    aus[:, col["AU26"]] = 0.6 * syllables
    aus += rng.normal(0.0, 0.015, size=aus.shape)
    attributes = _assemble(aus, valence + 0.3 * smile - 0.2 * frown, arousal + 0.2 * brow)

    times = np.arange(length) / FPS
    head = np.stack([
        0.06 * gaussian_filter1d(brow, 3) - 0.03 * gaussian_filter1d(syllables, 2),
        0.08 * np.sin(2 * np.pi * 0.11 * times + rng.uniform(0, 6)),
        0.05 * np.sin(2 * np.pi * 0.07 * times + rng.uniform(0, 6)),
    ], axis=1)
    audio = speech_audio(rng, syllables, speaking, attributes[:, schema.AROUSAL], script.base_f0)
    return Person(attributes, head.astype(np.float32), _blinks(rng, length, 0.25), audio, speaking)


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
    return _normalise(signal)


def _normalise(signal: np.ndarray, peak: float = 0.6) -> np.ndarray:
    top = np.abs(signal).max()
    return (signal * (peak / top) if top > 0 else signal).astype(np.float32)


def _blinks(rng: np.random.Generator, length: int, rate_per_s: float) -> np.ndarray:
    blink = np.zeros(length)
    for start in np.sort(rng.integers(0, length, size=rng.poisson(rate_per_s * length / FPS))):
        _add_bump(blink, int(start), 6, 1.0)
    return blink.astype(np.float32)


# ----------------------------------------------------------------------------- listener

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
    col = _au_columns()
    delayed = _delay(s, traits.smile_delay)
    smile = traits.smile_gain * gaussian_filter1d(delayed[:, col["AU12"]], 4.0)
    smile += 0.1 * _bumps(rng, length, 0.03, (1.0, 2.0))

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
    for onset in _pause_onsets(speaker.speaking):
        start = onset + int(rng.integers(3, 10))
        if rng.random() < traits.nod_probability:
            _add_bump(nod, start, rng.uniform(0.5, 0.9) * FPS, rng.uniform(0.6, 1.0))
        if rng.random() < traits.brow_probability:
            _add_bump(brow, start, rng.uniform(0.4, 0.8) * FPS, rng.uniform(0.5, 0.9))
        if rng.random() < traits.backchannel_probability:
            _add_bump(hum, start + 2, 0.35 * FPS, 1.0)

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
    attributes = _assemble(aus, valence + 0.25 * smile, arousal + 0.2 * brow + 0.1 * nod)

    times = np.arange(length) / FPS
    # A nod is a down-up-down head pitch oscillation inside the bump.
    pitch = 0.18 * nod * np.sin(2 * np.pi * 2.2 * times)
    head = np.stack([
        pitch,
        0.05 * np.sin(2 * np.pi * 0.09 * times + rng.uniform(0, 6)),
        0.04 * smile + 0.03 * np.sin(2 * np.pi * 0.05 * times + rng.uniform(0, 6)),
    ], axis=1)
    audio = hum_audio(rng, hum, length)
    return Person(attributes, head.astype(np.float32), _blinks(rng, length, traits.blink_rate), audio,
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
    return _normalise(signal, peak=0.35)


# ----------------------------------------------------------------------------- files

def assign_splits(sessions: int, fractions: tuple[float, float, float]) -> list[str]:
    """Session index -> split; every split gets at least one session when there are three or more."""
    if sessions < 1:
        raise ValueError("need at least one session")
    n_test = max(1, round(sessions * fractions[2])) if sessions >= 3 else 0
    n_val = max(1, round(sessions * fractions[1])) if sessions >= 3 else 0
    n_train = sessions - n_test - n_val
    return ["train"] * n_train + ["val"] * n_val + ["test"] * n_test


def clip_name(session: int, clip: int, seconds: float) -> str:
    """A MARS-style clip name, unique per session: Camera-YYYY-MM-DD-HHMMSS-HHMMSS."""
    start = dt.datetime(2024, 1, 1, 9) + dt.timedelta(days=session, minutes=3 * clip)
    end = start + dt.timedelta(seconds=int(np.ceil(seconds)))
    return f"Camera-{start:%Y-%m-%d-%H%M%S}-{end:%H%M%S}"


def coefficients_from(person: Person) -> np.ndarray:
    """A 58-d 3DMM-like vector: a fixed linear map of the AUs, then head rotation and translation."""
    basis = np.random.default_rng(12345).normal(0.0, 0.5, size=(15, 52))
    coeffs = np.zeros((len(person.attributes), schema.COEFFS_3DMM_DIM), dtype=np.float32)
    coeffs[:, schema.COEFFS_EXPRESSION] = person.attributes[:, schema.AU] @ basis
    coeffs[:, schema.COEFFS_ROTATION] = person.head_pose
    coeffs[:, schema.COEFFS_TRANSLATION] = 0.0
    return coeffs


def write_person(root: Path, clip: layout.ClipId, person: Person, config: SynthConfig, renderer) -> None:
    from react_ros.data.audio_io import write_wav  # noqa: PLC0415 (keeps imports light for library users)

    paths = {m: clip.path(root, m) for m in (layout.ATTRIBUTES, layout.AUDIO, layout.VIDEO, layout.COEFFICIENTS)}
    for path in paths.values():
        path.parent.mkdir(parents=True, exist_ok=True)
    np.save(paths[layout.ATTRIBUTES], person.attributes.astype(np.float32))
    if config.coefficients:
        np.save(paths[layout.COEFFICIENTS], coefficients_from(person))
    write_wav(paths[layout.AUDIO], person.audio, SR)
    if config.video and renderer is not None:
        from react_ros.face.video import write_video  # noqa: PLC0415

        frames = renderer.render_sequence(person.attributes, head_poses=person.head_pose, blinks=person.blink)
        write_video(paths[layout.VIDEO], frames, fps=FPS)


def generate(config: SynthConfig, progress: bool = True) -> list[layout.ClipId]:
    """Write the whole synthetic data set; returns the listener ClipIds written."""
    from react_ros.data.families import family  # noqa: PLC0415 (families builds on this module)

    pair = family(config.family).pair
    root = Path(config.out)
    renderer = None
    if config.video:
        from react_ros.face.renderer import FaceRenderer  # noqa: PLC0415

        renderer = FaceRenderer(size=config.video_size)
    splits = assign_splits(config.sessions, config.split_fractions)
    written = []
    jobs = [(s, c) for s in range(config.sessions) for c in range(config.clips_per_session)]
    max_frames = int(config.max_seconds * FPS)
    scripts: dict[int, Script] = {}
    for session, clip in tqdm(jobs, desc="synth clips", disable=not progress, unit="clip"):
        if session not in scripts:
            scripts[session] = make_script(np.random.default_rng((config.seed, session)), max_frames)
        rng = np.random.default_rng((config.seed, session, clip))
        length = int(rng.uniform(config.min_seconds, config.max_seconds) * FPS)
        speaker, listener = pair(rng, scripts[session], length)
        name = clip_name(session, clip, length / FPS)
        split, session_dir = splits[session], f"session{session}"
        render = renderer if config.video_splits is None or split in config.video_splits else None
        for role, person in (("speaker", speaker), ("listener", listener)):
            clip_id = layout.ClipId(split, role, session_dir, name)
            write_person(root, clip_id, person, config, render)
        written.append(layout.ClipId(split, "listener", session_dir, name))
    return written
