"""Launch react_ros on a robot: camera + microphone (optional, built in) -> reaction node -> face commands.

    ros2 launch react_ros reaction.launch.py robot:=animatronic backend:=tensorrt engine_dir:=/opt/engines
    ros2 launch react_ros reaction.launch.py robot:=arkit_blendshapes vmc:=true vmc_host:=192.168.1.20
    ros2 launch react_ros reaction.launch.py use_camera:=false image_topic:=/head_camera/image_raw \
        use_microphone:=false audio_topic:=/audio record:=true participant_id:=P07 condition:=mime

All parameters come from config/reaction.yaml (`params_file:=` for another one); the arguments below
override the most common ones, and only when given: an argument left out keeps the params file's value
(`fallback_backend:=none` for no fallback: an empty value cannot be written on the command line).
The reaction node is a lifecycle node that configures and activates itself (`autostart`); set
autostart:=false to drive it from a lifecycle manager instead.
The same YAML drives the in-process bringup (`react-ros run`), which needs no launch installation.

Every node is required: when one exits, the launch shuts down, and when it exits with an error (a
configuration error: an unknown robot, a bad parameter) `ros2 launch` exits with status 1 after the node's reason.
The nodes keep the environment's DDS settings, so they talk to any ROS 2 node in its default configuration.
`fastdds_transports:=...` opts in to other Fast DDS transports for the launched nodes only (docs/ros.md):
`'UDPv4?sockets_size=4MB'` (quoted: `?` and `&` are shell characters) receives camera-sized best-effort frames
from a default-configured camera driver and still talks to everyone; LARGE_DATA costs interoperability:
processes with Fast DDS's default transports do not discover the nodes.
"""
import os

import yaml
from ament_index_python.packages import get_package_share_directory
from launch.actions import DeclareLaunchArgument, OpaqueFunction, SetEnvironmentVariable, Shutdown
from launch.conditions import IfCondition
from launch.substitutions import LaunchConfiguration
from launch_ros.actions import Node
from launch_ros.parameter_descriptions import ParameterValue

from launch import LaunchDescription

# Fast DDS's builtin transport names (FASTDDS_BUILTIN_TRANSPORTS); it ignores anything else with a warning.
FASTDDS_TRANSPORTS = ("DEFAULT", "DEFAULTv6", "SHM", "UDPv4", "UDPv6", "LARGE_DATA", "LARGE_DATAv6", "P2P", "NONE")
# Parameters that are strings whatever they look like (a participant "007" stays "007").
STRINGS = {"video_file", "topic", "wav_file", "audio_type", "image_transport", "input_reliability", "robot_profile",
           "backend", "fallback_backend", "engine_dir", "model_dir", "image_topic", "audio_topic", "face_frontend",
           "participant_id", "condition", "conditions_file", "output_dir", "face_style", "host"}


def given(context, arguments: dict) -> dict:
    """{parameter: launch argument} -> the parameters whose argument was given (not empty), as the node's
    parameter values: strings for string parameters, YAML for the others (the node refuses a wrong type)."""
    values = {}
    for parameter, argument in arguments.items():
        value = LaunchConfiguration(argument).perform(context).strip()
        if value in ("", "''", '""'):
            continue
        if parameter == "fallback_backend" and value.lower() == "none":
            value = ""
        values[parameter] = ParameterValue(value, value_type=str) if parameter in STRINGS else yaml.safe_load(value)
    return values


def on_exit(event, context):
    """A required node exited: shut the launch down. An error exit (not caused by the launch shutting down)
    raises, which makes `ros2 launch` exit with status 1; the node has printed its reason above."""
    if context.is_shutdown:
        return None
    try:
        name = event.action.node_name.rsplit("/", 1)[-1]  # launch_ros.actions.Node
    except (AttributeError, RuntimeError):
        name = event.process_name
    if event.returncode != 0:
        raise RuntimeError(f"required node {name} exited with status {event.returncode} (its reason is above)")
    return [Shutdown(reason=f"required node {name} exited")]


def fastdds_transports(context):
    """FASTDDS_BUILTIN_TRANSPORTS for the launched nodes, only when the argument is given."""
    value = LaunchConfiguration("fastdds_transports").perform(context).strip().strip("'\"")
    if not value:
        return []  # the environment's own setting (usually none: Fast DDS's default transports)
    if value.split("?", 1)[0] not in FASTDDS_TRANSPORTS:  # NAME or NAME?option=value&... (Fast DDS >= 2.14)
        raise ValueError(f"fastdds_transports {value!r}: expected one of {', '.join(FASTDDS_TRANSPORTS)}, "
                         "optionally followed by ?sockets_size=4MB&... ")
    return [SetEnvironmentVariable("FASTDDS_BUILTIN_TRANSPORTS", value)]


def nodes(context):
    params_file = LaunchConfiguration("params_file")
    camera = Node(
        package="react_ros",
        executable="react-ros-camera",
        name="camera_node",
        output="screen",
        condition=IfCondition(LaunchConfiguration("use_camera")),
        on_exit=on_exit,
        parameters=[params_file, given(context, {"device": "camera_device", "video_file": "video_file",
                                                 "topic": "image_topic"})],
    )
    microphone = Node(
        package="react_ros",
        executable="react-ros-microphone",
        name="microphone_node",
        output="screen",
        condition=IfCondition(LaunchConfiguration("use_microphone")),
        on_exit=on_exit,
        parameters=[params_file, given(context, {"wav_file": "wav_file", "topic": "audio_topic"})],
    )
    reaction = Node(
        package="react_ros",
        executable="react-ros-reaction",
        name="reaction_node",
        output="screen",
        on_exit=on_exit,
        parameters=[params_file, given(context, {
            "autostart": "autostart", "audio_type": "audio_type", "input_reliability": "input_reliability",
            "input_depth": "input_depth", "robot_profile": "robot", "backend": "backend",
            "fallback_backend": "fallback_backend", "engine_dir": "engine_dir", "model_dir": "model_dir",
            "image_topic": "image_topic", "image_transport": "image_transport", "audio_topic": "audio_topic",
            "face_frontend": "face_frontend", "face_style": "face_style",
            "record": "record", "record_raw_media": "record_raw_media", "participant_id": "participant_id",
            "condition": "condition", "conditions_file": "conditions_file", "output_dir": "output_dir",
        })],
    )
    vmc = Node(  # the VMC bridge: joint commands -> avatar tools over OSC (docs/human_face.md)
        package="react_ros",
        executable="react-ros-vmc",
        name="vmc_node",
        output="screen",
        condition=IfCondition(LaunchConfiguration("vmc")),
        on_exit=on_exit,
        parameters=[params_file, given(context, {"host": "vmc_host", "port": "vmc_port"})],
    )
    return [camera, microphone, reaction, vmc]


def argument(name: str, description: str, default: str = "") -> DeclareLaunchArgument:
    """A launch argument; empty by default = the params file's value."""
    return DeclareLaunchArgument(name, default_value=default, description=description)


def generate_launch_description():
    share = get_package_share_directory("react_ros")
    arguments = [
        argument("params_file", "ROS 2 parameter file for all nodes", os.path.join(share, "config", "reaction.yaml")),
        argument("robot", "robot face profile: a name in config/robots or a YAML path"),
        argument("backend", "torch | onnxruntime | tensorrt"),
        argument("fallback_backend", "used when the backend cannot load (none = fail instead)"),
        argument("engine_dir", "TensorRT engines / ONNX models"),
        argument("model_dir", "model bundle (default: the demo model)"),
        argument("image_topic", "speaker camera topic"),
        argument("image_transport", "raw | compressed (sensor_msgs/CompressedImage on <image_topic>/compressed, "
                                    "as image_transport republishes it)"),
        argument("audio_topic", "speaker audio topic"),
        argument("face_frontend", "speaker front end: auto (the model card's) | haar | mesh (real faces)"),
        argument("use_camera", "start the built-in camera node", "true"),
        argument("camera_device", "camera index for the camera node"),
        argument("video_file", "play a video file instead of a camera"),
        argument("use_microphone", "start the built-in microphone node", "true"),
        argument("wav_file", "play a WAV file instead of a microphone"),
        argument("record", "record the session to MCAP (true | false)"),
        argument("record_raw_media", "false: record features only, no raw video/audio"),
        argument("participant_id", "recording metadata"),
        argument("condition", "study condition: model | mime | neutral | a conditions_file name"),
        argument("conditions_file", "study YAML whose conditions the node can switch to (docs/study.md)"),
        argument("output_dir", "where recordings go"),
        argument("autostart", "configure + activate the reaction node at start (false: wait for a lifecycle "
                              "manager)"),
        argument("audio_type", "uint8_array | audio_common_stamped | audio_common"),
        argument("input_reliability", "camera/microphone subscriptions of the reaction node: best_effort | reliable"),
        argument("input_depth", "their queue depth (keep last)"),
        argument("face_style", "rendered screen face: cartoon | human (docs/human_face.md)"),
        argument("vmc", "start the VMC bridge: joint commands -> avatar tools over OSC (use with "
                        "robot:=arkit_blendshapes, docs/human_face.md)", "false"),
        argument("vmc_host", "VMC receiver host"),
        argument("vmc_port", "VMC receiver UDP port"),
        argument("fastdds_transports", "opt-in FASTDDS_BUILTIN_TRANSPORTS for the launched nodes: "
                                       "'UDPv4?sockets_size=4MB' receives camera-sized best-effort frames from a "
                                       "default-configured driver; LARGE_DATA cuts them off from default-configured "
                                       "processes; not given = the environment's setting (docs/ros.md)"),
    ]
    return LaunchDescription([*arguments, OpaqueFunction(function=fastdds_transports), OpaqueFunction(function=nodes)])
