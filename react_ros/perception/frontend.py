"""The speaker front end: camera frames -> 25-d speaker attributes + present flag; audio -> per-frame features.

One object serves the robot (frame by frame, audio chunk by chunk) and offline clips: `offline_features`
feeds a clip through exactly the same streaming calls, one video frame and its audio at a time, so a
model trained on offline features sees the same numbers on the robot.

The estimator is any callable `(B, 1, 64, 64) float32 in 0..1 -> (B, 25)`: a torch model
(`torch_estimator_fn`), an ONNX Runtime session (`onnx_estimator_fn`) or a TensorRT engine wrapper.
Its output is clipped to the schema ranges (FP16/INT8 engines can overshoot by a hair; NaN -> neutral).
When no face is present the attributes are the neutral frame and `present` is False: the generator
masks the visual stream instead of reading a stale or made-up face.
"""
from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from react_ros import schema
from react_ros.perception.audio_features import SILENCE_FEATURE, StreamingAudioFeatures, samples_needed
from react_ros.perception.face_crop import Box, FaceCropper

__all__ = ["EstimatorFn", "VisualFrame", "SpeakerFrontEnd", "torch_estimator_fn", "onnx_estimator_fn"]

EstimatorFn = Callable[[np.ndarray], np.ndarray]


def torch_estimator_fn(model: Any) -> EstimatorFn:
    """Wrap a torch module (e.g. AttributeEstimator) as an EstimatorFn; the model is put in eval mode."""
    import torch  # noqa: PLC0415 (torch stays optional for ONNX Runtime / TensorRT deployments)

    model.eval()

    def run(crops: np.ndarray) -> np.ndarray:
        with torch.no_grad():
            return model(torch.from_numpy(np.ascontiguousarray(crops, dtype=np.float32))).numpy()

    return run


def onnx_estimator_fn(model: str | Path | Any, threads: int = 1) -> EstimatorFn:
    """Wrap an ONNX file path or an existing onnxruntime.InferenceSession as an EstimatorFn (first input/output)."""
    if isinstance(model, (str, Path)):
        import onnxruntime as ort  # noqa: PLC0415

        options = ort.SessionOptions()
        options.intra_op_num_threads = threads
        options.inter_op_num_threads = 1
        session = ort.InferenceSession(str(model), options, providers=["CPUExecutionProvider"])
    else:
        session = model
    input_name = session.get_inputs()[0].name
    output_name = session.get_outputs()[0].name

    def run(crops: np.ndarray) -> np.ndarray:
        return session.run([output_name], {input_name: np.ascontiguousarray(crops, dtype=np.float32)})[0]

    return run


@dataclass(frozen=True)
class VisualFrame:
    attributes: np.ndarray  # (25,) float32 in schema ranges (neutral when no face)
    present: bool
    box: Box | None  # where the face crop came from in the input image


class SpeakerFrontEnd:
    """Camera frame -> VisualFrame; audio chunk -> (n_new_frames, n_mels) features."""

    def __init__(self, cropper: FaceCropper, estimator_fn: EstimatorFn,
                 audio: StreamingAudioFeatures | None = None) -> None:
        self.cropper = cropper
        self.estimator_fn = estimator_fn
        self.audio = audio if audio is not None else StreamingAudioFeatures()

    @property
    def n_audio_features(self) -> int:
        return self.audio.config.n_mels

    def reset(self) -> None:
        """New stream or clip: forget the face track and the audio history."""
        self.cropper.reset()
        self.audio.reset()

    def process_image(self, image: np.ndarray | None) -> VisualFrame:
        crop = self.cropper.crop(image)
        if not crop.present or crop.image is None:
            return VisualFrame(attributes=schema.neutral_frame(), present=False, box=None)
        x = (crop.image.astype(np.float32) / 255.0)[None, None]
        out = np.asarray(self.estimator_fn(x), dtype=np.float32)
        if out.shape != (1, schema.REACTION_DIM):
            raise ValueError(f"SpeakerFrontEnd: estimator_fn must map (1, 1, {x.shape[2]}, {x.shape[3]}) crops to "
                             f"(1, {schema.REACTION_DIM}) attributes, got shape {out.shape}")
        return VisualFrame(attributes=schema.clip_to_range(out[0]), present=True, box=crop.box)

    def process_audio(self, samples: np.ndarray | None, sample_rate: int | None = None) -> np.ndarray:
        return self.audio.push(samples, sample_rate)

    def offline_features(self, video_frames: Iterable[np.ndarray | None], audio_samples: np.ndarray | None,
                         sample_rate: int | None = None) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """A whole clip through the streaming path -> (attributes (T, 25), present (T,), audio (T, n_mels)).

        T is the number of video frames. Audio is pushed per video frame (the samples up to the end of
        that frame, at `sample_rate`, default the feature rate); audio shorter than the video is padded
        with the digital-silence feature, longer audio is cut. The front end is reset first.
        """
        self.reset()
        config = self.audio.config
        rate = config.sample_rate if sample_rate is None else int(sample_rate)
        samples = np.zeros(0, dtype=np.float32) if audio_samples is None else np.asarray(audio_samples)
        attributes: list[np.ndarray] = []
        present: list[bool] = []
        audio: list[np.ndarray] = []
        position = 0
        for index, frame in enumerate(video_frames):
            visual = self.process_image(frame)
            attributes.append(visual.attributes)
            present.append(visual.present)
            stop = min(samples_needed(index + 1, config, rate), samples.shape[0])
            if stop > position:
                audio.append(self.process_audio(samples[position:stop], rate))
                position = stop
        frames = len(attributes)
        if position < samples.shape[0]:
            audio.append(self.process_audio(samples[position:], rate))
        audio_features = (np.concatenate(audio) if audio else np.zeros((0, config.n_mels), np.float32))[:frames]
        if audio_features.shape[0] < frames:
            pad = np.full((frames - audio_features.shape[0], config.n_mels), SILENCE_FEATURE, dtype=np.float32)
            audio_features = np.concatenate([audio_features, pad])
        attributes_array = (np.stack(attributes) if attributes
                            else np.zeros((0, schema.REACTION_DIM), np.float32)).astype(np.float32)
        return attributes_array, np.array(present, dtype=bool), audio_features.astype(np.float32, copy=False)
