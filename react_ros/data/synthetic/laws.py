"""The listener laws of the synthetic families (see `react_ros.data.families` for what each one does).

The recipe must learn listeners it was not designed on, so the synthetic data comes in families whose
listeners follow different laws. Every family keeps the session structure of `react_ros.data.synthetic.people`
(one speaker script per session, replayed per clip with its own timing; one listener with person-specific
traits per clip), so the appropriate reactions of an input stay genuinely multiple. `default` is the
original generator and writes byte-identical files for a seed. Each law is written down in its
`Family.summary` (also in `react-ros data synth --help` and docs/families.md) and pinned by a test in
test/test_families.py. None is tuned to the model.
"""
from __future__ import annotations

from collections.abc import Callable

import numpy as np
from scipy.ndimage import gaussian_filter1d

from react_ros import schema
from react_ros.data.synthetic import signals
from react_ros.data.synthetic.people import (
    ListenerTraits,
    Person,
    Script,
    hum_audio,
    listener_reaction,
    speaker_from_script,
)
from react_ros.data.synthetic.signals import FPS

COL = signals.au_columns()
SPEECH_MOUTH = ("AU25", "AU26")  # the speaker's syllables: a listener who mirrors a face does not mouth words
MIRRORED_AUS = tuple(name for name in schema.AU_NAMES if name not in SPEECH_MOUTH)
_SMOOTH = 2.0  # frames (Gaussian sigma): mirrored channels are slightly smoother than the speaker's


# ----------------------------------------------------------------------------- shared pieces

def _listener_person(rng: np.random.Generator, aus: np.ndarray, valence: np.ndarray, arousal: np.ndarray,
                     nod: np.ndarray | None = None, hum: np.ndarray | None = None, yaw: np.ndarray | None = None,
                     events: dict[str, np.ndarray] | None = None) -> Person:
    """Attributes from AUs and affect, plus what the video and wav need: head pose (nods as pitch), blinks, hums."""
    length = len(valence)
    nod = np.zeros(length) if nod is None else nod
    hum = np.zeros(length) if hum is None else hum
    aus = aus + rng.normal(0.0, 0.015, size=aus.shape)
    attributes = signals.assemble(aus, valence, arousal)
    times = np.arange(length) / FPS
    head = np.stack([
        0.18 * nod * np.sin(2 * np.pi * 2.2 * times),
        0.05 * np.sin(2 * np.pi * 0.09 * times + rng.uniform(0, 6)) + (0.0 if yaw is None else yaw),
        0.03 * np.sin(2 * np.pi * 0.05 * times + rng.uniform(0, 6)),
    ], axis=1)
    person = Person(attributes, head.astype(np.float32), signals.blinks(rng, length, rng.uniform(0.2, 0.45)),
                    hum_audio(rng, hum, length), (hum > 0.1).astype(float))
    person.events.update(events or {})
    return person


def _mirrored(speaker: np.ndarray, delay: int, gain: float) -> np.ndarray:
    """The speaker's (L, 25) attributes `delay` frames later, scaled by `gain` and slightly smoothed."""
    return gain * gaussian_filter1d(signals.delay(speaker, delay).astype(np.float64), _SMOOTH, axis=0)


def _mirror_channels(speaker: np.ndarray, delay: int, gain: float) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """(AUs (L, 15), valence, arousal) of a listener who mirrors every channel but the speech mouth."""
    copy = _mirrored(speaker, delay, gain)
    aus = np.zeros((len(speaker), len(schema.AU_NAMES)))
    for name in MIRRORED_AUS:
        aus[:, COL[name]] = copy[:, COL[name]]
    return aus, copy[:, schema.VALENCE], copy[:, schema.AROUSAL]


def _scripted(law: Callable[[np.random.Generator, Person], Person]):
    """A family whose speaker is the session script (as in `default`) and whose listener follows `law`."""
    def pair(rng: np.random.Generator, script: Script, length: int) -> tuple[Person, Person]:
        speaker = speaker_from_script(rng, script, length)
        return speaker, law(rng, speaker)
    return pair


# ----------------------------------------------------------------------------- the laws

def default_pair(rng: np.random.Generator, script: Script, length: int) -> tuple[Person, Person]:
    """The original generator, draw for draw (the default family's files must not change)."""
    speaker = speaker_from_script(rng, script, length)
    return speaker, listener_reaction(rng, speaker, ListenerTraits.draw(rng))


def mirror_listener(rng: np.random.Generator, speaker: Person, delay: int | None = None,
                    gain: float | None = None) -> Person:
    delay = int(rng.integers(4, 31)) if delay is None else delay
    gain = float(rng.uniform(0.6, 1.0)) if gain is None else gain
    aus, valence, arousal = _mirror_channels(speaker.attributes, delay, gain)
    return _listener_person(rng, aus, valence, arousal, events={"delay": np.array([delay])})


def backchannel_listener(rng: np.random.Generator, speaker: Person) -> Person:
    length = len(speaker.attributes)
    nod_p, brow_p, lip_p = rng.uniform(0.4, 0.9), rng.uniform(0.2, 0.7), rng.uniform(0.2, 0.7)
    latency = int(rng.integers(3, 12))
    nod, brow, lip, hum = (np.zeros(length) for _ in range(4))
    for onset in signals.pause_onsets(speaker.speaking):
        start = onset + latency + int(rng.integers(0, 5))
        if rng.random() < nod_p:
            signals.add_bump(nod, start, rng.uniform(0.5, 0.9) * FPS, rng.uniform(0.6, 1.0))
            if rng.random() < 0.4:
                signals.add_bump(hum, start + 2, 0.35 * FPS, 1.0)
        if rng.random() < brow_p:
            signals.add_bump(brow, start, rng.uniform(0.4, 0.8) * FPS, rng.uniform(0.5, 0.9))
        if rng.random() < lip_p:
            signals.add_bump(lip, start, rng.uniform(0.3, 0.6) * FPS, rng.uniform(0.4, 0.8))
    aus = np.zeros((length, len(schema.AU_NAMES)))
    aus[:, COL["AU1"]] = 0.8 * brow
    aus[:, COL["AU2"]] = 0.6 * brow
    aus[:, COL["AU6"]] = 0.15 * nod
    aus[:, COL["AU12"]] = 0.25 * nod
    aus[:, COL["AU17"]] = 0.3 * hum
    aus[:, COL["AU25"]] = 0.7 * lip
    aus[:, COL["AU26"]] = 0.35 * lip
    valence = rng.uniform(-0.1, 0.3) + 0.15 * nod + signals.ou(rng, length, tau_s=8.0, scale=0.08)
    arousal = -0.1 + 0.3 * nod + 0.2 * brow
    return _listener_person(rng, aus, valence, arousal, nod=nod, hum=hum,
                            events={"nod": nod, "brow": brow, "lip": lip})


def affect_listener(rng: np.random.Generator, speaker: Person, bias: float | None = None) -> Person:
    s = speaker.attributes
    length = len(s)
    bias = float(rng.uniform(-0.6, 0.6)) if bias is None else bias
    coupling, mirror_gain, delay = rng.uniform(0.1, 0.3), rng.uniform(0.2, 0.4), int(rng.integers(6, 25))
    delayed = signals.delay(s, delay)
    own = np.tanh(bias + signals.ou(rng, length, tau_s=rng.uniform(3.0, 8.0), scale=0.25)
                  + coupling * delayed[:, schema.VALENCE])
    smile = np.clip(signals.bumps(rng, length, 0.15, (1.0, 3.0), weight=np.clip(0.3 + own, 0.0, 1.0))
                    + mirror_gain * gaussian_filter1d(delayed[:, COL["AU12"]], _SMOOTH), 0.0, 1.0)
    frown = signals.bumps(rng, length, 0.1, (1.0, 2.5), weight=np.clip(-own, 0.0, 1.0))
    aus = np.zeros((length, len(schema.AU_NAMES)))
    aus[:, COL["AU4"]] = 0.8 * frown
    aus[:, COL["AU6"]] = 0.7 * smile
    aus[:, COL["AU12"]] = smile
    aus[:, COL["AU15"]] = 0.5 * np.clip(-own, 0.0, 1.0)
    aus[:, COL["AU23"]] = 0.3 * frown
    arousal = 0.4 * np.abs(own) - 0.1 + signals.ou(rng, length, tau_s=4.0, scale=0.1)
    return _listener_person(rng, aus, own + 0.2 * smile - 0.2 * frown, arousal,
                            events={"bias": np.array([bias])})


PARTIAL_CHANNELS = MIRRORED_AUS + ("valence", "arousal")


def partial_listener(rng: np.random.Generator, speaker: Person, copied: tuple[str, ...] | None = None) -> Person:
    s = speaker.attributes
    length = len(s)
    if copied is None:
        count = int(rng.integers(3, 8))
        copied = tuple(PARTIAL_CHANNELS[i] for i in np.sort(rng.choice(len(PARTIAL_CHANNELS), count, replace=False)))
    copy = _mirrored(s, int(rng.integers(4, 31)), rng.uniform(0.7, 1.0))
    aus = np.zeros((length, len(schema.AU_NAMES)))
    for name in schema.AU_NAMES:  # uncopied AUs: the listener's own occasional events, blind to the speaker
        aus[:, COL[name]] = copy[:, COL[name]] if name in copied else \
            rng.uniform(0.3, 0.6) * signals.bumps(rng, length, 0.08, (0.5, 2.0))
    valence = copy[:, schema.VALENCE] if "valence" in copied else np.tanh(signals.ou(rng, length, 5.0, 0.3, 0.1))
    arousal = copy[:, schema.AROUSAL] if "arousal" in copied else np.tanh(signals.ou(rng, length, 4.0, 0.2))
    return _listener_person(rng, aus, valence, arousal, events={"copied": np.array(copied)})


def lookaway_listener(rng: np.random.Generator, speaker: Person) -> Person:
    length = len(speaker.attributes)
    aus, valence, arousal = _mirror_channels(speaker.attributes, int(rng.integers(4, 31)), rng.uniform(0.6, 1.0))
    away = np.zeros(length)
    t = int(rng.uniform(1.0, 8.0) * FPS)
    rate_s = rng.uniform(6.0, 15.0)  # mean seconds between glances away
    while t < length:
        stop = min(t + int(rng.uniform(1.0, 3.0) * FPS), length)
        away[t:stop] = 1.0
        t = stop + int((rng.exponential(rate_s) + 1.0) * FPS)
    away = np.clip(gaussian_filter1d(away, 3.0), 0.0, 1.0)  # ~0.2 s to turn away and back
    attend = 1.0 - away
    yaw = 0.6 * away * (1.0 if rng.random() < 0.5 else -1.0)
    return _listener_person(rng, aus * attend[:, None], valence * attend, arousal * attend - 0.1 * away, yaw=yaw,
                            events={"away": away})


def dialogue_pair(rng: np.random.Generator, script: Script, length: int, reply_gain: float | None = None
                  ) -> tuple[Person, Person]:
    """Frame by frame, both ways: the listener mirrors the speaker's smile after their delay and smiles on
    their own at times; the speaker smiles back at the listener's smile after their own delay."""
    speaker = speaker_from_script(rng, script, length)
    s = speaker.attributes
    listen_delay, listen_gain = int(rng.integers(4, 31)), rng.uniform(0.6, 1.0)
    reply_delay = int(rng.integers(8, 25))
    reply_gain = float(rng.uniform(0.4, 0.8)) if reply_gain is None else reply_gain
    own = signals.bumps(rng, length, 0.08, (1.0, 2.5))
    script_smile = s[:, COL["AU12"]].astype(np.float64)
    speaker_smile, listener_smile = script_smile.copy(), np.zeros(length)
    for t in range(length):
        heard = speaker_smile[t - listen_delay] if t >= listen_delay else speaker_smile[0]
        listener_smile[t] = min(1.0, listen_gain * heard + own[t])
        if t >= reply_delay:
            speaker_smile[t] = min(1.0, script_smile[t] + reply_gain * listener_smile[t - reply_delay])
    extra = speaker_smile - script_smile
    aus = s[:, schema.AU].astype(np.float64)
    aus[:, COL["AU12"]] += extra
    aus[:, COL["AU6"]] += 0.7 * extra
    speaker.attributes = signals.assemble(aus, s[:, schema.VALENCE] + 0.3 * extra, s[:, schema.AROUSAL])
    speaker.events["reply"] = extra
    aus, valence, arousal = _mirror_channels(speaker.attributes, listen_delay, listen_gain)
    aus[:, COL["AU12"]] = gaussian_filter1d(listener_smile, 1.0)
    aus[:, COL["AU6"]] = 0.7 * aus[:, COL["AU12"]]
    listener = _listener_person(rng, aus, valence, arousal,
                                events={"own_smile": own, "reply_delay": np.array([reply_delay])})
    return speaker, listener


PAIRS: dict[str, Callable[[np.random.Generator, Script, int], tuple[Person, Person]]] = {
    "default": default_pair,
    "mirror": _scripted(mirror_listener),
    "backchannel": _scripted(backchannel_listener),
    "affect": _scripted(affect_listener),
    "partial": _scripted(partial_listener),
    "lookaway": _scripted(lookaway_listener),
    "dialogue": dialogue_pair,
}
