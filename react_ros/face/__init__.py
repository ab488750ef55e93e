"""Face rendering: reaction frames -> interpretable face controls -> cartoon face images and videos."""
from react_ros.face.params import PARAM_RANGES, FaceParams, face_params_from_reaction
from react_ros.face.renderer import FaceRenderer
from react_ros.face.video import read_video, render_reactions_video, tile, video_info, write_video

__all__ = [
    "PARAM_RANGES",
    "FaceParams",
    "FaceRenderer",
    "face_params_from_reaction",
    "read_video",
    "render_reactions_video",
    "tile",
    "video_info",
    "write_video",
]
