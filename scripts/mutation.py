"""Mutation testing of the core modules with mutmut (`pip install -e .[mutation]`); not run in CI (slow).

mutmut changes one operator, constant or call at a time ("mutants") and runs the tests that cover the
mutated function; a mutant that no test notices "survives" and points at behaviour no test pins.
This script copies the repository (tracked and untracked-but-not-ignored files) to out/mutation/tree
(mutmut's results cache stays there between runs), configures mutmut for the modules below and their tests,
runs it niced and time-boxed, and records the score and the surviving mutants:

    benchmarks/results/mutation.json   every run (date, modules, counts, score, survivors), appended
    docs/mutation.md                   the generated section between the markers

    python3 scripts/mutation.py                      # all core modules, 20 min budget
    python3 scripts/mutation.py --modules react_ros/robot/motion.py --budget-s 300
    python3 scripts/mutation.py --recheck --note "with the new tests"   # the last run's survivors again
    python3 scripts/mutation.py --report-only        # rewrite docs/mutation.md from the JSON

Each module's mutants run against that module's tests only (CORE below), one module after another, each
in an equal share of the time budget. score = killed / (killed + survived); timed-out mutants (a hang, or a
slow run on a loaded machine) and mutants not reached before the time box ran out ("not checked") are
counted apart and left out of the score.
"""
from __future__ import annotations

import argparse
import json
import os
import shlex
import shutil
import subprocess
import sys
import time
from pathlib import Path
from xml.etree import ElementTree

ROOT = Path(__file__).resolve().parents[1]
RESULTS = ROOT / "benchmarks" / "results" / "mutation.json"
PAGE = ROOT / "docs" / "mutation.md"
BEGIN, END = "<!-- BEGIN GENERATED: scripts/mutation.py -->", "<!-- END GENERATED: scripts/mutation.py -->"

# The core modules and the tests that pin them (mutmut runs, per mutant, those of them that cover it).
CORE = {
    "react_ros/metrics/ccc.py": ["test/test_metrics.py", "-k", "ccc or frcorr"],
    "react_ros/metrics/realism.py": ["test/test_metrics.py", "-k", "frechet or evaluate"],
    "react_ros/model/diffusion.py": ["test/test_sampling_semantics.py", "test/test_model.py", "-k",
                                     "sampl or guidance or temperature"],
    "react_ros/model/generator.py": ["test/test_sampling_semantics.py", "test/test_model.py", "-k",
                                     "not checkpoint and not training and not resumes and not whitening"],
    "react_ros/robot/motion.py": ["test/test_robot.py"],
    "react_ros/perception/audio_features.py": ["test/test_perception.py", "-k", "frame_count or causal or "
                                              "streaming or buffer or voice or normalisation or mel"],
}
# Left out: the numba kernels (dtw, diversity, synchrony), which every mutant would recompile (minutes each).


def _copy_tree(destination: Path) -> None:
    files = subprocess.run(["git", "ls-files", "-co", "--exclude-standard", "-z"], cwd=ROOT, check=True,
                           capture_output=True).stdout.decode().split("\0")
    for name in filter(None, files):
        source, target = ROOT / name, destination / name
        if source.is_file() and (not target.exists() or target.read_bytes() != source.read_bytes()):
            target.parent.mkdir(parents=True, exist_ok=True)
            shutil.copy2(source, target)


def _mutmut(tree: Path, *args: str, timeout: float | None = None) -> subprocess.CompletedProcess:
    mutmut = shutil.which("mutmut", path=str(Path(sys.executable).parent)) or shutil.which("mutmut")
    if mutmut is None:
        raise SystemExit("mutmut is not installed: pip install -e .[mutation]")
    # The tests must import the mutated copy in `tree`, not an installed react_ros.
    env = {**os.environ, "PYTHONPATH": str(tree), "NUMBA_CACHE_DIR": str(tree.parent / "numba")}
    command = ["nice", "-n", "10", mutmut, *args]
    try:
        return subprocess.run(command, cwd=tree, env=env, capture_output=True, text=True, timeout=timeout)
    except subprocess.TimeoutExpired as expired:  # mutmut restores the source file on SIGTERM... usually
        subprocess.run(["git", "checkout", "--", "."], cwd=tree, capture_output=True)
        return subprocess.CompletedProcess(command, 124, str(expired.stdout or ""), str(expired.stderr or ""))


def _statuses(tree: Path) -> dict[str, dict]:
    """mutant id -> status, file, line and change, from mutmut's junit report."""
    report = _mutmut(tree, "junitxml", "--untested-policy=skipped", "--suspicious-policy=ignore").stdout
    statuses = {}
    if "<testsuite" not in report:
        return statuses
    for case in ElementTree.fromstring(report[report.index("<"):]).iter("testcase"):
        mutant = case.get("name", "").rpartition("#")[2]  # "Mutant #12"
        failure, error, skipped = case.find("failure"), case.find("error"), case.find("skipped")
        status = ("survived" if failure is not None else "timeout" if error is not None
                  else "not checked" if skipped is not None else "killed")
        diff = next((e.text or "" for e in (failure, error) if e is not None), "")
        changed = [line[1:].strip() for line in diff.splitlines()
                   if line[:1] in "+-" and not line.startswith(("+++", "---"))]
        statuses[mutant] = {"status": status, "file": case.get("file", ""), "line": int(case.get("line", 0)),
                            "change": " -> ".join(changed)[:200]}
    return statuses


def _runner(module: str) -> str:
    """The module's tests as one shell command. mutmut 2 splits the command with shlex and counts only exit
    status 1 as "tests failed": pytest's other failures (2: a collection error, e.g. a mutant that breaks an
    import; 4: a usage error) would count as "tests pass" and make killed mutants look like survivors."""
    pytest = shlex.join([sys.executable, "-m", "pytest", "-x", "-q", "-p", "no:cacheprovider", *CORE[module]])
    return shlex.join(["sh", "-c", f"{pytest} || exit 1"])


# mutmut's time limit per mutant: 2x the baseline test time + 30 s. On a shared, loaded machine a slow test
# run still hits it now and then, so timed-out mutants are counted apart and left out of the score.
TIMING = ("--test-time-base", "30", "--no-progress")


def run(modules: list[str], budget_s: float, note: str, previous: dict | None = None) -> dict:
    """Mutate `modules` in a fresh copy; or, with `previous` (the last run), re-check only its survivors and
    timed-out mutants against the current tests in that run's copy, so the two scores count the same mutants."""
    tree = ROOT / "out" / "mutation" / "tree"
    if previous is None:
        if tree.exists():
            shutil.rmtree(tree)
        tree.mkdir(parents=True)
    _copy_tree(tree)
    subprocess.run(["git", "init", "-q"], cwd=tree, check=True)  # to restore sources if mutmut is cut off
    subprocess.run(["git", "add", "-A"], cwd=tree, check=True)
    subprocess.run(["git", "-c", "user.name=m", "-c", "user.email=m@m", "commit", "-qm", "tree"], cwd=tree,
                   capture_output=True)
    started = time.time()
    timed_out = []
    if previous is not None:
        modules = previous["modules"]
        undecided = {m: e for m, e in _statuses(tree).items() if e["status"] in ("survived", "timeout")}
        for mutant, entry in undecided.items():
            remaining = budget_s - (time.time() - started)
            result = _mutmut(tree, "run", mutant, "--paths-to-mutate", entry["file"], "--runner",
                             _runner(entry["file"]), "--tests-dir", "test", *TIMING, timeout=max(remaining, 1.0))
            if result.returncode == 124:
                timed_out.append(entry["file"])
                break
            if result.returncode & 1:
                raise SystemExit(f"mutmut failed on #{mutant}:\n{result.stdout[-2000:]}\n{result.stderr[-2000:]}")
    for module in modules if previous is None else []:
        result = _mutmut(tree, "run", "--paths-to-mutate", module, "--runner", _runner(module), "--tests-dir",
                         "test", *TIMING, timeout=budget_s / len(modules))
        if result.returncode == 124:
            timed_out.append(module)
        elif result.returncode & 1:
            raise SystemExit(f"mutmut failed on {module}:\n{result.stdout[-2000:]}\n{result.stderr[-2000:]}")
    seconds = time.time() - started
    statuses = _statuses(tree)
    counts: dict[str, int] = {}
    for entry in statuses.values():
        counts[entry["status"]] = counts.get(entry["status"], 0) + 1
    killed, survived = counts.get("killed", 0), counts.get("survived", 0)
    survivors = {m: e for m, e in statuses.items() if e["status"] == "survived"}
    return {
        "date": time.strftime("%Y-%m-%d %H:%M", time.gmtime()), "note": note, "modules": modules,
        "commit": subprocess.run(["git", "rev-parse", "--short", "HEAD"], cwd=ROOT, capture_output=True,
                                 text=True).stdout.strip(),
        "seconds": round(seconds), "timed_out": timed_out, "counts": counts,
        "killed": killed, "survived": survived, "timed_out_mutants": counts.get("timeout", 0),
        "not_checked": counts.get("not checked", 0),
        "score": round(killed / (killed + survived), 3) if killed + survived else None,
        "survivors": survivors,
    }


def render(runs: list[dict]) -> str:
    lines = [BEGIN, "", "| run (UTC) | commit | modules | killed | survived | timed out | not checked | score | time |",
             "| --- | --- | --- | --- | --- | --- | --- | --- | --- |"]
    for r in runs:
        counts = r["counts"]
        killed, survived = counts.get("killed", 0), counts.get("survived", 0)
        score = "-" if killed + survived == 0 else f"{100 * killed / (killed + survived):.1f} %"
        modules = ", ".join(Path(m).stem for m in r["modules"])
        timed = " (time box hit: " + ", ".join(Path(m).stem for m in r["timed_out"]) + ")" if r["timed_out"] else ""
        lines.append(f"| {r['date']} {r['note']} | {r['commit']} | {modules} | {killed} | {survived} "
                     f"| {counts.get('timeout', 0)} | {r['not_checked']} | {score} | {r['seconds']} s{timed} |")
    last = runs[-1]
    lines += ["", f"Surviving mutants of the last run ({len(last['survivors'])}):", ""]
    for name, s in last["survivors"].items():
        lines.append(f"- #{name} `{s['file']}:{s['line']}` ({s['status']}): `{s['change']}`")
    lines += ["", END]
    return "\n".join(lines)


def write_page(runs: list[dict]) -> None:
    text = PAGE.read_text() if PAGE.exists() else f"# Mutation testing\n\n{BEGIN}\n{END}\n"
    head, _, rest = text.partition(BEGIN)
    _, _, tail = rest.partition(END)
    PAGE.write_text(head + render(runs) + tail)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--modules", nargs="+", default=list(CORE), help="files to mutate (default: the core)")
    parser.add_argument("--budget-s", type=float, default=1200.0, help="time box for mutmut run")
    parser.add_argument("--note", default="", help="a word on this run, shown in the table")
    parser.add_argument("--recheck", action="store_true",
                        help="re-check the last run's survivors against the current tests (after adding tests)")
    parser.add_argument("--report-only", action="store_true", help="only rewrite docs/mutation.md")
    args = parser.parse_args(argv)
    runs = json.loads(RESULTS.read_text()) if RESULTS.exists() else []
    if not args.report_only:
        unknown = [m for m in args.modules if m not in CORE]
        if unknown:
            parser.error(f"not a core module: {unknown}; choose from {list(CORE)}")
        if args.recheck and not runs:
            parser.error("--recheck needs a previous run in " + str(RESULTS.relative_to(ROOT)))
        runs.append(run(args.modules, args.budget_s, args.note, runs[-1] if args.recheck else None))
        RESULTS.parent.mkdir(parents=True, exist_ok=True)
        RESULTS.write_text(json.dumps(runs, indent=1) + "\n")
        last = runs[-1]
        print(f"killed {last['killed']}, survived {last['survived']}, not checked {last['not_checked']}, "
              f"score {last['score']}; {RESULTS.relative_to(ROOT)}")
    if runs:
        write_page(runs)
    return 0


if __name__ == "__main__":
    sys.exit(main())
