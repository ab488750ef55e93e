"""The multi-modality condition encoder (ReactDiff's "multi-modality transformer").

Tokens: the speaker's visual stream (25-d attributes per frame), the speaker's audio stream (log-mel per
frame) and the listener's own recent past. Attention runs inside each modality first (intra), then
visual<->audio cross-attention (inter), then jointly with the past; learned queries pool the result to
one condition vector. Speaker streams are cut into patches of `token_stride` frames (one token per
patch, as a ViT does with pixels): the transformer's cost falls with the square of the stride while
30 fps attributes change little within 2 frames. A modality that is missing (no face in view, microphone silent or dropped in
training) is replaced by a learned "missing" token per frame, so the model knows it is absent."""
from __future__ import annotations

import torch
from torch import nn

from react_ros.model.config import ModelConfig
from react_ros.model.layers import Attention, Block


class ConditionEncoder(nn.Module):
    def __init__(self, config: ModelConfig):
        super().__init__()
        d, stride = config.d_model, config.token_stride
        if config.context % stride:
            raise ValueError(f"context ({config.context}) must be a multiple of token_stride ({stride})")
        self.stride = stride
        tokens = config.context // stride
        self.visual_in = nn.Linear(config.reaction_dim * stride, d)
        self.audio_in = nn.Linear(config.audio_dim * stride, d)
        self.past_in = nn.Linear(config.reaction_dim, d)
        self.visual_pos = nn.Parameter(torch.randn(1, tokens, d) * 0.02)
        self.audio_pos = nn.Parameter(torch.randn(1, tokens, d) * 0.02)
        self.past_pos = nn.Parameter(torch.randn(1, config.past, d) * 0.02)
        self.visual_missing = nn.Parameter(torch.zeros(1, 1, d))
        self.audio_missing = nn.Parameter(torch.zeros(1, 1, d))
        self.visual_intra = nn.ModuleList(Block(d, config.heads) for _ in range(config.intra_layers))
        self.audio_intra = nn.ModuleList(Block(d, config.heads) for _ in range(config.intra_layers))
        self.visual_from_audio = Block(d, config.heads, cross=True)
        self.audio_from_visual = Block(d, config.heads, cross=True)
        self.joint = nn.ModuleList(Block(d, config.heads) for _ in range(config.joint_layers))
        self.queries = nn.Parameter(torch.randn(1, config.pool_queries, d) * 0.02)
        self.pool = Attention(d, config.heads)
        self.out = nn.Sequential(nn.LayerNorm(config.pool_queries * d), nn.Linear(config.pool_queries * d,
                                                                                   config.cond_dim))
        self.lags = tuple(range(0, config.context - config.past + 1, config.lag_step)) if config.lag_step else ()
        self.lag_in = nn.Linear(len(self.lags) * config.reaction_dim, config.cond_dim) if self.lags else None
        # role-conditioned (config.roles = 2): one learned offset per role on the condition
        self.role_in = nn.Linear(1, config.cond_dim) if config.roles > 1 else None

    def forward(self, visual: torch.Tensor, visual_present: torch.Tensor, audio: torch.Tensor,
                audio_present: torch.Tensor, past: torch.Tensor, role: torch.Tensor | None = None) -> torch.Tensor:
        """visual (B,C,25), visual_present (B,C) 0/1, audio (B,C,A), audio_present (B,C) 0/1,
        past (B,P,25)[, role (B,): role-conditioned models] -> condition (B, cond_dim)."""
        v_mask, visual_patches = self._patches(visual_present, visual)
        a_mask, audio_patches = self._patches(audio_present, audio)
        v = v_mask * self.visual_in(visual_patches) + (1 - v_mask) * self.visual_missing + self.visual_pos
        a = a_mask * self.audio_in(audio_patches) + (1 - a_mask) * self.audio_missing + self.audio_pos
        for block in self.visual_intra:
            v = block(v)
        for block in self.audio_intra:
            a = block(a)
        v, a = self.visual_from_audio(v, a), self.audio_from_visual(a, v)
        tokens = torch.cat([v, a, self.past_in(past) + self.past_pos], dim=1)
        for block in self.joint:
            tokens = block(tokens)
        pooled = self.pool(self.queries.expand(tokens.shape[0], -1, -1), tokens)
        cond = self.out(pooled.flatten(1))
        if self.lag_in is not None:
            cond = cond + self.lag_in(self.lag_correlations(visual, visual_present, past))
        if self.role_in is not None:
            if role is None:
                raise ValueError("this model is role-conditioned: pass role (0 a listener's answer, 1 a speaker's)")
            cond = cond + self.role_in(role[:, None].to(cond.dtype))
        return cond

    def lag_correlations(self, visual: torch.Tensor, visual_present: torch.Tensor, past: torch.Tensor) -> torch.Tensor:
        """(B,C,25) speaker, (B,C) flags, (B,P,25) listener past -> (B, lags*25): per lag L and attribute, the
        correlation over the past's P frames of the listener with the speaker L frames earlier (0 where the
        speaker was absent). Static slices, Mul and ReduceSum only: every ONNX and TensorRT version has them."""
        c, p = visual.shape[1], past.shape[1]
        listener = past - past.mean(dim=1, keepdim=True)
        listener_energy = (listener * listener).sum(dim=1)
        speaker_all = visual * visual_present[..., None]
        out = []
        for lag in self.lags:
            speaker = speaker_all[:, c - p - lag:c - lag]
            speaker = speaker - speaker.mean(dim=1, keepdim=True)
            energy = (speaker * speaker).sum(dim=1) * listener_energy
            out.append((speaker * listener).sum(dim=1) / torch.sqrt(energy + 1e-6))
        return torch.cat(out, dim=1)

    def _patches(self, present: torch.Tensor, stream: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        """(B,C) flags, (B,C,F) frames -> (B,C/s,1) fraction present, (B,C/s,s*F) patches."""
        b, c, f = stream.shape
        s = self.stride
        fraction = present.to(stream.dtype).reshape(b, c // s, s).mean(dim=2, keepdim=True)
        return fraction, stream.reshape(b, c // s, s * f)
