"""bench/sft_length.py: the curve it reports is each chain's scored checkpoints in step order, in percent, at the CPU
minutes recorded when the checkpoint was saved, and the CPU clock carries over a resumed chain."""

from __future__ import annotations

import importlib.util
import json
from pathlib import Path
from types import SimpleNamespace

ROOT = Path(__file__).resolve().parents[1]


def load_bench():
    spec = importlib.util.spec_from_file_location("sft_length", ROOT / "bench" / "sft_length.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_the_curve_orders_checkpoints_by_step_in_percent_at_their_cpu_minutes(tmp_path):
    bench = load_bench()
    (tmp_path / "eval").mkdir()
    scores = {"seeing": {1200: 0.5, 180: 0.25}, "blind": {180: 0.125}}
    for name, by_step in scores.items():
        for step, what in by_step.items():
            summary = {metric: what for metric in bench.METRICS}
            (tmp_path / "eval" / f"{name}-{step}.summary.json").write_text(json.dumps(summary))
    (tmp_path / "cpu_seeing.json").write_text(json.dumps({"180": 600.0, "1200": 3000.0}))
    table = bench.curve(tmp_path)
    assert [(r["step"], r["cpu_min"], r["what"], r["mLGM"]) for r in table["seeing"]] == [(180, 10.0, 25.0, 25.0),
                                                                                          (1200, 50.0, 50.0, 50.0)]
    assert table["blind"] == [{"step": 180, "cpu_min": None, **{metric: 12.5 for metric in bench.METRICS}}]
    assert json.loads((tmp_path / "curve.json").read_text())["seeing"][1]["step"] == 1200


def test_a_resumed_chain_adds_the_cpu_time_its_earlier_process_recorded(tmp_path):
    bench = load_bench()
    path = tmp_path / "cpu_seeing.json"
    path.write_text(json.dumps({"180": 600.0}))
    callback = bench.CpuAtSave(path)
    callback.started -= 30.0  # this process has spent 30 s more since it started
    callback.on_save(None, SimpleNamespace(global_step=360), None)
    recorded = json.loads(path.read_text())
    assert recorded["180"] == 600.0 and 630.0 <= recorded["360"] < 640.0
