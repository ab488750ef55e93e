"""The steps of a session besides the conditions, declared in the study file (validated here):

    consent: {version: "2026-03 v2"}     # recorded before the first condition: who, when, which version
    ready: true                           # before each condition the robot waits for the operator's start
    break_s: 30                           # a break between conditions (the operator may end it early)
    questionnaire:                        # after each condition, answered in the console's browser page
      - {id: likeable, text: "The robot was likeable", scale: [1, 7]}
      - {id: remarks, text: "Anything else?", kind: text, required: false}
    markers: [laugh, looked_away]         # event markers the console offers (buttons and keys 1, 2, ...)
    blind: true                           # the console shows coded labels (A, B, ... or a condition's `label`)

Answers are stored per participant x condition in state.json and merged by `react-ros analyze`; markers and
the operator's notes are events in the condition's recording (and state.json).
"""
from __future__ import annotations

import re
from dataclasses import dataclass

__all__ = ["Question", "SessionSteps", "parse_steps", "STEP_KEYS", "check_answers"]

STEP_KEYS = {"consent", "ready", "break_s", "questionnaire", "markers", "blind"}
_ID = re.compile(r"^[A-Za-z][A-Za-z0-9_]{0,31}$")


@dataclass(frozen=True)
class Question:
    id: str
    text: str
    kind: str = "scale"  # scale | text
    low: int = 1
    high: int = 7
    required: bool = True

    def as_dict(self) -> dict:
        return {"id": self.id, "text": self.text, "kind": self.kind, "low": self.low, "high": self.high,
                "required": self.required}


@dataclass(frozen=True)
class SessionSteps:
    consent_version: str | None = None  # None: no consent step
    ready: bool = False
    break_s: float = 0.0
    questionnaire: tuple[Question, ...] = ()
    markers: tuple[str, ...] = ()
    blind: bool = False

    def as_dict(self) -> dict:
        return {"consent_version": self.consent_version, "ready": self.ready, "break_s": self.break_s,
                "questionnaire": [q.as_dict() for q in self.questionnaire], "markers": list(self.markers),
                "blind": self.blind}


def parse_steps(data: dict, source: str, error=ValueError) -> SessionSteps:
    """The steps keys of a study mapping (the others are not looked at); `error`: the exception class to raise."""
    consent = data.get("consent")
    version = None
    if consent is not None:
        if not isinstance(consent, dict) or not str(consent.get("version", "")).strip():
            raise error(f"{source}: consent must be a mapping with the consent form's version, e.g. "
                        f"{{version: '2026-03 v2'}}, got {consent!r}")
        version = str(consent["version"]).strip()
    ready = data.get("ready", False)
    blind = data.get("blind", False)
    for key, value in (("ready", ready), ("blind", blind)):
        if not isinstance(value, bool):
            raise error(f"{source}: {key} must be true or false, got {value!r}")
    break_s = data.get("break_s", 0.0)
    if isinstance(break_s, bool) or not isinstance(break_s, int | float) or break_s < 0:
        raise error(f"{source}: break_s must be a number of seconds >= 0, got {break_s!r}")
    items = data.get("questionnaire", []) or []
    if not isinstance(items, list):
        raise error(f"{source}: questionnaire must be a list of {{id, text, scale: [low, high]}}")
    questions = []
    for i, item in enumerate(items):
        where = f"{source}: questionnaire[{i}]"
        if not isinstance(item, dict) or not _ID.match(str(item.get("id", ""))) or not item.get("text"):
            raise error(f"{where} needs an id (a letter, then letters, digits, _) and a text, got {item!r}")
        unknown = set(item) - {"id", "text", "kind", "scale", "required"}
        if unknown:
            raise error(f"{where}: unknown keys {sorted(unknown)} (allowed: id, text, kind, scale, required)")
        kind = item.get("kind", "scale")
        if kind not in ("scale", "text"):
            raise error(f"{where}: kind must be scale or text, got {kind!r}")
        low, high = item.get("scale", [1, 7]) if kind == "scale" else (0, 0)
        if kind == "scale" and not (isinstance(low, int) and isinstance(high, int) and low < high):
            raise error(f"{where}: scale must be [low, high] integers with low < high, got {item.get('scale')!r}")
        questions.append(Question(str(item["id"]), str(item["text"]), kind, low, high, bool(item.get("required", True))))
    ids = [q.id for q in questions]
    if len(set(ids)) != len(ids):
        raise error(f"{source}: questionnaire ids must be unique, got {ids}")
    markers = data.get("markers", []) or []
    if not isinstance(markers, list) or not all(isinstance(m, str) and _ID.match(m) for m in markers):
        raise error(f"{source}: markers must be a list of names (a letter, then letters, digits, _), got {markers!r}")
    return SessionSteps(version, ready, float(break_s), tuple(questions), tuple(markers), blind)


def check_answers(steps: SessionSteps, answers: dict) -> dict:
    """The questionnaire's answers, validated: scale answers integers in range, required ones present."""
    if not isinstance(answers, dict):
        raise ValueError(f"answers must be a mapping of question id -> answer, got {answers!r}")
    known = {q.id: q for q in steps.questionnaire}
    unknown = sorted(set(answers) - set(known))
    if unknown:
        raise ValueError(f"unknown questions {unknown}; the questionnaire has {sorted(known)}")
    out = {}
    for q in steps.questionnaire:
        value = answers.get(q.id)
        if value in (None, ""):
            if q.required:
                raise ValueError(f"question {q.id!r} ({q.text}) is not answered")
            continue
        if q.kind == "scale":
            try:
                number = int(value)
            except (TypeError, ValueError):
                raise ValueError(f"question {q.id!r}: {value!r} is not a number from {q.low} to {q.high}") from None
            if not q.low <= number <= q.high or str(number) != str(value).strip():
                raise ValueError(f"question {q.id!r}: {value!r} is not a whole number from {q.low} to {q.high}")
            out[q.id] = number
        else:
            out[q.id] = str(value)[:2000]
    return out
