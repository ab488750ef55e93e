"""The offline tour (`react-ros demo`): synthetic data -> the shipped demo model's reactions -> REACT metrics
-> videos, in minutes. (The robot's main job, the nodes on the demo clip, is `react-ros run`.)

It is three existing commands in a row, so the tour shows exactly what they do: `react-ros data synth`
writes a small synthetic data set in the MARS layout, `react-ros generate` makes K reactions per test input
with the shipped demo model (reactions.npz), and `react-ros eval` scores them with the REACT metrics beside
the trivial references and writes the plots and a side-by-side video (speaker | real listener | generated).
The summary (summary.json) names the files and repeats the model's metrics.
"""
from __future__ import annotations

import json
import subprocess
import sys
import time
from pathlib import Path

MODEL_ROW = "predictions"  # the row `react-ros eval --predictions FILE.npz` gives the file's reactions


def react_ros(command: list[str]) -> int:
    """One `react-ros` command, as a user types it (its own process: the tour sits below the command line, which
    registers it, and does not import it back)."""
    return subprocess.run([sys.executable, "-m", "react_ros.cli", *command], check=False).returncode


def run_demo(out: Path, quick: bool = False, backend: str = "torch") -> int:
    from react_ros.data.synth import SynthConfig, generate

    out.mkdir(parents=True, exist_ok=True)
    started = time.perf_counter()
    data = out / "data"
    # The quick form (the test) is a few short clips with videos for the test split only: a model trained on
    # perceived speakers (the shipped one) reads its inputs through the mesh front end from those videos.
    config = SynthConfig(out=data, sessions=3 if quick else 6, clips_per_session=3,
                         min_seconds=6 if quick else 20, max_seconds=7 if quick else 30,
                         video_splits=("test",) if quick else None, seed=0)
    clips = generate(config)
    reactions, report = out / "reactions.npz", out / "report"
    samples = "3" if quick else "10"
    for command in (["generate", "--data", str(data), "--split", "test", "--out", str(reactions), "--backend",
                     backend, "--samples", samples],
                    ["eval", "--data", str(data), "--split", "test", "--predictions", str(reactions), "--out",
                     str(report), "--samples", samples, "--videos", "1"]):
        status = react_ros(command)
        if status != 0:
            return status
    metrics = json.loads((report / "metrics.json").read_text())["results"]
    summary = {
        "data": str(data), "clips": len(clips), "reactions": str(reactions), "report": str(report / "metrics.md"),
        "videos": sorted(str(p) for p in report.glob("*.mp4")),
        "model": {k: metrics[MODEL_ROW][k] for k in ("FRCorr", "FRDist", "FRDiv", "FRSyn")},
        "seconds": round(time.perf_counter() - started, 1),
    }
    (out / "summary.json").write_text(json.dumps(summary, indent=2))
    print(json.dumps(summary, indent=2))
    return 0


def add_commands(commands) -> None:
    demo = commands.add_parser("demo", help="offline tour: synthetic data -> the demo model's reactions -> "
                                            "REACT metrics and videos (`data synth` + `eval`)")
    demo.add_argument("--out", default="out/demo")
    demo.add_argument("--quick", action="store_true", help="a smaller run (used by the tests)")
    demo.add_argument("--backend", default="torch", help="torch | onnxruntime | tensorrt")
    demo.set_defaults(func=_demo_command)


def _demo_command(args) -> int:
    return run_demo(Path(args.out), quick=args.quick, backend=args.backend)
