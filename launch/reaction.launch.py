"""Launch react_ros on a robot: camera + microphone (optional, built in) -> reaction node -> face commands.

    ros2 launch react_ros reaction.launch.py robot:=animatronic backend:=tensorrt engine_dir:=/opt/engines
    ros2 launch react_ros reaction.launch.py robot:=arkit_blendshapes vmc:=true vmc_host:=192.168.1.20
    ros2 launch react_ros reaction.launch.py use_camera:=false image_topic:=/head_camera/image_raw \
        use_microphone:=false audio_topic:=/audio record:=true participant_id:=P07 condition:=mime

All parameters come from config/reaction.yaml (`params_file:=` for another one); the arguments below
override the most common ones. The reaction node is a lifecycle node that configures and activates itself
(`autostart`); set autostart:=false to drive it from a lifecycle manager instead.
The same YAML drives the in-process bringup (`react-ros run`), which needs no launch installation.

Camera-sized images over best-effort Fast DDS mostly do not arrive with its default transports (UDP
fragments); the launch sets FASTDDS_BUILTIN_TRANSPORTS=LARGE_DATA for its nodes unless the environment
already sets it (`fastdds_transports:=''` keeps Fast DDS's default). See docs/ros.md.
"""
import os

from ament_index_python.packages import get_package_share_directory
from launch.actions import DeclareLaunchArgument, OpaqueFunction, SetEnvironmentVariable
from launch.conditions import IfCondition
from launch.substitutions import LaunchConfiguration
from launch_ros.actions import Node
from launch_ros.parameter_descriptions import ParameterValue

from launch import LaunchDescription


def text(name):
    """A launch argument as a string parameter (an empty string stays a string, not YAML null)."""
    return ParameterValue(LaunchConfiguration(name), value_type=str)


def fastdds_transports(context):
    """FASTDDS_BUILTIN_TRANSPORTS for the nodes started after this action, unless the argument is ''."""
    value = LaunchConfiguration("fastdds_transports").perform(context)
    return [SetEnvironmentVariable("FASTDDS_BUILTIN_TRANSPORTS", value)] if value else []


def generate_launch_description():
    share = get_package_share_directory("react_ros")
    arguments = [
        DeclareLaunchArgument("params_file", default_value=os.path.join(share, "config", "reaction.yaml"),
                              description="ROS 2 parameter file for all nodes"),
        DeclareLaunchArgument("robot", default_value="screen_face",
                              description="robot face profile: a name in config/robots or a YAML path"),
        DeclareLaunchArgument("backend", default_value="onnxruntime", description="torch | onnxruntime | tensorrt"),
        DeclareLaunchArgument("fallback_backend", default_value="torch",
                              description="used when the backend cannot load ('' = none)"),
        DeclareLaunchArgument("engine_dir", default_value="", description="TensorRT engines / ONNX models"),
        DeclareLaunchArgument("model_dir", default_value="", description="model bundle ('' = the demo model)"),
        DeclareLaunchArgument("image_topic", default_value="/camera/image_raw", description="speaker camera topic"),
        DeclareLaunchArgument("audio_topic", default_value="/audio", description="speaker audio topic"),
        DeclareLaunchArgument("face_frontend", default_value="auto",
                              description="speaker front end: auto (the model card's) | haar | mesh (real faces)"),
        DeclareLaunchArgument("use_camera", default_value="true", description="start the built-in camera node"),
        DeclareLaunchArgument("camera_device", default_value="0", description="camera index for the camera node"),
        DeclareLaunchArgument("video_file", default_value="", description="play a video file instead of a camera"),
        DeclareLaunchArgument("use_microphone", default_value="true",
                              description="start the built-in microphone node"),
        DeclareLaunchArgument("wav_file", default_value="", description="play a WAV file instead of a microphone"),
        DeclareLaunchArgument("record", default_value="false", description="record the session to MCAP"),
        DeclareLaunchArgument("record_raw_media", default_value="true",
                              description="false: record features only, no raw video/audio"),
        DeclareLaunchArgument("participant_id", default_value="", description="recording metadata"),
        DeclareLaunchArgument("condition", default_value="",
                              description="study condition: model ('') | mime | neutral | a conditions_file name"),
        DeclareLaunchArgument("conditions_file", default_value="",
                              description="study YAML whose conditions the node can switch to (docs/study.md)"),
        DeclareLaunchArgument("output_dir", default_value="out/sessions", description="where recordings go"),
        DeclareLaunchArgument("autostart", default_value="true",
                              description="configure + activate the reaction node at start (false: wait for a "
                                          "lifecycle manager)"),
        DeclareLaunchArgument("audio_type", default_value="uint8_array",
                              description="uint8_array | audio_common_stamped | audio_common"),
        DeclareLaunchArgument("input_reliability", default_value="best_effort",
                              description="camera/microphone subscriptions of the reaction node: best_effort | "
                                          "reliable (a reliable-only driver, or large images over Fast DDS UDP)"),
        DeclareLaunchArgument("input_depth", default_value="5", description="their queue depth (keep last)"),
        DeclareLaunchArgument("face_style", default_value="cartoon",
                              description="rendered screen face: cartoon | human (docs/human_face.md)"),
        DeclareLaunchArgument("vmc", default_value="false",
                              description="start the VMC bridge: joint commands -> avatar tools over OSC "
                                          "(use with robot:=arkit_blendshapes, docs/human_face.md)"),
        DeclareLaunchArgument("vmc_host", default_value="127.0.0.1", description="VMC receiver host"),
        DeclareLaunchArgument("vmc_port", default_value="39539", description="VMC receiver UDP port"),
        DeclareLaunchArgument("fastdds_transports", default_value=os.environ.get("FASTDDS_BUILTIN_TRANSPORTS", "LARGE_DATA"),
                              description="FASTDDS_BUILTIN_TRANSPORTS for the nodes (LARGE_DATA: camera-sized "
                                          "images arrive; '' = Fast DDS default; an exported value wins)"),
    ]
    transports = OpaqueFunction(function=fastdds_transports)
    params_file = LaunchConfiguration("params_file")

    camera = Node(
        package="react_ros",
        executable="react-ros-camera",
        name="camera_node",
        output="screen",
        condition=IfCondition(LaunchConfiguration("use_camera")),
        parameters=[params_file, {
            "device": ParameterValue(LaunchConfiguration("camera_device"), value_type=int),
            "video_file": text("video_file"),
            "topic": text("image_topic"),
        }],
    )
    microphone = Node(
        package="react_ros",
        executable="react-ros-microphone",
        name="microphone_node",
        output="screen",
        condition=IfCondition(LaunchConfiguration("use_microphone")),
        parameters=[params_file, {
            "wav_file": text("wav_file"),
            "topic": text("audio_topic"),
        }],
    )
    reaction = Node(
        package="react_ros",
        executable="react-ros-reaction",
        name="reaction_node",
        output="screen",
        parameters=[params_file, {
            "autostart": ParameterValue(LaunchConfiguration("autostart"), value_type=bool),
            "audio_type": text("audio_type"),
            "input_reliability": text("input_reliability"),
            "input_depth": ParameterValue(LaunchConfiguration("input_depth"), value_type=int),
            "robot_profile": text("robot"),
            "backend": text("backend"),
            "fallback_backend": text("fallback_backend"),
            "engine_dir": text("engine_dir"),
            "model_dir": text("model_dir"),
            "image_topic": text("image_topic"),
            "audio_topic": text("audio_topic"),
            "face_frontend": text("face_frontend"),
            "face_style": text("face_style"),
            "record": ParameterValue(LaunchConfiguration("record"), value_type=bool),
            "record_raw_media": ParameterValue(LaunchConfiguration("record_raw_media"), value_type=bool),
            "participant_id": text("participant_id"),
            "condition": text("condition"),
            "conditions_file": text("conditions_file"),
            "output_dir": text("output_dir"),
        }],
    )
    vmc = Node(
        package="react_ros",
        executable="react-ros-vmc",
        name="vmc_node",
        output="screen",
        condition=IfCondition(LaunchConfiguration("vmc")),
        parameters=[params_file, {
            "host": text("vmc_host"),
            "port": ParameterValue(LaunchConfiguration("vmc_port"), value_type=int),
        }],
    )
    return LaunchDescription([*arguments, transports, camera, microphone, reaction, vmc])
