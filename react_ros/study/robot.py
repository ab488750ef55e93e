"""`react-ros study run --ros NODE`: one participant through a study on the running robot (no ROS here).

The reaction node already has the conditions (started with `conditions_file:=` this study; see
react_ros/study/live.py) and records MCAP. This runner only steps through the participant's counterbalanced
order: per condition it sets the node's `participant_id`, `condition` and `output_dir` (the participant's
folder), starts the node's recording, waits the condition's duration (operator commands from `study control`
or `command()` apply within 50 ms), and stops the recording: one node recording per condition, with the
switch events and the node's metadata in it. The link to the node is a `RobotLink` (the ROS one is
react_ros/nodes/study_link.py), so this file stays ROS-free and the layers stay in order.

`live` holds what the operator console (console.py) shows, with the node's values from `RobotLink.status`.
Same files as the offline runner (runner.py): participants.json (rows), <participant>/state.json (order,
status, segments, elapsed seconds, events), <participant>/control. Pause: the robot holds `neutral` and the
condition's clock stops; resume restores the condition. Abort (command, SIGINT/SIGTERM) stops the recording
cleanly; running again resumes the first unfinished condition for its remaining time, in a new recording.
"""
from __future__ import annotations

import signal
import threading
import time
from collections import deque
from pathlib import Path
from typing import Protocol

from react_ros.study.runner import COMMANDS, Aborted, assign_row, claim_participant, study_root, write_json_atomic
from react_ros.study.studyfile import Study, check_pseudonym

__all__ = ["RobotLink", "RobotStudyRunner"]

NEUTRAL = "neutral"  # the node's built-in neutral condition: what "hold neutral" and pause show


class RobotLink(Protocol):
    def set_parameters(self, **values) -> None:
        """Set the node's parameters; a ValueError with the node's reason when it refuses one."""

    def set_recording(self, on: bool) -> str:
        """Start (the new recording's path) or stop the node's recording."""

    def conditions(self) -> list[str] | None:
        """The conditions the node knows (None: cannot tell)."""

    def status(self) -> dict:
        """The node's latest values for the operator console: reaction (25), active, latency_ms, face_present."""


class RobotStudyRunner:
    def __init__(self, study: Study, participant: str, out: str | Path, link: RobotLink,
                 poll_s: float = 0.05) -> None:
        self.study = study
        self.participant = check_pseudonym(participant)
        self.root = study_root(out, study)
        self.dir = (self.root / self.participant).resolve()
        self.link = link
        self.poll_s = poll_s
        self.state: dict = {}
        self._commands: deque[tuple[str, str]] = deque()  # (command, who sent it)
        self._signal = None
        self.live: dict = {"status": "starting"}  # what the operator console shows (console.py)

    @property
    def state_path(self) -> Path:
        return self.dir / "state.json"

    def _load_state(self) -> dict:
        if self.state_path.is_file():
            state = _json(self.state_path)
            if state.get("study_sha256") != self.study.sha256:
                raise ValueError(f"{self.state_path}: the study file changed since participant {self.participant} "
                                 f"started; restore it, or record this participant under a new pseudonym")
            return state
        order = self.study.order(assign_row(self.root, self.participant, self.study.rows))
        return {"study": self.study.name, "study_sha256": self.study.sha256, "participant": self.participant,
                "driver": "robot", "order": order, "status": "new", "events": [],
                "conditions": [{"name": name, "index": i, "status": "pending", "segments": [], "elapsed_s": 0.0,
                                "duration_s": self.study.condition(name).duration_s} for i, name in enumerate(order)]}

    @property
    def sources(self) -> list[str]:
        """The conditions an operator can switch to (the console's buttons)."""
        names = [c.name for c in self.study.conditions]
        return names + ([NEUTRAL] if NEUTRAL not in names else [])

    @property
    def order(self) -> list[str]:
        self.state = self.state or self._load_state()
        return list(self.state["order"])

    def _event(self, kind: str, **values) -> None:
        self.state["events"].append({"type": kind, "time_ns": time.time_ns(), **values})
        write_json_atomic(self.state_path, self.state)

    def command(self, text: str, by: str = "operator") -> None:
        """An operator command: pause, resume, abort, neutral, switch NAME (applied within `poll_s`); `by` names
        who sent it (e.g. which console), logged as a control event."""
        if text.strip().split(" ", 1)[0] not in COMMANDS:
            raise ValueError(f"unknown command {text!r}: use {', '.join(COMMANDS)} (switch NAME)")
        self._commands.append((text.strip(), by))

    def run(self) -> dict:
        """Every condition not done yet, on the robot; returns the state. Raises Aborted when stopped,
        ParticipantBusy when another process runs this participant."""
        lock = claim_participant(self.dir, self.participant)
        try:
            return self._run()
        finally:
            lock.close()

    def _run(self) -> dict:
        self.state = self.state or self._load_state()
        known = self.link.conditions()
        missing = [name for name in self.state["order"] if known is not None and name not in known]
        if missing:  # before anything happens, not in the middle of a participant's session
            raise ValueError(f"the reaction node does not know the conditions {missing} (it knows "
                             f"{', '.join(known)}); start it with conditions_file:={self.study.source}")
        previous = {}
        if threading.current_thread() is threading.main_thread():
            previous = {s: signal.signal(s, lambda signum, frame: setattr(self, "_signal", signum))
                        for s in (signal.SIGINT, signal.SIGTERM)}
        try:
            resumed = self.state["status"] != "new"
            self.state["status"] = "running"
            for entry in self.state["conditions"]:
                if entry["status"] != "done":
                    self._run_condition(entry, "resume" if resumed else "schedule")
                    resumed = False
            self.state["status"] = "done"
            write_json_atomic(self.state_path, self.state)
        finally:
            for signum, handler in previous.items():
                signal.signal(signum, handler)
        return self.state

    def _run_condition(self, entry: dict, reason: str) -> None:
        name = entry["name"]
        try:
            self.link.set_parameters(participant_id=self.participant, output_dir=str(self.dir), condition=name)
        except ValueError as error:
            raise ValueError(f"the reaction node refused condition {name!r} ({error}); start it with "
                             f"conditions_file:={self.study.source}") from None
        entry["status"] = "running"
        self._event("switch", current=name, reason=reason, condition=name)
        self.link.set_recording(False)  # a node started with record:=true: one recording per condition all the same
        entry["segments"].append(Path(self.link.set_recording(True)).name)
        write_json_atomic(self.state_path, self.state)
        try:
            self._wait(entry)
            entry["status"] = "done"
            self._event("condition_done", condition=name, elapsed_s=entry["elapsed_s"])
        finally:
            self.link.set_recording(False)
            write_json_atomic(self.state_path, self.state)

    def _wait(self, entry: dict) -> None:
        """The condition's remaining time, minus pauses; operator commands and signals in between."""
        paused, last, saved = False, time.monotonic(), time.monotonic()
        while entry["elapsed_s"] < entry["duration_s"]:
            for command in self._read_commands():
                word, _, argument = command.partition(" ")
                if word == "abort":
                    self._event("abort", condition=entry["name"], elapsed_s=entry["elapsed_s"])
                    self.state["status"] = "aborted"
                    self.live = dict(self.live, status="aborted")
                    raise Aborted(f"aborted in condition {entry['name']!r} after {entry['elapsed_s']:.1f} s; "
                                  f"run again to resume")
                if word in ("pause", "resume") and paused != (word == "pause"):
                    paused = word == "pause"
                    self.link.set_parameters(condition=NEUTRAL if paused else entry["name"])
                    self._event(word, condition=entry["name"], elapsed_s=entry["elapsed_s"])
                elif word in ("neutral", "switch"):
                    target = NEUTRAL if word == "neutral" else argument.strip()
                    try:
                        self.link.set_parameters(condition=target)
                        self._event("switch", current=target, reason="operator", condition=entry["name"])
                    except ValueError as error:
                        self._event("control_error", command=command, error=str(error))
            time.sleep(self.poll_s)
            now = time.monotonic()
            if not paused:
                entry["elapsed_s"] = min(entry["duration_s"], entry["elapsed_s"] + now - last)
            last = now
            self.live = {**self.link.status(), "status": "paused" if paused else "running",
                         "participant": self.participant, "study": self.study.name, "condition": entry["name"],
                         "position": entry["index"] + 1, "conditions": len(self.state["conditions"]),
                         "time_left_s": entry["duration_s"] - entry["elapsed_s"], "raw_media": False}
            if now - saved > 1.0:  # a crash loses at most a second of the condition's clock
                write_json_atomic(self.state_path, self.state)
                saved = now

    def _read_commands(self) -> list[str]:
        commands = ["abort"] if self._signal is not None else []
        while self._commands:
            command, by = self._commands.popleft()
            self._event("control", command=command, by=by)
            commands.append(command)
        path = self.dir / "control"
        try:
            text = path.read_text()
            path.unlink()
        except FileNotFoundError:
            return commands
        return commands + [line.strip() for line in text.splitlines() if line.strip()]


def _json(path: Path) -> dict:
    import json

    return json.loads(path.read_text())
