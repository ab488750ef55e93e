"""The speaker attributes offline generation feeds a model: the data set's labels, or, for a model trained on
what the robot's mesh front end perceives (card `speaker_attributes: perceived`), a `react-ros perceive` tree of
the data. A tree given on the command line is used as it is; without one the split is perceived once into the
cache ($REACT_ROS_CACHE/perceived/<data fingerprint>), so `generate`, `eval` and `demo` feed such a model what
it was trained on instead of labels it never saw."""
from __future__ import annotations

from pathlib import Path


def perceived_cache(root: str | Path, split: str) -> Path:
    from react_ros.data.features import data_hash
    from react_ros.runtime.onnxruntime_backend import cache_root

    # keyed by the split's contents: a data set regenerated at the same path gets a fresh tree
    return cache_root() / "perceived" / data_hash(root, (split,))[:16]


def perceive_split(root: str | Path, split: str, out: str | Path, jobs: int = 2, progress: bool = True) -> Path:
    """Perceive the recordings of one split of `root` that `out` lacks (resumable); a failed clip is an error."""
    from react_ros.media_perception.clips import ATTRIBUTES_DIR, run_jobs, tree_jobs

    out = Path(out)
    clips = [job for job in tree_jobs(Path(root), out) if job.out_root == out / split]
    if not clips:
        raise ValueError(f"{root}/{split} has no videos: a model trained on perceived speakers reads its inputs "
                         "through the mesh front end from their videos (render them: `react-ros data synth` "
                         "without --no-video), or give a `react-ros perceive` tree with --perceived")
    todo = [job for job in clips if not job.output(ATTRIBUTES_DIR).exists()]
    if todo:
        if progress:
            print(f"the model reads perceived speakers: perceiving {len(todo)} recordings of {root}/{split} "
                  f"once -> {out}")
        failed = {video: status for video, status in run_jobs(todo, jobs).items() if status.startswith("failed")}
        if failed:
            raise ValueError(f"perceive failed on {len(failed)} recording(s): "
                             + "; ".join(f"{v}: {s}" for v, s in sorted(failed.items())[:3]))
    return out


def speaker_source(card, root: str | Path, split: str, given: str | Path | None = None,
                   jobs: int = 2) -> str | None:
    """The `perceived` argument of data.features.load_features for this model card: `given`, else None for a
    model trained on labels, else the cached perceive tree of the split (made now when missing)."""
    if given:
        return str(given)
    if card.speaker_attributes != "perceived":
        return None
    return str(perceive_split(root, split, perceived_cache(root, split), jobs))
