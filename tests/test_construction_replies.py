"""Reading VLM replies: JSON in fences / prose / cut off, yes-no, the annotation schema, and re-asking."""

import pytest
from PIL import Image

from o3video.construction.annotation import AnnotationError, AnnotationRules, annotation_from_reply
from o3video.construction.annotator_frames import OfferedFrame
from o3video.construction.asking import UnreadableReply, ask_json, ask_yes_no
from o3video.construction.build_config import VLMOptions
from o3video.construction.replies import ReplyError, parse_json_reply, parse_yes_no
from o3video.construction.vlm import VLMReply, VLMRequest

# --- JSON replies ---------------------------------------------------------------------------------------


def test_code_fences_prose_and_trailing_commas_are_read():
    parsed = parse_json_reply('Sure, here it is:\n```json\n{"a": 1, "b": [1, 2,],}\n```\nAnything else?')
    assert parsed.data == {"a": 1, "b": [1, 2]} and not parsed.repaired
    assert "read from a code fence" in parsed.notes and "removed trailing commas" in parsed.notes
    assert parse_json_reply('Here: {"q": "a } inside", "n": 2} thanks').data == {"q": "a } inside", "n": 2}
    assert parse_json_reply('[{"only": true}]').data == {"only": True}
    assert parse_json_reply('{"a": 1} {"b": 2}').data == {"a": 1}


@pytest.mark.parametrize("text", ['{"question": "Where', '```json\n{"a": [1, 2', '{"a": 1, "b":', '{"a": tru'])
def test_cut_off_replies_are_reported_as_truncated_unless_repair_is_asked(text):
    with pytest.raises(ReplyError) as err:
        parse_json_reply(text)
    assert err.value.code == "truncated"
    repaired = parse_json_reply(text, repair=True)
    assert repaired.repaired and isinstance(repaired.data, dict)


def test_repair_keeps_only_what_was_written_before_the_cut():
    assert parse_json_reply('{"a": {"b": "hello wor', repair=True).data == {"a": {"b": "hello wor"}}
    assert parse_json_reply('{"a": 1, "b": [1, 2', repair=True).data == {"a": 1, "b": [1, 2]}
    assert parse_json_reply('{"a": 1, "b":', repair=True).data == {"a": 1}
    assert parse_json_reply('{"a": 1, "bb', repair=True).data == {"a": 1}


@pytest.mark.parametrize(("text", "code"), [
    ("", "no_json"), ("I cannot help with that.", "no_json"), ('{"a": 1,, }', "invalid_json"),
    ('{"a" "b"}', "invalid_json"), ("[1, 2]", "not_an_object"),
])
def test_unusable_replies_raise_with_a_code(text, code):
    with pytest.raises(ReplyError) as err:
        parse_json_reply(text, repair=True)
    assert err.value.code == code


def test_yes_no():
    assert [parse_yes_no(t) for t in ("Yes.", "**No**", "Answer: yes", "no, it is a dog", "YES")] == [True, False, True, False, True]
    assert [parse_yes_no(t) for t in ("yesterday", "I think yes", "", None, "Maybe")] == [None] * 5


# --- the annotation schema ------------------------------------------------------------------------------

IMAGE = Image.new("RGB", (8, 6))
OFFERED = [OfferedFrame(1, 1.0, 4, IMAGE), OfferedFrame(2, 2.5, 10, IMAGE), OfferedFrame(3, 4.0, 16, IMAGE)]
REASONING = "The <obj>red car</obj><box>[0.1,0.2,0.3,0.4]</box>at<t>2.5</t>s stops."


def reply(**changes):
    base = {"question": "What does the red car do?", "answer": "it stops",
            "key_frames": [{"time": 2.5, "objects": [{"name": "red car", "box": [0.1, 0.2, 0.3, 0.4]}]}],
            "reasoning_process": REASONING}
    return {**base, **changes}


def read(data, dense=False, rules=AnnotationRules()):
    return annotation_from_reply(data, OFFERED, dense=dense, frame_path=lambda f: f"frames/{f.index}.png", rules=rules)


def test_a_good_reply_becomes_an_annotation_on_the_frames_shown():
    annotation = read(reply())
    (frame,) = annotation.key_frames
    assert (frame.time, frame.idx, frame.path) == (2.5, 10, "frames/10.png")
    assert frame.objects[0].name == "red car" and frame.objects[0].box == [0.1, 0.2, 0.3, 0.4]
    assert annotation.reasoning == REASONING


@pytest.mark.parametrize(("changes", "code"), [
    ({"question": ""}, "missing_field"),
    ({"reasoning_process": None}, "missing_field"),
    ({"key_frames": []}, "bad_key_frame_count"),
    ({"key_frames": [{"time": 2.5, "objects": [{"name": "x", "box": [0, 0, 0.1, 0.1]}]}] * 6}, "bad_key_frame_count"),
    ({"key_frames": [{"time": 3.2, "objects": [{"name": "x", "box": [0, 0, 0.1, 0.1]}]}]}, "key_frame_not_shown"),
    ({"key_frames": [{"objects": [{"name": "x", "box": [0, 0, 0.1, 0.1]}]}]}, "bad_key_frame"),
    ({"key_frames": [{"time": 2.5, "objects": []}]}, "bad_object_count"),
    ({"key_frames": [{"time": 2.5, "objects": [{"name": f"o{i}", "box": [0, 0, 0.1, 0.1]} for i in range(4)]}]}, "bad_object_count"),
    ({"key_frames": [{"time": 2.5, "objects": [{"name": "x", "box": [0.1, 0.2]}]}]}, "bad_box"),
    ({"key_frames": [{"time": 2.5, "objects": [{"name": "x", "box": [0.5, 0.5, 0.2, 0.9]}]}]}, "bad_box"),
    ({"key_frames": [{"time": 2.5, "objects": [{"name": "x", "box": [120, 40, 300, 200]}]}]}, "box_outside_frame"),
    ({"key_frames": [{"time": 2.5, "objects": [{"box": [0, 0, 0.1, 0.1]}]}]}, "bad_object"),
    ({"skip": "nothing happens", "question": None}, "missing_field"),
])
def test_unusable_annotations_are_rejected_with_a_code(changes, code):
    with pytest.raises(AnnotationError) as err:
        read(reply(**changes))
    assert err.value.rejection.code == code


def test_declining_and_dense_frame_indices():
    with pytest.raises(AnnotationError) as err:
        read({"skip": "no object is visible"})
    assert err.value.rejection.code == "annotator_declined"
    dense = read(reply(key_frames=[{"frame_index": 16, "objects": [{"object_id": 3, "name": "dog", "box": [0, 0, 0.5, 0.5]}]}]), dense=True)
    assert dense.key_frames[0].time == 4.0 and dense.key_frames[0].objects[0].object_id == "3"
    with pytest.raises(AnnotationError) as err:
        read(reply(key_frames=[{"frame_index": 17, "objects": [{"name": "dog", "box": [0, 0, 0.5, 0.5]}]}]), dense=True)
    assert err.value.rejection.code == "key_frame_not_shown"


def test_key_frames_are_merged_sorted_and_boxes_clipped_or_converted():
    annotation = read(reply(key_frames=[
        {"time": "4.0s", "objects": [{"name": "a", "box": [0.5, 0.5, 1.01, 0.9]}]},
        {"time": 1.0, "objects": [{"name": "b", "box": [0, 0, 0.2, 0.2]}]},
        {"time": 4.0, "objects": [{"name": "c", "box": [0, 0, 0.3, 0.3]}]},
    ]))
    assert [f.time for f in annotation.key_frames] == [1.0, 4.0]
    assert [o.name for o in annotation.key_frames[1].objects] == ["a", "c"]
    assert annotation.key_frames[1].objects[0].box == [0.5, 0.5, 1.0, 0.9]
    rules = AnnotationRules(reply_box_format="xyxy_1000")
    converted = read(reply(key_frames=[{"time": 2.5, "objects": [{"name": "red car", "box": [100, 200, 300, 400]}]}],
                           reasoning_process="The <obj>red car</obj><box>[100,200,300,400]</box>at<t>2.5</t>s."), rules=rules)
    assert converted.key_frames[0].objects[0].box == [0.1, 0.2, 0.3, 0.4]
    assert "<box>[0.1000,0.2000,0.3000,0.4000]</box>" in converted.reasoning


# --- asking again ----------------------------------------------------------------------------------------


class Scripted:
    """A client answering from a list, recording each request."""

    name = "scripted"

    def __init__(self, replies):
        self.replies, self.requests = list(replies), []

    def complete(self, request):
        self.requests.append(request)
        text, finish = self.replies.pop(0)
        return VLMReply(text, finish)


NO_WAIT = VLMOptions(retry_backoff_s=0.0, reply_retries=2)


def test_an_unreadable_reply_is_asked_again_with_the_problem_shown():
    client = Scripted([('{"question": "Wh', "length"), ('```json\n{"question": "Why?"}\n```', "stop")])
    answer = ask_json(client, VLMRequest.ask(["annotate this"]), NO_WAIT)
    assert answer.parsed.data == {"question": "Why?"} and answer.attempts == 2
    retry = client.requests[1]
    assert [t.role for t in retry.turns] == ["user", "assistant", "user"]
    assert retry.turns[1].parts == ['{"question": "Wh'] and "cut off" in retry.turns[2].parts[0]


def test_asking_gives_up_after_the_retries():
    client = Scripted([("not json", "stop")] * 3)
    with pytest.raises(UnreadableReply) as err:
        ask_json(client, VLMRequest.ask(["annotate this"]), NO_WAIT)
    assert err.value.attempts == 3 and err.value.error.code == "no_json" and len(client.requests) == 3
    client = Scripted([("Well, perhaps.", "stop"), ("No.", "stop")])
    assert ask_yes_no(client, VLMRequest.ask(["Is this a cat?"]), NO_WAIT) == (False, "No.")
    client = Scripted([("Hmm", "stop")] * 3)
    assert ask_yes_no(client, VLMRequest.ask(["Is this a cat?"]), NO_WAIT) == (None, "Hmm")
