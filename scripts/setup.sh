#!/usr/bin/env bash
# Installs everything react_ros needs into the current Python (3.10+), on a fresh machine or again.
#   torch first: on this project's machines `torch==2.13.0` is a CPU build; installing it before the
#   package stops pip from resolving torch to a multi-GB CUDA build.
#   [ros] pulls the ROS 2 Python wheels; on a robot with system ROS 2 use REACT_ROS_NO_ROS_WHEELS=1.
set -euo pipefail
cd "$(dirname "$0")/.."
PY=${PYTHON:-python3}
extras="dev"
[ "${REACT_ROS_NO_ROS_WHEELS:-0}" = "1" ] || extras="ros,dev"
"$PY" -m pip install --quiet --disable-pip-version-check "torch==${REACT_ROS_TORCH:-2.13.0}"
"$PY" -m pip install --quiet --disable-pip-version-check -e ".[${extras}]"
# pip writes no ament index entry, share/ files or lib/react_ros executables: register them so that
# `ros2 launch react_ros ...` and `ros2 run react_ros ...` work (prefix = this Python's; docs/ros.md).
"$PY" -m react_ros.ament_install
# The runtime only loads what exists: put the demo model's ONNX export in the cache the nodes load from, so
# that `ros2 launch` on the default backend (onnxruntime) does not fall back to torch.
"$PY" -m react_ros.cli export prepare
