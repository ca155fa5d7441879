"""V-STaR metric arithmetic on hand-built result files with known answers."""

import json
import math
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest

from o3video.data.vstar import parse_spatial_answer, parse_temporal_answer, vstar_prompts
from o3video.eval.benchmark_runner import load_results
from o3video.eval.judges import OpenAIJudge, exact_judge, make_judge, parse_rating
from o3video.eval.vstar_metrics import aggregate, report, score_record, where_citations


def anno(**over):
    base = {
        "vid": "a", "domain": "traffic", "fps": 30, "width": 640, "height": 360, "frame_count": 300,
        "question": "What moves first?", "answer": "blue circle", "temporal_question": "When does it move?",
        "timestamps": [2, 6], "spatial_question": "Where is the blue circle?", "spatial_question_2": "Where is it?",
        "bboxes": [
            {"timestamp": 2, "frame_index": 60, "xmin": 0, "ymin": 0, "xmax": 10, "ymax": 10},
            {"timestamp": 3, "frame_index": 90, "xmin": 10, "ymin": 10, "xmax": 20, "ymax": 20},
        ],
    }
    return base | over


RIGHT = anno(
    answer_vqa="<think>It starts at <t>2</t>s.</think><answer>The blue circle.</answer>",
    answer_temporal_pre="<think>..</think><answer>From <t>2</t>s to <t>6</t>s</answer>", answer_temporal=[],
    answer_spatial={"2": [0, 0, 10, 10], "3": [10, 10, 20, 15]},  # IoUs 1 and 0.5
    answer_temporal_2=[4, 8], answer_spatial_2={},
)
WRONG = anno(vid="b", domain="sports", frame_count=2400, answer_vqa="a red square", answer_temporal_pre="no idea",
             answer_temporal=[], answer_spatial=None, answer_temporal_2=[], answer_spatial_2=None)


def test_per_record_scores():
    s = score_record(0, RIGHT, exact_judge)
    assert s.judge_score == 3 and s.correct
    assert s.tiou == pytest.approx((1.0, 2 / 6))
    assert s.viou == pytest.approx((0.75, 0.0))
    assert s.ap[0] == pytest.approx([1, 1, 1, 0.5, 0.5])
    assert s.length == "short"
    w = score_record(1, WRONG, exact_judge)
    assert (w.judge_score, w.tiou, w.viou, w.length) == (0, (0.0, 0.0), (0.0, 0.0), "medium")


def test_where_citations_compare_the_answers_boxes_with_the_reasonings():
    # a Qwen3-VL-style record: boxes on 0–1000 of a 64x36 input; the truth [0,0,10,10] / [10,10,20,20] of 640x360
    # is [0,0,16,28] / [16,28,31,56] there
    think = ("<think>The <obj>blue circle</obj><box>[0,0,16,28]</box>at<t>2.2</t>s and the "
             "<obj>blue circle</obj><box>[16,28,31,56]</box>at<t>3.0</t>s.</think>")
    record = anno(input_size=[64, 36], box_convention="relative_1000",
                  answer_spatial_pre=think + '<answer>{"2":[0,0,16,28],"3":[500,500,900,900]}</answer>',
                  answer_spatial={"2": [0, 0, 10, 10], "3": [320, 180, 576, 324]})
    found = where_citations(record)
    assert found.answer_viou == pytest.approx(0.5) and found.copied == pytest.approx(0.5)
    assert found.cited_viou == pytest.approx(1.0, abs=0.05)  # the reasoning had both; the answer kept one
    blind = anno(input_size=[64, 36], answer_spatial_pre='<think>No boxes.</think><answer>{"2":[0,0,10,10]}</answer>',
                 answer_spatial={"2": [0, 0, 10, 10]})
    assert where_citations(blind) == type(found)(0.5, 0.0, 0.0)
    assert where_citations(anno(answer_spatial_pre=think)) is None  # what the boxes are in is unknown


def test_aggregate_am_lgm_hand_computed():
    r = aggregate([score_record(0, RIGHT, exact_judge), score_record(1, WRONG, exact_judge)])
    assert r.what_accuracy == 0.5
    assert r.chain1.tiou_mean == pytest.approx(0.5) and r.chain1.viou_mean == pytest.approx(0.375)
    assert r.chain1.tiou_r1 == {"R1@0.3": 0.5, "R1@0.5": 0.5, "R1@0.7": 0.5}
    assert r.chain2.tiou_r1 == {"R1@0.3": 0.5, "R1@0.5": 0.0, "R1@0.7": 0.0}
    assert r.chain1.viou_ap["AP@0.7"] == pytest.approx(0.25)
    assert r.chain1.am == pytest.approx((0.5 + 0.5 + 0.375) / 3)
    assert r.chain1.lgm == pytest.approx(-(math.log(0.5) + math.log(0.5) + math.log(0.625)) / 3)
    assert r.chain2.am == pytest.approx((0.5 + 1 / 6) / 3)
    assert r.chain2.lgm == pytest.approx(-(math.log(0.5) + math.log(5 / 6)) / 3)
    assert r.mAM == pytest.approx((r.chain1.am + r.chain2.am) / 2)
    assert r.mLGM == pytest.approx((r.chain1.lgm + r.chain2.lgm) / 2)


def test_perfect_scores_keep_lgm_finite():
    r = aggregate([score_record(0, RIGHT | {"answer_temporal_2": [2, 6], "answer_spatial": {"2": [0, 0, 10, 10], "3": [10, 10, 20, 20]},
                                              "answer_spatial_2": {"2": [0, 0, 10, 10], "3": [10, 10, 20, 20]}}, exact_judge)])
    assert r.mAM == pytest.approx(1.0)
    assert math.isfinite(r.mLGM) and r.mLGM > 4


def test_breakdowns_by_domain_and_length():
    rep = report([score_record(0, RIGHT, exact_judge), score_record(1, WRONG, exact_judge)])
    assert set(rep.by_domain) == {"traffic", "sports"}
    assert rep.by_domain["traffic"].what_accuracy == 1.0 and rep.by_domain["sports"].what_accuracy == 0.0
    assert list(rep.by_length) == ["short", "medium"]
    md = rep.markdown()
    assert "| overall | 2 | 50.0 | 50.0 | 16.7 | 37.5 | 0.0 |" in md
    assert "domain: sports" in md and "length: medium" in md


def test_benchmark_result_file_format(tmp_path):
    """The benchmark's own inference script writes a JSON list; parsed boxes already in original pixels,
    None where its parsing failed, `bboxes` sometimes nested as {"<frame>": {...}}."""
    bench = anno(
        bboxes=[{"60": {"timestamp": 2, "xmin": 0, "ymin": 0, "xmax": 10, "ymax": 10}}],
        answer_vqa="blue circle", answer_temporal_pre="From 2 to 6.", answer_temporal=[2.0, 6.0],
        answer_spatial_pre="```json\n{\"2\": [0, 0, 5, 10]}\n```", answer_spatial={"2": [[0, 0, 5, 10]]},
        answer_spatial_pre_2='{"2": [0, 0, 20, 20]}', answer_spatial_2=None, input_shape=[1280, 720],
        answer_temporal_pre_2="0:02 - 0:06", answer_temporal_2=[],
    )
    path = tmp_path / "bench.json"
    path.write_text(json.dumps([bench]))
    (record,) = load_results(path)
    s = score_record(0, record, exact_judge)
    assert s.correct and s.tiou == pytest.approx((1.0, 1.0))  # m:ss converted
    assert s.viou[0] == pytest.approx(0.5)
    # chain 2's parse had failed (None): the raw [0,0,20,20] in the 1280x720 input is [0,0,10,10] in the
    # 640x360 original, exactly the ground truth
    assert s.viou[1] == pytest.approx(1.0)


def test_results_jsonl_with_bad_line_names_it(tmp_path):
    path = tmp_path / "r.jsonl"
    path.write_text(json.dumps(RIGHT) + "\n{oops\n")
    with pytest.raises(ValueError, match=r"r\.jsonl:2"):
        load_results(path)


@pytest.mark.parametrize("raw, expected", [
    ("From <t>2.5</t>s to <t>6</t>s", [2.5, 6.0]),
    ("<think>at <t>1</t>s</think><answer>From <t>3</t>s to <t>4</t>s</answer>", [3.0, 4.0]),
    ("The event happens from 3 to 7 seconds.", [3.0, 7.0]),
    ("1:05 to 1:10", [65.0, 70.0]),
    ("maybe 1, 2 or 3", []),
    ("", []),
    ([1, 2], [1.0, 2.0]),
])
def test_parse_temporal_answer(raw, expected):
    assert parse_temporal_answer(raw) == expected


@pytest.mark.parametrize("raw, expected", [
    ('{"2": [1, 2, 3, 4], "3": [5, 6, 7, 8]}', {"2": [1, 2, 3, 4], "3": [5, 6, 7, 8]}),
    ("```json\n{'2.0': [[1, 2, 3, 4]]}\n```", {"2": [1, 2, 3, 4]}),
    ('[{"2": [1, 2, 3, 4]}, {"3": [5, 6, 7, 8]}]', {"2": [1, 2, 3, 4], "3": [5, 6, 7, 8]}),
    ('<think>x</think><answer>{"2": [1, 2, 3, 4], "3": [5, 6', {"2": [1, 2, 3, 4]}),  # truncated
    ('[[2, [1, 2, 3, 4]]]', {"2": [1, 2, 3, 4]}),
    ("no boxes here", {}),
    ('{"2": [1, 2, 3]}', {}),
])
def test_parse_spatial_answer(raw, expected):
    assert parse_spatial_answer(raw) == expected


def test_five_prompts_use_the_benchmark_wording():
    prompts = {p.kind: p for p in vstar_prompts(RIGHT)}
    assert list(prompts) == ["what", "when_1", "where_1", "where_2", "when_2"]
    assert "(If the answer is a person, you don't need to identify the person.)" in prompts["what"].question
    assert prompts["when_1"].question.startswith("This video is 10.0 seconds long.")
    assert "within the time range [2, 3, 4, 5, 6] provided" in prompts["where_1"].instruction
    assert "You only need to output 2 bbox(es)" in prompts["where_2"].instruction
    assert "resolution of 640x360" in prompts["when_2"].question and "[[0, 0, 10, 10], [10, 10, 20, 20]]" in prompts["when_2"].question


def test_exact_judge_and_rating_parser():
    assert exact_judge("q", "the blue circle", "Blue circle!") == 3
    assert exact_judge("q", "blue circle", "it is the blue circle that moves") == 2
    assert exact_judge("q", "blue circle", "red square") == 0
    assert exact_judge("q", "blue circle", "") == 0
    assert parse_rating("2") == 2 and parse_rating("Rating: 3.") == 3 and parse_rating("seven") == -1
    with pytest.raises(ValueError, match="unknown judge"):
        make_judge("gpt")


class _Server:
    """A real local OpenAI-compatible chat-completions server (loopback only)."""

    def __init__(self, replies):
        self.replies, self.requests = list(replies), []
        outer = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self):
                body = json.loads(self.rfile.read(int(self.headers["Content-Length"])))
                outer.requests.append((self.path, body))
                status, content = outer.replies.pop(0) if len(outer.replies) > 1 else outer.replies[0]
                payload = {"id": "x", "object": "chat.completion", "created": 0, "model": body["model"],
                           "choices": [{"index": 0, "finish_reason": "stop", "message": {"role": "assistant", "content": content}}]}
                data = json.dumps(payload if status == 200 else {"error": {"message": "boom"}}).encode()
                self.send_response(status)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(data)))
                self.end_headers()
                self.wfile.write(data)

            def log_message(self, *args):
                pass

        self.httpd = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.httpd.server_address[1]}/v1"
        threading.Thread(target=self.httpd.serve_forever, daemon=True).start()

    def close(self):
        self.httpd.shutdown()


def test_openai_judge_against_a_local_server(monkeypatch):
    monkeypatch.setenv("OPENAI_API_KEY", "test")
    server = _Server([(200, "2")])
    try:
        judge = make_judge(f"openai:{server.url}:judge-model")
        assert judge("What moves?", "blue circle", "the circle") == 2
        path, body = server.requests[0]
        assert path == "/v1/chat/completions" and body["model"] == "judge-model"
        assert "Groundtruth answer: blue circle\nCandidate answer: the circle" in body["messages"][1]["content"]
    finally:
        server.close()


def test_judge_failures_are_retried_then_recorded(monkeypatch):
    monkeypatch.setenv("OPENAI_API_KEY", "test")
    server = _Server([(500, "")])
    try:
        judge = OpenAIJudge(server.url, "m", max_retries=2, timeout=5)
        judge.client = judge.client.with_options(max_retries=2)
        s = score_record(0, RIGHT, judge)
        assert s.judge_score is None and "InternalServerError" in s.judge_error
        assert len(server.requests) == 3  # one try and two retries
        r = aggregate([s])
        assert r.judge_failures == 1 and r.what_accuracy == 0.0
    finally:
        server.close()


def test_the_one_markdown_table_writer():
    from o3video.tables import markdown_table

    assert markdown_table(["model", "n"], [["a", 1], ["b", ""]]) == "| model | n |\n|---|---:|\n| a | 1 |\n| b | |"
    assert markdown_table(["x", "y"], [], align="rl").splitlines()[1] == "|---:|---|"
    with pytest.raises(ValueError, match="align"):
        markdown_table(["x", "y"], [], align="l")


def test_where_answers_bench_prints_both_vious_per_results_file(tmp_path, capsys):
    import importlib.util
    from pathlib import Path

    spec = importlib.util.spec_from_file_location("where_answers", Path(__file__).parents[1] / "bench" / "where_answers.py")
    bench = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(bench)
    think = "<think>The <obj>blue circle</obj><box>[0,0,10,10]</box>at<t>2.0</t>s.</think>"
    record = anno(input_size=[640, 360], answer_spatial_pre=think + '<answer>{"2":[5,5,10,10]}</answer>',
                  answer_spatial={"2": [5, 5, 10, 10]}, answer_spatial_pre_2=think, answer_spatial_2={})
    path = tmp_path / "sft.jsonl"
    path.write_text(json.dumps(record) + "\n")
    assert bench.main([str(path), "--json"]) == 0
    found = json.loads(capsys.readouterr().out)[str(path)]
    assert found["where_1"] == {"n": 1, "answer_viou": pytest.approx(0.125), "cited_viou": pytest.approx(0.5), "copied": 0.0}
    assert found["where_2"]["cited_viou"] == pytest.approx(0.5) and found["where_2"]["answer_viou"] == 0.0
    assert bench.main([str(tmp_path / "missing.jsonl")]) == 2
    assert "missing.jsonl" in capsys.readouterr().err
