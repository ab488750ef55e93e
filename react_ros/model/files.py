"""The files of a model bundle directory and where the shipped demo bundle is (no torch needed)."""
from __future__ import annotations

from pathlib import Path

MODEL_FILE = "reaction.pt"
ESTIMATOR_FILE = "estimator.pt"
CARD_FILE = "card.json"


def default_model_dir() -> Path:
    return Path(__file__).resolve().parent.parent / "assets" / "demo_model"
