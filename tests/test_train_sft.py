"""SFT on the tiny model: targets per task, the assistant-only loss mask on padded batches, one step that
changes the weights, resuming a killed run with its weights, and V-STaR practice records."""

import json
import math
import signal

import pytest
import torch
from resume import WeightsAtStart, kill_after_checkpoint, logged_steps, weights

from o3video.data.stgr import load_stgr, validate_record
from o3video.grammar import parse
from o3video.lab.vstar_practice import KINDS, practice_records
from o3video.train.sft import train_sft
from o3video.train.sft_data import sft_collator, sft_example
from o3video.train.targets import target_answer, target_completion
from o3video.train.train_config import load_config
from o3video.train.train_records import load_training_records


@pytest.fixture(scope="module")
def loaded(tiny_model):
    from o3video.models import load_model

    return load_model(tiny_model)


def sft_config(synth_easy, tiny_model, out, *extra):
    return load_config(None, [
        f"model={tiny_model}", f"output_dir={out}", f"data.train={synth_easy / 'stgr_sft.json'}", "data.num_frames=4",
        f"data.cache_dir={synth_easy / 'frame_cache'}", "trainer.per_device_train_batch_size=2",
        "trainer.learning_rate=1e-3", "trainer.activation_checkpointing=false", "threads=2", *extra,
    ], stage="sft")


def test_targets_use_each_tasks_answer_form_in_model_input_pixels():
    temporal = {"task": "temporal QA", "answer": "[1.25, 4.0]", "reasoning_process": "Seen at <t>1.25</t>s."}
    mcq = {"task": "temporal QA (MCQ)", "answer": "B\n[2.0, 3.5]"}
    visual = {"task": "visual QA", "answer": "<obj>cat</obj><box>[100,50,200,150]</box>", "image_size": [400, 200],
              "reasoning_process": "The <obj>cat</obj><box>[100,50,200,150]</box>.", "image_path": "x.png"}
    video = {"task": "temporal-spatial free-form QA", "answer": "it stops", "box_format": "xyxy_norm",
             "reasoning_process": "The <obj>ball</obj><box>[0.5,0.5,1,1]</box>at<t>2.0</t>s stops."}
    assert target_answer(temporal, (112, 84)) == "From <t>1.25</t>s to <t>4.0</t>s"
    assert target_answer(mcq, (112, 84)) == "From <t>2.0</t>s to <t>3.5</t>s.\nCorrect Option: B"
    assert target_answer(visual, (200, 100)) == "<obj>cat</obj><box>[50,25,100,75]</box>"
    assert target_completion(visual, (200, 100)) == (
        "<think>The <obj>cat</obj><box>[50,25,100,75]</box>.</think><answer><obj>cat</obj><box>[50,25,100,75]</box></answer>")
    assert target_completion(video, (112, 84)) == (
        "<think>The <obj>ball</obj><box>[56,42,112,84]</box>at<t>2.0</t>s stops.</think><answer>it stops</answer>")


def test_assistant_only_labels_on_a_padded_batch_of_all_task_types(synth_easy, tiny_model, loaded):
    model, processor = loaded
    config = sft_config(synth_easy, tiny_model, "unused")
    records = load_training_records(config.data)
    by_task = {}
    for item in records:
        by_task.setdefault(item.record["task"], item)
    assert len(by_task) == 6  # the fixture's SFT split has every task type
    items = list(by_task.values())
    batch = sft_collator(processor)([sft_example(item) for item in items])
    ids, labels, mask = batch["input_ids"], batch["labels"], batch["attention_mask"]
    assert ids.shape[0] == 6 and (mask == 0).any()  # several examples, padded
    im_end = processor.tokenizer.convert_tokens_to_ids("<|im_end|>")
    for row, item in enumerate(items):
        completion = target_completion(item.record, item.prompt().input_size)
        expected = processor.tokenizer(completion, add_special_tokens=False)["input_ids"] + [im_end]
        trained = ids[row][labels[row] != -100].tolist()
        assert trained == expected  # exactly the assistant turn and its end-of-turn token
        # everything before the assistant turn (system, frames, question) carries no loss
        first = (labels[row] != -100).nonzero()[0].item()
        assert (labels[row][:first] == -100).all() and (ids[row][:first] == processor.tokenizer.convert_tokens_to_ids("<|image_pad|>")).any()


@pytest.mark.slow
def test_one_sft_step_changes_the_weights_with_a_finite_loss(synth_easy, tiny_model, tmp_path):
    from o3video.models import load_model

    out = train_sft(sft_config(synth_easy, tiny_model, tmp_path / "sft", "trainer.max_steps=1"))
    before, _ = load_model(tiny_model)
    after, _ = load_model(out)
    changed = [n for (n, a), (_, b) in zip(before.named_parameters(), after.named_parameters()) if not torch.equal(a, b)]
    assert changed and any("visual" in n for n in changed) and any("language_model" in n for n in changed)
    rows = [json.loads(line) for line in (out / "metrics.jsonl").read_text().splitlines()]
    assert math.isfinite(rows[0]["loss"]) and rows[0]["step"] == 1


@pytest.mark.slow
def test_freeze_vision_trains_the_language_model_and_leaves_the_vision_tower_as_loaded(synth_easy, tiny_model, tmp_path):
    from o3video.models import load_model

    out = train_sft(sft_config(synth_easy, tiny_model, tmp_path / "sft", "trainer.max_steps=1", "freeze_vision=true"))
    before, _ = load_model(tiny_model)
    after, _ = load_model(out)
    changed = {n for (n, a), (_, b) in zip(before.named_parameters(), after.named_parameters()) if not torch.equal(a, b)}
    visual = {n for n, _ in before.named_parameters() if ".visual." in f".{n}"}
    assert visual and not changed & visual  # the tower, merger included, is exactly as loaded
    assert any("language_model" in n for n in changed)


@pytest.mark.slow
def test_a_run_killed_after_a_checkpoint_resumes_its_weights_and_ends_as_an_uninterrupted_run(
        synth_easy, tiny_model, tmp_path, capsys):
    """SIGKILL after checkpoint-4 of 6, resume: the resumed run starts from the checkpoint's weights (not
    the base model's), finishes with the same weights as a run never interrupted (CPU training here is
    deterministic), logs each step once, and a rerun of the finished command changes nothing."""
    from o3video.cli import main

    run = ["trainer.max_steps=6", "trainer.save_steps=2", "trainer.lr_scheduler_type=cosine"]
    full = train_sft(sft_config(synth_easy, tiny_model, tmp_path / "full", *run))

    out = tmp_path / "killed"
    overrides = [f"model={tiny_model}", f"output_dir={out}", f"data.train={synth_easy / 'stgr_sft.json'}",
                 "data.num_frames=4", f"data.cache_dir={synth_easy / 'frame_cache'}",
                 "trainer.per_device_train_batch_size=2", "trainer.learning_rate=1e-3",
                 "trainer.activation_checkpointing=false", "threads=2", *run]
    killed = kill_after_checkpoint("sft", 4, overrides)
    assert killed.returncode == -signal.SIGKILL, killed.stderr[-2000:]
    assert (out / "checkpoint-4" / "trainer_state.json").is_file() and not (out / "trainer_state.json").exists()
    (out / "checkpoint-5").mkdir()  # a checkpoint cut while being written: no trainer_state.json

    start = WeightsAtStart()
    resumed = train_sft(load_config(None, overrides, stage="sft"), callbacks=[start])
    assert start.step == 4 and not (out / "checkpoint-5").exists()
    at_checkpoint = weights(out / "checkpoint-4")
    assert set(start.weights) == set(at_checkpoint)
    assert all(torch.equal(start.weights[k], at_checkpoint[k]) for k in at_checkpoint)  # every tensor came back
    final, uninterrupted = weights(resumed), weights(full)
    assert all(torch.equal(final[k], uninterrupted[k]) for k in final)
    assert logged_steps(out) == [1, 2, 3, 4, 5, 6]

    model_bytes = (out / "model.safetensors").read_bytes()
    metrics = (out / "metrics.jsonl").read_text()
    assert main(["train", "sft", *overrides]) == 0
    assert "already finished at step 6" in capsys.readouterr().out
    assert (out / "model.safetensors").read_bytes() == model_bytes and (out / "metrics.jsonl").read_text() == metrics


def test_vstar_practice_records_are_valid_stgr_records_in_model_input_pixels(synth_easy):
    annotations = json.loads((synth_easy / "vstar_test.json").read_text())
    records = practice_records(annotations)
    assert len(records) == 5 * len(annotations) and {r["vstar_kind"] for r in records} == set(KINDS)
    assert all(validate_record(r) == [] for r in records)
    where = next(r for r in records if r["vstar_kind"] == "where_1")
    boxes = json.loads(where["answer"])
    first = annotations[0]["bboxes"][0]
    assert boxes[str(int(first["timestamp"]))] == [first["xmin"], first["ymin"], first["xmax"], first["ymax"]]
    assert where["insert_key_frames"] is False and len(where["key_frames"]) == len(annotations[0]["bboxes"])
    # the reasoning cites the object at every second the answer lists, in its order: the answer is a copy of it
    claims = parse(f"<think>{where['reasoning_process']}</think><answer>x</answer>").claims
    assert [(str(int(c.time)), list(c.boxes[0])) for c in claims] == list(boxes.items())
    assert {c.object for c in claims} == {annotations[0]["object"]}
    when = next(r for r in records if r["vstar_kind"] == "when_1")
    start, end = annotations[0]["timestamps"]
    assert target_answer(when, (112, 84)).startswith("From <t>") and json.loads(when["answer"]) == [start, end]
    path = synth_easy / "practice.json"
    path.write_text(json.dumps(records))
    assert len(load_stgr(path).records) == len(records)


@pytest.mark.slow
def test_records_whose_media_is_missing_or_unreadable_are_skipped_on_request_and_named_otherwise(
        synth_easy, tiny_model, tmp_path, caplog):
    from o3video.data.stgr import RecordError

    records = json.loads((synth_easy / "stgr_sft.json").read_text())
    videos = [i for i, r in enumerate(records) if r.get("video_path")][:2]
    records[videos[0]] = dict(records[videos[0]], video_path="videos/gone.mp4")
    (synth_easy / "videos" / "broken.mp4").write_bytes(b"not a video at all")
    records[videos[1]] = dict(records[videos[1]], video_path="videos/broken.mp4")
    data = synth_easy / "with_bad_media.json"
    data.write_text(json.dumps(records))
    overrides = [f"data.train={data}", "trainer.max_steps=4", "trainer.save_steps=100"]

    with pytest.raises(RecordError, match=r"with_bad_media.json: record .*gone.mp4"):
        train_sft(sft_config(synth_easy, tiny_model, tmp_path / "raise", *overrides))
    assert not (tmp_path / "raise" / "checkpoint-1").exists()  # found before any step

    with caplog.at_level("WARNING"):
        out = train_sft(sft_config(synth_easy, tiny_model, tmp_path / "skip", *overrides, "data.on_error=skip"))
    assert json.loads((out / "trainer_state.json").read_text())["global_step"] == 4
    assert "skipped 2 record(s)" in caplog.text and "gone.mp4" in caplog.text


def test_the_blind_recipe_shows_blank_frames_with_the_same_times_and_sizes(synth_easy, tiny_model):
    import numpy as np

    from o3video.video.prompt import messages_images

    seeing = sft_config(synth_easy, tiny_model, "unused")
    blind = sft_config(synth_easy, tiny_model, "unused", "data.blank_frames=true")
    for task in ("temporal-spatial free-form QA", "visual QA"):
        item = next(i for i in load_training_records(seeing.data) if i.record["task"] == task)
        twin = next(i for i in load_training_records(blind.data) if i.record is not None and i.record == item.record)
        shown, blank = messages_images(item.prompt().messages), messages_images(twin.prompt().messages)
        assert len(shown) == len(blank) and [im.size for im in shown] == [im.size for im in blank]
        assert any(np.asarray(im).std() > 0 for im in shown) and all(np.asarray(im).std() == 0 for im in blank)
        text = lambda m: [c.get("text") for turn in m for c in turn["content"] if c["type"] == "text"]  # noqa: E731
        assert text(item.prompt().messages) == text(twin.prompt().messages)  # frame times and question kept
