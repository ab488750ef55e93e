"""Study files: a small YAML description of a field experiment, validated into dataclasses.

    name: pilot                      # letters, digits, - and _ (names the output folder)
    raw_media: false                 # true: camera video and microphone audio may be recorded; false: features only
    duration_s: 120                  # default duration of each condition
    counterbalance: latin_square     # or "fixed" (every participant gets the listed order)
    seed: 0
    robot_profile: screen_face       # a shipped profile name or a YAML path (react_ros/robot)
    conditions:
      - {name: model, kind: generative, temperature: 1.0, seed: 3}
      - {name: mime, kind: mime, delay_s: 0.5}
      - {name: neutral, kind: neutral, duration_s: 60}
      - {name: replay, kind: replay, data: data/mars, split: test, pair: 0}
      - {name: nod, kind: script, loop: true, keyframes: [{t: 0}, {t: 0.5, AU12: 0.8}, {t: 1}]}

Relative paths (replay data, script files given as `keyframes: file.yaml`) are relative to the study file.
The order of conditions is counterbalanced across participants with a balanced Latin square (Williams
design): participant k (in order of first run) gets row k mod rows; each condition appears once in each
position, and for an even number of conditions each one follows every other exactly once (odd numbers
use the square and its mirror, 2n rows).

Participant ids are pseudonyms: `check_pseudonym` accepts 1-32 characters of letters, digits, - and _ with
at least one digit (P01, pilot-7) and rejects e-mail addresses, spaces and dots. It cannot tell a real
name with a digit from a pseudonym; the key linking pseudonyms to people stays outside react_ros.
"""
from __future__ import annotations

import hashlib
import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml

from react_ros.study.steps import STEP_KEYS, SessionSteps, parse_steps

__all__ = ["ConditionSpec", "Study", "load_study", "latin_square", "check_pseudonym", "check_participants", "KINDS"]

KINDS = ("generative", "mime", "neutral", "replay", "script")
_ALLOWED = {
    "generative": {"temperature", "seed", "steps", "sampler", "guidance", "backend"},
    "mime": {"delay_s"},
    "neutral": set(),
    "replay": {"data", "split", "pair", "role"},
    "script": {"keyframes", "loop"},
}
_COMMON = {"name", "kind", "duration_s", "label"}
_STUDY_KEYS = {"name", "raw_media", "duration_s", "counterbalance", "seed", "robot_profile", "conditions", "fps",
               *STEP_KEYS}
_NAME = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_-]{0,63}$")
_PSEUDONYM = re.compile(r"^[A-Za-z0-9_-]{1,32}$")


class StudyError(ValueError):
    """A study file that cannot be used, with where and why."""


@dataclass(frozen=True)
class ConditionSpec:
    name: str
    kind: str
    duration_s: float
    options: dict[str, Any] = field(default_factory=dict)
    label: str = ""  # the coded label shown instead of the name in a blind study (default: A, B, ... by position)

    def as_dict(self) -> dict:
        return {"name": self.name, "kind": self.kind, "duration_s": self.duration_s, "label": self.label,
                **self.options}


@dataclass(frozen=True)
class Study:
    name: str
    conditions: tuple[ConditionSpec, ...]
    raw_media: bool = False
    counterbalance: str = "latin_square"
    seed: int = 0
    robot_profile: str = "screen_face"
    fps: float = 30.0
    source: Path | None = None
    sha256: str = ""
    steps: SessionSteps = SessionSteps()  # consent, ready/start, breaks, questionnaire, markers, blinding

    def label(self, name: str) -> str:
        """What the console shows for condition (or source) `name`: its coded label in a blind study."""
        if not self.steps.blind:
            return name
        return next((c.label for c in self.conditions if c.name == name), name)

    def unlabel(self, label: str) -> str:
        """The condition named by a coded label (or by its name)."""
        return next((c.name for c in self.conditions if self.steps.blind and c.label == label), label)

    def condition(self, name: str) -> ConditionSpec:
        for spec in self.conditions:
            if spec.name == name:
                return spec
        raise KeyError(name)

    def order(self, row: int) -> list[str]:
        """The condition order of counterbalancing row `row` (participant k gets row k)."""
        names = [c.name for c in self.conditions]
        if self.counterbalance == "fixed":
            return names
        rows = latin_square(len(names))
        return [names[i] for i in rows[row % len(rows)]]

    @property
    def rows(self) -> int:
        """Counterbalancing rows: participants are spread over them evenly (1 for a fixed order)."""
        return 1 if self.counterbalance == "fixed" else len(latin_square(len(self.conditions)))

    def resolve(self, path: str) -> Path:
        """A path from the study file, relative to the file's folder."""
        p = Path(path)
        return p if p.is_absolute() or self.source is None else self.source.parent / p

    def as_dict(self) -> dict:
        return {"name": self.name, "raw_media": self.raw_media, "counterbalance": self.counterbalance,
                "seed": self.seed, "robot_profile": self.robot_profile, "fps": self.fps, "sha256": self.sha256,
                "conditions": [c.as_dict() for c in self.conditions], "steps": self.steps.as_dict()}


def latin_square(n: int) -> list[list[int]]:
    """Balanced Latin square (Williams): n rows for even n, 2n for odd n (each row and its mirror)."""
    if n < 1:
        raise ValueError("a Latin square needs at least one condition")
    first, low, high = [0], 1, n - 1
    while len(first) < n:  # 0, 1, n-1, 2, n-2, ...
        first.append(low)
        low += 1
        if len(first) < n:
            first.append(high)
            high -= 1
    rows = [[(c + r) % n for c in first] for r in range(n)]
    if n % 2:
        rows += [row[::-1] for row in rows]
    return rows


def check_pseudonym(participant: str) -> str:
    """The participant id if it looks like a pseudonym, else a ValueError saying what is wrong."""
    text = str(participant)
    if "@" in text or "." in text or " " in text:
        raise ValueError(f"participant id {text!r} looks like a name or e-mail address; use a pseudonym such "
                         f"as P01 (letters, digits, - and _, with a digit)")
    if not _PSEUDONYM.match(text) or not any(ch.isdigit() for ch in text):
        raise ValueError(f"participant id {text!r} is not a pseudonym: use 1-32 letters, digits, - or _, "
                         f"with at least one digit (e.g. P01)")
    return text


def _number(value, where: str, minimum: float | None = None, integer: bool = False) -> float | int:
    if isinstance(value, bool) or not isinstance(value, int | float):
        raise StudyError(f"{where} must be a number, got {value!r}")
    if minimum is not None and not value > minimum:
        raise StudyError(f"{where} must be > {minimum}, got {value!r}")
    if integer and int(value) != value:
        raise StudyError(f"{where} must be an integer, got {value!r}")
    return int(value) if integer else float(value)


def _condition(entry, index: int, default_duration: float | None, source: str, base: Path) -> ConditionSpec:
    where = f"{source}: conditions[{index}]"
    if not isinstance(entry, dict):
        raise StudyError(f"{where} must be a mapping with name and kind, got {entry!r}")
    name, kind = entry.get("name"), entry.get("kind")
    if not isinstance(name, str) or not _NAME.match(name):
        raise StudyError(f"{where}: name must be letters, digits, - and _, got {name!r}")
    where = f"{source}: condition {name!r}"
    if kind not in KINDS:
        raise StudyError(f"{where}: kind must be one of {', '.join(KINDS)}, got {kind!r}")
    unknown = set(entry) - _COMMON - _ALLOWED[kind]
    if unknown:
        raise StudyError(f"{where}: unknown keys {sorted(unknown)} for kind {kind!r} (allowed: "
                         f"{sorted(_COMMON | _ALLOWED[kind])})")
    duration = entry.get("duration_s", default_duration)
    if duration is None:
        raise StudyError(f"{where}: no duration_s (give it here or at the top of the study)")
    duration = _number(duration, f"{where}: duration_s", 0)
    options = {k: v for k, v in entry.items() if k not in _COMMON}
    label = entry.get("label", chr(ord("A") + index) if index < 26 else f"C{index + 1}")
    if not isinstance(label, str) or not _NAME.match(label):
        raise StudyError(f"{where}: label must be letters, digits, - and _, got {label!r}")
    if kind == "generative":
        for key in ("temperature", "guidance"):
            if key in options:
                options[key] = _number(options[key], f"{where}: {key}", 0)
        for key in ("seed", "steps"):
            if key in options:
                options[key] = _number(options[key], f"{where}: {key}", -1, integer=True)
    elif kind == "mime":
        options["delay_s"] = _number(options.get("delay_s", 0.0), f"{where}: delay_s", -1e-12)
    elif kind == "replay":
        if "data" not in options:
            raise StudyError(f"{where}: a replay condition needs 'data' (a MARS-layout data set)")
        options["pair"] = _number(options.get("pair", 0), f"{where}: pair", -1, integer=True)
    elif kind == "script":
        keyframes = options.get("keyframes")
        if isinstance(keyframes, str):  # a separate YAML file with the keyframe list
            path = Path(keyframes) if Path(keyframes).is_absolute() else base / keyframes
            if not path.is_file():
                raise StudyError(f"{where}: keyframes file not found: {path}")
            keyframes = yaml.safe_load(path.read_text())
        from react_ros.study.conditions import parse_keyframes

        try:
            parse_keyframes(keyframes, where)
        except ValueError as error:
            raise StudyError(str(error)) from None
        options["keyframes"] = keyframes
    return ConditionSpec(name, kind, duration, options, label)


def load_study(path: str | Path) -> Study:
    path = Path(path)
    if not path.is_file():
        raise FileNotFoundError(f"study file not found: {path}")
    text = path.read_text()
    try:
        data = yaml.safe_load(text)
    except yaml.YAMLError as error:
        raise StudyError(f"{path}: not valid YAML: {error}") from None
    return study_from_dict(data, str(path), path.parent, path, hashlib.sha256(text.encode()).hexdigest())


def study_from_dict(data, source: str = "<study>", base: Path = Path("."), path: Path | None = None,
                    sha256: str = "") -> Study:
    if not isinstance(data, dict):
        raise StudyError(f"{source}: a study is a mapping with name and conditions")
    unknown = set(data) - _STUDY_KEYS
    if unknown:
        raise StudyError(f"{source}: unknown keys {sorted(unknown)} (allowed: {sorted(_STUDY_KEYS)})")
    name = data.get("name")
    if not isinstance(name, str) or not _NAME.match(name):
        raise StudyError(f"{source}: name must be letters, digits, - and _, got {name!r}")
    raw_media = data.get("raw_media", False)
    if not isinstance(raw_media, bool):
        raise StudyError(f"{source}: raw_media must be true or false, got {raw_media!r}")
    counterbalance = data.get("counterbalance", "latin_square")
    if counterbalance not in ("latin_square", "fixed"):
        raise StudyError(f"{source}: counterbalance must be latin_square or fixed, got {counterbalance!r}")
    default_duration = data.get("duration_s")
    if default_duration is not None:
        default_duration = _number(default_duration, f"{source}: duration_s", 0)
    entries = data.get("conditions")
    if not isinstance(entries, list) or not entries:
        raise StudyError(f"{source}: conditions must be a non-empty list")
    conditions = tuple(_condition(e, i, default_duration, source, base) for i, e in enumerate(entries))
    names = [c.name for c in conditions]
    duplicates = sorted({n for n in names if names.count(n) > 1})
    if duplicates:
        raise StudyError(f"{source}: condition names must be unique, repeated: {duplicates}")
    labels = [c.label for c in conditions]
    if len(set(labels)) != len(labels) or set(labels) & (set(names) - set(labels)):
        raise StudyError(f"{source}: condition labels must be unique and not another condition's name, got {labels}")
    return Study(name, conditions, raw_media, counterbalance,
                 _number(data.get("seed", 0), f"{source}: seed", -1, integer=True),
                 str(data.get("robot_profile", "screen_face")),
                 _number(data.get("fps", 30.0), f"{source}: fps", 0), path, sha256,
                 parse_steps(data, source, StudyError))


def check_participants(participants) -> list[str]:
    """Pseudonyms for one `study run`, each once (a participant given twice would be recorded twice)."""
    seen: list[str] = []
    for participant in participants:
        participant = check_pseudonym(participant)
        if participant in seen:
            raise ValueError(f"participant {participant} is given twice: one run per participant")
        seen.append(participant)
    return seen
