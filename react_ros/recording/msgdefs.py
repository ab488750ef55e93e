"""ROS 2 message definitions (the .msg text) for the types react_ros records, without needing ROS installed.

MCAP's ros2 profile stores, per schema, the type's definition followed by each nested type as
`================================================================================\nMSG: pkg/Type\n<text>`,
which is what `ros2 bag` writes and what Foxglove, `ros2 bag` and mcap-ros2-support read.
"""
from __future__ import annotations

_SEPARATOR = "=" * 80

_BASE: dict[str, str] = {
    "builtin_interfaces/Time": "int32 sec\nuint32 nanosec\n",
    "std_msgs/Header": "builtin_interfaces/Time stamp\nstring frame_id\n",
    "std_msgs/MultiArrayDimension": "string label\nuint32 size\nuint32 stride\n",
    "std_msgs/MultiArrayLayout": "MultiArrayDimension[] dim\nuint32 data_offset\n",
    "std_msgs/Float32MultiArray": "MultiArrayLayout layout\nfloat32[] data\n",
    "std_msgs/UInt8MultiArray": "MultiArrayLayout layout\nuint8[] data\n",
    "std_msgs/String": "string data\n",
    "sensor_msgs/Image": ("std_msgs/Header header\nuint32 height\nuint32 width\nstring encoding\nuint8 is_bigendian\n"
                          "uint32 step\nuint8[] data\n"),
    "sensor_msgs/CompressedImage": "std_msgs/Header header\nstring format\nuint8[] data\n",
    "sensor_msgs/JointState": "std_msgs/Header header\nstring[] name\nfloat64[] position\nfloat64[] velocity\n"
                              "float64[] effort\n",
    "diagnostic_msgs/KeyValue": "string key\nstring value\n",
    "diagnostic_msgs/DiagnosticStatus": ("byte OK=0\nbyte WARN=1\nbyte ERROR=2\nbyte STALE=3\nbyte level\nstring name\n"
                                         "string message\nstring hardware_id\nKeyValue[] values\n"),
    "diagnostic_msgs/DiagnosticArray": "std_msgs/Header header\nDiagnosticStatus[] status\n",
}

_DEPENDS: dict[str, tuple[str, ...]] = {
    "std_msgs/Header": ("builtin_interfaces/Time",),
    "std_msgs/MultiArrayLayout": ("std_msgs/MultiArrayDimension",),
    "std_msgs/Float32MultiArray": ("std_msgs/MultiArrayLayout",),
    "std_msgs/UInt8MultiArray": ("std_msgs/MultiArrayLayout",),
    "sensor_msgs/Image": ("std_msgs/Header",),
    "sensor_msgs/CompressedImage": ("std_msgs/Header",),
    "sensor_msgs/JointState": ("std_msgs/Header",),
    "diagnostic_msgs/DiagnosticStatus": ("diagnostic_msgs/KeyValue",),
    "diagnostic_msgs/DiagnosticArray": ("std_msgs/Header", "diagnostic_msgs/DiagnosticStatus"),
}


def _short(datatype: str) -> str:
    """'sensor_msgs/msg/Image' or 'sensor_msgs/Image' -> 'sensor_msgs/Image'."""
    parts = datatype.split("/")
    return f"{parts[0]}/{parts[-1]}" if len(parts) >= 2 else datatype


def _closure(name: str, seen: list[str]) -> None:
    for dependency in _DEPENDS.get(name, ()):
        if dependency not in seen:
            seen.append(dependency)
            _closure(dependency, seen)


def message_definition(datatype: str) -> str:
    """The full definition text of a supported type ('pkg/msg/Type' or 'pkg/Type')."""
    name = _short(datatype)
    if name not in _BASE:
        raise KeyError(f"no message definition for {datatype!r}; known: {', '.join(sorted(_BASE))}")
    dependencies: list[str] = []
    _closure(name, dependencies)
    parts = [_BASE[name]]
    for dependency in dependencies:
        parts.append(f"{_SEPARATOR}\nMSG: {dependency}\n{_BASE[dependency]}")
    return "".join(parts)


def known_types() -> list[str]:
    return [f"{n.split('/')[0]}/msg/{n.split('/')[1]}" for n in _BASE]
