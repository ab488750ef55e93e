"""The model card (`<bundle>/card.json`), typed and read without torch, and the one place where the sampling
setting is decided.

The card records how a bundle was made (training command, data, validation) and its tuned sampling
setting. `ModelCard.read(dir)` needs no model weights, so ONNX Runtime / TensorRT users never load torch to
learn how to sample. `sampling_setting(card, *overrides)` merges, in this order, the card's setting, a config
file's, node parameters and command-line options (later wins; a None value means "not given") into the
`SamplingConfig` every backend runs. `ModelCard.with_sampling(...).write(dir)` is the one writer: it saves
every SamplingConfig field, so what was tuned is what is run.

`run_setting(card, face_frontend, *overrides)` is the one resolver from a card to everything that runs its
model: the sampling setting, the speaker front end (the one it was trained on for "auto"), what its speaker
condition was trained on and its directions. The reaction node, `react-ros run` (through the node), `eval`,
`bench` and `study run` all take what they run from it, so a study's "model" condition is the benchmarked robot.
"""
from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import asdict, dataclass, field, fields, replace
from pathlib import Path

from react_ros.model.files import CARD_FILE, default_model_dir
from react_ros.model.generator import SamplingConfig

SAMPLING_FIELDS = tuple(f.name for f in fields(SamplingConfig))
FACE_FRONTENDS = ("haar", "mesh")


@dataclass(frozen=True)
class ModelCard:
    sampling: SamplingConfig = SamplingConfig()  # the tuned setting (SamplingConfig's defaults when not tuned)
    tuned: bool = False  # the card has a sampling section
    extra: dict = field(default_factory=dict)  # everything else on the card (training, data, validation, sweeps)

    @classmethod
    def from_dict(cls, data: Mapping | None, source: str = "card") -> ModelCard:
        data = dict(data or {})
        values = data.pop("sampling", None)
        if values is None:
            return cls(extra=data)
        if not isinstance(values, Mapping):
            raise ValueError(f"{source}: 'sampling' must be a mapping, got {type(values).__name__}")
        unknown = sorted(set(values) - set(SAMPLING_FIELDS))
        if unknown:
            raise ValueError(f"{source}: unknown sampling setting(s) {unknown}; known: {', '.join(SAMPLING_FIELDS)}")
        return cls(SamplingConfig(**values), True, data)

    @classmethod
    def read(cls, directory: str | Path | None = None) -> ModelCard:
        """The card of a bundle directory (default: the shipped demo model); an empty card when it has none."""
        path = Path(directory or default_model_dir()) / CARD_FILE
        if not path.is_file():
            return cls()
        try:
            data = json.loads(path.read_text())
        except ValueError as error:
            raise ValueError(f"{path}: not valid JSON ({error})") from error
        return cls.from_dict(data, str(path))

    @property
    def face_frontend(self) -> str:
        """The speaker front end whose output the model's speaker condition was trained on (haar for cards
        written before the mesh front end existed): what the robot must run (docs/perception.md)."""
        return str(self.extra.get("face_frontend", "haar"))

    @property
    def speaker_attributes(self) -> str:
        """labels (the data set's facial-attributes) | perceived (what the mesh front end reads from the videos):
        what the model's speaker condition was trained on, so what offline generation must feed it."""
        return str(self.extra.get("speaker_attributes", "labels"))

    @property
    def directions(self) -> str:
        """The directions the model was trained on ("both" for cards that do not say): the windows that
        represent what it will see, e.g. for INT8 calibration."""
        return str((self.extra.get("train_config") or {}).get("directions", "both"))

    def mean_sampling(self) -> SamplingConfig:
        """The model's mean reaction (temperature 0, no listener style) with its own amplitude gains, measured at
        temperature 0 by the calibration (`mean_reaction`); a card without them: its operating point's."""
        stored = (self.extra.get("mean_reaction") or {}).get("sampling")
        return SamplingConfig(**stored) if stored else self.sampling.mean_answer()

    def with_sampling(self, sampling: SamplingConfig) -> ModelCard:
        return replace(self, sampling=sampling, tuned=True)

    def to_dict(self) -> dict:
        out = dict(self.extra)
        if self.tuned:
            out["sampling"] = asdict(self.sampling)
        return out

    def write(self, directory: str | Path) -> Path:
        path = Path(directory) / CARD_FILE
        path.write_text(json.dumps(self.to_dict(), indent=2, default=str) + "\n")
        return path


def sampling_setting(card: ModelCard | None = None, *overrides: Mapping[str, object] | None) -> SamplingConfig:
    """The card's sampling setting with each mapping of overrides applied in turn (None values are skipped).
    Unknown keys are an error: a misspelt option must not be ignored silently."""
    values = asdict((card or ModelCard()).sampling)
    for layer in overrides:
        for key, value in (layer or {}).items():
            if key not in values:
                raise ValueError(f"unknown sampling setting {key!r}; known: {', '.join(SAMPLING_FIELDS)}")
            if value is not None:
                values[key] = value
    return SamplingConfig(**values)


def given_settings(options) -> dict[str, object]:
    """The sampling settings an argparse namespace (or any object) carries as attributes; None = not given."""
    return {key: getattr(options, key) for key in SAMPLING_FIELDS if hasattr(options, key)}


def resolve_face_frontend(requested: str, trained_on: str | None) -> str:
    """The front end to run: `requested` (haar | mesh), or for "auto" the one the model was trained on (its card's
    face_frontend; a caller without it must name the front end: a wrong guess feeds the model other values)."""
    if requested == "auto" and trained_on is None:
        raise ValueError("face_frontend 'auto' runs the front end the model was trained on: pass the model card's "
                         "face_frontend, or name haar or mesh")
    frontend = trained_on if requested == "auto" else requested
    if frontend not in FACE_FRONTENDS:
        raise ValueError(f"face_frontend must be auto, haar or mesh, got {requested!r}"
                         + (f" (the model card says {trained_on!r})" if requested == "auto" else ""))
    return frontend


@dataclass(frozen=True)
class RunSetting:
    """Everything a model card decides about running its model, after the caller's overrides."""

    sampling: SamplingConfig  # the card's tuned setting, then the overrides
    face_frontend: str  # the speaker front end to run: haar | mesh
    trained_face_frontend: str  # the one the card says the model was trained on
    speaker_attributes: str  # labels | perceived: what offline generation must feed the speaker condition
    directions: str  # the directions the model was trained on

    def info(self) -> dict:
        """Flat values for recordings' metadata and reports."""
        return {**asdict(self.sampling), "face_frontend": self.face_frontend,
                "trained_face_frontend": self.trained_face_frontend, "speaker_attributes": self.speaker_attributes,
                "directions": self.directions}


def run_setting(card: ModelCard | str | Path | None = None, face_frontend: str | None = "auto",
                *sampling_overrides: Mapping[str, object] | None) -> RunSetting:
    """What runs a model: `card` (a ModelCard, a bundle directory, or None for the shipped demo model),
    `face_frontend` auto (the card's) | haar | mesh (None = auto), sampling overrides as in `sampling_setting`."""
    if not isinstance(card, ModelCard):
        card = ModelCard.read(card)
    return RunSetting(sampling_setting(card, *sampling_overrides),
                      resolve_face_frontend(face_frontend or "auto", card.face_frontend), card.face_frontend,
                      card.speaker_attributes, card.directions)
