"""react_ros: an ament_python ROS 2 package that is also a plain pip package.

On a robot with system ROS 2, `colcon build` installs it and the system provides rclpy and the
messages. Elsewhere `pip install -e .[ros,dev]` pulls the ROS 2 Python wheels from the package index.
"""
from glob import glob

from setuptools import find_packages, setup

PACKAGE = "react_ros"

ROS_WHEELS = [
    "ros-rclpy",
    "ros-std-msgs",
    "ros-sensor-msgs",
    "ros-diagnostic-msgs",
    "ros-lifecycle-msgs",
    "ros-rmw-fastrtps-cpp",
    "ros-std-srvs",  # optional at run time: the reaction node's ~/set_recording service
]

setup(
    name=PACKAGE,
    version="0.1.0",
    description="Online facial reaction generation (latent diffusion) for social robots on ROS 2",
    packages=find_packages(include=[PACKAGE, f"{PACKAGE}.*"]),
    python_requires=">=3.10",
    data_files=[
        ("share/ament_index/resource_index/packages", [f"resource/{PACKAGE}"]),
        (f"share/{PACKAGE}", ["package.xml"]),
        (f"share/{PACKAGE}/launch", glob("launch/*.py")),
        (f"share/{PACKAGE}/config", glob("config/*.yaml")),
        (f"share/{PACKAGE}/config/robots", glob("config/robots/*.yaml")),
    ],
    package_data={PACKAGE: ["assets/*", "assets/**/*"]},
    install_requires=[
        "numpy>=1.24",
        "scipy>=1.10",
        "opencv-python-headless>=4.8,<5",  # 5.x wheels no longer ship the Haar face cascades
        "pyyaml>=6.0",
        "tqdm>=4.60",
        "matplotlib>=3.7",
        "numba>=0.58",
        # torch is installed first by scripts/setup.sh (CPU build); any recent release works.
        "torch>=2.2",
        "onnx>=1.15",
        "onnxruntime>=1.17",
        "onnxslim>=0.1.40",  # ONNX simplification in `react-ros export` (optional in code: falls back to ORT's)
        "mcap>=1.1",
        "mcap-ros2-support>=0.5",
        # The real-face front end (perception/mesh_frontend.py) runs MediaPipe's BlazeFace + FaceMesh .tflite
        # files, bundled in assets/face_models, with Google's LiteRT runtime. Not `mediapipe` itself: 0.10.14
        # (the last wheel with these models) pins protobuf<5 where onnx needs >=6, and it would add a second
        # OpenCV (opencv-contrib-python) beside opencv-python-headless, which the Haar front end still uses.
        "ai-edge-litert>=1.2",
        "silero-vad>=5.1",
        "python-osc>=1.8",  # blendshapes to avatar tools over VMC (robot/vmc.py)
        "pygltflib>=1.16",  # `react-ros export animation`: glTF 2.0 with morph targets (face/gltf.py)  # voice activity: its bundled ONNX model runs in onnxruntime (perception/voice.py)
    ],
    extras_require={
        "ros": ROS_WHEELS,
        "tensorrt": ["tensorrt>=8.5", "cuda-python>=12.0"],
        "audio": ["pyaudio>=0.2.13"],
        "foxglove": ["foxglove-sdk>=0.30,<0.31"],  # `study run --foxglove PORT`: the live stream
        "study": ["pyarrow>=14"],  # `react-ros analyze` writes Parquet beside the CSV tables
        # playwright: the console test; foxglove-sdk + websockets (a client): the live stream test
        "dev": ["pytest>=7", "hypothesis>=6", "ruff>=0.4", "playwright>=1.40", "foxglove-sdk>=0.30,<0.31",
                "websockets>=12", "trimesh>=4", "pyarrow>=14"],  # trimesh: a second glTF loader in test_animation_export
        # scripts/mutation.py (not in CI: slow). mutmut 2 mutates the source in place and runs a given test
        # command per mutant, which suits per-module test selection; mutmut 3's trampolines do not survive
        # this package's imports (its stats phase found no covered function).
        "mutation": ["mutmut>=2.4,<3"],
    },
    entry_points={
        "console_scripts": [
            "react-ros = react_ros.cli:main",
            "react-ros-camera = react_ros.nodes:camera_main",
            "react-ros-microphone = react_ros.nodes:microphone_main",
            "react-ros-reaction = react_ros.nodes:reaction_main",
            "react-ros-vmc = react_ros.nodes:vmc_main",
        ],
    },
    zip_safe=False,
)
