"""The bundled demo clip: a synthetic speaker (video face crop + 16 kHz speech-like audio) for `react-ros run`.

Made by the project's synthetic conversation generator (react_ros.data.synthetic) and face renderer, so it
is reproducible byte for byte from the seed:  `react-ros data demo-clip --out react_ros/assets/demo_clip`.
"""
from __future__ import annotations

from pathlib import Path

import numpy as np

CLIP_DIR = Path(__file__).resolve().parent.parent / "assets" / "demo_clip"
VIDEO_FILE = "speaker.mp4"
WAV_FILE = "speaker.wav"


def default_clip() -> tuple[Path, Path]:
    return CLIP_DIR / VIDEO_FILE, CLIP_DIR / WAV_FILE


def make_demo_clip(out: str | Path = CLIP_DIR, seconds: float = 16.0, size: int = 128, seed: int = 0) -> tuple[Path, Path]:
    """Write speaker.mp4 (size x size, 30 fps) and speaker.wav (16 kHz mono) into `out`."""
    from react_ros.data.audio_io import write_wav
    from react_ros.data.synthetic.people import make_script, speaker_from_script
    from react_ros.data.synthetic.signals import FPS, SR
    from react_ros.face.renderer import FaceRenderer
    from react_ros.face.video import write_video

    out = Path(out)
    out.mkdir(parents=True, exist_ok=True)
    length = int(round(seconds * FPS))
    script = make_script(np.random.default_rng((seed, 0)), length)
    speaker = speaker_from_script(np.random.default_rng((seed, 0, 0)), script, length)
    renderer = FaceRenderer(size=size)
    frames = renderer.render_sequence(speaker.attributes, head_poses=speaker.head_pose, blinks=speaker.blink)
    video, wav = out / VIDEO_FILE, out / WAV_FILE
    write_video(video, frames, fps=FPS)
    write_wav(wav, speaker.audio[: int(round(length * SR / FPS))], SR)
    return video, wav
