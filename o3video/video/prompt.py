"""The prompt builder: (frames with timestamps, question, task) -> chat messages for Qwen2.5-VL / Qwen3-VL.

This is the only place the frame-prompt format is written (docs/design.md §3: the reference code wrote it
three different ways). Training, evaluation and inference all call `build_messages`.

User message layout (each frame's label is a text item directly followed by its image item)::

    The video is 32.0 seconds long; 16 frames sampled from it follow, each labelled with its time.
    Frame 1 at 0.0s: <image>
    Frame 2 at 2.1s: <image>
    ...
    <question>
    <answer-format instruction>

Visual QA (one image) has no duration line and no frame label: the image, then the question.
"""

from __future__ import annotations

from typing import Any, Iterable, Sequence

from PIL import Image

from o3video.geometry import BoxConvention
from o3video.tasks import Task, parse_task

# The single definition of the frame-prompt text: 1-based frame number, time in seconds, one decimal.
FRAME_LABEL = "Frame {number} at {time:.1f}s:"

_INTRO = (
    "A conversation between a user and an assistant. The user shows {media} and asks a question; "
    "the assistant first reasons about it inside <think></think>, then gives the final answer inside "
    "<answer></answer>."
)
_VIDEO_FRAMES = (
    " The video is given as frames, each labelled with its time in seconds from the start of the video "
    '("Frame 3 at 6.4s:" is the third frame shown, taken 6.4 seconds into the video).'
)
_CLAIM = "<obj>object name</obj><box>[x1,y1,x2,y2]</box>at<t>time</t>s"
# How boxes are written, by the model's box convention (docs/design.md §4b): the prompt states the one it answers in.
_BOXES: dict[BoxConvention, str] = {
    BoxConvention.PIXELS: (
        " Boxes are [x1,y1,x2,y2] in pixels of the {media} exactly as you see it: (x1,y1) its top-left corner, "
        "(x2,y2) its bottom-right corner."
    ),
    BoxConvention.RELATIVE_1000: (
        " Boxes are [x1,y1,x2,y2] on a 0-1000 scale of the {media}, whatever its size: (0,0) is the {media}'s "
        "top-left corner and (1000,1000) its bottom-right corner; (x1,y1) is the box's top-left corner, "
        "(x2,y2) its bottom-right corner."
    ),
}
_GROUNDED = (
    " All reasoning must rest on visual evidence: whenever the reasoning mentions an object, person or other "
    "visual element, cite where and when it is seen as " + _CLAIM + ", for example "
    "<obj>red car</obj><box>[120,44,210,130]</box>at<t>12.5</t>s, with the time of the frame it is seen in. "
    "An object seen in several boxes may list them all before its at<t>...</t>s."
)
_TIMES = " Whenever the reasoning refers to a moment of the video, write its time as <t>seconds</t>s, for example <t>12.5</t>s."
_OPTIONAL_GROUNDING = (
    " When it helps, cite visual evidence as " + _CLAIM + "; it is not required for this question."
)
_IMAGE_GROUNDED = (
    " Whenever the reasoning mentions an object, localise it as <obj>object name</obj><box>[x1,y1,x2,y2]</box>."
)

_ANSWER_FORMAT: dict[Task, str] = {
    Task.SPATIO_TEMPORAL: "The answer is plain text; <obj>, <box> and <t> tags are not needed in it.",
    Task.TEMPORAL: "The answer must be exactly: From <t>start</t>s to <t>end</t>s (start and end in seconds).",
    Task.TEMPORAL_MCQ: (
        "The answer must be exactly: From <t>start</t>s to <t>end</t>s.\nCorrect Option: X "
        "(start and end in seconds, then on a new line the letter of the correct option)."
    ),
    Task.VISUAL: "The answer must be exactly: <obj>object name</obj><box>[x1,y1,x2,y2]</box>.",
    Task.GENERAL_MCQ: "The answer is only the letter of the correct option.",
    Task.GENERAL_FREE: "The answer is plain text.",
}

_INSTRUCTION: dict[Task, str] = {
    Task.SPATIO_TEMPORAL: (
        "Think inside <think></think>, citing evidence as " + _CLAIM + ", then answer in plain text inside <answer></answer>."
    ),
    Task.TEMPORAL: (
        "Think inside <think></think>, writing times as <t>seconds</t>s, then give the time span inside "
        "<answer></answer> as: From <t>start</t>s to <t>end</t>s."
    ),
    Task.TEMPORAL_MCQ: (
        "Think inside <think></think>, writing times as <t>seconds</t>s, then answer inside <answer></answer> as: "
        "From <t>start</t>s to <t>end</t>s.\nCorrect Option: X"
    ),
    Task.VISUAL: (
        "Think inside <think></think>, then answer inside <answer></answer> as: "
        "<obj>object name</obj><box>[x1,y1,x2,y2]</box>."
    ),
    Task.GENERAL_MCQ: "Think inside <think></think>, then give only the letter of the correct option inside <answer></answer>.",
    Task.GENERAL_FREE: "Think inside <think></think>, then answer in plain text inside <answer></answer>.",
}


def frame_label(number: int, time: float) -> str:
    """The label before a frame's image: `Frame 3 at 6.4s:` (number is 1-based)."""
    return FRAME_LABEL.format(number=int(number), time=round(float(time), 1) + 0.0)  # + 0.0: no "-0.0"


def system_prompt(task: Task | str, box_convention: BoxConvention | str = BoxConvention.PIXELS) -> str:
    """The system prompt for `task`: think/answer tags, the grounding it calls for, its answer format, and
    the coordinates boxes are written in (the model's `box_convention`)."""
    task = parse_task(task)
    boxes = _BOXES[BoxConvention(box_convention)]
    if task is Task.VISUAL:
        return _INTRO.format(media="an image") + _IMAGE_GROUNDED + boxes.format(media="image") + " " + _ANSWER_FORMAT[task]
    grounding = {
        Task.SPATIO_TEMPORAL: _GROUNDED + boxes.format(media="frame"),
        Task.TEMPORAL: _TIMES,
        Task.TEMPORAL_MCQ: _TIMES,
        Task.GENERAL_MCQ: _OPTIONAL_GROUNDING + boxes.format(media="frame"),
        Task.GENERAL_FREE: _OPTIONAL_GROUNDING + boxes.format(media="frame"),
    }[task]
    return _INTRO.format(media="a video") + _VIDEO_FRAMES + grounding + " " + _ANSWER_FORMAT[task]


def answer_instruction(task: Task | str) -> str:
    """The line after the question that restates the answer format for `task`."""
    return _INSTRUCTION[parse_task(task)]


def question_text(question: str, instruction: str) -> str:
    """The text a question is asked with after the frames: the question, then its answer-format line (if any)."""
    return question.strip() + (f"\n{instruction}" if instruction else "")


def build_messages(
    frames: Any,
    question: str,
    task: Task | str,
    *,
    duration: float | None = None,
    instruction: str | None = None,
    system: str | None = None,
    box_convention: BoxConvention | str = BoxConvention.PIXELS,
) -> list[dict[str, Any]]:
    """Hugging Face chat messages (system + user) for the frames, question and task.

    `frames`: a `SampledFrames`, a sequence of frames (anything with `.timestamp` and `.image`), or for
    visual QA a single PIL image. `duration` defaults to the SampledFrames' own. `instruction` replaces
    the task's answer-format line ("" for none), e.g. a benchmark's own wording; `system` replaces
    the system prompt. `box_convention` is how the model writes boxes (`o3video.models.box_convention_of`),
    which the system prompt states.
    """
    task = parse_task(task)
    if not isinstance(question, str) or not question.strip():
        raise ValueError("question must be a non-empty string")
    if duration is None:
        duration = getattr(frames, "duration", None)
    instruction = answer_instruction(task) if instruction is None else instruction
    if task is Task.VISUAL:
        content = [_image_item(_single_image(frames))]
    else:
        content = _video_items(_frame_list(frames), duration)
    content.append(_text_item(("\n" if task is not Task.VISUAL else "") + question_text(question, instruction)))
    return [
        {"role": "system", "content": [_text_item(system_prompt(task, box_convention) if system is None else system)]},
        {"role": "user", "content": content},
    ]


def messages_images(messages: Iterable[dict[str, Any]]) -> list[Image.Image]:
    """The images of `messages`, in the order their placeholders appear in the rendered prompt."""
    images = []
    for message in messages:
        content = message.get("content")
        if isinstance(content, list):
            images.extend(item["image"] for item in content if item.get("type") == "image")
    return images


def _video_items(frames: Sequence[Any], duration: float | None) -> list[dict[str, Any]]:
    if not frames:
        raise ValueError("a video prompt needs at least one frame")
    items: list[dict[str, Any]] = []
    count = f"{len(frames)} frame{'s' if len(frames) != 1 else ''}"
    if duration is not None:
        header = f"The video is {duration:.1f} seconds long; {count} sampled from it follow, each labelled with its time.\n"
    else:
        header = f"{count.capitalize()} sampled from the video follow, each labelled with its time.\n"
    items.append(_text_item(header))
    for number, frame in enumerate(frames, start=1):
        label = frame_label(number, frame.timestamp) + " "
        items.append(_text_item(label if number == 1 else "\n" + label))
        items.append(_image_item(frame.image))
    return items


def _frame_list(frames: Any) -> list[Any]:
    items = list(getattr(frames, "frames", frames))
    for item in items:
        if not (hasattr(item, "timestamp") and isinstance(getattr(item, "image", None), Image.Image)):
            raise TypeError(f"each frame needs .timestamp and a PIL .image, got {type(item).__name__}")
    return items


def _single_image(frames: Any) -> Image.Image:
    if isinstance(frames, Image.Image):
        return frames
    if isinstance(getattr(frames, "image", None), Image.Image):
        return frames.image
    items = _frame_list(frames)
    if len(items) != 1:
        raise ValueError(f"visual QA takes exactly one image, got {len(items)}")
    return items[0].image


def _text_item(text: str) -> dict[str, Any]:
    return {"type": "text", "text": text}


def _image_item(image: Image.Image) -> dict[str, Any]:
    return {"type": "image", "image": image}
