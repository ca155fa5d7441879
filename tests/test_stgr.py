import json

import pytest

from o3video.data.stgr import (
    RecordError,
    load_stgr,
    reasoning_box_format,
    reasoning_in_pixels,
    reward_sample,
    validate_record,
)
from o3video.geometry import BoxFormat
from o3video.rewards import score

ST = {
    "task": "temporal-spatial free-form QA",
    "source": "STR_plm_rdcap",
    "question": "What does the man pick up?",
    "answer": "A red cup.",
    "reasoning_process": "The <obj>man</obj><box>[0.1,0.2,0.3,0.6]</box>at<t>2.0</t>s reaches for the cup.",
    "video_path": "plm/v1.mp4",
    "key_frames": [{"idx": 48, "time": 2.0, "path": "kfs/v1_48.jpg"}],
    "key_items": {"48": {"man": [[0.1, 0.2, 0.3, 0.6]]}},
}
EXAMPLES = [
    ST,
    {"task": "temporal QA", "source": "tvg", "question": "When?", "answer": "[3.5, 7.0]", "video_path": "a.mp4",
     "reasoning_process": "From <t>3.5</t>s to <t>7.0</t>s."},
    {"task": "temporal QA (MCQ)", "source": "tvg", "question": "When? A. x B. y", "answer": "B\n[1, 2]", "video_path": "a.mp4"},
    {"task": "visual QA", "source": "treevgr", "question": "Where?", "answer": "<obj>cup</obj><box>[64,48,128,96]</box>",
     "image_path": "i.jpg", "image_size": [640, 480], "reasoning_process": "The <obj>cup</obj><box>[64,48,128,96]</box>."},
    {"task": "General video QA MCQ", "source": "videor1", "question": "How many? A. 1 B. 2", "answer": "A", "video_path": "b.mp4"},
    {"task": "General video QA Free-form", "source": "videor1", "question": "What?", "answer": "Rain.", "video_path": "b.mp4"},
]


@pytest.mark.parametrize("record", EXAMPLES, ids=lambda r: r["task"])
def test_released_records_of_every_task_are_valid(record):
    assert validate_record(record) == []


@pytest.mark.parametrize(
    "change, field",
    [
        ({"task": "video QA"}, "task"),
        ({"question": None}, "question"),
        ({"answer": 3}, "answer"),
        ({"video_path": ""}, "video_path"),
        ({"key_frames": None}, "key_frames"),
        ({"key_frames": [{"idx": "48", "time": 2.0, "path": "x"}]}, "key_frames[0].idx"),
        ({"key_frames": [{"idx": 48, "time": -1, "path": "x"}]}, "key_frames[0].time"),
        ({"key_items": {"48": {"man": [[0.1, 0.2, 1.6, 0.6]]}}}, "normalised"),
        ({"key_items": {"48": {"man": [[0.3, 0.2, 0.1, 0.6]]}}}, "reversed"),
        ({"key_items": {"49": {"man": [[0.1, 0.2, 0.3, 0.6]]}}}, "no key frame with idx 49"),
        ({"key_items": {"48": {"man": [[0.1, 0.2, 0.3]]}}}, "4 finite numbers"),
        ({"box_format": "weird"}, "box_format"),
        ({"source": 5}, "source"),
    ],
)
def test_malformed_fields_are_named(change, field):
    problems = validate_record(ST | change)
    assert problems and any(field in p for p in problems), problems


def test_task_specific_answer_forms_are_checked():
    assert any("[S, E]" in p for p in validate_record(EXAMPLES[1] | {"answer": "[7, 3]"}))
    assert any("X\\n[S, E]" in p for p in validate_record(EXAMPLES[2] | {"answer": "[1, 2]"}))
    assert any("option letter" in p for p in validate_record(EXAMPLES[4] | {"answer": "two"}))
    assert any("visual QA" in p for p in validate_record(EXAMPLES[3] | {"answer": "a cup"}))
    assert any("image_size" in p for p in validate_record({k: v for k, v in EXAMPLES[3].items() if k != "image_size"}))
    assert any("image_path" in p for p in validate_record(EXAMPLES[3] | {"image_path": None}))


def write_jsonl(path, lines):
    path.write_text("\n".join(lines) + "\n")
    return path


def test_load_json_array_and_jsonl(tmp_path):
    array = tmp_path / "a.json"
    array.write_text(json.dumps(EXAMPLES))
    assert load_stgr(array).records == EXAMPLES
    lines = write_jsonl(tmp_path / "a.jsonl", [json.dumps(r) for r in EXAMPLES])
    assert load_stgr(lines).records == EXAMPLES


def test_load_raises_naming_file_record_line_and_field(tmp_path):
    bad = EXAMPLES[4] | {"answer": "two"}
    path = write_jsonl(tmp_path / "b.jsonl", [json.dumps(EXAMPLES[0]), "", json.dumps(bad)])
    with pytest.raises(RecordError, match=r"b\.jsonl: record 1 \(line 3\): answer: MCQ needs an option letter"):
        load_stgr(path)


def test_load_skip_reports_and_keeps_going(tmp_path):
    path = write_jsonl(tmp_path / "c.jsonl", [json.dumps(EXAMPLES[0]), "{not json", json.dumps({"task": "x"}), json.dumps(EXAMPLES[5])])
    result = load_stgr(path, on_error="skip")
    assert result.records == [EXAMPLES[0], EXAMPLES[5]]
    assert [(s.index, s.line) for s in result.skipped] == [(1, 2), (2, 3)]
    assert "not valid JSON" in result.skipped[0].problems[0]
    assert "task" in result.skipped[1].problems[0]


def test_load_missing_file_and_broken_array(tmp_path):
    with pytest.raises(RecordError, match="no such file"):
        load_stgr(tmp_path / "missing.json")
    broken = tmp_path / "d.json"
    broken.write_text("[{")
    with pytest.raises(RecordError, match="d.json: not valid JSON"):
        load_stgr(broken)


def test_reasoning_box_conventions():
    assert reasoning_box_format(ST) is BoxFormat.XYXY_NORM
    assert reasoning_box_format(ST | {"source": "VideoEspresso"}) is BoxFormat.CXCYWH_1000
    assert reasoning_box_format(EXAMPLES[3]) is BoxFormat.XYXY_PIXELS
    assert reasoning_box_format(ST | {"box_format": "xyxy_1000"}) is BoxFormat.XYXY_1000
    assert "<box>[20,40,60,120]</box>" in reasoning_in_pixels(ST, (200, 200))
    espresso = ST | {"source": "videoespresso", "reasoning_process": "<obj>a</obj><box>[500,500,200,400]</box>at<t>2</t>s"}
    assert "<box>[80,60,120,140]</box>" in reasoning_in_pixels(espresso, (200, 200))
    assert "<box>[32,24,64,48]</box>" in reasoning_in_pixels(EXAMPLES[3], (320, 240))


def test_released_record_scores_full_marks_against_itself():
    size = (448, 252)
    completion = f"<think>{reasoning_in_pixels(ST, size)}</think><answer>{ST['answer']}</answer>"
    out = score(completion, reward_sample(ST, size))
    assert out["accuracy"] == pytest.approx(1.0) and out["temporal"] == pytest.approx(1.0)
    assert out["spatial"] > 0.95 and out["format"] == 1.0
    visual = EXAMPLES[3]
    out = score(f"<think>{reasoning_in_pixels(visual, (320, 240))}</think><answer><obj>cup</obj><box>[32,24,64,48]</box></answer>",
                reward_sample(visual, (320, 240)))
    assert out["accuracy"] == pytest.approx(1.0) and out["spatial"] == pytest.approx(1.0)
