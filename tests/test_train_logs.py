"""Logs people read: `trainer.report_to=[tensorboard]` writes TensorBoard event files beside metrics.jsonl, with
the same per-step losses."""

import json

import pytest

from o3video.train import load_config, train_sft


@pytest.mark.slow
def test_tensorboard_event_file_holds_the_losses_of_metrics_jsonl(synth_easy, tiny_model, tmp_path):
    from tensorboard.backend.event_processing.event_accumulator import EventAccumulator

    out = tmp_path / "sft"
    config = load_config(None, [f"model={tiny_model}", f"output_dir={out}",
                                f"data.train={synth_easy / 'stgr_sft.json'}", "data.limit=4", "data.num_frames=2",
                                f"data.cache_dir={synth_easy / 'frame_cache'}",
                                "trainer.max_steps=3", "trainer.per_device_train_batch_size=2",
                                "trainer.report_to=[tensorboard]", "trainer.activation_checkpointing=false",
                                "threads=1"], stage="sft")
    train_sft(config)
    rows = [json.loads(line) for line in (out / "metrics.jsonl").read_text().splitlines()]
    losses = [(r["step"], r["loss"]) for r in rows if "loss" in r]
    events = sorted(out.rglob("events.out.tfevents.*"))
    assert len(events) == 1
    board = EventAccumulator(str(events[0].parent))
    board.Reload()
    logged = [(e.step, e.value) for e in board.Scalars("train/loss")]
    assert [s for s, _ in logged] == [s for s, _ in losses] == [1, 2, 3]
    assert [v for _, v in logged] == pytest.approx([v for _, v in losses])  # float32 in the event file
