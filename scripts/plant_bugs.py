"""Plant known bugs one at a time and check that the tests named after them fail.

Each bug is an exact text substitution in one source file (the audit of issue 12 planted the same ones by
hand). For each, the repository's tracked and untracked-but-not-ignored files are copied to a scratch
directory, the bug is planted there, and the named tests run against that copy; a bug is "caught" when
pytest fails. The working tree is never touched. A substitution whose text is no longer in the source is
reported as "stale" (the code moved on: update the bug here), never silently skipped.

    python3 scripts/plant_bugs.py            # all bugs
    python3 scripts/plant_bugs.py guidance   # bugs whose name contains "guidance"

Exit status 0 when every bug is caught, 1 otherwise.
"""
from __future__ import annotations

import os
import shutil
import subprocess
import sys
import tempfile
from dataclasses import dataclass
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


@dataclass(frozen=True)
class Bug:
    name: str
    path: str
    before: str
    after: str
    tests: tuple[str, ...]  # pytest arguments: files and -k expressions


BUGS = [
    Bug("guidance pushes toward the unconditional prediction", "react_ros/model/generator.py",
        "v = v_u + guidance * (v_c - v_u)", "v = v_c + guidance * (v_u - v_c)",
        ("test/test_sampling_semantics.py", "-k", "guidance")),
    Bug("temperature ignored (x_t = noise)", "react_ros/model/generator.py",
        "x_t = (self.sampling.temperature * noise).astype(np.float32)", "x_t = noise.astype(np.float32)",
        ("test/test_sampling_semantics.py", "-k", "temperature")),
    Bug("watchdog waits 3x its delay", "react_ros/robot/motion.py",
        "if self.last_input is None or now - self.last_input > self.config.stale_after_s:",
        "if self.last_input is None or now - self.last_input > 3 * self.config.stale_after_s:",
        ("test/test_robot.py", "-k", "watchdog")),
    Bug("watchdog holds the last pose instead of easing to neutral", "react_ros/robot/motion.py",
        "            self.target = self.profile.neutral.copy()\n        return self._step(now)",
        "        return self._step(now)",
        ("test/test_robot.py", "-k", "watchdog")),
    Bug("int8_cpu backend feeds the batch's latents in the wrong order (torch with other noise)",
        "react_ros/runtime/onnxruntime_backend.py",
        '{"latent": f(latent), "t": f(t), "cond": f(cond)}', '{"latent": f(latent[::-1]), "t": f(t), "cond": f(cond)}',
        ("test/test_export.py", "-k", "int8_variant_is_made")),
    Bug("FRSyn overlap wrong for negative lags", "react_ros/metrics/synchrony.py",
        "p0 = lag if lag > 0 else 0\n        s0 = -lag if lag < 0 else 0",
        "p0 = lag if lag > 0 else -lag\n        s0 = 0",
        ("test/test_metrics.py", "-k", "lag or frsyn")),
    Bug("CCC without its mean-difference term", "react_ros/metrics/ccc.py",
        "+ diff * diff + CCC_EPS", "+ CCC_EPS",
        ("test/test_metrics.py", "-k", "ccc or frcorr")),
    Bug("causality leak: a window sees the speaker frame at its own start", "react_ros/model/generator.py",
        "            if self.frames_seen == self.next_start:\n                out.append(self._generate())\n"
        "            self._append(visual[i], v_present[i], audio[i], a_present[i])",
        "            self._append(visual[i], v_present[i], audio[i], a_present[i])\n"
        "            if self.frames_seen == self.next_start:\n                out.append(self._generate())",
        ("test/test_model.py", "-k", "future or emitted")),
]


def _copy_tree(destination: Path) -> None:
    files = subprocess.run(["git", "ls-files", "-co", "--exclude-standard", "-z"], cwd=ROOT, check=True,
                           capture_output=True).stdout.decode().split("\0")
    for name in filter(None, files):
        source = ROOT / name
        if source.is_file():
            target = destination / name
            target.parent.mkdir(parents=True, exist_ok=True)
            shutil.copy2(source, target)


def plant(bug: Bug, scratch: Path) -> str:
    """'caught', 'MISSED' or 'stale' for one bug, planted in a fresh copy of the tree."""
    tree = scratch / "tree"
    if tree.exists():
        shutil.rmtree(tree)
    _copy_tree(tree)
    source = tree / bug.path
    text = source.read_text()
    if text.count(bug.before) != 1:
        return "stale"
    source.write_text(text.replace(bug.before, bug.after))
    env = {**os.environ, "PYTHONPATH": str(tree), "NUMBA_CACHE_DIR": str(scratch / "numba")}
    result = subprocess.run([sys.executable, "-m", "pytest", "-q", "-x", "-p", "no:cacheprovider", *bug.tests],
                            cwd=tree, env=env, capture_output=True, text=True)
    if result.returncode == 5:  # no test collected: the named tests were renamed
        return "stale"
    return "caught" if result.returncode != 0 else "MISSED"


def main(argv: list[str]) -> int:
    selected = [b for b in BUGS if not argv or any(word in b.name for word in argv)]
    verdicts = []
    with tempfile.TemporaryDirectory(prefix="plant_bugs_") as scratch:
        for bug in selected:
            verdict = plant(bug, Path(scratch))
            verdicts.append(verdict)
            print(f"{verdict:7s} {bug.name}  [{bug.path}; pytest {' '.join(bug.tests)}]", flush=True)
    return 0 if all(v == "caught" for v in verdicts) else 1


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
