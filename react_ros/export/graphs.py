"""The graphs the online loop runs, as torch modules ready to trace, with their input/output specs.

    estimator  crops (B,1,S,S) 0..1                                  -> attributes (B,25)
    condition  visual (B,C,25), visual_present (B,C), audio (B,C,A),
               audio_present (B,C), past (B,P,25)                    -> cond (B,cond_dim)
    denoise    latent (B,L), t (B,) float timestep, cond (B,cond_dim)  -> v (B,L)
    decode     latent (B,L) (already times latent_scale)[, past (B,P,25): unless decoder_past is off]
               [, speaker (B,S,25), speaker_present (B,S): speaker_skip models]   -> window (B,w,25)
    (role-conditioned models, ModelConfig.roles = 2: condition and decode also take role (B,), 0 or 1)
    sample_<sampler><steps>  noise (B,L), cond (B,cond_dim)         -> latent (B,L): the whole few-step
               sampler unrolled (guidance 1, temperature applied to the noise by the caller), the same
               arithmetic as diffusion.py's numpy samplers, so `WindowGenerator` can run it in one call.

Only the batch axis is dynamic; window, context, past and feature sizes are fixed by ModelConfig.
LayerNorm is replaced by a decomposed copy before tracing: ONNX LayerNormalization (opset 17) is not
in TensorRT 8.5's parser (added in 8.6)."""
from __future__ import annotations

import copy
from dataclasses import dataclass

import numpy as np
import torch
from torch import nn

from react_ros import schema
from react_ros.model.config import ModelConfig
from react_ros.model.diffusion import make_sampler, x0_from_v
from react_ros.model.reaction_model import ReactionModel

BASE_GRAPHS = ("estimator", "condition", "denoise", "decode")
BATCH = "batch"


def sample_graph_name(sampler: str, steps: int) -> str:
    return f"sample_{sampler}{int(steps)}"


@dataclass(frozen=True)
class TensorSpec:
    name: str
    shape: tuple  # ints, and BATCH for the dynamic axis

    def to_dict(self) -> dict:
        return {"name": self.name, "shape": list(self.shape), "dtype": "float32"}

    def concrete(self, batch: int) -> tuple[int, ...]:
        return tuple(batch if d == BATCH else int(d) for d in self.shape)


@dataclass(frozen=True)
class GraphSpec:
    name: str
    inputs: tuple[TensorSpec, ...]
    outputs: tuple[TensorSpec, ...]


def graph_specs(config: ModelConfig, estimator_size: int = 64,
                samplers: tuple[tuple[str, int], ...] = ()) -> dict[str, GraphSpec]:
    c, b = config, BATCH
    role = (TensorSpec("role", (b,)),) if c.roles > 1 else ()  # role-conditioned models: which role each row answers
    specs = {
        "estimator": GraphSpec("estimator", (TensorSpec("crops", (b, 1, estimator_size, estimator_size)),),
                               (TensorSpec("attributes", (b, schema.REACTION_DIM)),)),
        "condition": GraphSpec("condition", (
            TensorSpec("visual", (b, c.context, c.reaction_dim)), TensorSpec("visual_present", (b, c.context)),
            TensorSpec("audio", (b, c.context, c.audio_dim)), TensorSpec("audio_present", (b, c.context)),
            TensorSpec("past", (b, c.past, c.reaction_dim)), *role), (TensorSpec("cond", (b, c.cond_dim)),)),
        "denoise": GraphSpec("denoise", (TensorSpec("latent", (b, c.latent_dim)), TensorSpec("t", (b,)),
                                         TensorSpec("cond", (b, c.cond_dim))), (TensorSpec("v", (b, c.latent_dim)),)),
        "decode": GraphSpec("decode", (TensorSpec("latent", (b, c.latent_dim)),
                                       *((TensorSpec("past", (b, c.past, c.reaction_dim)),) if c.decoder_reads_past
                                         else ()),
                                       *((TensorSpec("speaker", (b, c.speaker_skip, c.reaction_dim)),
                                          TensorSpec("speaker_present", (b, c.speaker_skip))) if c.speaker_skip else ()),
                                       *role),
                            (TensorSpec("window", (b, c.window, c.reaction_dim)),)),
    }
    for sampler, steps in samplers:
        name = sample_graph_name(sampler, steps)
        specs[name] = GraphSpec(name, (TensorSpec("noise", (b, c.latent_dim)), TensorSpec("cond", (b, c.cond_dim))),
                                (TensorSpec("latent", (b, c.latent_dim)),))
    return specs


class DecomposedLayerNorm(nn.Module):
    """nn.LayerNorm over the last axis from ReduceMean/Sub/Mul/Sqrt/Div (TensorRT 8.5 has no LayerNormalization)."""

    def __init__(self, norm: nn.LayerNorm):
        super().__init__()
        if len(norm.normalized_shape) != 1:
            raise ValueError(f"only last-axis LayerNorm is decomposed, got normalized_shape {norm.normalized_shape}")
        self.eps = float(norm.eps)
        self.weight = None if norm.weight is None else nn.Parameter(norm.weight.detach().clone())
        self.bias = None if norm.bias is None else nn.Parameter(norm.bias.detach().clone())

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        centred = x - x.mean(dim=-1, keepdim=True)
        y = centred / torch.sqrt((centred * centred).mean(dim=-1, keepdim=True) + self.eps)
        if self.weight is not None:
            y = y * self.weight
        if self.bias is not None:
            y = y + self.bias
        return y


def tensorrt_friendly(module: nn.Module) -> nn.Module:
    """A deep copy in eval mode with every nn.LayerNorm decomposed (the original is left untouched)."""
    module = copy.deepcopy(module).eval()
    for name, child in list(module.named_modules()):
        for attribute, grandchild in list(child.named_children()):
            if isinstance(grandchild, nn.LayerNorm):
                setattr(child, attribute, DecomposedLayerNorm(grandchild))
        del name
    return module


class ConditionGraph(nn.Module):
    """The condition encoder with the spec's inputs (the role only for a role-conditioned model)."""

    def __init__(self, model: ReactionModel):
        super().__init__()
        self.condition = model.condition
        self.names = [t.name for t in graph_specs(model.config)["condition"].inputs]

    def forward(self, *inputs):
        given = dict(zip(self.names, inputs, strict=True))
        return self.condition(given["visual"], given["visual_present"], given["audio"], given["audio_present"],
                              given["past"], given.get("role"))


class DenoiseGraph(nn.Module):
    def __init__(self, model: ReactionModel):
        super().__init__()
        self.denoiser = model.denoiser

    def forward(self, latent, t, cond):
        return self.denoiser(latent, t, cond)


class DecodeGraph(nn.Module):
    """The decoder with the inputs its config gives it (graph_specs: past only when it reads it, the speaker's
    frames only with speaker_skip), in the spec's order."""

    def __init__(self, model: ReactionModel):
        super().__init__()
        self.autoencoder = model.autoencoder
        self.names = [t.name for t in graph_specs(model.config)["decode"].inputs]

    def forward(self, *inputs):
        given = dict(zip(self.names, inputs, strict=True))
        return self.autoencoder.decode(given["latent"], given.get("past"), given.get("speaker"),
                                       given.get("speaker_present"), given.get("role"))


class SampleGraph(nn.Module):
    """The few-step sampler unrolled: noise (B,L), cond (B,cond_dim) -> final latent (B,L), guidance 1.

    Runs diffusion.py's sampler object itself on torch tensors (its update is `a * x + b * x0` with
    Python-float coefficients), with the same x0 = sqrt(a) x - sqrt(1-a) v as WindowGenerator, so the
    graph is the numpy path's arithmetic, traced."""

    def __init__(self, model: ReactionModel, sampler: str, steps: int):
        super().__init__()
        self.denoiser = model.denoiser
        self.sampler = make_sampler(sampler, model.schedule, steps)
        self.alphas_cumprod = model.schedule.alphas_cumprod()

    def forward(self, noise, cond):
        def predict_x0(x, t):
            timestep = torch.ones_like(x[:, 0]) * float(t)
            return x0_from_v(x, self.denoiser(x, timestep, cond), self.alphas_cumprod[int(t)])

        return self.sampler.sample(predict_x0, noise)


def graph_modules(model: ReactionModel, estimator: nn.Module | None,
                  samplers: tuple[tuple[str, int], ...] = ()) -> dict[str, nn.Module]:
    """name -> traceable module (TensorRT-friendly copies; `model` and `estimator` are not modified)."""
    model = tensorrt_friendly(model)
    modules: dict[str, nn.Module] = {}
    if estimator is not None:
        modules["estimator"] = tensorrt_friendly(estimator)
    modules.update(condition=ConditionGraph(model), denoise=DenoiseGraph(model), decode=DecodeGraph(model))
    for sampler, steps in samplers:
        modules[sample_graph_name(sampler, steps)] = SampleGraph(model, sampler, steps)
    return {name: module.eval() for name, module in modules.items()}


def random_inputs(spec: GraphSpec, batch: int, seed: int = 0, config: ModelConfig | None = None) -> dict[str, np.ndarray]:
    """Plausible random inputs for a graph (presence flags 0/1, timesteps in range, crops in 0..1)."""
    rng = np.random.default_rng(seed)
    feeds = {}
    for tensor in spec.inputs:
        shape = tensor.concrete(batch)
        if tensor.name.endswith("_present") or tensor.name == "role":
            value = (rng.random(shape) < 0.8).astype(np.float32)
        elif tensor.name == "t":
            top = config.train_timesteps if config is not None else 1000
            value = rng.integers(0, top, shape).astype(np.float32)
        elif tensor.name in ("crops",):
            value = rng.random(shape).astype(np.float32)
        elif tensor.name in ("visual", "past", "speaker"):  # attribute frames: in the schema's ranges
            value = schema.clip_to_range(rng.random(shape).astype(np.float32))
        else:
            value = rng.standard_normal(shape).astype(np.float32)
        feeds[tensor.name] = np.ascontiguousarray(value, dtype=np.float32)
    return feeds
