"""STGR data construction (paper §3, appendix A.3-A.4): read temporal-grounding and region-dense-caption
sources, filter them, annotate with a VLM, filter boxes, check self-consistency, mix, report.

    from o3video.construction import BuildConfig, SourceSpec, build
    build(BuildConfig(out=Path("stgr"), sources=(SourceSpec(Path("anet.json"), "temporal"),),
                      videos=Path("videos"), vlm="openai:http://localhost:8000/v1:Qwen/Qwen2.5-VL-72B-Instruct",
                      mix="sft", includes=(Path("tvg_coldstart.json"),)))

`o3video.lab.offline.build_demo.run_synthetic_demo` runs it offline on the synthetic world, against a local
ground-truth server that injects errors, and scores what the checks caught.
"""

from o3video.construction.build_config import BuildConfig, CheckConfig, SourceSpec, VLMOptions
from o3video.construction.filters import SourceFilterConfig
from o3video.construction.pipeline import BuildSummary, build

__all__ = ["BuildConfig", "BuildSummary", "CheckConfig", "SourceFilterConfig", "SourceSpec", "VLMOptions", "build"]
