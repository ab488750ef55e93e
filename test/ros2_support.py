"""Test support: the real `ros2` command line (launch, launch_ros, ros2cli) from the unmodified upstream sources
in ../shared/vendor/ros2, installed at test time into an isolated, cached venv.

Why a venv and not the test's own Python: launch_testing's pytest plugin breaks every pytest 9 run, and the
shared interpreter must stay as `scripts/setup.sh` leaves it. The venv sees the test interpreter's own
site-packages (rclpy and the message wheels, react_ros), wherever they are: the system's, a `python -m venv`'s
or a user site. It adds only what `ros2 launch` needs: the vendor packages and their small pure-Python
dependencies from the package index. It is built once per (sources, Python, environment) under
$REACT_ROS_CACHE or $XDG_CACHE_HOME/react_ros (default ~/.cache/react_ros) and reused.

`composition_interfaces` (no wheel) is stubbed by test/ros2_stubs, put on PYTHONPATH of the subprocesses
only (never installed, never shipped).
"""
from __future__ import annotations

import fcntl
import hashlib
import os
import shutil
import site
import subprocess
import sys
import tarfile
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
STUBS = Path(__file__).resolve().parent / "ros2_stubs"
ARCHIVES = ("launch-src.tar.gz", "launch_ros-src.tar.gz", "ros2cli-src.tar.gz")
# What `ros2 launch` / `ros2 run` need (README of the vendor folder); launch_testing is left out on purpose.
PACKAGES = ("launch/launch", "launch/launch_xml", "launch/launch_yaml", "launch_ros/launch_ros", "ros2cli/ros2cli",
            "launch_ros/ros2launch", "ros2cli/ros2pkg", "ros2cli/ros2run")
INDEX_DEPENDENCIES = ("osrf-pycommon", "psutil", "argcomplete", "lark", "wheel")


def vendor_dir() -> Path | None:
    """../shared/vendor/ros2 next to this checkout (or next to the main checkout of a git worktree), or
    $REACT_ROS_ROS2_VENDOR."""
    candidates = [os.environ.get("REACT_ROS_ROS2_VENDOR", ""), ROOT.parent / "shared" / "vendor" / "ros2",
                  ROOT / "shared" / "vendor" / "ros2"]
    git = ROOT / ".git"
    if git.is_file():  # a worktree: .git says "gitdir: <main>/.git/worktrees/<name>"
        gitdir = Path(git.read_text().split("gitdir:", 1)[-1].strip())
        candidates.append(gitdir.parents[2].parent / "shared" / "vendor" / "ros2")
    for candidate in candidates:
        if candidate and all((Path(candidate) / name).is_file() for name in ARCHIVES):
            return Path(candidate)
    return None


def cache_root() -> Path:
    base = os.environ.get("REACT_ROS_CACHE") or os.path.join(
        os.environ.get("XDG_CACHE_HOME") or os.path.expanduser("~/.cache"), "react_ros")
    return Path(base)


def ros2_venv(vendor: Path) -> Path:
    """The venv's directory (with bin/ros2), built if missing. Raises RuntimeError when it cannot be built
    (e.g. the package index is unreachable)."""
    digest = hashlib.sha256()
    for name in ARCHIVES:
        digest.update((vendor / name).read_bytes())
    digest.update(sys.version.encode())
    digest.update("\n".join(interpreter_site_dirs()).encode())  # a venv's packages are not the system's
    venv = cache_root() / f"ros2-vendor-{digest.hexdigest()[:12]}"
    venv.parent.mkdir(parents=True, exist_ok=True)
    with open(venv.parent / f"{venv.name}.lock", "w") as lock:  # parallel test runs build it once
        fcntl.flock(lock, fcntl.LOCK_EX)
        if (venv / "ready").is_file():
            return venv
        shutil.rmtree(venv, ignore_errors=True)
        try:
            _build(vendor, venv)
        except subprocess.CalledProcessError as error:
            shutil.rmtree(venv, ignore_errors=True)
            raise RuntimeError(f"could not build the ros2 venv: {error}\n{error.stdout}\n{error.stderr}") from error
        (venv / "ready").write_text("ok\n")
    return venv


def interpreter_site_dirs() -> list[str]:
    """The test interpreter's site-packages directories: in a `python -m venv` the venv's own (and the base's
    only where the venv includes them), else the system's; the user site where it is enabled."""
    dirs = list(site.getsitepackages())
    if site.ENABLE_USER_SITE:
        dirs.append(site.getusersitepackages())
    return [d for d in dict.fromkeys(dirs) if os.path.isdir(d)]


def _see_interpreter_packages(venv: Path) -> Path:
    """A .pth file in the venv that adds the test interpreter's site directories with their own .pth files
    (editable installs, the ROS wheels' start-up hook). `venv --system-site-packages` alone is not enough: a venv
    made from a venv's Python gets the *base* interpreter's site-packages, where rclpy is not installed."""
    python = str(venv / "bin" / "python")
    purelib = subprocess.run([python, "-c", "import sysconfig; print(sysconfig.get_paths()['purelib'])"],
                             check=True, capture_output=True, text=True, timeout=120).stdout.strip()
    lines = [f"import site; site.addsitedir({d!r})" for d in interpreter_site_dirs()]
    pth = Path(purelib) / "zz_react_ros_test_interpreter.pth"  # after the venv's own .pth files
    pth.write_text("\n".join(lines) + "\n")
    return pth


def _build(vendor: Path, venv: Path) -> None:
    def run(*command: str) -> None:
        subprocess.run(command, check=True, capture_output=True, text=True, timeout=900)

    run(sys.executable, "-m", "venv", "--system-site-packages", str(venv))
    python = str(venv / "bin" / "python")
    pip = (python, "-m", "pip", "install", "--quiet", "--disable-pip-version-check")
    run(*pip, *INDEX_DEPENDENCIES)
    source = venv / "src"
    for name in ARCHIVES:
        with tarfile.open(vendor / name) as archive:
            if hasattr(tarfile, "data_filter"):  # Python >= 3.10.12 / 3.11.4
                archive.extractall(source, filter="data")
            else:
                archive.extractall(source)  # noqa: S202 (our own vendored archives)
    run(*pip, "--no-deps", "--no-build-isolation", *(str(source / package) for package in PACKAGES))
    shutil.rmtree(source, ignore_errors=True)
    _see_interpreter_packages(venv)  # last: pip above installs into the venv, never over the interpreter's


def ros2_environment(prefix: Path, domain_id: int) -> dict[str, str]:
    """Environment for `ros2` subprocesses: this checkout and the stubs importable, `prefix` as the only
    ament prefix, an own DDS domain on localhost so parallel test runs do not hear each other."""
    env = dict(os.environ)
    env["PYTHONPATH"] = os.pathsep.join([str(ROOT), str(STUBS)] + ([env["PYTHONPATH"]] if env.get("PYTHONPATH") else []))
    env["AMENT_PREFIX_PATH"] = str(prefix)
    env["ROS_DOMAIN_ID"] = str(domain_id)
    env["ROS_AUTOMATIC_DISCOVERY_RANGE"] = "LOCALHOST"
    env["PYTHONUNBUFFERED"] = "1"
    env["ROS_LOG_DIR"] = str(prefix / "ros_log")  # launch and node logs next to the test's prefix
    env.pop("FASTDDS_BUILTIN_TRANSPORTS", None)  # the launch file's own default is under test
    if not env.get("_ROS_WHEELS_BOOTSTRAP_COMPLETE"):
        # The ROS wheels' start-up hook finds their shared libraries from sys.prefix, which in the venv is the
        # venv: give the subprocesses the base interpreter's library path instead (pytest's own process has it).
        from ros_wheels_bootstrapper import get_ros_paths

        env["LD_LIBRARY_PATH"] = get_ros_paths()
        env["_ROS_WHEELS_BOOTSTRAP_COMPLETE"] = "1"
    return env
