"""A model's reactions scored as 3DMM coefficients (issue 31), and written in MARS's layout.

The model's samples go through its coefficient head (model/coefficient_head.py); the ground truths are the
appropriate listeners' own coefficients (the same clips as the attribute ground truths, resampled the same way);
Mime and delayed mimicry copy the speaker's coefficients (the delay fitted on the training split's attributes,
as for the attribute references); "head on the real listeners" is the head applied to the real listeners'
attributes: the best this design can score, whatever the generative model.
"""
from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

import numpy as np

from react_ros.data import layout
from react_ros.data.protocol import TestInput
from react_ros.data.readers import read_coefficients
from react_ros.metrics.coefficients import evaluate_coefficients
from react_ros.metrics.references import delayed_mimicry_reference, gt_reference, mime_reference
from react_ros.metrics.resample import resample_to_length
from react_ros.model.coefficient_head import CoefficientHead

__all__ = ["HEAD_CEILING", "coefficient_ground_truths", "coefficient_results", "write_coefficients"]

HEAD_CEILING = "Head on the real listeners"


def _coefficients(root: Path, clip, length: int | None = None) -> np.ndarray:
    values = read_coefficients(clip.path(root, layout.COEFFICIENTS), 0, None)
    return values if length is None else values[:length]


def coefficient_ground_truths(root: str | Path, tests: Sequence[TestInput]) -> list[tuple[np.ndarray, np.ndarray]]:
    """Per test input: (the speaker's (L, 58) coefficients, the appropriate reactions' (G, L, 58)), the paired one
    cropped and the others resampled to L exactly as data.protocol does for the attributes."""
    root = Path(root)
    out = []
    for test in tests:
        length = len(test.speaker)
        speaker = _coefficients(root, test.input, length)
        paired = test.input.partner()
        gts = [_coefficients(root, gt, length) if gt == paired
               else resample_to_length(_coefficients(root, gt), length).astype(np.float32) for gt in test.gt_ids]
        if len(speaker) < length or any(len(g) < length for g in gts):
            raise ValueError(f"{test.id}: coefficient files shorter than the attributes ({length} frames)")
        out.append((speaker.astype(np.float32), np.stack(gts)))
    return out


def coefficient_results(outputs: dict[str, dict[str, np.ndarray]], tests: Sequence[TestInput], head: CoefficientHead,
                        root: str | Path, delays: dict[str, int], samples: int) -> dict[str, dict[str, float]]:
    """{row: coefficient metrics}: each output's samples through the head, the real listeners through the head
    (the ceiling), GT, Mime and delayed mimicry in coefficient space."""
    truths = coefficient_ground_truths(root, tests)
    gts = [g for _, g in truths]
    speakers = [s for s, _ in truths]
    results = {f"{name} -> coefficient head": evaluate_coefficients(
        [head(predictions[t.id][:, :len(t.speaker)]) for t in tests], gts) for name, predictions in outputs.items()}
    results[HEAD_CEILING] = evaluate_coefficients([head(t.gts[np.arange(samples) % len(t.gts)]) for t in tests], gts)
    results["GT"] = evaluate_coefficients(gt_reference(gts, samples), gts)
    results["Mime"] = evaluate_coefficients(mime_reference(speakers, samples), gts)
    results["Delayed mimicry"] = evaluate_coefficients(
        delayed_mimicry_reference(speakers, samples, [delays[t.direction.value] for t in tests]), gts)
    return results


def write_coefficients(out: str | Path, predictions: dict[str, np.ndarray], tests: Sequence[TestInput],
                       head: CoefficientHead) -> list[Path]:
    """Each input's K samples as coefficients in MARS's layout, one tree per sample:
    <out>/sample<k>/<split>/coefficients/<role answered>/<session>/<clip>.npy, (L, 58) float32: what a holder of
    the FaceVerse basis renders as faces."""
    written = []
    for test in tests:
        coefficients = head(predictions[test.id][:, :len(test.speaker)])
        target = test.input.partner()  # the generated reaction answers the input: it is its partner's clip
        for k, sequence in enumerate(coefficients):
            path = target.path(Path(out) / f"sample{k}", layout.COEFFICIENTS)
            path.parent.mkdir(parents=True, exist_ok=True)
            np.save(path, sequence.astype(np.float32))
            written.append(path)
    return written
