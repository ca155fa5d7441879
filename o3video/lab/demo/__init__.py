"""The end-to-end demo: synthetic world -> tiny model -> evaluate -> SFT -> evaluate -> GSPO -> evaluate -> report."""

from o3video.lab.demo.run import Demo, DemoSettings, quick_settings, run_demo

__all__ = ["Demo", "DemoSettings", "quick_settings", "run_demo"]
