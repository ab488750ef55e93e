"""The model card (`<bundle>/card.json`), typed and read without torch, and the one place where the sampling
setting is decided.

The card records how a bundle was made (training command, data, validation) and its tuned sampling
setting. `ModelCard.read(dir)` needs no model weights, so ONNX Runtime / TensorRT users never load torch to
learn how to sample. `sampling_setting(card, *overrides)` merges, in this order, the card's setting, a config
file's, node parameters and command-line options (later wins; a None value means "not given") into the
`SamplingConfig` every backend runs. `ModelCard.with_sampling(...).write(dir)` is the one writer: it saves
every SamplingConfig field, so what was tuned is what is run.
"""
from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import asdict, dataclass, field, fields, replace
from pathlib import Path

from react_ros.model.files import CARD_FILE, default_model_dir
from react_ros.model.generator import SamplingConfig

SAMPLING_FIELDS = tuple(f.name for f in fields(SamplingConfig))


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
