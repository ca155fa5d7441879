"""Perception pre-training of the demo's tiny base: scenes drawn in memory, their questions, the training loop
and its held-out scores, and the cached, resumable base build."""
