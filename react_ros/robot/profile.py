"""Robot face profiles: a per-robot linear map from the 25-d reaction to actuator joints, in YAML.

    name: animatronic
    kind: joints            # "joints" (actuated face) or "screen" (rendered face image)
    render: false           # also publish a rendered face image
    joints:
      - name: jaw
        inputs: {AU26: 0.35, AU25: 0.1}   # gain per reaction attribute (names from react_ros.schema)
        offset: 0.0          # calibration trim added to every command (rad)
        neutral: 0.0         # rest pose (rad): where the watchdog and shutdown take the joint
        min: -0.05           # hard limits (rad)
        max: 0.4
        max_velocity: 1.5    # rad/s

A joint's command is `neutral + offset + sum_i gain_i * (x_i - n_i)`, with `n` the neutral reaction
(schema.neutral_frame), so a neutral face gives the rest pose (plus trim), then clipped to [min, max].
A joint may give `attribute: AU12` and `gain: 0.5` instead of `inputs`. Limits are in the joint's own unit
(radians for the examples; lip/jaw demands in 0..1 work the same way).
"""
from __future__ import annotations

import math
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import yaml

from react_ros import schema

__all__ = ["Joint", "RobotProfile", "load_profile", "profile_path", "PROFILE_DIR"]

PROFILE_DIR = Path(__file__).resolve().parents[2] / "config" / "robots"


@dataclass(frozen=True)
class Joint:
    name: str
    inputs: dict[str, float]
    neutral: float = 0.0
    offset: float = 0.0
    min: float = -1.0
    max: float = 1.0
    max_velocity: float = 1.0


@dataclass
class RobotProfile:
    name: str
    joints: list[Joint]
    kind: str = "joints"
    render: bool = False
    source: str = ""
    gains: np.ndarray = field(init=False, repr=False)

    def __post_init__(self) -> None:
        if not self.joints:
            raise ValueError(f"robot profile {self.name!r}: no joints")
        names = [j.name for j in self.joints]
        if len(set(names)) != len(names):
            raise ValueError(f"robot profile {self.name!r}: duplicate joint names")
        self.gains = np.zeros((len(self.joints), schema.REACTION_DIM), np.float64)
        for k, joint in enumerate(self.joints):
            for attribute, gain in joint.inputs.items():
                self.gains[k, schema.index_of(attribute)] = gain
        self.names = names
        self.neutral = np.array([j.neutral for j in self.joints], np.float64)
        self.offset = np.array([j.offset for j in self.joints], np.float64)
        self.lower = np.array([j.min for j in self.joints], np.float64)
        self.upper = np.array([j.max for j in self.joints], np.float64)
        self.max_velocity = np.array([j.max_velocity for j in self.joints], np.float64)

    def map(self, reaction: np.ndarray) -> np.ndarray:
        """(25,) reaction -> (joints,) commands within limits; NaN attributes count as neutral."""
        x = schema.clip_to_range(np.asarray(reaction, np.float32).reshape(schema.REACTION_DIM)).astype(np.float64)
        value = self.neutral + self.offset + self.gains @ (x - schema.neutral_frame())
        return np.clip(value, self.lower, self.upper)

    def to_reaction(self, positions: np.ndarray) -> np.ndarray | None:
        """Inverse of `map` for identity-like profiles (every joint one attribute, gain 1, no trim), e.g. the
        screen face: the 25-d reaction that `positions` show. None when the profile is not identity-like."""
        reaction = schema.neutral_frame()
        for k, joint in enumerate(self.joints):
            if len(joint.inputs) != 1 or joint.offset != 0.0:
                return None
            (attribute, gain), = joint.inputs.items()
            if gain != 1.0:
                return None
            reaction[schema.index_of(attribute)] = positions[k]
        return reaction

    @classmethod
    def identity(cls, name: str = "reaction", max_velocity: float = 6.0) -> RobotProfile:
        """One joint per reaction attribute, in the schema's ranges: smoothing in reaction space."""
        neutral = schema.neutral_frame()
        joints = [Joint(n, {n: 1.0}, float(neutral[i]), 0.0, float(schema.LOWER[i]), float(schema.UPPER[i]),
                        max_velocity) for i, n in enumerate(schema.ATTRIBUTE_NAMES)]
        return cls(name, joints, kind="screen", render=True)

    @classmethod
    def from_dict(cls, data: dict, source: str = "<dict>") -> RobotProfile:
        if not isinstance(data, dict):
            raise ValueError(f"{source}: a robot profile is a mapping with a 'joints' list")
        kind = str(data.get("kind", "joints"))
        if kind not in ("joints", "screen"):
            raise ValueError(f"{source}: kind must be 'joints' or 'screen', got {kind!r}")
        if data.get("joints") == "identity":  # one joint per reaction attribute (screen faces)
            profile = cls.identity(str(data.get("name", "screen_face")), float(data.get("max_velocity", 6.0)))
            profile.kind, profile.render, profile.source = kind, bool(data.get("render", True)), source
            return profile
        if not isinstance(data.get("joints"), list):
            raise ValueError(f"{source}: a robot profile needs a 'joints' list (or 'joints: identity')")
        joints = []
        for i, entry in enumerate(data["joints"]):
            where = f"{source}: joint {i}"
            if not isinstance(entry, dict) or "name" not in entry:
                raise ValueError(f"{where}: needs a name")
            if "inputs" in entry:
                inputs = {str(k): float(v) for k, v in dict(entry["inputs"]).items()}
            elif "attribute" in entry:
                inputs = {str(entry["attribute"]): float(entry.get("gain", 1.0))}
            else:
                raise ValueError(f"{where} ({entry['name']}): give 'inputs' or 'attribute'")
            for attribute in inputs:
                try:
                    schema.index_of(attribute)
                except KeyError as error:
                    raise ValueError(f"{where} ({entry['name']}): {error.args[0]}") from None
            joint = Joint(str(entry["name"]), inputs, float(entry.get("neutral", 0.0)), float(entry.get("offset", 0.0)),
                          float(entry.get("min", -1.0)), float(entry.get("max", 1.0)),
                          float(entry.get("max_velocity", 1.0)))
            values = (joint.neutral, joint.offset, joint.min, joint.max, joint.max_velocity)
            if not all(math.isfinite(v) for v in values):
                raise ValueError(f"{where} ({joint.name}): non-finite number")
            if not joint.min <= joint.neutral <= joint.max:
                raise ValueError(f"{where} ({joint.name}): neutral {joint.neutral} outside [{joint.min}, {joint.max}]")
            if joint.max_velocity <= 0:
                raise ValueError(f"{where} ({joint.name}): max_velocity must be > 0")
            joints.append(joint)
        return cls(str(data.get("name", Path(source).stem)), joints, kind, bool(data.get("render", kind == "screen")),
                   source)


def profile_path(name_or_path: str | Path) -> Path:
    """A profile file: a path, or the name of a shipped profile in config/robots (e.g. 'animatronic')."""
    path = Path(name_or_path)
    if path.suffix in (".yaml", ".yml"):
        if not path.is_file():
            raise FileNotFoundError(f"robot profile not found: {path}")
        return path
    candidates = [PROFILE_DIR / f"{name_or_path}.yaml"]
    try:  # installed as a ROS package: share/react_ros/config/robots
        from ament_index_python.packages import get_package_share_directory  # noqa: PLC0415

        candidates.append(Path(get_package_share_directory("react_ros")) / "config" / "robots" / f"{name_or_path}.yaml")
    except Exception:  # noqa: BLE001 (not installed as a ROS package)
        pass
    for candidate in candidates:
        if candidate.is_file():
            return candidate
    raise FileNotFoundError(f"robot profile {name_or_path!r} not found (looked in {', '.join(map(str, candidates))})")


def load_profile(name_or_path: str | Path) -> RobotProfile:
    path = profile_path(name_or_path)
    with open(path) as f:
        data = yaml.safe_load(f)
    return RobotProfile.from_dict(data, str(path))
