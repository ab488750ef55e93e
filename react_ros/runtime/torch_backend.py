"""The torch backend: the reference implementation of the three graphs the generator runs."""
from __future__ import annotations

import numpy as np
import torch

from react_ros.model.reaction_model import ReactionModel


class TorchGraphs:
    name = "torch"

    def __init__(self, model: ReactionModel, threads: int | None = None):
        if threads:
            torch.set_num_threads(threads)
        self.model = model.eval()
        self.config = model.config
        self.latent_scale = float(model.latent_scale)

    @staticmethod
    def _t(array) -> torch.Tensor:
        return torch.from_numpy(np.ascontiguousarray(array, dtype=np.float32))

    @torch.inference_mode()
    def condition(self, visual, visual_present, audio, audio_present, past, role=None) -> np.ndarray:
        t = self._t
        return self.model.condition(t(visual), t(visual_present), t(audio), t(audio_present), t(past),
                                    None if role is None else t(role)).numpy()

    @torch.inference_mode()
    def denoise(self, latent, timestep, cond) -> np.ndarray:
        return self.model.denoiser(self._t(latent), self._t(timestep), self._t(cond)).numpy()

    @torch.inference_mode()
    def decode(self, latent, past=None, speaker=None, speaker_present=None, role=None) -> np.ndarray:
        skip = {} if speaker is None else {"speaker": self._t(speaker), "speaker_present": self._t(speaker_present)}
        if role is not None:
            skip["role"] = self._t(role)
        return self.model.autoencoder.decode(self._t(latent), None if past is None else self._t(past), **skip).numpy()

    def sample(self, noise, cond, sampler: str, steps: int) -> None:
        """No unrolled sampler graph on torch: the generator steps the sampler (ReactionGraphs.sample)."""
        return None
