"""How well a `react-ros perceive` tree tracks a data set's own labels, per channel of the 25.

For every recording of a split that has both labels (`<data>/<split>/facial-attributes/...`) and perceived
attributes + mask: the frames where the value was measured, pooled over recordings; per channel the Pearson
correlation between perceived and labelled value, the labels' and the perceived values' mean, and how often
the value was measured. On the synthetic data set this says whether the mesh front end reads the renderer's
faces the way the labels describe them (the renderer draws the labels), i.e. whether training on perceived
attributes keeps the information the labels carry.
"""
from __future__ import annotations

from pathlib import Path

import numpy as np

from react_ros import schema
from react_ros.data.layout import ClipId
from react_ros.data.pairs import scan
from react_ros.data.perceived import perceived_speaker

__all__ = ["compare_split", "format_table"]


def compare_split(data: str | Path, perceived: str | Path, split: str = "test", roles=("speaker", "listener"),
                  max_recordings: int | None = None) -> dict:
    labels, values, masks, recordings = [], [], [], 0
    for pair in scan(Path(data), split, strict=False):
        for clip in (pair.speaker, pair.listener):
            if clip.role not in roles or (max_recordings is not None and recordings >= max_recordings):
                continue
            label = np.load(clip.path(data, "facial-attributes")).astype(np.float32)
            try:
                value, mask = perceived_speaker(perceived, ClipId(clip.split, clip.role, clip.session, clip.clip),
                                                len(label))
            except ValueError:  # not perceived (yet): skip, counted below
                continue
            labels.append(label)
            values.append(value)
            masks.append(mask)
            recordings += 1
    if not recordings:
        raise ValueError(f"no recording of {data}/{split} has perceived attributes under {perceived}")
    label, value, mask = np.concatenate(labels), np.concatenate(values), np.concatenate(masks)
    channels = {}
    for k, name in enumerate(schema.ATTRIBUTE_NAMES):
        used = mask[:, k]
        a, b = value[used, k], label[used, k]
        r = float(np.corrcoef(a, b)[0, 1]) if used.sum() > 2 and a.std() > 1e-6 and b.std() > 1e-6 else None
        channels[name] = {"r": None if r is None or not np.isfinite(r) else round(r, 3),
                          "measured": round(float(used.mean()), 3),
                          "label_mean": round(float(b.mean()), 3) if used.any() else None,
                          # a channel whose labels barely move has no r to speak of (label jitter only)
                          "label_max": round(float(b.max()), 3) if used.any() else None,
                          "perceived_mean": round(float(a.mean()), 3) if used.any() else None}
    return {"data": str(data), "perceived": str(perceived), "split": split, "recordings": recordings,
            "frames": int(len(label)), "face_present": round(float(mask.any(-1).mean()), 3), "channels": channels}


def format_table(result: dict) -> str:
    lines = [f"{result['recordings']} recordings of {result['split']}, {result['frames']} frames, face present on "
             f"{result['face_present']:.1%}", "",
             "| value | r (perceived vs label, measured frames) | measured | label mean | label max | perceived mean |",
             "|---|---:|---:|---:|---:|---:|"]
    for name, c in result["channels"].items():
        cells = ["–" if c.get(key) is None else f"{c[key]:.3f}"
                 for key in ("r", "measured", "label_mean", "label_max", "perceived_mean")]
        lines.append(f"| {name} | " + " | ".join(cells) + " |")
    return "\n".join(lines)


def probe_renderer(values=("AU1", "AU2", "AU4", "AU12", "AU25"), levels=(0.0, 0.5, 1.0), size: int = 128) -> dict:
    """One rendered face per value and level (every other value neutral), read by a fresh mesh front end:
    {value: [(level, perceived value, the geometry measure it is built on)]}. A value the front end follows
    rises with its level."""
    from react_ros.face.renderer import FaceRenderer  # noqa: PLC0415
    from react_ros.perception.face_geometry import FEATURE_NAMES  # noqa: PLC0415
    from react_ros.perception.mesh_frontend import MeshSpeakerFrontEnd  # noqa: PLC0415

    measure_of = {"AU1": "brow_inner", "AU2": "brow_outer", "AU4": "brow_inner", "AU12": "mouth_width",
                  "AU25": "lip_gap", "AU26": "lip_gap", "AU15": "corner_lift"}
    renderer, front = FaceRenderer(size), MeshSpeakerFrontEnd()
    out = {}
    for name in values:
        k = schema.ATTRIBUTE_NAMES.index(name)
        rows = []
        for level in levels:
            frame = schema.neutral_frame()
            frame[k] = level
            front.reset()
            visual = front.process_image(renderer.render(frame))
            feature = measure_of.get(name)
            geometry = None if visual.geometry is None or feature is None else \
                round(float(visual.geometry.features[FEATURE_NAMES.index(feature)]), 3)
            rows.append((level, round(float(visual.attributes[k]), 3) if visual.present else None, feature, geometry))
        out[name] = rows
    return out
