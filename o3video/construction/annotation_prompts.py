"""The prompts of the build, written for this project (paper appendix A.4 describes, without text,
one annotation prompt per source kind; §3.2 gives the crop question "Is this a {object}?").

* `temporal_request`: frames of the annotated segment of a temporal-grounding video, its span,
  duration and sentence → one grounded QA pair with key frames, boxes and reasoning (JSON).
* `dense_request`: frames of a region-dense-caption video, its frame count, and every object's
  captions (frame ranges) and boxes at the frames shown → the same, key frames by frame index,
  objects copied from the annotated tracks.
* `object_check_request`: a crop and "Is this a {object}?".
* `sentence_check_request`: the crops a reasoning sentence cites, and the sentence.
"""

from __future__ import annotations

import re

from o3video.construction.annotator_frames import OfferedFrame, time_label
from o3video.construction.source_items import SourceItem
from o3video.construction.vlm import Part, VLMRequest

ANNOTATOR_SYSTEM = (
    "You are a meticulous video annotator. You write training data for a model that must justify every "
    "answer with visual evidence: which object, where in the frame (a bounding box) and when (a time). "
    "You only state what the frames show, and you reply with exactly one JSON object."
)

_BOXES = (
    "Boxes are [x_min, y_min, x_max, y_max] with coordinates normalised to [0, 1] by the frame's width and "
    "height ((0, 0) is the top-left corner, (1, 1) the bottom-right), tight around the visible part of the object."
)

_CLAIM = "<obj>object name</obj><box>[x_min, y_min, x_max, y_max]</box>at<t>time</t>s"

_COMMON_RULES = """Rules:
- The question is about a specific object or person, and answering it needs both when and where things happen.
- Choose 1 to 5 key frames among the frames shown; on each, give 1 to 3 salient objects that are clearly visible.
- Give each object a short, specific name (e.g. "man in red jacket", "white dog") and use exactly that name in the reasoning.
- The reasoning is a few sentences of step-by-step thinking that leads to the answer. Every time it relies on an object it cites it as
  {claim}, with the same name, the same box and the time of one of your key frames. It cites no other times and no other boxes.
- Do not describe anything the frames do not show. If the frames do not support such a question, reply {{"skip": "<why>"}}."""


def _frames_parts(offered: list[OfferedFrame], *, by_index: bool) -> list[Part]:
    parts: list[Part] = []
    for frame in offered:
        # The annotator gets its own labels (times to 0.01 s, frame indices for dense captions): it must
        # cite exact key-frame times. The model's frame prompt is `o3video.video.prompt.frame_label`.
        label = f"Frame index {frame.index} at {time_label(frame.time)}s:" if by_index else f"Image {frame.number} at {time_label(frame.time)}s:"
        parts += [f"\n{label}", frame.image]
    return parts


def temporal_request(item: SourceItem, offered: list[OfferedFrame], duration: float, *, max_tokens: int = 4096) -> VLMRequest:
    start, end = item.segment or (0.0, duration)
    spans = "; ".join(f"{s:.2f}s to {e:.2f}s" for s, e in item.spans)
    intro = (
        f"The video is {duration:.2f} seconds long. A temporal-grounding annotation says that from {spans} "
        f"this happens: \"{item.sentence}\".\n"
        f"Below are {len(offered)} frames from {start:.2f}s to {end:.2f}s, each labelled with its time in seconds."
    )
    task = f"""

Write one question-answer pair about this segment and annotate its visual evidence.
{_COMMON_RULES.format(claim=_CLAIM)}
- Key frames are identified by their time exactly as labelled above.
{_BOXES}

Reply with this JSON object and nothing else:
{{"question": "...", "answer": "a short answer", "key_frames": [{{"time": 12.5, "objects": [{{"name": "...", "box": [0.12, 0.30, 0.45, 0.88]}}]}}], "reasoning_process": "... <obj>...</obj><box>[0.12, 0.30, 0.45, 0.88]</box>at<t>12.5</t>s ..."}}"""
    return VLMRequest.ask([intro, *_frames_parts(offered, by_index=False), task], system=ANNOTATOR_SYSTEM, max_tokens=max_tokens)


def _format_box(box: list[float]) -> str:
    return "[" + ", ".join(f"{v:.3f}" for v in box) + "]"


def dense_request(
    item: SourceItem,
    offered: list[OfferedFrame],
    duration: float,
    boxes: dict[str, dict[int, list[float]]],
    *,
    max_tokens: int = 4096,
) -> VLMRequest:
    """`boxes[track id][frame index]` are the track boxes at the frames shown, normalised."""
    lines = []
    for track in item.tracks:
        captions = "; ".join(f"frames {c.start_frame}-{c.end_frame}: \"{c.text}\"" for c in track.captions) or "no caption"
        shown = ", ".join(f"frame {f}: {_format_box(b)}" for f, b in sorted(boxes.get(track.id, {}).items())) or "not in the frames shown"
        name = f" ({track.name})" if track.name else ""
        lines.append(f"- object_id {track.id}{name}. Captions: {captions}. Boxes: {shown}.")
    intro = (
        f"The video has {item.frame_count} frames ({duration:.2f} seconds). Its objects have been tracked and captioned:\n"
        + "\n".join(lines)
        + f"\nBelow are {len(offered)} of its frames, each labelled with its frame index and time in seconds."
    )
    task = f"""

Write one question-answer pair about one of these objects and annotate its visual evidence.
{_COMMON_RULES.format(claim=_CLAIM)}
- Key frames are identified by their frame index as labelled above; the time you cite for a key frame in the reasoning is the time in its label.
- Each object you list is one of the tracked objects: give its object_id and copy its box at that frame from the list above.
{_BOXES}

Reply with this JSON object and nothing else:
{{"question": "...", "answer": "a short answer", "key_frames": [{{"frame_index": 48, "objects": [{{"object_id": "3", "name": "...", "box": [0.12, 0.30, 0.45, 0.88]}}]}}], "reasoning_process": "... <obj>...</obj><box>[0.12, 0.30, 0.45, 0.88]</box>at<t>12.00</t>s ..."}}"""
    return VLMRequest.ask([intro, *_frames_parts(offered, by_index=True), task], system=ANNOTATOR_SYSTEM, max_tokens=max_tokens)


JSON_RETRY_NOTE = (
    "Your reply could not be read as one complete JSON object ({problem}). Reply again with the complete "
    "JSON object only, with no text before or after it."
)

_ARTICLE_RE = re.compile(r"^(?:a|an|the)\s+", re.IGNORECASE)


def object_question(name: str) -> str:
    """The paper's crop question, "Is this a {object}?" (a leading article in the name is dropped)."""
    return f"Is this a {_ARTICLE_RE.sub('', name.strip())}? Answer yes or no."


def object_check_request(crop: object, name: str, context: dict, *, max_tokens: int = 16) -> VLMRequest:
    return VLMRequest.ask([crop, object_question(name)], max_tokens=max_tokens, context=context)  # type: ignore[list-item]


def sentence_check_request(crops: list, names: list[str], times: list[float], sentence: str, context: dict, *,
                           max_tokens: int = 16) -> VLMRequest:
    """Crops of the regions a sentence cites, then the sentence in plain words (tags become names)."""
    parts: list[Part] = ["The images below are regions cropped from frames of a video."]
    for k, (image, name, time) in enumerate(zip(crops, names, times), start=1):
        parts += [f"\nImage {k}: the region of \"{name}\" at {time_label(time)}s.", image]
    parts.append(
        f"\n\nA description of the video says: \"{plain_sentence(sentence)}\"\n"
        "Is this sentence consistent with what these regions show (the right kind of object, in the state it describes)? "
        "Answer yes or no."
    )
    return VLMRequest.ask(parts, max_tokens=max_tokens, context=context)


_CLAIM_TAGS_RE = re.compile(r"<obj>(.*?)</obj>(?:\s*<box>[^<]*</box>)+(?:\s*at\s*<t>[^<]*</t>\s*s)?", re.IGNORECASE | re.DOTALL)
_TIME_TAG_RE = re.compile(r"<t>([^<]*)</t>\s*s", re.IGNORECASE)


def plain_sentence(sentence: str) -> str:
    """A reasoning sentence without grounding tags: claims become their object names, times `12.5s`."""
    text = _CLAIM_TAGS_RE.sub(lambda m: m.group(1).strip(), sentence)
    text = _TIME_TAG_RE.sub(lambda m: f"{m.group(1).strip()}s", text)
    return " ".join(text.split())


__all__ = [
    "ANNOTATOR_SYSTEM",
    "JSON_RETRY_NOTE",
    "dense_request",
    "object_check_request",
    "object_question",
    "plain_sentence",
    "sentence_check_request",
    "temporal_request",
]
