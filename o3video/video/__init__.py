"""Video input: probing, honest frame sampling with timestamps, key-frame insertion, the frame cache,
and the one prompt builder (`o3video.video.prompt`) every training, evaluation and inference path calls."""

from o3video.video.cache import FrameCache, cached_probe, file_identity
from o3video.video.keyframes import insert_key_frames, load_key_frame
from o3video.video.probe import VideoInfo, probe
from o3video.video.prompt import FRAME_LABEL, build_messages, frame_label, messages_images, system_prompt
from o3video.video.resize import MAX_PIXELS, MIN_PIXELS, QWEN3_FACTOR, QWEN25_FACTOR, input_size, smart_resize
from o3video.video.sampling import MODES, Frame, SampledFrames, blank_frames, blank_image, sample_frames, uniform_times
from o3video.video.video_error import VideoError

__all__ = [
    "FRAME_LABEL",
    "MAX_PIXELS",
    "MIN_PIXELS",
    "MODES",
    "QWEN25_FACTOR",
    "QWEN3_FACTOR",
    "Frame",
    "FrameCache",
    "SampledFrames",
    "VideoError",
    "VideoInfo",
    "blank_frames",
    "blank_image",
    "build_messages",
    "cached_probe",
    "file_identity",
    "frame_label",
    "input_size",
    "insert_key_frames",
    "load_key_frame",
    "messages_images",
    "probe",
    "sample_frames",
    "smart_resize",
    "system_prompt",
    "uniform_times",
]
