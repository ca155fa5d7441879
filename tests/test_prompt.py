"""The prompt builder: one frame-prompt format, per-task system prompts, and messages Qwen2.5-VL accepts."""

from __future__ import annotations

import re
from pathlib import Path

import pytest
from PIL import Image

import o3video
from o3video.tasks import Task
from o3video.video import Frame, SampledFrames
from o3video.video.prompt import (
    FRAME_LABEL,
    answer_instruction,
    build_messages,
    frame_label,
    messages_images,
    system_prompt,
)

# Qwen2.5-VL-Instruct's chat template, as published with the model.
QWEN25_VL_TEMPLATE = (
    "{% set image_count = namespace(value=0) %}{% set video_count = namespace(value=0) %}"
    "{% for message in messages %}{% if loop.first and message['role'] != 'system' %}"
    "<|im_start|>system\nYou are a helpful assistant.<|im_end|>\n{% endif %}"
    "<|im_start|>{{ message['role'] }}\n{% if message['content'] is string %}{{ message['content'] }}<|im_end|>\n"
    "{% else %}{% for content in message['content'] %}"
    "{% if content['type'] == 'image' or 'image' in content or 'image_url' in content %}"
    "{% set image_count.value = image_count.value + 1 %}{% if add_vision_id %}Picture {{ image_count.value }}: {% endif %}"
    "<|vision_start|><|image_pad|><|vision_end|>"
    "{% elif content['type'] == 'video' or 'video' in content %}"
    "{% set video_count.value = video_count.value + 1 %}{% if add_vision_id %}Video {{ video_count.value }}: {% endif %}"
    "<|vision_start|><|video_pad|><|vision_end|>"
    "{% elif 'text' in content %}{{ content['text'] }}{% endif %}{% endfor %}<|im_end|>\n"
    "{% endif %}{% endfor %}{% if add_generation_prompt %}<|im_start|>assistant\n{% endif %}"
)


def make_frames(times=(0.0, 2.13, 4.26, 6.4), size=(84, 56)) -> SampledFrames:
    frames = [
        Frame(timestamp=t, image=Image.new("RGB", size, (i * 40, 100, 200)), index=i) for i, t in enumerate(times)
    ]
    return SampledFrames(frames=frames, duration=6.5, source_size=(1280, 720), input_size=size)


def test_frame_label_is_the_design_form():
    assert FRAME_LABEL == "Frame {number} at {time:.1f}s:"
    assert frame_label(3, 6.4) == "Frame 3 at 6.4s:"
    assert frame_label(1, 0.04) == "Frame 1 at 0.0s:"
    assert frame_label(2, -0.01) == "Frame 2 at 0.0s:"  # never "-0.0"
    assert frame_label(16, 179.96) == "Frame 16 at 180.0s:"


def test_user_message_layout():
    sampled = make_frames()
    messages = build_messages(sampled, "What does the car do?", Task.SPATIO_TEMPORAL)
    assert [m["role"] for m in messages] == ["system", "user"]
    assert messages[0]["content"] == [{"type": "text", "text": system_prompt(Task.SPATIO_TEMPORAL)}]
    content = messages[1]["content"]
    assert content[0] == {
        "type": "text",
        "text": "The video is 6.5 seconds long; 4 frames sampled from it follow, each labelled with its time.\n",
    }
    labels = [item["text"] for item in content[1:-1:2]]
    assert labels == ["Frame 1 at 0.0s: ", "\nFrame 2 at 2.1s: ", "\nFrame 3 at 4.3s: ", "\nFrame 4 at 6.4s: "]
    images = [item for item in content[2:-1:2]]
    assert all(item["type"] == "image" for item in images)
    assert [item["image"] for item in images] == sampled.images
    assert content[-1] == {"type": "text", "text": "\nWhat does the car do?\n" + answer_instruction(Task.SPATIO_TEMPORAL)}
    assert messages_images(messages) == sampled.images


def test_frames_as_a_list_duration_and_overrides():
    sampled = make_frames()
    messages = build_messages(
        sampled.frames, "  When?  ", "temporal QA", duration=12.0, instruction="Reply as JSON.", system="Be brief."
    )
    assert messages[0]["content"][0]["text"] == "Be brief."
    content = messages[1]["content"]
    assert content[0]["text"].startswith("The video is 12.0 seconds long; 4 frames")
    assert content[-1]["text"] == "\nWhen?\nReply as JSON."
    bare = build_messages(sampled.frames, "When?", Task.TEMPORAL, instruction="")
    assert bare[1]["content"][0]["text"].startswith("4 frames sampled from the video follow")
    assert bare[1]["content"][-1]["text"] == "\nWhen?"


def test_visual_qa_is_one_image_without_time():
    image = Image.new("RGB", (112, 84))
    messages = build_messages(image, "Where is the cup?", Task.VISUAL)
    content = messages[1]["content"]
    assert content[0] == {"type": "image", "image": image}
    assert content[1]["text"] == "Where is the cup?\n" + answer_instruction(Task.VISUAL)
    assert "Frame" not in content[1]["text"]
    assert messages_images(messages) == [image]
    with pytest.raises(ValueError, match="exactly one image"):
        build_messages(make_frames(), "Where?", Task.VISUAL)


def test_bad_input():
    with pytest.raises(ValueError, match="question"):
        build_messages(make_frames(), " ", Task.GENERAL_FREE)
    with pytest.raises(ValueError, match="unknown task"):
        build_messages(make_frames(), "Why?", "video QA")
    with pytest.raises(ValueError, match="at least one frame"):
        build_messages([], "Why?", Task.GENERAL_FREE)
    with pytest.raises(TypeError, match="timestamp"):
        build_messages([Image.new("RGB", (28, 28))], "Why?", Task.GENERAL_FREE)


@pytest.mark.parametrize("task", list(Task))
def test_every_system_prompt_asks_for_think_then_answer(task):
    text = system_prompt(task)
    assert "<think></think>" in text and "<answer></answer>" in text
    assert "<think>" in answer_instruction(task) and "<answer></answer>" in answer_instruction(task)


def test_system_prompts_carry_each_tasks_grounding_and_answer_format():
    claim = "<obj>object name</obj><box>[x1,y1,x2,y2]</box>at<t>time</t>s"
    assert claim in system_prompt(Task.SPATIO_TEMPORAL)
    assert "pixels of the frame" in system_prompt(Task.SPATIO_TEMPORAL)
    assert "From <t>start</t>s to <t>end</t>s" in system_prompt(Task.TEMPORAL)
    assert "From <t>start</t>s to <t>end</t>s.\nCorrect Option: X" in system_prompt(Task.TEMPORAL_MCQ)
    visual = system_prompt(Task.VISUAL)
    assert "<obj>object name</obj><box>[x1,y1,x2,y2]</box>." in visual and "<t>" not in visual
    assert "pixels of the image" in visual
    assert "letter of the correct option" in system_prompt(Task.GENERAL_MCQ)
    for task in (Task.GENERAL_MCQ, Task.GENERAL_FREE):
        assert "not required" in system_prompt(task)
    assert len({system_prompt(task) for task in Task}) == len(Task)


def test_the_prompt_builder_is_the_only_writer_of_frame_labels():
    """No other module spells out the frame label (it must call frame_label / build_messages)."""
    package = Path(o3video.__file__).parent
    pattern = re.compile(r"""Frame \{[^}]*\} at \{""")
    allowed = {package / "video" / "prompt.py"}
    writers = [p for p in package.rglob("*.py") if p not in allowed and pattern.search(p.read_text())]
    assert writers == []


def tiny_qwen25_processor():
    from tokenizers import Tokenizer, decoders, models, pre_tokenizers, trainers
    from transformers import PreTrainedTokenizerFast, Qwen2_5_VLProcessor, Qwen2VLImageProcessor
    from transformers.models.qwen2_vl.video_processing_qwen2_vl import Qwen2VLVideoProcessor

    special = ["<|endoftext|>", "<|im_start|>", "<|im_end|>", "<|vision_start|>", "<|vision_end|>", "<|image_pad|>", "<|video_pad|>"]
    tokenizer = Tokenizer(models.BPE())
    tokenizer.pre_tokenizer = pre_tokenizers.ByteLevel(add_prefix_space=False)
    tokenizer.decoder = decoders.ByteLevel()
    corpus = [system_prompt(task) + answer_instruction(task) for task in Task] + ["Frame 1 at 0.0s: where is it?"]
    trainer = trainers.BpeTrainer(vocab_size=500, special_tokens=special, initial_alphabet=pre_tokenizers.ByteLevel.alphabet())
    tokenizer.train_from_iterator(corpus, trainer)
    fast = PreTrainedTokenizerFast(tokenizer_object=tokenizer, eos_token="<|im_end|>", pad_token="<|endoftext|>")
    budget = {"shortest_edge": 4 * 28 * 28, "longest_edge": 128 * 28 * 28}
    return Qwen2_5_VLProcessor(
        image_processor=Qwen2VLImageProcessor(size=budget),
        tokenizer=fast,
        video_processor=Qwen2VLVideoProcessor(),
        chat_template=QWEN25_VL_TEMPLATE,
    )


def test_qwen25_vl_processor_accepts_the_messages_unchanged(tmp_path):
    from videos import render_numbered

    from o3video.video import sample_frames

    video = tmp_path / "v.mp4"
    render_numbered(video, frames=30, size=(160, 96))
    sampled = sample_frames(video, 4, key_times=[0.5])
    messages = build_messages(sampled, "Where is the pattern?", Task.SPATIO_TEMPORAL)
    processor = tiny_qwen25_processor()
    inputs = processor.apply_chat_template(
        messages, tokenize=True, return_dict=True, add_generation_prompt=True, return_tensors="pt"
    )
    w, h = sampled.input_size
    assert inputs["image_grid_thw"].tolist() == [[1, h // 14, w // 14]] * len(sampled)  # not resized again
    pad = processor.tokenizer.convert_tokens_to_ids("<|image_pad|>")
    assert int((inputs["input_ids"] == pad).sum()) == len(sampled) * (h // 28) * (w // 28)
    text = processor.apply_chat_template(messages, tokenize=False, add_generation_prompt=True)
    for frame in sampled.frames:
        label = frame_label(frame.index + 1, frame.timestamp)
        assert f"{label} <|vision_start|><|image_pad|><|vision_end|>" in text
    assert text.startswith("<|im_start|>system\n" + system_prompt(Task.SPATIO_TEMPORAL) + "<|im_end|>\n")
    assert text.endswith(answer_instruction(Task.SPATIO_TEMPORAL) + "<|im_end|>\n<|im_start|>assistant\n")
