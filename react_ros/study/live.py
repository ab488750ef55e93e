"""Study conditions on the live robot loop: a `ReactionSession` source that takes each frame's reaction from a
`ConditionSwitcher` (no ROS; the reaction node and tests use it alike).

    session = ReactionSession.from_loaded(...)             # its source: the model's ReactionPipeline
    live = attach_conditions(session, node_sources(...))   # now: the switcher's active condition
    live.request("mime")                                   # any thread; takes effect at the next camera frame

`ConditionedSource` wraps the model's `ReactionPipeline`: the pipeline still runs the front end (speaker
attributes, audio features, presence) and the model on every frame, then
- condition `model` (kind "model"): the pipeline's output goes out untouched, so the model condition is
  exactly the session without conditions (same seed, same reactions), and the model's context stays warm:
  switching back to it continues from the conversation so far, with no cold start;
- any other condition: the same output with its reaction replaced by the condition's step on this frame's
  speaker features (mime, neutral, replay, script, or a study's own generative setting).
Keeping the model running in every condition also keeps the processing latency the same across conditions,
so latency is not a confound between them. Everything after the source (motion limits, watchdog, face image,
counters) is the session's, hence the same for every condition.
"""
from __future__ import annotations

import dataclasses
from collections.abc import Callable

import numpy as np

from react_ros.study.conditions import ConditionSwitcher, MimeSource, NeutralSource, SpeakerFrame, SwitchEvent

__all__ = ["MODEL", "ModelCondition", "ConditionedSource", "attach_conditions", "node_sources"]

MODEL = "model"  # the name of the node's own model condition


class ModelCondition:
    """The session's model as a condition: the reaction the pipeline made for the current frame."""

    kind = "model"

    def __init__(self) -> None:
        self.current: np.ndarray | None = None

    def reset(self, seed: int = 0) -> None:
        pass  # the pipeline is reset with the session (start, long input gaps), not per condition

    def step(self, frame: SpeakerFrame) -> np.ndarray:
        return self.current


class ConditionedSource:
    """A session ReactionSource: the model pipeline's front end and model, the switcher's reaction."""

    def __init__(self, pipeline, switcher: ConditionSwitcher) -> None:
        self.pipeline = pipeline
        self.switcher = switcher
        self.models = [s for s in switcher.sources.values() if isinstance(s, ModelCondition)]

    @property
    def stats(self):
        return self.pipeline.stats

    @property
    def active(self) -> str | None:
        return self.switcher.active

    def request(self, name: str, reason: str = "operator") -> None:
        """Switch to condition `name` at the next camera frame (any thread); ValueError when it is unknown.
        The condition starts from its own seed (a study's generative condition), else 0."""
        self.switcher.request(name, reason, getattr(self.switcher.sources.get(name), "seed", None))

    def reset(self, seed: int | None = None) -> None:
        self.pipeline.reset(seed)
        if self.switcher.active is not None:  # a fresh speaker context: the condition starts over too
            self.switcher.sources[self.switcher.active].reset(0 if seed is None else int(seed))

    def push_audio(self, samples, sample_rate: int, stamp: float) -> int:
        return self.pipeline.push_audio(samples, sample_rate, stamp)

    def push_image(self, image, stamp: float, emit: Callable | None = None):
        def conditioned(output) -> None:
            out = self.conditioned(output)
            if emit is not None:
                emit(out)

        return self.pipeline.push_image(image, stamp, emit=conditioned)

    def conditioned(self, output):
        """This frame's output under the active condition (the pipeline's own when the model is active)."""
        for model in self.models:
            model.current = output.reaction
        frame = SpeakerFrame(output.speaker, output.audio_features, output.face_present, output.audio_present)
        reaction = self.switcher.step(frame)  # applies a requested switch first, records it
        if isinstance(self.switcher.sources[self.switcher.active], ModelCondition):
            return output
        samples = np.repeat(reaction[None], len(output.samples), 0)
        return dataclasses.replace(output, reaction=reaction, samples=samples)

    # what the session shows on /diagnostics
    def diagnostics(self) -> dict[str, str]:
        return {"condition": str(self.switcher.active), "condition_switches": str(len(self.switcher.events)),
                "condition_errors": str(self.switcher.errors), "conditions": ",".join(self.switcher.sources)}


def node_sources(mime_delay_s: float = 0.5, study=None, graphs=None, model: dict | None = None) -> dict:
    """The conditions a robot can be switched between: `model` (the node's model, as configured), `mime`
    (delayed by `mime_delay_s`), `neutral`, then a study file's conditions by name (a study condition named
    like a built-in one replaces it). A study's `generative` condition is the node's own model when it asks
    for nothing else than `model` says the node runs ({sampler, steps, temperature, guidance, backend,
    seed}: session.info plus the seed); else it gets its own generator on `graphs` with its own sampling,
    which then runs beside the node's model (twice the model's compute while it is active)."""
    sources = {MODEL: ModelCondition(), "mime": MimeSource(mime_delay_s), "neutral": NeutralSource()}
    if study is not None:
        from react_ros.study.sources import make_source

        for spec in study.conditions:
            same = spec.kind == "generative" and model is not None and all(
                str(value) == str(model.get(key)) for key, value in spec.options.items())
            sources[spec.name] = ModelCondition() if same else make_source(spec, study, graphs)
    return sources


def attach_conditions(session, sources: dict, initial: str = MODEL, seed: int = 0,
                      listener: Callable[[SwitchEvent], None] | None = None) -> ConditionedSource:
    """Make `session` take its reactions from a switcher over `sources`, starting in `initial` (a ValueError
    names the known conditions when it is unknown). `listener(event)` hears every switch (the first too)."""
    switcher = ConditionSwitcher(sources)
    if listener is not None:
        switcher.listeners.append(listener)
    source = ConditionedSource(session.source, switcher)
    switcher.switch(initial or MODEL, "start", seed)
    session.source = source
    return source
