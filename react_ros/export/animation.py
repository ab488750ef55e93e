"""`react-ros export animation`: a session's reactions as a glTF 2.0 file with morph targets (face/gltf.py).

Sources:
- a session recording (MCAP, `react-ros run` or the node's `record`): one keyframe per published reaction
  (`/react_ros/reaction`), at the reaction rate (30 fps, REACT's frame rate; frames are counted, not timed, so a
  replay is as long as the clip). `--weights reactions` (default): each reaction through the arkit_blendshapes
  profile's map (the weights the reaction asks for). `--weights commands`: the 52 weights the robot commanded
  for that reaction (smoothed, rate-limited; the session must have run the arkit_blendshapes profile).
- a `.npy` of (frames, 25) reactions (`react-ros generate` writes them): mapped the same way.
"""
from __future__ import annotations

from pathlib import Path

import numpy as np

from react_ros import schema

__all__ = ["WEIGHT_SOURCES", "plot_weights", "weights_from_recording", "weights_from_reactions",
           "write_session_animation"]

WEIGHT_SOURCES = ("reactions", "commands")


def weights_from_reactions(reactions: np.ndarray) -> np.ndarray:
    """(T, 25) reactions -> (T, 52) blendshape weights by the arkit_blendshapes profile."""
    from react_ros.robot.arkit import load_arkit_profile

    reactions = schema.check_reactions(np.asarray(reactions, np.float32), "reactions")
    profile = load_arkit_profile()
    return np.array([profile.map(frame) for frame in reactions], np.float32)


def weights_from_recording(path: str | Path, source: str = "reactions", reaction_topic: str = "/react_ros/reaction",
                           joint_topic: str = "/react_ros/joint_commands") -> np.ndarray:
    """(T, 52) weights, one row per reaction recorded in the MCAP file."""
    from react_ros.recording import read_messages

    if source not in WEIGHT_SOURCES:
        raise ValueError(f"weights {source!r}: expected one of {', '.join(WEIGHT_SOURCES)}")
    reactions, commands, last_command = [], [], None
    for message in read_messages(path, [reaction_topic, joint_topic]):
        if message.topic == joint_topic:
            last_command = message.message
        else:
            reactions.append(np.array(message.message.data, np.float32))
            commands.append(last_command)  # the node records a frame's command just before its reaction
    if not reactions:
        raise ValueError(f"{path}: no {reaction_topic} messages (was the session recorded?)")
    if source == "reactions":
        return weights_from_reactions(np.stack(reactions))
    if any(c is None or tuple(c.name) != schema.ARKIT_BLENDSHAPES for c in commands):
        raise ValueError(f"{path}: the joint commands are not the 52 ARKit blendshapes (record the session with "
                         "--robot arkit_blendshapes, or export --weights reactions)")
    return np.array([c.position for c in commands], np.float32)


def write_session_animation(out: str | Path, recording: str | Path | None = None, reactions: str | Path | None = None,
                            source: str = "reactions", fps: float = schema.FPS,
                            plot: str | Path | None = None) -> tuple[Path, int]:
    """Write the .glb (and, with `plot`, a PNG of the most active weights); returns its path and the frames."""
    from react_ros.face.gltf import write_animation

    if (recording is None) == (reactions is None):
        raise ValueError("give a recording (.mcap) or a reactions file (.npy), one of them")
    if recording is not None:
        weights = weights_from_recording(recording, source)
        name = Path(recording).stem
    else:
        array = np.load(reactions)
        if array.ndim == 3:  # (samples, frames, 25) from `react-ros generate`: the first sample
            array = array[0]
        weights = weights_from_reactions(array)
        name = Path(reactions).stem
    times = np.arange(len(weights), dtype=np.float64) / fps
    if plot is not None:
        plot_weights(plot, weights, fps, title=f"{name}: blendshape weights ({source})")
    return write_animation(out, weights, times, name=name), len(weights)


def plot_weights(path: str | Path, weights: np.ndarray, fps: float = schema.FPS, shapes: int = 8,
                 title: str = "") -> Path:
    """The `shapes` blendshapes that move most, over time, one panel each (what the animation will do)."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    weights = np.asarray(weights, np.float32)
    order = np.argsort(-weights.std(axis=0))[:shapes]
    times = np.arange(len(weights)) / fps
    fig, axes = plt.subplots(len(order), 1, figsize=(10, 1.3 * len(order)), sharex=True, squeeze=False)
    for ax, k in zip(axes[:, 0], order, strict=True):
        ax.plot(times, weights[:, k], color="tab:red", lw=1.2)
        ax.set_ylabel(schema.ARKIT_BLENDSHAPES[k], rotation=0, ha="right", va="center", fontsize=8)
        ax.set_ylim(-0.02, max(0.1, float(weights[:, k].max()) * 1.1))
    axes[0, 0].set_title(title or "blendshape weights over time (the most active)")
    axes[-1, 0].set_xlabel("time (s)")
    fig.tight_layout()
    fig.savefig(path, dpi=90)
    plt.close(fig)
    return Path(path)
