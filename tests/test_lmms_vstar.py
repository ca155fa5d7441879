"""V-STaR as an lmms-eval task (`--tasks vstar`, o3video/eval/lmms_tasks): lmms-eval finds it in the shipped folder,
every record is asked its five prompts in the benchmark's wording, boxes come back in the video's pixels whatever
the answering model's convention, and the task's numbers are those of `o3video eval vstar --results ... --scoring S`
for the same answers, for o3video's tiny model and for a model lmms-eval knows that is not o3video's."""

import json
import math
import subprocess
import sys
from pathlib import Path

import pytest
import yaml
from lmms_cli import run_lmms_eval
from lmms_eval.api.model import lmms
from lmms_eval.api.reasoning import strip_reasoning_tags

from o3video.cli import main as o3video_main
from o3video.data.vstar import PROMPT_KINDS, vstar_prompts
from o3video.errors import InputError
from o3video.eval.lmms_model import lmms_response, response_facts
from o3video.eval.lmms_tasks import TASKS_DIR
from o3video.eval.vstar_lmms import (
    ANNOTATIONS,
    METRICS,
    VStarTaskOptions,
    prompt_documents,
    response_fields,
    task_options,
)
from o3video.eval.vstar_run import answer_fields
from o3video.geometry import BoxConvention

DEFAULT_TAGS = [["<think>", "</think>"], ["<analysis>", "</analysis>"]]  # lmms-eval's default --reasoning_tags
RECORD = {"vid": "v", "fps": 10.0, "width": 200, "height": 100, "frame_count": 100, "question": "What turns?",
          "answer": "the red square", "temporal_question": "When?", "timestamps": [2.0, 4.0],
          "spatial_question": "Where?", "bboxes": [{"timestamp": 3, "xmin": 20, "ymin": 10, "xmax": 60, "ymax": 50}]}


def test_the_task_yaml_names_every_metric_and_reads_raw_responses_of_the_annotation_file():
    config = yaml.safe_load((TASKS_DIR / "vstar.yaml").read_text().replace("!function ", ""))
    assert [m["metric"] for m in config["metric_list"]] == list(METRICS)
    assert [m["aggregation"] for m in config["metric_list"]] == [f"o3video.eval.vstar_lmms.aggregate_{m}"
                                                                 for m in METRICS]
    assert config["dataset_kwargs"]["data_files"] == ANNOTATIONS and config["reasoning_tags"] == "none"


@pytest.mark.slow
def test_lmms_eval_finds_the_vstar_task_in_the_folder_o3video_ships():
    from lmms_eval.tasks import TaskManager

    printed = subprocess.run([sys.executable, "-m", "o3video.eval.lmms_tasks"], capture_output=True, text=True,
                             check=True).stdout.strip()
    assert Path(printed) == TASKS_DIR
    assert TaskManager("ERROR", include_path=printed, include_defaults=False).all_tasks == ["vstar"]


def test_every_record_gives_its_five_prompts_and_each_chain_second_prompt_carries_the_ground_truth():
    second = {**RECORD, "vid": "w", "timestamps": [5.0, 7.0], "bboxes": [
        {"timestamp": 6, "xmin": 1, "ymin": 2, "xmax": 3, "ymax": 4}]}
    docs = prompt_documents([RECORD, second])
    assert [(d["record_index"], d["kind"]) for d in docs] == [(i, k) for i in (0, 1) for k in PROMPT_KINDS]
    by_kind = {d["kind"]: d["prompt"] for d in docs[5:]}
    assert "time range [5, 6, 7]" in by_kind["where_1"]  # the true span's seconds, not the model's *when* answer
    assert "[[1, 2, 3, 4]]" in by_kind["when_2"]  # the true boxes, not the model's *where* answer
    assert by_kind["what"].startswith("Answer the question about the video: What turns?")


def test_task_options_come_from_the_environment_and_a_bad_one_names_its_variable():
    options = task_options({"O3VIDEO_VSTAR_SCORING": "open-o3", "O3VIDEO_VSTAR_JUDGE": "openai:http://h:8000/v1:m",
                            "O3VIDEO_VSTAR_BOX_CONVENTION": "relative_1000", "O3VIDEO_VSTAR_MAX_PIXELS": "50176",
                            "O3VIDEO_VSTAR_VIDEOS": "/data/v"})
    assert options == VStarTaskOptions("open-o3", "openai:http://h:8000/v1:m", BoxConvention.RELATIVE_1000, 50176,
                                       Path("/data/v"))
    assert task_options({}) == VStarTaskOptions()
    for name, value in (("SCORING", "o3video"), ("JUDGE", "gpt"), ("BOX_CONVENTION", "xywh"), ("MAX_PIXELS", "-5")):
        with pytest.raises(InputError, match=f"O3VIDEO_VSTAR_{name}" if name != "JUDGE" else "unknown judge"):
            task_options({f"O3VIDEO_VSTAR_{name}": value})


def test_another_models_boxes_are_read_in_the_convention_the_task_option_names():
    answer = '<think>I see it.</think>{"3": [100, 100, 300, 500]}'
    on_1000 = response_fields(RECORD, "where_1", answer, VStarTaskOptions(box_convention=BoxConvention.RELATIVE_1000))
    assert on_1000["answer_spatial"] == {"3": [20.0, 10.0, 60.0, 50.0]}
    assert on_1000["answer_spatial_pre"] == '{"3": [100, 100, 300, 500]}'  # the answer without its reasoning
    on_video = response_fields(RECORD, "where_1", answer, VStarTaskOptions())
    assert on_video["answer_spatial"] == {"3": [100.0, 100.0, 300.0, 500.0]}
    # Qwen2.5-VL's frame for a 200x100 video is 196x112 (smart_resize: sides multiples of 28)
    resized = response_fields(RECORD, "where_1", '{"3": [19.6, 11.2, 58.8, 56]}',
                              VStarTaskOptions(max_pixels=112 * 784))
    assert resized["answer_spatial"] == {"3": [20.0, 10.0, 60.0, 50.0]}


def test_o3videos_own_response_says_its_frame_size_and_convention():
    completion = ("<think>The <obj>red square</obj><box>[10,5,30,25]</box>at<t>3</t>s</think>"
                  '<answer>{"3": [10,5,30,25]}</answer>')
    result = {"answer": '{"3": [10,5,30,25]}', "think": "x", "completion": completion, "evidence": [],
              "box_convention": "pixels", "input_size": [100, 50], "source_size": [200, 100], "frame_times": [3.0],
              "problems": []}
    response = lmms_response(result)
    assert response_facts(response)["input_size"] == [100, 50] and response_facts("plain answer") is None
    fields = response_fields(RECORD, "where_1", response, VStarTaskOptions(box_convention=BoxConvention.RELATIVE_1000))
    assert fields["answer_spatial"] == {"3": [20.0, 10.0, 60.0, 50.0]} and fields["input_size"] == [100, 50]
    assert response_fields(RECORD, "what", response, VStarTaskOptions())["answer_vqa"] == '{"3": [10,5,30,25]}'


# --- whole runs --------------------------------------------------------------------------------------------------


def official_numbers(report: dict) -> dict[str, float]:
    """The overall split of `o3video eval vstar --report` under the task's metric names."""
    split = report["splits"][0]
    out = {"what_accuracy": split["what_accuracy"], "mAM": split["mAM"], "mLGM": split["mLGM"]}
    for c in (1, 2):
        chain = split[f"chain{c}"]
        out |= {f"chain{c}_mean_tiou": chain["tiou_mean"], f"chain{c}_mean_viou": chain["viou_mean"],
                f"chain{c}_AM": chain["am"], f"chain{c}_LGM": chain["lgm"]}
        out |= {f"chain{c}_R1_{round(float(k[3:]) * 100)}": v for k, v in chain["tiou_r1"].items()}
        out |= {f"chain{c}_AP_{round(float(k[3:]) * 100):02d}": v for k, v in chain["viou_ap"].items()}
    return {k: math.nan if v is None else float(v) for k, v in out.items()}


def same_numbers(task: dict[str, float], official: dict[str, float]) -> bool:
    assert set(task) == set(official) == set(METRICS)
    return all(task[k] == official[k] or (math.isnan(task[k]) and math.isnan(official[k])) for k in METRICS)


def scored_by_o3video_eval(samples: list[dict], synth: Path, tmp_path: Path, scoring: str,
                           convention: str = "pixels") -> dict[str, float]:
    """`o3video eval vstar --results F --scoring S` on a results file written from lmms-eval's logged responses the
    way `o3video eval vstar` writes one (`answer_fields` of each record's completions)."""
    records = json.loads((synth / ANNOTATIONS).read_text())
    lines = {}
    for sample in samples:
        index, kind = divmod(sample["doc_id"], 5)
        response = sample["filtered_resps"]
        response = response[0] if isinstance(response, list) else response
        record, facts = records[index], response_facts(response)
        size = tuple(facts["input_size"]) if facts else (record["width"], record["height"])
        prompt = vstar_prompts(record)[kind]
        fields = answer_fields([prompt], [strip_reasoning_tags(response, DEFAULT_TAGS)], size,
                               (record["width"], record["height"]), facts["box_convention"] if facts else convention)
        lines.setdefault(index, {"key": f"{index}", **record}).update(fields)
    results = tmp_path / f"results_{scoring}.jsonl"
    results.write_text("".join(json.dumps(lines[i]) + "\n" for i in sorted(lines)))
    report = tmp_path / f"report_{scoring}.json"
    assert o3video_main(["eval", "vstar", "--results", str(results), "--judge", "exact", "--scoring", scoring,
                         "--report", str(report)]) == 0
    return official_numbers(json.loads(report.read_text()))


@pytest.mark.slow
def test_lmms_eval_runs_vstar_with_the_tiny_model_and_its_numbers_are_o3video_evals(synth_easy, tiny_model, tmp_path):
    out = run_lmms_eval("vstar", TASKS_DIR, synth_easy, tiny_model, tmp_path, limit=10)
    (results,) = out.rglob("*_results.json")
    task = {m: json.loads(results.read_text())["results"]["vstar"][f"{m},none"] for m in METRICS}
    (samples,) = out.rglob("*_samples_vstar.jsonl")
    logged = [json.loads(line) for line in samples.read_text().splitlines()]
    assert sorted(s["doc_id"] for s in logged) == list(range(10))  # two records, five prompts each
    assert same_numbers(task, scored_by_o3video_eval(logged, synth_easy, tmp_path, "vstar"))


class GroundTruthModel(lmms):
    """An lmms-eval model that is not o3video's: it answers every V-STaR prompt from the record's ground truth (boxes
    on 0-1000), wrongly for the records in `wrong`."""

    def __init__(self, records: list[dict], wrong: frozenset[int] = frozenset()) -> None:
        super().__init__()
        self.records, self.wrong = records, wrong

    def generate_until(self, requests):
        return [self.answer(*request.args) for request in requests]

    def answer(self, context, gen_kwargs, doc_to_visual, doc_id, task, split):
        doc = self.task_dict[task][split][doc_id]
        assert len(doc_to_visual(doc)) == 1 and Path(doc_to_visual(doc)[0]).is_file()
        record, wrong = self.records[doc["record_index"]], doc["record_index"] in self.wrong
        start, end = record["timestamps"]
        if doc["kind"] == "what":
            return "<think>Looking.</think>" + ("a green triangle" if wrong else record["answer"])
        if doc["kind"].startswith("when"):
            return f"From {end} to {end + 2}" if wrong else f"From {start} to {end}"
        w, h, shift = record["width"], record["height"], 6 if wrong else 0
        return json.dumps({str(b["timestamp"]): [1000 * (b["xmin"] + shift) / w, 1000 * b["ymin"] / h,
                                                 1000 * (b["xmax"] + shift) / w, 1000 * b["ymax"] / h]
                           for b in record["bboxes"]})

    def loglikelihood(self, requests):
        raise NotImplementedError

    def generate_until_multi_round(self, requests):
        raise NotImplementedError


def run_in_process(model: lmms, synth: Path, tmp_path: Path, monkeypatch, **options: str) -> tuple[dict, list]:
    from lmms_eval.evaluator import simple_evaluate
    from lmms_eval.tasks import TaskManager

    monkeypatch.chdir(synth)
    monkeypatch.setenv("HF_DATASETS_CACHE", str(tmp_path / "hf_datasets"))
    for name, value in options.items():
        monkeypatch.setenv(f"O3VIDEO_VSTAR_{name.upper()}", value)
    out = simple_evaluate(model=model, tasks=["vstar"], log_samples=True,
                          task_manager=TaskManager("ERROR", include_path=str(TASKS_DIR), include_defaults=False))
    return {m: out["results"]["vstar"][f"{m},none"] for m in METRICS}, out["samples"]["vstar"]


@pytest.mark.slow
def test_a_model_answering_from_the_ground_truth_scores_perfectly(synth_easy, tmp_path, monkeypatch):
    records = json.loads((synth_easy / ANNOTATIONS).read_text())
    task, _ = run_in_process(GroundTruthModel(records), synth_easy, tmp_path, monkeypatch,
                             box_convention="relative_1000")
    lgm = {m for m in METRICS if m.endswith("LGM")}
    assert {m: task[m] for m in METRICS if m not in lgm} == {m: 1.0 for m in METRICS if m not in lgm}
    assert all(math.isnan(task[m]) for m in lgm)  # V-STaR's eval.py stops at ln(1 - 1): it prints no LGM


@pytest.mark.slow
@pytest.mark.parametrize("scoring", ["vstar", "open-o3"])
def test_another_models_numbers_are_o3video_evals_for_both_official_scorers(synth_easy, tmp_path, monkeypatch,
                                                                            scoring):
    records = json.loads((synth_easy / ANNOTATIONS).read_text())
    task, samples = run_in_process(GroundTruthModel(records, wrong=frozenset({1, 3})), synth_easy, tmp_path,
                                   monkeypatch, box_convention="relative_1000", scoring=scoring)
    assert task["what_accuracy"] == 0.5 and 0 < task["chain1_mean_viou"] < 1 and not math.isnan(task["mLGM"])
    official = scored_by_o3video_eval(samples, synth_easy, tmp_path, scoring, convention="relative_1000")
    assert same_numbers(task, official)
