"""The dyadic pairs of a MARS-layout split and the inputs they make: `scan` finds the pairs (the same clip name
under speaker/ and listener/ of a session), every recording is an input in both directions (`Sample`), and
an input's appropriate reactions are its partner's plus the target-role reactions of the other pairs of the
session (`appropriate_reactions`, `ground_truth_ids`)."""
from __future__ import annotations

import re
import warnings
import zlib
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from enum import Enum
from pathlib import Path

import numpy as np

from react_ros.data import layout
from react_ros.data.layout import ClipId

# User-facing modality names -> layout directories (the directory names are accepted too)
MODALITIES = {
    "attributes": layout.ATTRIBUTES,
    "audio": layout.AUDIO,
    "video": layout.VIDEO,
    "coefficients": layout.COEFFICIENTS,
}

LAYOUT_HINT = (
    "<root>/<split>/{facial-attributes,audio,video-face-crop[,coefficients]}/{speaker,listener}/session<N>/"
    "<clip>.{npy,wav,mp4}; the same <clip> name under speaker/ and listener/ of a session is one dyadic pair"
)


class DatasetError(ValueError):
    """A data set file that is missing, unreadable or inconsistent; the message names the file."""


def _natural_key(text: str) -> tuple:
    """session2 before session10."""
    return tuple(int(part) if part.isdigit() else part for part in re.split(r"(\d+)", text))


@dataclass(frozen=True)
class Pair:
    """One dyadic recording: the same clip name under speaker/ and listener/ of a session."""

    split: str
    session: str
    clip: str

    def clip_id(self, role: str) -> ClipId:
        return ClipId(self.split, role, self.session, self.clip)

    @property
    def speaker(self) -> ClipId:
        return self.clip_id("speaker")

    @property
    def listener(self) -> ClipId:
        return self.clip_id("listener")

    def __str__(self) -> str:
        return f"{self.split}/{self.session}/{self.clip}"


class PairList(list[Pair]):
    """`scan`'s result: the pairs, plus the problems of the clips skipped with strict=False."""

    def __init__(self, pairs: Iterable[Pair] = (), problems: Iterable[str] = ()):
        super().__init__(pairs)
        self.problems: list[str] = list(problems)


class Direction(str, Enum):
    SPEAKER_TO_LISTENER = "speaker->listener"
    LISTENER_TO_SPEAKER = "listener->speaker"

    @property
    def input_role(self) -> str:
        return self.value.split("->")[0]

    @property
    def target_role(self) -> str:
        return self.value.split("->")[1]

    @classmethod
    def of_input(cls, role: str) -> Direction:
        return cls.SPEAKER_TO_LISTENER if role == "speaker" else cls.LISTENER_TO_SPEAKER


def parse_directions(directions: str | Direction | Sequence[str | Direction]) -> tuple[Direction, ...]:
    """"both", one direction ("speaker->listener" / "listener->speaker") or a sequence of them."""
    if isinstance(directions, str) and not isinstance(directions, Direction):
        if directions == "both":
            return (Direction.SPEAKER_TO_LISTENER, Direction.LISTENER_TO_SPEAKER)
        directions = [directions]
    elif isinstance(directions, Direction):
        directions = [directions]
    out = []
    for d in directions:
        try:
            out.append(Direction(d))
        except ValueError:
            raise ValueError(f"unknown direction {d!r}: use 'both', 'speaker->listener' or 'listener->speaker'") \
                from None
    if not out:
        raise ValueError("no direction given")
    return tuple(dict.fromkeys(out))


@dataclass(frozen=True)
class Sample:
    """An input recording (the person whose behaviour is the input); the target is the partner's reaction."""

    input: ClipId

    @property
    def target(self) -> ClipId:
        return self.input.partner()

    @property
    def direction(self) -> Direction:
        return Direction.of_input(self.input.role)

    @property
    def pair(self) -> Pair:
        return Pair(self.input.split, self.input.session, self.input.clip)

    def __str__(self) -> str:
        return str(self.input)


def make_samples(pairs: Iterable[Pair], directions: str | Sequence[str] = "both") -> list[Sample]:
    """Every pair as an input in each requested direction (pair by pair, speaker->listener first)."""
    chosen = parse_directions(directions)
    return [Sample(pair.clip_id(d.input_role)) for pair in pairs for d in chosen]


def modality_dir(name: str) -> str:
    if name in MODALITIES:
        return MODALITIES[name]
    if name in MODALITIES.values():
        return name
    raise ValueError(f"unknown modality {name!r}; known: {', '.join(MODALITIES)}")


def scan(root: str | Path, split: str, strict: bool = True,
         require: Sequence[str] = ("attributes",)) -> PairList:
    """All dyadic pairs of a split, sorted by session and clip.

    A clip counts when any file of a required modality exists for it (under either role); every required
    modality must then exist for both roles. A missing one raises `DatasetError` naming the missing file
    (strict) or skips the clip with a warning, its problem listed in the result's `.problems`.
    """
    root = Path(root)
    split_dir = root / split
    if not split_dir.is_dir():
        raise DatasetError(f"no {split!r} split: {split_dir} is not a directory; expected the MARS layout "
                           f"{LAYOUT_HINT}")
    dirs = list(dict.fromkeys([layout.ATTRIBUTES] + [modality_dir(m) for m in require]))
    for modality in dirs:
        if not (split_dir / modality).is_dir():
            raise DatasetError(f"{split_dir / modality} is missing (modality {modality!r}); expected the MARS "
                               f"layout {LAYOUT_HINT}")
    present: dict[tuple[str, str], set[tuple[str, str]]] = {}
    for modality in dirs:
        ext = layout.EXTENSIONS[modality]
        for role in layout.ROLES:
            role_dir = split_dir / modality / role
            if not role_dir.is_dir():
                continue  # every clip then reports its missing file below
            for session_dir in role_dir.iterdir():
                if not session_dir.is_dir() or session_dir.name.startswith("."):
                    continue
                for file in session_dir.iterdir():
                    if file.suffix == ext and not file.name.startswith(".") and file.is_file():
                        present.setdefault((session_dir.name, file.stem), set()).add((role, modality))
    pairs, problems = [], []
    for session, clip in sorted(present, key=lambda key: (_natural_key(key[0]), _natural_key(key[1]))):
        have = present[(session, clip)]
        pair = Pair(split, session, clip)
        missing = [pair.clip_id(role).path(root, m) for m in dirs for role in layout.ROLES if (role, m) not in have]
        if not missing:
            pairs.append(pair)
            continue
        found = ", ".join(f"{m}/{role}" for role, m in sorted(have))
        problem = (f"missing file {missing[0]}" + (f" (and {len(missing) - 1} more)" if len(missing) > 1 else "")
                   + f": clip {clip} of {session} has {found} but a dyadic pair needs "
                   + ", ".join(dirs) + " for both speaker and listener")
        if strict:
            raise DatasetError(problem)
        problems.append(problem)
    if problems:
        warnings.warn(f"{split_dir}: skipped {len(problems)} incomplete clips, e.g. {problems[0]}", stacklevel=2)
    return PairList(pairs, problems)


def appropriate_reactions(sample: Sample, pairs: Iterable[Pair]) -> list[ClipId]:
    """The appropriate reactions of an input: its partner's reaction first, then the target-role reactions of
    the other pairs of the same session (same direction), in clip order."""
    role = sample.direction.target_role
    others = [p.clip_id(role) for p in pairs
              if p.split == sample.input.split and p.session == sample.input.session and p.clip != sample.input.clip]
    return [sample.target] + sorted(set(others), key=lambda c: _natural_key(c.clip))


def _rng_for(sample: Sample, seed: int) -> np.random.Generator:
    # Keyed by the input's name (stable across runs and processes), so an input's draws do not depend on
    # which other inputs are in the list
    return np.random.default_rng([int(seed) & 0xFFFFFFFF, zlib.crc32(str(sample.input).encode())])


def ground_truth_ids(sample: Sample, pairs: Iterable[Pair], count: int = 10, seed: int = 0) -> list[ClipId]:
    """The REACT test protocol's ground truths of an input: the paired reaction, then count - 1 drawn from
    the other appropriate reactions of the session. With enough of them they are drawn without repetition;
    with fewer, each is used once and the rest drawn with repetition; with none, the paired one repeats."""
    if count < 1:
        raise ValueError(f"count must be >= 1, got {count}")
    appropriate = appropriate_reactions(sample, pairs)
    others = appropriate[1:] or appropriate[:1]
    need = count - 1
    rng = _rng_for(sample, seed)
    if len(others) >= need:
        drawn = [others[i] for i in rng.choice(len(others), size=need, replace=False)]
    else:
        drawn = [others[i] for i in rng.permutation(len(others))]
        drawn += [others[i] for i in rng.integers(0, len(others), size=need - len(others))]
    return [appropriate[0]] + drawn
