"""o3video: grounded video reasoning that cites *when* (a timestamp) and *where* (a box).

Core modules (`grammar`, `geometry`, `tasks`, `rewards`) are pure Python; the heavy layers
(video, models, training, evaluation) build on them, never the other way round.
"""

__version__ = "0.1.0"
