"""Run one benchmark module in a fresh Python process (its own ROS contexts and state), reading back the JSON it
writes: the ROS stages of `react-ros bench` use this so a crash or a hang in one never takes the suite down."""
from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path


def run_module(module: str, json_out: str | Path, timeout: float, env: dict | None = None, **options) -> dict:
    """`python -m module --json json_out --option value ...` (options that are None or '' are left out); returns
    the JSON it wrote, or {"error": ...} with the exit code and the end of its output, or the time-out."""
    command = [sys.executable, "-m", module, "--json", str(json_out)]
    for key, value in options.items():
        if value is not None and value != "":
            command += [f"--{key.replace('_', '-')}", str(value)]
    try:
        done = subprocess.run(command, env=env, capture_output=True, text=True, timeout=timeout)
    except subprocess.TimeoutExpired:
        return {"error": f"timed out after {timeout} s"}
    if done.returncode != 0 or not Path(json_out).is_file():
        return {"error": f"exit {done.returncode}: {(done.stderr or done.stdout)[-1500:]}"}
    return json.loads(Path(json_out).read_text())
