"""`o3video app`: the three views' functions on a rendered clip, a synthetic V-STaR results file, an STGR file
and a construction output, checked by what they show (boxes at the right place and time, the scorer's metrics,
filters, deep links, one-line errors); one slow test serves the page and drives it over HTTP."""

import json
from pathlib import Path

import pytest
from PIL import Image
from videos import render_numbered

from o3video.app import data_view, results_view
from o3video.app.app_config import AppConfig, DeepLink, deep_link_query, read_deep_link
from o3video.app.ask_view import ModelShelf, ask, default_loader
from o3video.app.scored_results import score_results
from o3video.errors import InputError
from o3video.eval.scoring import SCORINGS, score_vstar
from o3video.geometry import MAX_PIXELS, MIN_PIXELS, BoxConvention
from o3video.viz.compare import PREDICTED, TRUTH, span_row_y, span_x

GT_BOX = [20, 20, 60, 60]  # original pixels of the 128 x 96 clip, at second 1
CHAIN1_BOX = [22, 22, 60, 60]  # IoU 0.9025 with GT_BOX
CHAIN2_BOX = [40, 40, 80, 80]  # IoU 1/7


@pytest.fixture
def clip(tmp_path) -> Path:
    """2 s at 30 fps, 128 x 96: black and white blocks only, so drawn colours are ours."""
    path = tmp_path / "clip.mp4"
    render_numbered(path, frames=60, fps=30, size=(128, 96))
    return path


def annotation(i: int) -> dict:
    return {"vid": f"v{i}", "video_path": "clip.mp4", "domain": ["sports", "cooking", "sports"][i],
            "question": f"What moves in scene {i}?", "answer": "a red ball", "temporal_question": "When does it move?",
            "spatial_question": "Where is the ball?", "fps": 30, "frame_count": 60, "width": 128, "height": 96,
            "timestamps": [0.5, 1.5],
            "bboxes": [{"timestamp": 1, "xmin": GT_BOX[0], "ymin": GT_BOX[1], "xmax": GT_BOX[2], "ymax": GT_BOX[3]}]}


ANSWERS = [
    {"answer_vqa": "a red ball", "answer_temporal": [0.5, 1.5], "answer_temporal_2": [1.0, 2.0],
     "answer_spatial": {"1": CHAIN1_BOX}, "answer_spatial_2": {"1": CHAIN2_BOX}, "answer_temporal_pre": "0.5 to 1.5",
     "answer_temporal_pre_2": "1 to 2", "answer_spatial_pre": "", "answer_spatial_pre_2": "",
     "input_size": [128, 96], "box_convention": "pixels"},
    {"answer_vqa": "a blue cube", "answer_temporal": [], "answer_temporal_2": [], "answer_spatial": {},
     "answer_spatial_2": {}, "answer_temporal_pre": "no idea", "answer_temporal_pre_2": "no idea",
     "input_size": [128, 96], "box_convention": "pixels"},
    {"error": "no video for record 2"},
]


@pytest.fixture
def vstar_files(tmp_path, clip) -> tuple[Path, Path]:
    """(annotations, results) of three records: a good answer, a wrong one, one that failed."""
    anno = tmp_path / "anno.json"
    anno.write_text(json.dumps([annotation(i) for i in range(3)]))
    results = tmp_path / "results.jsonl"
    lines = [{"key": f"{i}:v{i}", "index": i, **annotation(i), **ANSWERS[i]} for i in range(3)]
    results.write_text("".join(json.dumps(line) + "\n" for line in lines))
    return anno, results


# --- Results ---------------------------------------------------------------------------------------------


@pytest.mark.parametrize("scoring", SCORINGS)
def test_record_metrics_are_the_scorers_in_every_scoring_mode(vstar_files, scoring):
    _, results = vstar_files
    scored = score_results(results, scoring=scoring)
    reference = score_vstar(results, "exact", scoring, progress=False)
    expected = ({s.index: (s.judge_score, s.tiou, s.viou) for _, s in reference.scores} if scoring == "o3video" else
                {r.index: (r.score, r.tiou, r.viou) for r in reference.report.records if r.judged})
    shown = {m.position: (m.judge_score, m.tiou, m.viou) for m in scored.metrics if m.tiou is not None}
    assert shown == expected
    first = scored.metrics[0]
    assert first.tiou[0] == 1.0 and first.viou[0] == pytest.approx(0.9025)
    assert first.viou[1] == pytest.approx(1 / 7) and first.judge_score == 3
    assert scored.metrics[2].error and not scored.metrics[2].scored


def test_filters_keep_only_matching_records_and_sorting_puts_missing_values_last(vstar_files):
    _, results = vstar_files
    scored = score_results(results)
    keys = lambda rows: [row[0] for row in rows]  # noqa: E731
    assert keys(results_view.table(scored)) == ["0:v0", "1:v1", "2:v2"]
    assert keys(results_view.table(scored, results_view.RecordFilter(domain="cooking"))) == ["1:v1"]
    assert keys(results_view.table(scored, results_view.RecordFilter(tiou=(0.9, 1.0)))) == ["0:v0"]
    assert keys(results_view.table(scored, results_view.RecordFilter(chain=2, viou=(0.1, 0.2)))) == ["0:v0"]
    assert keys(results_view.table(scored, results_view.RecordFilter(judge_score=0))) == ["1:v1"]
    assert keys(results_view.table(scored, sort_by="vIoU c1", descending=True)) == ["0:v0", "1:v1", "2:v2"]
    assert keys(results_view.table(scored, sort_by="vIoU c1")) == ["1:v1", "0:v0", "2:v2"]
    assert results_view.choices(scored, "domain") == ["cooking", "sports"]


BLIND_ANSWERS = [  # a blind twin: record 0 boxed elsewhere (vIoU 1/7 on chain 1), record 1 right, record 2 absent
    {**ANSWERS[0], "answer_spatial": {"1": CHAIN2_BOX}, "answer_spatial_2": {"1": CHAIN1_BOX}},
    {**ANSWERS[0], "answer_vqa": "a red ball"},
]


def twin_file(tmp_path: Path, name: str, answers: list[dict], question: str | None = None) -> Path:
    """A second results file of the same annotations, one record per answer (a question other than the
    annotations' when `question` is given)."""
    path = tmp_path / name
    lines = [{"key": f"{i}:v{i}", "index": i, **annotation(i), **answer} for i, answer in enumerate(answers)]
    if question is not None:
        lines[0]["question"] = question
    path.write_text("".join(json.dumps(line) + "\n" for line in lines))
    return path


def test_a_second_results_file_adds_its_metrics_as_columns_matched_by_record(vstar_files, tmp_path):
    _, results = vstar_files
    scored, twin = score_results(results), score_results(twin_file(tmp_path, "blind.jsonl", BLIND_ANSWERS))
    names = results_view.columns(twin)
    assert names[:len(results_view.COLUMNS)] == list(results_view.COLUMNS)
    assert names[len(results_view.COLUMNS):] == ["judge (beside)", "tIoU c1 (beside)", "tIoU c2 (beside)",
                                                 "vIoU c1 (beside)", "vIoU c2 (beside)"]
    rows = {row[0]: dict(zip(names, row)) for row in results_view.table(scored, beside=twin)}
    assert rows["0:v0"]["vIoU c1"] == pytest.approx(0.9025) and rows["0:v0"]["vIoU c1 (beside)"] == round(1 / 7, 4)
    assert rows["0:v0"]["vIoU c2 (beside)"] == pytest.approx(0.9025) and rows["0:v0"]["judge (beside)"] == 3
    assert rows["1:v1"]["judge"] == 0 and rows["1:v1"]["judge (beside)"] == 3
    assert rows["1:v1"]["tIoU c1 (beside)"] == 1.0 and rows["1:v1"]["tIoU c1"] == 0.0
    twin_by_key = {m.key: m for m in twin.metrics}
    for key in ("0:v0", "1:v1"):
        assert rows[key]["vIoU c1 (beside)"] == round(twin_by_key[key].viou[0], 4)
    assert all(rows["2:v2"][c + " (beside)"] is None for c in results_view.BESIDE)  # not in the twin
    names_shown, rows_shown = results_view.without_empty_columns(names, results_view.table(scored, beside=twin))
    assert names_shown == [c for c in names if c != "correct"] and len(rows_shown[0]) == len(names_shown)
    assert rows_shown[0][names_shown.index("vIoU c1 (beside)")] == round(1 / 7, 4)
    by_twin = results_view.table(scored, sort_by="vIoU c1 (beside)", descending=True, beside=twin)
    assert [row[0] for row in by_twin] == ["1:v1", "0:v0", "2:v2"]
    assert "vIoU c1 (beside)" in results_view.sortable(twin) and "vIoU c1 (beside)" not in results_view.sortable()
    with pytest.raises(ValueError, match="sort_by"):
        results_view.table(scored, sort_by="vIoU c1 (beside)")


def test_a_second_results_file_of_other_records_is_refused_naming_it(vstar_files, tmp_path):
    _, results = vstar_files
    scored = score_results(results)
    other = score_results(twin_file(tmp_path, "other.jsonl", BLIND_ANSWERS, question="Something else?"))
    with pytest.raises(InputError, match=r"other.jsonl: record 0 \(key '0:v0'\) asks another question"):
        results_view.table(scored, beside=other)
    tg = tmp_path / "tg.jsonl"
    tg.write_text(json.dumps({"key": "0:v0", "video_path": "clip.mp4", "query": "q", "span": [0, 1],
                              "predicted_span": [0, 1], "duration": 2.0}) + "\n")
    grounding = score_results(tg)
    with pytest.raises(InputError, match="tg.jsonl: results of tg, not vstar"):
        results_view.table(scored, beside=grounding)


def test_the_demos_final_vstar_results_open_with_their_videos_and_the_blind_twin_beside(synth_easy, tiny_model,
                                                                                       tmp_path):
    """Results written as `o3video demo` writes them (`o3video.lab.demo.evaluate`: eval/gspo.jsonl and the blind
    twin's eval/blind_gspo.jsonl, each with its settings record naming the annotations)."""
    from o3video.lab.demo.evaluate import evaluate
    from o3video.models import load_model

    model, processor = load_model(tiny_model)
    runs = {key: evaluate(key, model, processor, anno=synth_easy / "vstar_test.json", videos=synth_easy / "videos",
                          out=tmp_path / "eval" / f"{key}.jsonl", num_frames=2, max_new_tokens=8, cache_dir=None,
                          limit=1, blank_frames=key == "blind_gspo")
            for key in ("gspo", "blind_gspo")}
    final, twin = (tmp_path / "eval" / f"{key}.jsonl" for key in runs)
    config = AppConfig(results=final)
    assert config.videos_dir() == synth_easy  # found through the run's settings record
    scored, beside = score_results(final, anno=synth_easy / "vstar_test.json"), score_results(twin)
    names = results_view.columns(beside)
    rows = {row[0]: dict(zip(names, row)) for row in results_view.table(scored, beside=beside)}
    assert len(rows) == 1
    for key, run in (("", runs["gspo"]), (" (beside)", runs["blind_gspo"])):
        for record, demo in run.per_record.items():  # the app's numbers are the demo's own
            assert rows[record]["tIoU c1" + key] == round(demo["when_1"], 4)
            assert rows[record]["vIoU c2" + key] == round(demo["where_2"], 4)
    first = scored.metrics[0].key
    detail = results_view.record_detail(scored, first, config.videos_dir())
    assert detail.notes == [] and len(detail.frames) == len(scored.records[0]["bboxes"]) > 0
    assert detail.spans is not None and len(detail.prompts) == 5


def _has_color_near(image: Image.Image, x: float, y: float, color, reach: int = 3) -> bool:
    return any(image.getpixel((round(x) + dx, round(y) + dy)) == color
               for dx in range(-reach, reach + 1) for dy in range(-reach, reach + 1))


def test_record_detail_draws_truth_and_answers_at_the_annotated_second(vstar_files, clip):
    _, results = vstar_files
    scored = score_results(results)
    link = read_deep_link({"record": "0:v0"})
    assert link == DeepLink("results", "0:v0", None)
    detail = results_view.record_detail(scored, link.record, clip.parent)
    assert detail.key == "0:v0" and detail.metrics["vIoU chain 1"] == pytest.approx(0.9025)
    assert [kind for kind, _, _ in detail.prompts] == ["what", "when_1", "where_1", "where_2", "when_2"]
    (image, caption), = detail.frames
    assert caption.startswith("1 s") and "chain 1 IoU 0.90" in caption and "chain 2 IoU 0.14" in caption
    sx, sy = image.width / 128, image.height / 96
    middle = 40 * sy
    assert _has_color_near(image, GT_BOX[0] * sx + 1, middle, TRUTH)  # truth's left edge
    assert _has_color_near(image, CHAIN1_BOX[0] * sx + 1, 30 * sy, PREDICTED[0])
    assert _has_color_near(image, CHAIN2_BOX[0] * sx + 1, 70 * sy, PREDICTED[1])
    assert not _has_color_near(image, 100 * sx, 10 * sy, TRUTH)  # nowhere near the boxes
    spans = detail.spans
    assert spans.getpixel((round(span_x(1.0, 2.0, spans.width)), span_row_y(0))) == TRUTH
    assert spans.getpixel((round(span_x(0.25, 2.0, spans.width)), span_row_y(0))) != TRUTH
    assert spans.getpixel((round(span_x(1.5, 2.0, spans.width)), span_row_y(2))) == PREDICTED[1]
    assert spans.getpixel((round(span_x(0.75, 2.0, spans.width)), span_row_y(2))) != PREDICTED[1]


def test_videos_are_looked_for_beside_the_annotations_the_run_recorded(vstar_files, tmp_path):
    from o3video.io import settings_path

    anno, results = vstar_files
    moved = tmp_path / "elsewhere" / "results.jsonl"
    moved.parent.mkdir()
    moved.write_text(results.read_text())
    assert AppConfig(results=moved).videos_dir() == moved.parent
    settings_path(moved).write_text(json.dumps({"anno": str(anno)}))
    assert AppConfig(results=moved).videos_dir() == anno.parent
    assert AppConfig(results=moved, videos=tmp_path / "v").videos_dir() == tmp_path / "v"


def test_deep_links_round_trip_and_a_bad_view_is_named():
    link = DeepLink("data", sample="item 3")
    from urllib.parse import parse_qsl

    assert read_deep_link(dict(parse_qsl(deep_link_query(link)[1:]))) == link
    assert read_deep_link({}) == DeepLink("ask")
    with pytest.raises(InputError, match="view: one of ask, results, data"):
        read_deep_link({"view": "nope"})


def test_bad_results_are_one_line_errors_naming_file_record_and_field(vstar_files, tmp_path):
    from o3video.app.web import failure_line, guarded

    anno, results = vstar_files
    with pytest.raises(InputError, match="missing.jsonl"):
        score_results(tmp_path / "missing.jsonl")
    broken = tmp_path / "broken.jsonl"
    record = json.loads(results.read_text().splitlines()[0])
    del record["width"]
    broken.write_text(json.dumps(record) + "\n")
    with pytest.raises(InputError, match=r"broken.jsonl: record 0.*width"):
        score_results(broken)
    other = tmp_path / "other.json"
    other.write_text(json.dumps([{**annotation(0), "question": "Something else?"}]))
    with pytest.raises(InputError, match="another annotation set"):
        score_results(results, anno=other)
    assert score_results(results, anno=anno).benchmark == "vstar"
    status, *blank = guarded(lambda: (_ for _ in ()).throw(InputError(f"{broken}: record 0: width")), 2)()
    assert status == f"**Error:** {broken}: record 0: width" and blank == [None, None]
    assert "\n" not in failure_line(RuntimeError("two\nlines"))


def test_the_command_line_names_a_missing_results_file_in_one_line(tmp_path, capsys):
    from o3video.cli import main

    assert main(["app", "--results", str(tmp_path / "nope.jsonl")]) == 2
    err = capsys.readouterr().err.strip()
    assert err.startswith("o3video app: ") and "nope.jsonl" in err and "\n" not in err


# --- Ask ----------------------------------------------------------------------------------------------------


class ScriptedModel:
    """A `VideoModel` that cites one box at 1 s, in pixels of its input frame."""

    name, concurrent = "scripted", False
    frame_settings = {"factor": 28, "min_pixels": MIN_PIXELS, "max_pixels": MAX_PIXELS}
    box_convention = BoxConvention.PIXELS
    completion = "<think>The <obj>ball</obj><box>[10,10,50,50]</box>at<t>1.0</t>s rolls.</think><answer>a ball</answer>"

    def ask(self, batch, *, max_new_tokens, temperature=0.0):
        return [self.completion for _ in batch]


def test_ask_draws_the_cited_box_on_the_frame_of_its_time_and_loads_the_model_once(clip):
    loads = []
    shelf = ModelShelf(lambda spec: loads.append(spec) or ScriptedModel())
    answered = ask(shelf, clip, "What rolls?", "scripted", frames=5)
    ask(shelf, clip, "What rolls again?", "scripted", frames=5)
    assert loads == ["scripted"]
    result, layout = answered.result, answered.rendered.layout
    assert result.answer == "a ball" and result.frame_times[2] == pytest.approx(1.0, abs=0.05)
    (panel,) = layout.panels
    assert panel.frame_index == 2  # the sampled frame nearest 1.0 s
    color = answered.rendered.evidence.items[0].color
    image = answered.rendered.image
    assert _has_color_near(image, *panel.to_canvas(10, 30), color)  # the box's left edge
    assert _has_color_near(image, layout.timeline.x_of(1.0), layout.timeline.rect.y0 + 12, color, reach=6)
    sx = 128 / result.input_size[0]
    assert answered.evidence_rows[0][3] == pytest.approx([10 * sx, 10 * 96 / result.input_size[1], 50 * sx,
                                                         50 * 96 / result.input_size[1]], abs=0.1)
    assert "<mark" in answered.reasoning_html and "ball" in answered.reasoning_html


def test_ask_with_the_tiny_model_answers_and_keeps_it_loaded(clip, tiny_model):
    loads = []
    shelf = ModelShelf(lambda spec: loads.append(spec) or default_loader(spec))
    for question in ("What moves?", "Where is it?"):
        answered = ask(shelf, clip, question, str(tiny_model), frames=2, max_new_tokens=8)
        assert answered.result.video == str(clip) and answered.rendered.image.width > 0
    assert loads == [str(tiny_model)]


def test_a_model_that_fails_to_load_or_a_missing_video_is_one_line(clip, tmp_path):
    from o3video.app.web import guarded

    shelf = ModelShelf()
    (tmp_path / "empty").mkdir()
    status, *_ = guarded(lambda: ask(shelf, clip, "q", str(tmp_path / "empty")), 4)()
    assert status.startswith("**Error:**") and "\n" not in status
    status, *_ = guarded(lambda: ask(shelf, tmp_path / "nope.mp4", "q", "any"), 4)()
    assert status.startswith("**Error:**") and "nope.mp4" in status
    assert shelf.loaded == []


# --- Data ---------------------------------------------------------------------------------------------------


def stgr_record(i: int, cited_time: float) -> dict:
    return {"id": f"s{i}", "task": "temporal-spatial free-form QA", "source": "synthetic",
            "question": "Where is the ball?",
            "answer": "on the left", "video_path": "clip.mp4", "box_format": "xyxy_norm",
            "reasoning_process": f"The <obj>ball</obj><box>[0.2,0.25,0.6,0.75]</box>at<t>{cited_time}</t>s is left.",
            "key_frames": [{"idx": 30, "time": 1.0, "path": "frames/k.png"}],
            "key_items": {"30": {"ball": [[0.2, 0.25, 0.6, 0.75]]}}}


@pytest.fixture
def stgr_file(tmp_path) -> Path:
    (tmp_path / "frames").mkdir()
    Image.new("RGB", (100, 80), (128, 128, 128)).save(tmp_path / "frames" / "k.png")
    bad = {"id": "s2", "task": "temporal-spatial free-form QA", "question": "q", "video_path": "clip.mp4"}
    path = tmp_path / "stgr.jsonl"
    path.write_text("".join(json.dumps(r) + "\n" for r in (stgr_record(0, 1.0), stgr_record(1, 1.5), bad)))
    return path


def test_stgr_samples_show_key_items_and_checked_references(stgr_file):
    data = data_view.open_data(stgr_file)
    assert [row[:2] for row in data_view.table(data)] == [["s0", "kept"], ["s1", "kept"], ["line 3", "invalid"]]
    assert [row[0] for row in data_view.table(data, data_view.SampleFilter(status="invalid"))] == ["line 3"]
    assert data.sample("line 3").reasons == ["answer", "key_frames", "key_items"]
    good = data_view.sample_detail(data, "s0")
    assert good.problems == [] and good.claims == [["ball", 1.0, [[0.2, 0.25, 0.6, 0.75]]]]
    (image, caption), = good.frames
    assert caption == "key frame 30 at 1 s"
    sx, sy = image.width / 100, image.height / 80
    color = image.getpixel((round(0.2 * 100 * sx) + 1, round(0.5 * 80 * sy)))
    assert color != (128, 128, 128) and _has_color_near(image, 0.6 * 100 * sx - 2, 0.5 * 80 * sy, color)
    assert not _has_color_near(image, 0.85 * 100 * sx, 0.5 * 80 * sy, color)
    shifted = data_view.sample_detail(data, "s1")
    assert any(p.startswith("time_not_in_key_frames") for p in shifted.problems)


def test_construction_output_is_filtered_by_stage_and_reason(tmp_path):
    stages = tmp_path / "build" / "stages"
    stages.mkdir(parents=True)
    record = stgr_record(0, 1.0)
    ann = {"question": record["question"], "answer": record["answer"], "reasoning": record["reasoning_process"],
           "key_frames": [{"time": 1.0, "idx": 30, "path": "frames/k.png",
                           "objects": [{"name": "ball", "box": [0.2, 0.25, 0.6, 0.75], "object_id": None}]}]}
    logs = {
        "source_filter": [{"id": i, "status": "kept", "rejections": []} for i in ("a", "b")]
        + [{"id": "c", "status": "rejected", "rejections": [{"code": "too_short", "detail": "2 s"}]}],
        "annotate": [{"id": i, "status": "kept", "rejections": [], "annotation": ann} for i in ("a", "b")],
        "boxes": [{"id": "a", "status": "kept", "rejections": [], "annotation": ann},
                  {"id": "b", "status": "rejected", "rejections": [{"code": "crop_not_verified", "detail": "no"}]}],
        "consistency": [{"id": "a", "status": "kept", "rejections": []}],
    }
    for stage, entries in logs.items():
        (stages / f"{stage}.jsonl").write_text("".join(json.dumps(e) + "\n" for e in entries))
    data = data_view.open_data(tmp_path / "build")
    assert [(s.id, s.status, s.stage) for s in data.samples] == [
        ("a", "kept", "consistency"), ("b", "rejected", "boxes"), ("c", "rejected", "source_filter")]
    assert [r[0] for r in data_view.table(data, data_view.SampleFilter(stage="boxes"))] == ["b"]
    assert [r[0] for r in data_view.table(data, data_view.SampleFilter(reason="too_short"))] == ["c"]
    assert data_view.choices(data, "reason") == ["crop_not_verified", "too_short"]
    assert data_view.sample_detail(data, "b").claims == [["ball", 1.0, [[0.2, 0.25, 0.6, 0.75]]]]
    assert data_view.sample_detail(data, "c").frames == []
    with pytest.raises(InputError, match="not a construction output"):
        data_view.open_data(tmp_path)


# --- the page, served ------------------------------------------------------------------------------------


@pytest.mark.slow
def test_the_page_serves_each_view_over_http_and_survives_bad_input(vstar_files, stgr_file, clip):
    import urllib.request

    from gradio_client import Client, handle_file

    from o3video.app.web import AppState, build_page

    anno, results = vstar_files
    config = AppConfig(results=results, anno=anno, data=stgr_file, videos=clip.parent)
    state = AppState(config, ModelShelf(lambda spec: ScriptedModel()))
    page = build_page(config, state)
    page.queue().launch(server_name="127.0.0.1", server_port=None, prevent_thread_lock=True, quiet=True)
    try:
        url = page.local_url
        assert url.startswith("http://127.0.0.1:")
        with urllib.request.urlopen(url + "?view=results&record=0%3Av0", timeout=30) as reply:
            assert reply.status == 200 and b"o3video" in reply.read()
        client = Client(url, verbose=False)
        missing = client.predict(str(results.parent / "nope.jsonl"), "", "", "o3video", "exact",
                                 api_name="/results_open")
        assert missing[0].startswith("**Error:**") and "nope.jsonl" in missing[0]
        opened = client.predict(str(results), "", str(anno), "o3video", "exact", api_name="/results_open")
        filled = [c for c in results_view.COLUMNS if c != "correct"]  # MCQ's column, empty in V-STaR, is left out
        assert opened[0].startswith("3 records of vstar") and opened[2]["headers"] == filled
        twin = twin_file(results.parent, "blind.jsonl", BLIND_ANSWERS)
        both = client.predict(str(results), str(twin), str(anno), "o3video", "exact", api_name="/results_open")
        table = both[2]["value"]  # the table, sent as an update with the twin's columns
        assert table["headers"] == [*filled, *(c + " (beside)" for c in results_view.BESIDE)]
        assert table["data"][0][-2] == round(1 / 7, 4) and table["data"][0][8] == round(1 / 7, 4)  # twin c1, first c2
        record = client.predict(str(results), "", str(anno), "o3video", "exact", str(clip.parent), "0:v0",
                                api_name="/results_record")
        assert record[4]["vIoU chain 1"] == pytest.approx(0.9025) and len(record[2]) == 1
        sample = client.predict(str(stgr_file), "s1", api_name="/data_sample")
        assert "time_not_in_key_frames" in sample[3]
        answered = client.predict(handle_file(str(clip)), "What rolls?", "scripted", 5, api_name="/ask")
        assert answered[1] == "a ball"
    finally:
        page.close()
