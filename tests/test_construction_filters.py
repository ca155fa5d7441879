"""Each filter and check of the build on hand-made cases; source readers; the mix; stage logs."""

import json
from pathlib import Path

import pytest

from o3video.construction.annotation import Annotation, KeyFrame, KeyObject
from o3video.construction.annotation_prompts import object_question, plain_sentence
from o3video.construction.boxes import remove_oversized, track_disagreements
from o3video.construction.build_config import BuildConfig, CheckConfig
from o3video.construction.consistency import coverage_rejections, reasoning_sentences, same_name
from o3video.construction.context import StageContext
from o3video.construction.filters import SourceFilterConfig, source_filter_rejections
from o3video.construction.mix import mix_records, rebase_record, resolve_mix
from o3video.construction.ratelimit import TokenBucket
from o3video.construction.source_items import Caption, SourceItem, Track, safe_name
from o3video.construction.sources import SourceError, read_dense_source, read_temporal_source, resolve_video
from o3video.construction.stages import StageLog, run_stage
from o3video.construction.stgr_output import spatio_temporal_record, temporal_qa_record
from o3video.data.stgr import validate_record
from o3video.mixes import RL_MIX, SFT_MIX, category_of
from o3video.video import VideoInfo

FILTERS = SourceFilterConfig()


def codes(rejections):
    return sorted(r.code for r in rejections)


# --- source filters ---------------------------------------------------------------------------------------


def temporal(spans, kind="temporal", cot=None):
    return SourceItem(id="s:1", kind=kind, source="s", video="v", spans=spans, sentence="x", cot=cot)


def test_video_duration_bounds_apply_to_videos_to_annotate():
    assert codes(source_filter_rejections(temporal([[1, 2]]), 9.9, FILTERS)) == ["video_too_short"]
    assert codes(source_filter_rejections(temporal([[1, 2]]), 10.0, FILTERS)) == []
    assert codes(source_filter_rejections(temporal([[1, 2]]), 180.0, FILTERS)) == []
    assert codes(source_filter_rejections(temporal([[1, 2]]), 180.5, FILTERS)) == ["video_too_long"]
    dense = SourceItem(id="d:1", kind="dense", source="d", video="v", frame_count=10)
    assert codes(source_filter_rejections(dense, 5.0, FILTERS)) == ["video_too_short"]
    assert codes(source_filter_rejections(temporal([[1, 2]], kind="temporal-qa"), 5.0, FILTERS)) == []


def test_action_share_for_annotation_and_span_share_for_temporal_qa():
    assert codes(source_filter_rejections(temporal([[0, 49.9]]), 100.0, FILTERS)) == []
    assert codes(source_filter_rejections(temporal([[0, 50]]), 100.0, FILTERS)) == ["action_too_long"]
    # several windows count by their union
    assert codes(source_filter_rejections(temporal([[0, 30], [20, 45]]), 100.0, FILTERS)) == []
    assert codes(source_filter_rejections(temporal([[0, 30], [40, 60]]), 100.0, FILTERS)) == ["action_too_long"]
    qa = temporal([[0, 60]], kind="temporal-qa")
    assert codes(source_filter_rejections(qa, 100.0, FILTERS)) == []
    assert codes(source_filter_rejections(temporal([[0, 70]], kind="temporal-qa"), 100.0, FILTERS)) == ["span_too_long"]
    assert codes(source_filter_rejections(temporal([[90, 120]]), 100.0, FILTERS)) == ["span_outside_video"]


def test_chain_of_thought_length():
    assert codes(source_filter_rejections(temporal([[0, 5]], "temporal-qa", "x" * 5999), 100.0, FILTERS)) == []
    assert codes(source_filter_rejections(temporal([[0, 5]], "temporal-qa", "x" * 6000), 100.0, FILTERS)) == ["cot_too_long"]
    assert codes(source_filter_rejections(temporal([[0, 5]]), None, FILTERS)) == ["duration_unknown"]


# --- readers ------------------------------------------------------------------------------------------------


def write(path: Path, data) -> Path:
    path.write_text(data if isinstance(data, str) else json.dumps(data), encoding="utf-8")
    return path


def test_activitynet_qvhighlights_and_generic_temporal_layouts(tmp_path):
    anet = read_temporal_source(write(tmp_path / "anet.json", {
        "v_a": {"duration": 82.7, "timestamps": [[1, 5.5], [10, 20]], "sentences": [" A man runs. ", "He jumps."]}}))
    assert [(i.id, i.video, i.duration, i.spans, i.sentence) for i in anet] == [
        ("anet:v_a#0", "v_a", 82.7, [[1.0, 5.5]], "A man runs."), ("anet:v_a#1", "v_a", 82.7, [[10.0, 20.0]], "He jumps.")]
    qvh = read_temporal_source(write(tmp_path / "qvh.jsonl", "\n".join(json.dumps(e) for e in [
        {"qid": 7, "query": "a dog barks", "vid": "abc_60.0_210.0", "duration": 150, "relevant_windows": [[4, 10], [20, 24]]},
        {"qid": 8, "query": "a cat", "vid": "abc_60.0_210.0", "duration": 150, "relevant_windows": [[30, 40]]}])), "qvhighlights")
    assert qvh[0].id == "qvhighlights:7" and qvh[0].spans == [[4.0, 10.0], [20.0, 24.0]] and qvh[0].segment == (4.0, 24.0)
    assert qvh[0].action_seconds == 10.0
    tvg = read_temporal_source(write(tmp_path / "tvg.json", [
        {"video": "x.mp4", "duration": 30, "timestamp": [2, 8], "sentence": "someone cooks", "cot": "<think>first...</think>",
         "question": "When does someone cook?"}]), kind="temporal-qa")
    assert tvg[0].kind == "temporal-qa" and tvg[0].cot == "<think>first...</think>" and tvg[0].question == "When does someone cook?"


@pytest.mark.parametrize(("data", "message"), [
    ([{"duration": 3, "timestamp": [1, 2], "sentence": "x"}], "entry 0: no video field"),
    ([{"video": "a", "timestamp": [1, 2]}], "entry 0: no sentence"),
    ([{"video": "a", "sentence": "x"}], "entry 0: no span field"),
    ([{"video": "a", "timestamp": [5, 2], "sentence": "x"}], r"entry 0\.timestamp\[0\]: span"),
    ([{"video": "a", "timestamp": [1, "b"], "sentence": "x"}], "expected a number"),
    ({"v": {"timestamps": [[1, 2]], "sentences": []}}, "video 'v': needs lists"),
    ([{"id": 1, "video": "a", "timestamp": [1, 2], "sentence": "x"}, {"id": 1, "video": "a", "timestamp": [1, 2], "sentence": "y"}],
     "ids must be unique"),
])
def test_bad_temporal_sources_name_the_file_entry_and_field(tmp_path, data, message):
    path = write(tmp_path / "bad.json", data)
    with pytest.raises(SourceError, match=message) as err:
        read_temporal_source(path)
    assert str(path) in str(err.value)


def test_dense_sources_in_both_layouts(tmp_path):
    (item,) = read_dense_source(write(tmp_path / "plm.json", [
        {"video": "a.mp4", "total_frames": 120, "objects": [
            {"id": 3, "captions": [{"start_frame": 0, "end_frame": 40, "caption": "a dog runs"}], "boxes": {"10": [1, 2, 30, 40]}}]}]))
    assert item.kind == "dense" and item.frame_count == 120 and item.box_format == "xyxy_px"
    assert item.tracks[0].id == "3" and item.tracks[0].boxes == {10: [1.0, 2.0, 30.0, 40.0]}
    assert item.tracks[0].captions[0].text == "a dog runs"
    rows = read_dense_source(write(tmp_path / "rdcap.jsonl", "\n".join(json.dumps(r) for r in [
        {"uid": 1, "video": "b.mp4", "masklet_id": 0, "total_frames": 90, "dense_captions": [{"start_frame": 0, "end_frame": 10, "caption": "x"}]},
        {"uid": 2, "video": "b.mp4", "masklet_id": 1, "total_frames": 90, "dense_captions": [], "boxes": [{"frame": 5, "box": [0, 0, 9, 9]}]}])))
    assert len(rows) == 1 and [t.id for t in rows[0].tracks] == ["0", "1"] and rows[0].tracks[1].boxes == {5: [0.0, 0.0, 9.0, 9.0]}
    with pytest.raises(SourceError, match="no frame count"):
        read_dense_source(write(tmp_path / "bad.json", [{"video": "a", "objects": []}]))
    with pytest.raises(SourceError, match="object ids repeat"):
        read_dense_source(write(tmp_path / "dup.json", [{"video": "a", "total_frames": 3, "objects": [{"id": 1}, {"id": 1}]}]))


def test_video_names_resolve_with_or_without_extension(tmp_path):
    (tmp_path / "v_abc.mp4").write_bytes(b"x")
    assert resolve_video("v_abc", tmp_path) == tmp_path / "v_abc.mp4"
    assert resolve_video("v_abc.mp4", tmp_path) == tmp_path / "v_abc.mp4"
    assert resolve_video(str(tmp_path / "v_abc.mp4"), "/elsewhere") == tmp_path / "v_abc.mp4"
    assert safe_name("a/b:c#1") != safe_name("a_b_c_1") and "/" not in safe_name("a/b:c#1")


# --- box filtering -------------------------------------------------------------------------------------------


def annotation(reasoning, frames):
    return Annotation("q?", "a", reasoning, [KeyFrame(t, i, f"f/{i}.png", [KeyObject(*o) for o in objs]) for t, i, objs in frames])


def test_boxes_over_80_percent_of_the_frame_are_removed():
    a = annotation("", [(1.0, 4, [("cat", [0.0, 0.0, 0.9, 0.9]), ("dog", [0.1, 0.1, 0.3, 0.3])]),
                        (2.0, 8, [("sky", [0.0, 0.0, 1.0, 0.8]), ("sea", [0.0, 0.0, 1.0, 0.81])])])
    removed = remove_oversized(a, 0.8)
    assert [(r["name"], r["area"]) for r in removed] == [("cat", 0.81), ("sea", 0.81)]
    assert [o.name for f in a.key_frames for o in f.objects] == ["dog", "sky"]


def test_dense_boxes_must_agree_with_their_track():
    item = SourceItem(id="d:1", kind="dense", source="d", video="v", frame_count=20,
                      tracks=[Track("0", boxes={4: [10, 10, 50, 50]}, captions=[Caption(0, 9, "x")])])
    info = VideoInfo("v", 5.0, 4.0, 100, 100, 20, True, True, 4.75, 0.0, 0, "h264", "mp4", 0, "1/4")
    ctx = StageContext(BuildConfig(out=Path("."), checks=CheckConfig(min_track_iou=0.5)), videos={"d:1": {"video_info": info.to_dict()}})
    good = annotation("", [(1.0, 4, [("box", [0.1, 0.1, 0.5, 0.5], "0")])])
    assert track_disagreements(item, good, ctx) == []
    shifted = annotation("", [(1.0, 4, [("box", [0.5, 0.5, 0.9, 0.9], "0")])])
    assert codes(track_disagreements(item, shifted, ctx)) == ["box_off_source_track"]
    elsewhere = annotation("", [(2.0, 8, [("box", [0.1, 0.1, 0.5, 0.5], "0")])])  # no track box at frame 8
    assert codes(track_disagreements(item, elsewhere, ctx)) == ["box_off_source_track"]
    unknown = annotation("", [(1.0, 4, [("box", [0.1, 0.1, 0.5, 0.5], "9")])])
    assert codes(track_disagreements(item, unknown, ctx)) == ["unknown_object_id"]
    untracked = annotation("", [(1.0, 4, [("lamp", [0.6, 0.6, 0.7, 0.7])])])
    assert track_disagreements(item, untracked, ctx) == []


# --- self-consistency: coverage -------------------------------------------------------------------------------

FRAMES = [(1.0, 4, [("red car", [0.1, 0.2, 0.3, 0.4]), ("man", [0.5, 0.5, 0.6, 0.9])]), (2.5, 10, [("red car", [0.2, 0.2, 0.4, 0.4])])]
CHECKS = CheckConfig()


def cover(reasoning):
    return codes(coverage_rejections(annotation(reasoning, FRAMES), CHECKS))


def test_a_reasoning_covered_by_key_frames_and_items_passes():
    text = ("The <obj>red car</obj><box>[0.1,0.2,0.3,0.4]</box>at<t>1.0</t>s waits while the <obj>Man</obj>"
            "<box>[0.5, 0.5, 0.6, 0.9]</box>at<t>1</t>s crosses. At <t>2.5</t>s the <obj>the red car</obj>"
            "<box>[0.2,0.2,0.4,0.4]</box>at<t>2.50</t>s has moved.")
    assert cover(text) == []


@pytest.mark.parametrize(("reasoning", "expected"), [
    ("The <obj>red car</obj><box>[0.1,0.2,0.3,0.4]</box>at<t>1.5</t>s moves.", ["time_not_in_key_frames"]),
    ("The <obj>red car</obj><box>[0.1,0.2,0.3,0.4]</box>at<t>1.0</t>s moves, by <t>7.0</t>s it is gone.", ["time_not_in_key_frames"]),
    ("The <obj>red car</obj><box>[0.2,0.2,0.4,0.4]</box>at<t>1.0</t>s moves.", ["box_not_in_key_items"]),
    ("The <obj>blue car</obj><box>[0.1,0.2,0.3,0.4]</box>at<t>1.0</t>s moves.", ["name_not_in_key_items"]),
    ("The <obj>red car</obj><box>[0.1,0.2,0.3,0.4]</box> moves.", ["malformed_reasoning", "no_grounded_claim"]),
    ("A car moves at <t>1.0</t>s.", ["no_grounded_claim"]),
    ("The <obj>red car</obj><box>[0.1,0.2,0.3,0.4]</box>at<t>1.0</t>s and <box>[0.5,0.5,0.6,0.9]</box> move.", ["malformed_reasoning"]),
    ("The <obj>red car<box>[0.1,0.2,0.3,0.4]</box>at<t>1.0</t>s moves.", ["malformed_reasoning", "no_grounded_claim"]),
])
def test_what_the_key_frames_do_not_cover_is_rejected(reasoning, expected):
    assert sorted(set(cover(reasoning))) == expected


def test_sentences_names_and_prompts():
    text = "The <obj>red car</obj><box>[0.1,0.2,0.3,0.4]</box>at<t>1.0</t>s stops. Then it turns left! <t>2.5</t>s is later."
    assert reasoning_sentences(text) == [
        "The <obj>red car</obj><box>[0.1,0.2,0.3,0.4]</box>at<t>1.0</t>s stops.", "Then it turns left!", "<t>2.5</t>s is later."]
    assert plain_sentence(reasoning_sentences(text)[0]) == "The red car stops."
    assert same_name("The Red  car", "red car") and not same_name("red car", "red cart")
    assert object_question("the red car") == "Is this a red car? Answer yes or no."


# --- records ------------------------------------------------------------------------------------------------------


def test_records_are_valid_stgr_with_paths_relative_to_the_output(tmp_path):
    item = SourceItem(id="anet:v#0", kind="temporal", source="anet", video="v", spans=[[0.5, 3]], sentence="a car stops")
    a = annotation("The <obj>red car</obj><box>[0.1,0.2,0.3,0.4]</box>at<t>1.0</t>s stops.", FRAMES)
    record = spatio_temporal_record(item, a, tmp_path / "videos" / "v.mp4", tmp_path / "out")
    assert validate_record(record) == []
    assert record["video_path"] == "../videos/v.mp4" and record["box_format"] == "xyxy_norm"
    assert record["key_items"] == {"4": {"red car": [[0.1, 0.2, 0.3, 0.4]], "man": [[0.5, 0.5, 0.6, 0.9]]},
                                   "10": {"red car": [[0.2, 0.2, 0.4, 0.4]]}}
    qa = temporal_qa_record(SourceItem(id="tvg:1", kind="temporal-qa", source="tvg", video="x.mp4", spans=[[2, 8.5]],
                                       sentence="someone cooks", cot="<think>First, ...</think><answer>x</answer>"),
                            tmp_path / "x.mp4", tmp_path)
    assert validate_record(qa) == [] and qa["answer"] == "[2, 8.5]" and qa["reasoning_process"] == "First, ..."
    assert category_of(qa["task"]) == "temporal" and category_of(record["task"]) == "spatio-temporal"


# --- mix ---------------------------------------------------------------------------------------------------------


def pool(counts):
    tasks = {"temporal": "temporal QA", "spatial": "visual QA", "spatio-temporal": "temporal-spatial free-form QA",
             "general": "General video QA Free-form"}
    return [{"id": f"{c}-{i}", "task": tasks[c]} for c, n in counts.items() for i in range(n)]


def test_the_mix_follows_the_paper_shares_as_far_as_the_scarcest_category_allows():
    result = mix_records("sft", pool({"temporal": 100, "spatial": 100, "spatio-temporal": 40, "general": 1000}), SFT_MIX, seed=1)
    total = len(result.records)
    assert total == 203  # 40 spatio-temporal records are 19.7% of 203
    for category, share in SFT_MIX.shares().items():
        assert abs(result.counts[category] - share * total) <= 1
    assert len({r["id"] for r in result.records}) == total
    again = mix_records("sft", pool({"temporal": 100, "spatial": 100, "spatio-temporal": 40, "general": 1000}), SFT_MIX, seed=1)
    assert [r["id"] for r in again.records] == [r["id"] for r in result.records]
    capped = mix_records("rl", pool({"temporal": 100, "spatial": 100, "spatio-temporal": 100, "general": 100}), RL_MIX, total=50)
    assert len(capped.records) == 50 and capped.counts == {"temporal": 7, "spatial": 7, "spatio-temporal": 15, "general": 21}


def test_a_missing_category_is_reported_and_the_rest_renormalised():
    result = mix_records("sft", pool({"temporal": 10, "spatio-temporal": 20, "general": 100}), SFT_MIX)
    assert result.missing == ["spatial"] and result.counts["spatial"] == 0
    assert result.counts["temporal"] == 10 and sum(result.counts.values()) == len(result.records) == 60  # temporal is scarcest
    kept = {c: w for c, w in SFT_MIX.weights.items() if c != "spatial"}
    for category, weight in kept.items():
        assert abs(result.counts[category] - 60 * weight / sum(kept.values())) <= 1
    assert resolve_mix("rl")[1] is RL_MIX and resolve_mix("1,1,1,1")[1].shares()["general"] == 0.25


def test_included_records_are_rebased_to_the_output_directory(tmp_path):
    record = {"video_path": "videos/a.mp4", "key_frames": [{"idx": 1, "time": 0.5, "path": "frames/a/1.png"}], "image_path": "/abs/i.png"}
    rebased = rebase_record(record, tmp_path / "synth", tmp_path / "out")
    assert rebased["video_path"] == "../synth/videos/a.mp4" and rebased["key_frames"][0]["path"] == "../synth/frames/a/1.png"
    assert rebased["image_path"] == "/abs/i.png" and record["video_path"] == "videos/a.mp4"


# --- stage logs and rate limiting ----------------------------------------------------------------------------------


def test_a_line_cut_by_a_kill_is_dropped_and_redone(tmp_path):
    path = tmp_path / "stages" / "annotate.jsonl"
    path.parent.mkdir()
    path.write_text('{"id": "a", "status": "kept"}\n{"id": "b", "status": "error"}\n{"id": "c", "sta', encoding="utf-8")
    log = StageLog(path)
    assert log.dropped_partial and set(log.entries) == {"a", "b"} and log.finished("a") and not log.finished("b")
    calls = []
    entries = run_stage("annotate", [(k, k) for k in "abc"], lambda k, _: calls.append(k) or {"status": "kept", "n": len(calls)},
                        out=tmp_path, progress=False)
    assert calls == ["b", "c"] and all(e["status"] == "kept" for e in entries.values())
    lines = [json.loads(line) for line in path.read_text().splitlines()]
    assert [line["id"] for line in lines] == ["a", "b", "b", "c"]  # the error line stays; the last line of an id counts
    assert run_stage("annotate", [(k, k) for k in "abc"], lambda k, _: pytest.fail("nothing left to do"), out=tmp_path, progress=False)


def test_a_failing_item_is_recorded_as_an_error_and_retried(tmp_path):
    def flaky(item_id, _):
        if item_id == "b":
            raise ConnectionError("server gone")
        return {"status": "kept"}

    first = run_stage("s", [("a", 0), ("b", 0)], flaky, out=tmp_path, concurrency=2, progress=False)
    assert first["b"]["status"] == "error" and "server gone" in first["b"]["error"]
    second = run_stage("s", [("a", 0), ("b", 0)], lambda k, _: {"status": "rejected", "rejections": []}, out=tmp_path, progress=False)
    assert second["a"]["status"] == "kept" and second["b"]["status"] == "rejected"


def test_token_bucket_spaces_calls_at_the_rate():
    now = [0.0]
    slept = []

    def sleep(seconds):
        slept.append(seconds)
        now[0] += seconds

    bucket = TokenBucket(2.0, burst=2, clock=lambda: now[0], sleep=sleep)
    waits = [bucket.acquire() for _ in range(5)]
    assert waits[:2] == [0.0, 0.0] and waits[2:] == pytest.approx([0.5, 0.5, 0.5])
    now[0] += 10.0  # idle: the bucket refills, but only up to its burst
    assert [bucket.acquire() for _ in range(3)] == pytest.approx([0.0, 0.0, 0.5])
