"""A study condition's reaction source, made from its spec (study file): the one place both the study runner and
the node's conditions (study/live.py) make them."""
from __future__ import annotations

from dataclasses import asdict

from react_ros.study.conditions import GenerativeSource, MimeSource, NeutralSource, ReplaySource, ScriptedSource
from react_ros.study.studyfile import ConditionSpec, Study


def make_source(spec: ConditionSpec, study: Study, graphs=None, base_sampling=None):
    """The reaction source of one condition; a generative one samples with `base_sampling` (the model card's
    resolved setting; SamplingConfig's defaults when None) overridden by the condition's options."""
    o = spec.options
    if spec.kind == "generative":
        from react_ros.model.card import sampling_setting
        from react_ros.model.generator import SamplingConfig

        if graphs is None:
            raise ValueError(f"condition {spec.name!r} needs the model's graphs")
        base = base_sampling if base_sampling is not None else SamplingConfig()
        sampling = sampling_setting(None, asdict(base), {k: v for k, v in o.items() if k in SAMPLING_OPTIONS})
        return GenerativeSource(graphs, sampling, seed=int(o.get("seed", study.seed)))
    if spec.kind == "mime":
        return MimeSource(float(o.get("delay_s", 0.0)), study.fps)
    if spec.kind == "neutral":
        return NeutralSource()
    if spec.kind == "replay":
        return ReplaySource.from_mars(study.resolve(str(o["data"])), str(o.get("split", "test")), int(o.get("pair", 0)),
                                      str(o.get("role", "listener")))
    return ScriptedSource(o["keyframes"], study.fps, bool(o.get("loop", False)), f"condition {spec.name!r}")


SAMPLING_OPTIONS = ("sampler", "steps", "guidance", "temperature")  # a generative condition's sampling options


def is_the_model(spec: ConditionSpec, sampling) -> bool:
    """A generative condition that asks for nothing else than the session's model runs (`sampling`: its resolved
    SamplingConfig; the seed is the session's start seed): that condition is the session's own model."""
    if spec.kind != "generative" or sampling is None:
        return False
    return all(str(value) == str(getattr(sampling, key)) or _same_number(value, getattr(sampling, key))
               for key, value in spec.options.items() if key in SAMPLING_OPTIONS)


def _same_number(a, b) -> bool:
    try:
        return float(a) == float(b)
    except (TypeError, ValueError):
        return False
