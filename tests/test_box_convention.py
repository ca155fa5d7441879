"""The box convention belongs to the model (docs/design.md §4b): Qwen2.5-VL answers pixels of its input frame, Qwen3-VL
0–1000 of it. Detected from each tiny model's config, overridable, and read by every consumer: prompts, SFT
targets, RL rewards, V-STaR rescaling and scoring, `infer`'s evidence, pictures, test-time-scaling crops."""

import json
import types

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from PIL import Image

from o3video.cli import main
from o3video.errors import InputError
from o3video.geometry import (
    BoxConvention,
    GeometryError,
    convention_to_pixels,
    pixels_to_convention,
)
from o3video.grammar import parse
from o3video.rewards import RewardInputError, score

PIXELS, RELATIVE = BoxConvention.PIXELS, BoxConvention.RELATIVE_1000
BOX_1000 = [100, 200, 500, 800]


# --- geometry -------------------------------------------------------------------------------------------


def test_conventions_convert_to_and_from_input_pixels():
    assert convention_to_pixels(BOX_1000, RELATIVE, (200, 100)) == pytest.approx([20, 20, 100, 80])
    assert pixels_to_convention([20, 20, 100, 80], "relative_1000", (200, 100)) == pytest.approx(BOX_1000)
    assert convention_to_pixels([1, 2, 3, 4], PIXELS, (200, 100)) == [1, 2, 3, 4]
    with pytest.raises(ValueError):
        convention_to_pixels(BOX_1000, "auto", (200, 100))  # auto is resolved by the model layer, never here
    with pytest.raises(GeometryError):
        convention_to_pixels(BOX_1000, RELATIVE, (0, 100))


coordinate = st.floats(min_value=-1e4, max_value=1e4, allow_nan=False)
side = st.integers(min_value=1, max_value=4096)


@settings(max_examples=200, deadline=None)
@given(box=st.lists(coordinate, min_size=4, max_size=4), w=side, h=side, convention=st.sampled_from(list(BoxConvention)))
def test_conventions_round_trip(box, w, h, convention):
    there = pixels_to_convention(box, convention, (w, h))
    assert convention_to_pixels(there, convention, (w, h)) == pytest.approx(box, abs=1e-6)


# --- the model's convention ---------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def qwen25(tiny_model):
    from o3video.models import load_model

    return load_model(tiny_model)


@pytest.fixture(scope="module")
def qwen3(tiny_qwen3_model):
    from o3video.models import load_model

    return load_model(tiny_qwen3_model)


def test_convention_is_read_from_each_tiny_models_config(qwen25, qwen3):
    from o3video.models import box_convention_of

    assert box_convention_of(qwen25[0]) is PIXELS and qwen25[0].config.model_type == "qwen2_5_vl"
    assert box_convention_of(qwen3[0]) is RELATIVE and qwen3[0].config.model_type == "qwen3_vl"
    for model_type, expected in (("qwen2_vl", PIXELS), ("qwen3_vl_moe", RELATIVE), ("llava", PIXELS)):
        assert box_convention_of(types.SimpleNamespace(model_type=model_type)) is expected
    with pytest.raises(InputError, match="box_convention 'normalised'"):
        box_convention_of(types.SimpleNamespace(model_type="qwen3_vl", box_convention="normalised"))


def test_override_wins_and_is_saved_with_the_checkpoint(tiny_qwen3_model, tmp_path):
    from o3video.models import box_convention_of, load_model, set_box_convention

    model, processor = load_model(tiny_qwen3_model, box_convention="pixels")
    assert box_convention_of(model) is PIXELS
    model.save_pretrained(tmp_path / "m")
    processor.save_pretrained(tmp_path / "m")
    again, _ = load_model(tmp_path / "m")  # auto: the saved override, not the family's 0–1000
    assert box_convention_of(again) is PIXELS
    assert set_box_convention(again, "relative_1000") is RELATIVE and set_box_convention(again, "auto") is RELATIVE
    with pytest.raises(InputError, match="box convention 'normalised'"):
        set_box_convention(again, "normalised")


def test_training_config_field(tiny_model, synth_easy):
    from o3video.train.train_config import ConfigError, load_config

    base = [f"model={tiny_model}", "output_dir=unused", f"data.train={synth_easy / 'stgr_sft.json'}"]
    assert load_config(None, base, stage="sft").box_convention == "auto"
    assert load_config(None, [*base, "box_convention=relative_1000"], stage="sft").box_convention == "relative_1000"
    with pytest.raises(ConfigError, match="box_convention must be one of auto, pixels, relative_1000"):
        load_config(None, [*base, "box_convention=0-1000"], stage="sft")


# --- prompts --------------------------------------------------------------------------------------------------


def test_system_prompt_states_the_convention():
    from o3video.tasks import Task
    from o3video.video.prompt import system_prompt

    for task in (Task.SPATIO_TEMPORAL, Task.VISUAL, Task.GENERAL_MCQ):
        assert "pixels of the" in system_prompt(task) and "0-1000" not in system_prompt(task)
        assert "0-1000 scale" in system_prompt(task, RELATIVE) and "pixels" not in system_prompt(task, RELATIVE)
    assert system_prompt(Task.TEMPORAL, RELATIVE) == system_prompt(Task.TEMPORAL)  # no boxes, nothing to state


# --- SFT targets and RL rewards -------------------------------------------------------------------------------

VISUAL = {"task": "visual QA", "answer": "<obj>cat</obj><box>[100,50,200,150]</box>", "image_size": [400, 200],
          "reasoning_process": "The <obj>cat</obj><box>[100,50,200,150]</box>.", "image_path": "x.png"}
VIDEO = {"task": "temporal-spatial free-form QA", "answer": "it stops", "box_format": "xyxy_norm",
         "reasoning_process": "The <obj>ball</obj><box>[0.1,0.2,0.5,0.8]</box>at<t>2.0</t>s stops.",
         "key_frames": [{"idx": 3, "time": 2.0}], "key_items": {"3": {"ball": [[0.1, 0.2, 0.5, 0.8]]}}}
WHERE = {"task": "temporal-spatial free-form QA", "vstar_kind": "where_1", "answer": '{"4":[11,21,56,63]}',
         "box_format": "xyxy_px", "image_size": [112, 84],
         "reasoning_process": "The <obj>cup</obj><box>[11,21,56,63]</box>at<t>4.0</t>s.",
         "key_frames": [{"idx": 0, "time": 4.0}], "key_items": {"0": {"cup": [[11 / 112, 21 / 84, 56 / 112, 63 / 84]]}}}


def test_sft_targets_are_written_in_the_models_convention():
    from o3video.train.targets import target_completion

    # visual QA: the answer box [100,50,200,150] of a 400x200 image is [250,250,500,750] on 0–1000
    assert target_completion(VISUAL, (200, 100), RELATIVE) == (
        "<think>The <obj>cat</obj><box>[250,250,500,750]</box>.</think>"
        "<answer><obj>cat</obj><box>[250,250,500,750]</box></answer>")
    assert target_completion(VIDEO, (112, 84), RELATIVE) == (
        "<think>The <obj>ball</obj><box>[100,200,500,800]</box>at<t>2.0</t>s stops.</think><answer>it stops</answer>")
    assert target_completion(VIDEO, (112, 84)) == (  # the same record for a pixel model
        "<think>The <obj>ball</obj><box>[11,17,56,67]</box>at<t>2.0</t>s stops.</think><answer>it stops</answer>")
    # a V-STaR practice *where* answer, stored in input pixels, is taught on 0–1000
    assert target_completion(WHERE, (112, 84), RELATIVE).endswith('<answer>{"4":[98,250,500,750]}</answer>')
    assert target_completion(WHERE, (112, 84)).endswith('<answer>{"4":[11,21,56,63]}</answer>')
    # written for 112x84 frames, asked of a model whose frames are 128x96 (Qwen3-VL) or 224x168: the answer
    # follows the object, like the reasoning's box, instead of reading the stored numbers as this model's pixels
    assert target_completion(WHERE, (128, 96), RELATIVE) == target_completion(WHERE, (112, 84), RELATIVE)
    assert target_completion(WHERE, (224, 168)) == (
        '<think>The <obj>cup</obj><box>[22,42,112,126]</box>at<t>4.0</t>s.</think><answer>{"4":[22,42,112,126]}</answer>')


def test_a_perfect_answer_on_0_1000_earns_full_reward_for_the_qwen3_convention():
    from o3video.data.stgr import reward_sample

    visual = "<think><obj>cat</obj><box>[250,250,500,750]</box></think><answer><obj>cat</obj><box>[250,250,500,750]</box></answer>"
    assert score(visual, reward_sample(VISUAL, (200, 100), RELATIVE))["accuracy"] == pytest.approx(1.0)
    assert score(visual, reward_sample(VISUAL, (200, 100), RELATIVE))["spatial"] == pytest.approx(1.0)
    assert score(visual, reward_sample(VISUAL, (200, 100)))["accuracy"] < 0.2  # read as pixels it is elsewhere
    claim = "<think>The <obj>ball</obj><box>[100,200,500,800]</box>at<t>2.0</t>s stops.</think><answer>it stops</answer>"
    assert score(claim, reward_sample(VIDEO, (112, 84), RELATIVE))["spatial"] == pytest.approx(1.0)
    assert score(claim, reward_sample(VIDEO, (112, 84)))["spatial"] < 0.5
    where = '<think>The <obj>cup</obj><box>[98,250,500,750]</box>at<t>4.0</t>s.</think><answer>{"4": [98,250,500,750]}</answer>'
    assert score(where, reward_sample(WHERE, (112, 84), RELATIVE))["accuracy"] == pytest.approx(1.0, abs=0.02)
    assert score(where, reward_sample(WHERE, (128, 96), RELATIVE))["accuracy"] == pytest.approx(1.0, abs=0.02)
    as_pixels = '<think>x</think><answer>{"4": [22,42,112,126]}</answer>'  # the object on 224x168 frames
    assert score(as_pixels, reward_sample(WHERE, (224, 168)))["accuracy"] == pytest.approx(1.0, abs=0.02)
    assert score(as_pixels, reward_sample(WHERE, (112, 84)))["accuracy"] < 0.3
    with pytest.raises(RewardInputError, match="original_image_size"):
        score(where, dict(reward_sample(WHERE, (128, 96), RELATIVE), original_image_size=[0, 84]))
    with pytest.raises(RewardInputError, match="box_convention"):
        score(claim, dict(reward_sample(VIDEO, (112, 84)), box_convention="0-1000"))


def test_training_rows_carry_the_models_convention(synth_easy, qwen3):
    """SFT examples and RL rows built for a Qwen3-VL: the system prompt states 0–1000, the SFT target's boxes
    are on 0–1000, the RL row's reward columns name the convention."""
    from o3video.models import box_convention_of, frame_settings
    from o3video.train.rl_data import rl_row
    from o3video.train.sft_data import sft_example
    from o3video.train.targets import target_completion
    from o3video.train.train_config import load_config
    from o3video.train.train_records import load_training_records

    model, processor = qwen3
    config = load_config(None, ["model=unused", "output_dir=unused", f"data.train={synth_easy / 'stgr_sft.json'}",
                                "data.num_frames=2", f"data.cache_dir={synth_easy / 'frame_cache'}"], stage="sft")
    items = load_training_records(config.data, frame_settings(processor), box_convention=box_convention_of(model))
    item = next(i for i in items if i.record.get("key_items") and "<box>" in i.record.get("reasoning_process", ""))
    example = sft_example(item)
    assert "0-1000 scale" in example["messages"][0]["content"][0]["text"]
    size = item.prompt().input_size
    assert example["messages"][-1]["content"][0]["text"] == target_completion(item.record, size, RELATIVE)
    assert target_completion(item.record, size, RELATIVE) != target_completion(item.record, size)
    row = rl_row(item)
    assert row["box_convention"] == "relative_1000" and list(row["image_size"]) == list(size)


# --- eval vstar and infer end to end with a forced completion ---------------------------------------------------


def forced_generate(monkeypatch, completion: str) -> list:
    """Every generation answers `completion`; the prompts asked are collected."""
    asked = []

    def fake(model, processor, batch, **sampling):
        asked.extend(batch)
        return [[completion] * sampling.get("num_return_sequences", 1) for _ in batch]

    monkeypatch.setattr("o3video.models.generate", fake)
    return asked


def system_text(messages) -> str:
    return messages[0]["content"][0]["text"]


@pytest.mark.parametrize("arch, box, whole, convention", [
    ("qwen3", BOX_1000, [0, 0, 1000, 1000], "relative_1000"),
    ("qwen25", [10, 20, 50, 60], [0, 0, 112, 84], "pixels"),  # the tiny Qwen2.5-VL sees the test videos at 112x84
])
def test_eval_vstar_rescales_each_models_boxes_to_the_video(arch, box, whole, convention, synth_easy, tiny_model,
                                                           tiny_qwen3_model, tmp_path, monkeypatch):
    """Every *where* answer: the whole frame at each second (so it overlaps the ground truth), and `box` at
    second 999 (outside every span) to check the rescaling itself."""
    from o3video.eval.vstar_metrics import score_record

    path = tiny_qwen3_model if arch == "qwen3" else tiny_model
    answer = {str(s): whole for s in range(60)} | {"999": box}
    asked = forced_generate(monkeypatch, "<answer>" + json.dumps(answer) + "</answer>")
    out = tmp_path / "r.jsonl"
    assert main(["eval", "vstar", "--anno", str(synth_easy / "vstar_test.json"), "--videos", str(synth_easy / "videos"),
                 "--model", str(path), "--out", str(out), "--frames", "2", "--limit", "1"]) == 0
    (row,) = [json.loads(line) for line in out.read_text().splitlines()]
    assert row["box_convention"] == convention
    (w_in, h_in), (w, h) = row["input_size"], (row["width"], row["height"])
    if convention == "relative_1000":
        expected = [box[0] * w / 1000, box[1] * h / 1000, box[2] * w / 1000, box[3] * h / 1000]
        assert "0-1000 scale" in system_text(asked[0])
    else:
        expected = [box[0] * w / w_in, box[1] * h / h_in, box[2] * w / w_in, box[3] * h / h_in]
        assert "pixels of the frame" in system_text(asked[0])
    assert row["answer_spatial"]["999"] == pytest.approx(expected, abs=0.051)
    assert row["answer_spatial_2"]["999"] == pytest.approx(expected, abs=0.051)
    assert row["answer_spatial"]["0"] == pytest.approx([0, 0, w, h], abs=0.051)

    # scoring re-reads the raw text in the recorded convention when the parsed boxes are missing
    judge = lambda *a: 0
    parsed = score_record(0, row, judge).viou
    assert parsed[0] > 0
    fallback = dict(row, answer_spatial=None, answer_spatial_2=None)
    assert score_record(0, fallback, judge).viou == pytest.approx(parsed, abs=1e-3)
    old_file = {k: v for k, v in fallback.items() if k != "box_convention"}  # no field: pixels
    assert (score_record(0, old_file, judge).viou == pytest.approx(parsed, abs=1e-3)) == (convention == "pixels")


def test_eval_box_convention_override_and_a_bad_results_field(synth_easy, tiny_qwen3_model, tmp_path, monkeypatch):
    asked = forced_generate(monkeypatch, "<answer>{\"0\": [10, 20, 50, 60]}</answer>")
    out = tmp_path / "r.jsonl"
    assert main(["eval", "vstar", "--anno", str(synth_easy / "vstar_test.json"), "--videos", str(synth_easy / "videos"),
                 "--model", str(tiny_qwen3_model), "--out", str(out), "--frames", "2", "--limit", "1",
                 "--box-convention", "pixels"]) == 0
    (row,) = [json.loads(line) for line in out.read_text().splitlines()]
    assert row["box_convention"] == "pixels" and "pixels of the frame" in system_text(asked[0])
    (w_in, _), w = row["input_size"], row["width"]
    assert row["answer_spatial"]["0"][2] == pytest.approx(50 * w / w_in, abs=0.051)
    bad = tmp_path / "bad.jsonl"
    bad.write_text(json.dumps(dict(row, box_convention="0-1000")) + "\n")
    with pytest.raises(InputError, match="box_convention: must be one of pixels, relative_1000"):
        from o3video.eval.scoring import checked_records

        checked_records(bad, "vstar", of_results=True)


@pytest.mark.parametrize("arch, box, convention, column", [
    ("qwen3", BOX_1000, "relative_1000", "box as answered (0-1000)"),
    ("qwen25", [10, 20, 50, 60], "pixels", "box as answered (model-input px)"),
])
def test_infer_reports_the_box_as_answered_and_in_video_pixels(arch, box, convention, column, synth_easy, tiny_model,
                                                              tiny_qwen3_model, tmp_path, monkeypatch, capsys):
    path = tiny_qwen3_model if arch == "qwen3" else tiny_model
    monkeypatch.setenv("COLUMNS", "240")  # the table's headers on one line
    forced_generate(monkeypatch, f"<think>The <obj>cup</obj><box>{json.dumps(box)}</box>at<t>0.5</t>s.</think><answer>a</answer>")
    video = next((synth_easy / "videos").glob("test_*.mp4"))
    out_json, out_html = tmp_path / "r.json", tmp_path / "e.html"
    assert main(["infer", str(video), "Where is the cup?", "--model", str(path), "--frames", "2", "--json", str(out_json),
                 "--viz", str(out_html)]) == 0
    result = json.loads(out_json.read_text())
    (evidence,) = result["evidence"]
    (w_in, h_in), (w, h) = result["input_size"], result["source_size"]
    assert result["box_convention"] == convention and evidence["box_answered"] == box
    if convention == "relative_1000":
        input_px = [box[0] * w_in / 1000, box[1] * h_in / 1000, box[2] * w_in / 1000, box[3] * h_in / 1000]
    else:
        input_px = box
    assert evidence["box_input"] == pytest.approx(input_px, abs=0.051)
    original = [input_px[0] * w / w_in, input_px[1] * h / h_in, input_px[2] * w / w_in, input_px[3] * h / h_in]
    assert evidence["box_original"] == pytest.approx(original, abs=0.051)
    printed = capsys.readouterr().out
    assert column in printed and "box, original px" in printed
    assert f"box ({'0-1000' if convention == 'relative_1000' else 'model-input px'})" in out_html.read_text()


# --- pictures and test-time-scaling crops ------------------------------------------------------------------------


def test_pictures_and_crops_read_boxes_in_the_convention():
    from o3video.tts import crop_evidence
    from o3video.viz.blocks import caption_lines
    from o3video.viz.shown_claims import collect_evidence

    frame = types.SimpleNamespace(timestamp=0.0, image=Image.new("RGB", (200, 100), (128, 128, 128)))
    text = "<think><obj>cup</obj><box>[100,200,500,800]</box>at<t>0</t>s</think><answer>a</answer>"
    evidence = collect_evidence([frame], text, duration=1.0, source_size=(400, 200), box_convention=RELATIVE)
    drawn = evidence.items[0].boxes[0]
    assert drawn.claimed == (100, 200, 500, 800) and drawn.drawn == pytest.approx((20, 20, 100, 80))
    assert drawn.source == pytest.approx((40, 40, 200, 160)) and not drawn.clipped
    assert any("(0-1000)" in line for line in caption_lines(evidence, evidence.items[0]))
    as_pixels = collect_evidence([frame], text, duration=1.0).items[0].boxes[0]
    assert as_pixels.drawn is None  # read as pixels, the box lies below the frame
    claims = parse(text).claims
    (crop,) = crop_evidence([frame], claims, box_convention=RELATIVE)
    assert crop.size == (80, 60)
    assert crop_evidence([frame], claims) == []  # read as pixels, the box lies below the frame


@pytest.mark.parametrize("stage", ["sft", "rl"])
def test_trainers_build_their_data_in_the_models_convention(stage, synth_easy, tiny_qwen3_model, tmp_path):
    """`build_sft_trainer` / `build_rl_trainer` read the convention from the model (or the config's override)."""
    from o3video.train.rl import build_rl_trainer
    from o3video.train.sft import build_sft_trainer
    from o3video.train.train_config import load_config

    def built(*extra):
        data = synth_easy / ("stgr_sft.json" if stage == "sft" else "stgr_rl.json")
        batch = ["trainer.per_device_train_batch_size=2", "trainer.num_generations=2"] if stage == "rl" else []
        config = load_config(None, [f"model={tiny_qwen3_model}", f"output_dir={tmp_path / 'out'}", f"data.train={data}",
                                    "data.num_frames=2", f"data.cache_dir={synth_easy / 'frame_cache'}", "data.limit=2",
                                    "trainer.activation_checkpointing=false", *batch, *extra], stage=stage)
        trainer, _, _ = (build_sft_trainer if stage == "sft" else build_rl_trainer)(config)
        row = trainer.train_dataset[0]
        messages = row["messages"] if stage == "sft" else row["prompt"]
        return system_text(messages), row

    system, row = built()
    assert "0-1000 scale" in system and (stage == "sft" or row["box_convention"] == "relative_1000")
    system, row = built("box_convention=pixels")
    assert "pixels of the frame" in system and (stage == "sft" or row["box_convention"] == "pixels")
