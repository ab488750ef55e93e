"""Synthetic dyadic conversations written in exactly the MARS layout (the people and the laws they follow are
the package `react_ros.data.synthetic`; the families are named in `react_ros.data.families`).

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

That is the `default` family (`react_ros.data.synthetic.people`); `react_ros.data.families` holds the others (listeners that only mirror, that
only answer pauses, that carry their own affect, ...), chosen with `SynthConfig.family`.

Everything is drawn from `numpy.random.default_rng((seed, session, clip, ...))`, so a seed gives
byte-identical attribute files. Videos are rendered with the project's face renderer.
"""
from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from pathlib import Path

import numpy as np
from tqdm import tqdm

from react_ros import schema
from react_ros.data import layout
from react_ros.data.families import family
from react_ros.data.synthetic.people import Person, Script, make_script
from react_ros.data.synthetic.signals import FPS, SR


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
