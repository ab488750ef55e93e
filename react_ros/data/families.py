"""Families of synthetic dyadic behaviour (`react-ros data synth --family NAME`, docs/families.md).

The recipe must learn listeners it was not designed on, so the synthetic data comes in families whose
listeners follow different laws. Every family keeps the session structure of `react_ros.data.synthetic.people`
(one speaker script per session, replayed per clip with its own timing; one listener with person-specific
traits per clip), so the appropriate reactions of an input stay genuinely multiple. `default` is the
original generator and writes byte-identical files for a seed. Each law is one small function in
`react_ros.data.synthetic.laws` (imported only when data is made, so the command line stays fast), stated
here in a sentence or two and pinned by a test in test/test_families.py. None is tuned to the model.
"""
from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

SUMMARIES: dict[str, str] = {
    "default": "The original generator: listeners mirror the speaker's smile after their own delay, drift toward "
               "the speaker's valence, and nod, raise their brows or hum at the speaker's pauses.",
    "mirror": "Listeners mirror every expression channel (the AUs but the speech mouth, valence, arousal) after a "
              "person-specific delay of 4-30 frames and with their own gain; nothing else.",
    "backchannel": "Listeners do not mirror: they answer the speaker's pauses, after their own latency, with nods, "
                   "brow raises and lip parts (each with a person-specific probability) and rest in between.",
    "affect": "Listeners carry their own affect: valence around a person-specific bias (-0.6..0.6) that drives "
              "their own smiles and frowns; the speaker pulls it only weakly and is mirrored only faintly.",
    "partial": "Listeners copy only some channels (3-7 of: the AUs but the speech mouth, valence, arousal; chosen "
               "per person) after their own delay; their other channels are their own, blind to the speaker.",
    "lookaway": "Listeners mirror as in `mirror` but now and then (every 6-15 s on average, for 1-3 s) look away: "
                "the head turns aside and the face rests, ignoring the speaker.",
    "dialogue": "Speakers react to the listener too: the listener mirrors the speaker after their delay and at "
                "times smiles on their own; the speaker smiles back at the listener's smiles 8-24 frames later.",
}


@dataclass(frozen=True)
class Family:
    name: str
    summary: str  # what a listener (or speaker) of this family does
    pair: Callable  # (rng, session script, frames) -> (speaker Person, listener Person)


def family(name: str) -> Family:
    """The family called `name`; a clear error naming the known ones otherwise."""
    if name not in SUMMARIES:
        raise ValueError(f"unknown family {name!r}; known: {', '.join(SUMMARIES)}")
    from react_ros.data.synthetic.laws import PAIRS  # noqa: PLC0415 (numpy/scipy only when data is made)

    return Family(name, SUMMARIES[name], PAIRS[name])
