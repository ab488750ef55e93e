"""The 52 ARKit blendshapes: their names, and the reaction -> blendshape profile's table for the docs.

The mapping itself lives in config/robots/arkit_blendshapes.yaml (a robot profile like the others, so motion
limits, smoothing and the watchdog apply); every row carries a `why`. Names and order are Apple's
(ARFaceAnchor.BlendShapeLocation, kept in react_ros.schema), the ones VRM "perfect sync" avatars and VMC
tools read.
"""
from __future__ import annotations

from pathlib import Path

import yaml

from react_ros.robot.profile import load_profile, profile_path
from react_ros.schema import ARKIT_BLENDSHAPES

__all__ = ["ARKIT_BLENDSHAPES", "ARKIT_PROFILE", "load_arkit_profile", "mapping_table"]

ARKIT_PROFILE = "arkit_blendshapes"



def load_arkit_profile(name_or_path: str | Path = ARKIT_PROFILE):
    """The blendshape profile, checked: exactly the 52 ARKit names in Apple's order, weights in [0, 1]."""
    profile = load_profile(name_or_path)
    if tuple(profile.names) != ARKIT_BLENDSHAPES:
        raise ValueError(f"{profile.source}: joints must be the 52 ARKit blendshapes in Apple's order")
    if (profile.lower < 0).any() or (profile.upper > 1).any():
        raise ValueError(f"{profile.source}: blendshape weights are limited to [0, 1]")
    return profile


def mapping_table(name_or_path: str | Path = ARKIT_PROFILE) -> str:
    """The profile as a Markdown table: blendshape, what drives it (gain per attribute), why."""
    data = yaml.safe_load(profile_path(name_or_path).read_text())
    rows = ["| blendshape | driven by (gain) | why |", "| --- | --- | --- |"]
    for joint in data["joints"]:
        inputs = ", ".join(f"{attribute} {gain:+.2f}" for attribute, gain in joint["inputs"].items()) or "none"
        rows.append(f"| {joint['name']} | {inputs} | {joint.get('why', '')} |")
    return "\n".join(rows)
