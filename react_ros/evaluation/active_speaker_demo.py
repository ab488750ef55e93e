"""The active-speaker rule to look at: two rendered faces, the smaller one talking, through the mesh front end
with speech, with silence and without audio (perception/speaker_choice.py; docs/perception.md).

    python -m react_ros.evaluation.active_speaker_demo --out docs/active_speaker.png

The figure: which face is the speaker over time in each condition, and frames of the speech condition with the
speaker's box drawn. test/test_active_speaker.py runs the same scene.
"""
from __future__ import annotations

import argparse
from pathlib import Path

import numpy as np

from react_ros import schema

__all__ = ["AUDIO_MODES", "TwoFaces", "run_scene"]

FPS = int(round(schema.FPS))  # frames per second, an integer for the audio chunk arithmetic
AUDIO_MODES = ("speech", "silence", "none")


class TwoFaces:
    """A 640x400 scene: a larger still face on the left, a smaller one on the right whose jaw moves at 4 Hz when
    `talking` (both the project's cartoon renders, which BlazeFace and FaceMesh find)."""

    def __init__(self) -> None:
        from react_ros.face.renderer import FaceRenderer

        self.big, self.small = FaceRenderer(size=256), FaceRenderer(size=200)

    def frame(self, k: int, talking: bool) -> np.ndarray:
        canvas = np.full((400, 640, 3), 40, np.uint8)
        still = np.zeros(schema.REACTION_DIM, np.float32)
        still[schema.index_of("Neutral")] = 1.0
        mouth = still.copy()
        if talking:
            opening = 0.5 + 0.5 * np.sin(2 * np.pi * 4 * k / FPS)
            mouth[schema.index_of("AU25")], mouth[schema.index_of("AU26")] = opening, 0.6 * opening
        canvas[70:326, 60:316] = self.big.render(still)
        canvas[100:300, 400:600] = self.small.render(mouth)
        return canvas


def run_scene(scene: TwoFaces, frames: int, audio: str, talking: bool = True, front=None, keep: bool = False):
    """-> (front end, per frame: the speaker is the right-hand (talking) face, [(frame, box)] when `keep`)."""
    from react_ros.perception.audio_features import speech_like_signal
    from react_ros.perception.mesh_frontend import MeshSpeakerFrontEnd

    if audio not in AUDIO_MODES:
        raise ValueError(f"audio must be one of {AUDIO_MODES}, got {audio!r}")
    front = front or MeshSpeakerFrontEnd()
    rate = front.audio.config.sample_rate
    speech = speech_like_signal(frames / FPS + 1, rate, seed=1)
    on_right, kept = [], []
    for k in range(frames):
        image = scene.frame(k, talking)
        visual = front.process_image(image)
        chunk = slice(k * rate // FPS, (k + 1) * rate // FPS)
        if audio == "speech":
            front.process_audio(speech[chunk], rate)
        elif audio == "silence":
            front.process_audio(np.zeros(chunk.stop - chunk.start, np.float32), rate)
        on_right.append(bool(visual.present and visual.box[0] > image.shape[1] // 2))
        if keep:
            kept.append((image, visual.box))
    return front, on_right, kept


def write_figure(out: Path, seconds: float = 2.0) -> dict:
    """The figure (PNG) and, returned, when the talking face became the speaker in each condition (s or None)."""
    import cv2
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    scene, frames = TwoFaces(), int(seconds * FPS)
    runs = {mode: run_scene(scene, frames, mode, keep=mode == "speech") for mode in AUDIO_MODES}
    onsets = {mode: (flags.index(True) / FPS if True in flags else None) for mode, (_, flags, _) in runs.items()}
    figure, (lines, strip) = plt.subplots(2, 1, figsize=(10, 4.6), gridspec_kw={"height_ratios": [1, 1]})
    times = np.arange(frames) / FPS
    for offset, (mode, (_, flags, _)) in enumerate(runs.items()):
        lines.step(times, np.array(flags, float) + 0.04 * offset, where="post", label=f"{mode}")
    lines.set_yticks([0, 1], ["larger still face", "talking face"])
    lines.set_xlabel("s")
    lines.set_title("which face is the speaker (the right-hand face talks throughout)", fontsize=10)
    lines.legend(title="audio", fontsize=8, loc="center right")
    tiles = []
    for k in np.linspace(0, frames - 1, 4).astype(int):
        image, box = runs["speech"][2][k]
        image = image.copy()
        if box is not None:
            x, y, w, h = box
            cv2.rectangle(image, (x, y), (x + w, y + h), (0, 220, 0), 3)
        cv2.putText(image, f"{k / FPS:.1f} s", (10, 30), cv2.FONT_HERSHEY_SIMPLEX, 0.9, (255, 255, 255), 2)
        tiles.append(cv2.resize(image, (320, 200)))
    strip.imshow(cv2.cvtColor(np.hstack(tiles), cv2.COLOR_BGR2RGB))
    strip.set_axis_off()
    strip.set_title("with speech: the speaker's box (green)", fontsize=10)
    figure.tight_layout()
    out.parent.mkdir(parents=True, exist_ok=True)
    figure.savefig(out, dpi=90)
    plt.close(figure)
    return onsets


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", default="docs/active_speaker.png")
    args = parser.parse_args(argv)
    onsets = write_figure(Path(args.out))
    print(f"the talking face became the speaker after (s): {onsets} -> {args.out}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
