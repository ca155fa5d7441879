"""A synthetic spatio-temporal world: real H.264 videos of moving shapes with exact ground truth,
written as STGR training records and V-STaR / MCQ / temporal-grounding benchmark records.

    from o3video.data.synth import SynthConfig, build_dataset, get_preset
    build_dataset(SynthConfig(out="data/synth", preset=get_preset("easy"), sft=200, rl=200, bench=50))
"""

from o3video.data.synth.dataset import build_dataset
from o3video.data.synth.planner import plan_scene
from o3video.data.synth.presets import PRESETS, WorldPreset, get_preset
from o3video.data.synth.render import Rasteriser, encode_video
from o3video.data.synth.scene_plan import ObjectPlan, ScenePlan
from o3video.data.synth.synth_config import SynthConfig, SynthSummary
from o3video.data.synth.truth import SceneTruth, compute_truth
from o3video.mixes import RL_MIX, SFT_MIX, Mix, parse_mix, task_counts

__all__ = [
    "PRESETS", "RL_MIX", "SFT_MIX", "Mix", "ObjectPlan", "Rasteriser", "ScenePlan", "SceneTruth", "SynthConfig",
    "SynthSummary", "WorldPreset", "build_dataset", "compute_truth", "encode_video", "get_preset", "parse_mix",
    "plan_scene", "task_counts",
]
