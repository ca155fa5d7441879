"""The lab: the end-to-end demo on the synthetic world, the tiny model's perception pre-training, the offline
stand-in for the annotation VLM, and the experiments run on them.

It is installed with o3video (so `o3video demo` works from a wheel), but the product (grammar, rewards, video,
models, training, evaluation, construction, served models, lmms-eval) never imports it; `tests/test_layers.py`
checks that.
"""
