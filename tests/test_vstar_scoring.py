"""`--scoring vstar|open-o3` reproduce the official V-STaR scorers (issue #15, point 7).

tests/data/vstar_edge_cases.json is this project's own edge-case results file (48 records: empty, null,
missing, reversed, string, nested and malformed answers; `case` says what each is).
tests/data/vstar_edge_official.json holds the numbers the official scripts themselves computed on it (see
its `_source`): they are the expected values here, never numbers o3video produced.
"""

import json
import math
from pathlib import Path

import pytest

from o3video.cli import main
from o3video.eval.judges import exact_judge, official_rating, parse_rating
from o3video.eval.vstar_official import OfficialCrash, official_report, refined_span
from o3video.io import json_records

DATA = Path(__file__).parent / "data"
EDGE = DATA / "vstar_edge_cases.json"
OFFICIAL = json.loads((DATA / "vstar_edge_official.json").read_text())


def stub_reply(question: str, ground_truth: str, candidate: str) -> str:
    """The stub judge the official scripts ran with: the text after `REPLY:`, else the exact judge's rating."""
    return candidate[len("REPLY:"):] if candidate.startswith("REPLY:") else str(exact_judge(question, ground_truth, candidate))


def judge(question: str, ground_truth: str, candidate: str) -> int:
    return official_rating(stub_reply(question, ground_truth, candidate))


def close(ours, theirs) -> bool:
    if ours is None or theirs is None:
        return ours is theirs
    if isinstance(theirs, float) and math.isnan(theirs):
        return math.isnan(ours)
    return abs(ours - theirs) <= 1e-6


SPLIT_NUMBERS = {
    "acc_vqa": lambda s: s.what_accuracy, "avg_all_score": lambda s: s.avg_all_score, "avg_valid_score": lambda s: s.avg_valid_score,
    "total_samples": lambda s: s.total,
    "mean_temporal_iou": lambda s: s.chain1.tiou_mean, "mean_temporal_iou_2": lambda s: s.chain2.tiou_mean,
    "mean_miou": lambda s: s.chain1.viou_mean, "mean_miou_2": lambda s: s.chain2.viou_mean,
    **{f"r1_iou{int(t * 100)}{sfx}": (lambda c, k: lambda s: getattr(s, c).tiou_r1[k])(c, f"R1@{t}")
       for t in (0.3, 0.5, 0.7) for c, sfx in (("chain1", ""), ("chain2", "_2"))},
    "mean_aps": lambda s: list(s.chain1.viou_ap.values()), "mean_aps_2": lambda s: list(s.chain2.viou_ap.values()),
    "AM": lambda s: s.chain1.am, "AM2": lambda s: s.chain2.am, "mAM": lambda s: s.mAM,
    "LGM": lambda s: s.chain1.lgm, "LGM2": lambda s: s.chain2.lgm, "mLGM": lambda s: s.mLGM,
    **{name: (lambda k: lambda s: s.combined[k])(key) for name, key in (
        ("vqa_temp", "vqa_temporal_1"), ("vqa_temp_2", "vqa_temporal_2"), ("vqa_spat", "vqa_spatial_1"),
        ("vqa_spat_2", "vqa_spatial_2"), ("temp_spat", "temporal_spatial_1"), ("temp_spat_2", "temporal_spatial_2"),
        ("vqa_temp_spat", "vqa_temporal_spatial_1"), ("vqa_temp_spat_2", "vqa_temporal_spatial_2"))},
}


def _record_numbers(rec) -> dict:
    if not rec.judged:
        return {}
    return {"VQA_score": rec.score, "temporal_IoU": rec.tiou[0], "temporal_IoU_2": rec.tiou[1], "spatial_mIoU": rec.viou[0],
            "spatial_mIoU_2": rec.viou[1], "AP1@0.1:0.9": rec.ap[0], "AP2@0.1:0.9": rec.ap[1]}


def _matches(ours, theirs) -> bool:
    if isinstance(theirs, list):
        return len(ours) == len(theirs) and all(close(a, b) for a, b in zip(ours, theirs))
    return close(ours, theirs)


@pytest.mark.parametrize("scorer", ["vstar", "open-o3"])
def test_every_number_of_the_official_scorer_on_the_edge_cases(scorer):
    records = json_records(EDGE)
    assert len(records) >= 40
    rep = official_report(records, judge, scorer)
    expected = OFFICIAL[scorer]
    for i, (ours, theirs) in enumerate(zip(rep.records, expected["records"], strict=True)):
        numbers = _record_numbers(ours)
        assert numbers.keys() == theirs.keys(), (i, records[i]["case"])
        assert all(_matches(numbers[k], theirs[k]) for k in theirs), (i, records[i]["case"], numbers, theirs)
    assert [s.label for s in rep.splits] == [s["label"] for s in expected["splits"]]
    for ours, theirs in zip(rep.splits, expected["splits"]):
        for key, number in SPLIT_NUMBERS.items():
            assert _matches(number(ours), theirs[key]), (ours.label, key, number(ours), theirs[key])
    assert rep.crash is None


def test_the_two_scorers_differ_on_the_edge_cases():
    """The file exercises what sets them apart (the raw-text fallback, non-dict box answers)."""
    v, o = (official_report(json_records(EDGE), judge, s) for s in ("vstar", "open-o3"))
    assert sum(a.tiou != b.tiou for a, b in zip(v.records, o.records)) >= 5
    assert not close(v.overall.mAM, o.overall.mAM)


def rec(**over):
    base = json_records(EDGE)[4] | {"answer_vqa": "a red square", "domain": "traffic"}
    for key, value in over.items():
        if value is ...:
            base.pop(key)
        else:
            base[key] = value
    return base


# Observed by running the official scripts on these files (same stub judge): which stop, and where.
PERFECT = dict(answer_vqa="blue circle", answer_temporal=[2, 6], answer_temporal_2=[2, 6],
               answer_spatial={str(s): [10 * (s - 2), 10 * (s - 2), 10 * (s - 2) + 100, 10 * (s - 2) + 100] for s in range(2, 6)})
NESTED = [{"60": {"timestamp": 2, "xmin": 0, "ymin": 0, "xmax": 100, "ymax": 100}}]


@pytest.mark.parametrize("name, bad, vstar, open_o3", [
    ("nested boxes", rec(bboxes=NESTED), "KeyError: 'timestamp'", "KeyError: 'timestamp'"),
    ("list answer holding the key", rec(answer_spatial=["2", [0, 0, 100, 100]]), "TypeError: answer_spatial is a list", None),
    ("number answer", rec(answer_spatial=5), "TypeError: `'2' in answer_spatial` on a int", None),
    ("no answer_temporal", rec(answer_temporal=...), None, "KeyError: 'answer_temporal'"),
    ("null raw when answer", rec(answer_temporal=[], answer_temporal_pre=None), None, "TypeError: answer_temporal_pre is None"),
    ("unhashable literal", rec(answer_temporal="{[1]: 2}"), "TypeError: unhashable type", "TypeError: unhashable type"),
])
def test_a_record_the_official_script_stops_on_is_named(name, bad, vstar, open_o3):
    for scorer, expected in (("vstar", vstar), ("open-o3", open_o3)):
        if expected is None:
            official_report([rec(), bad], judge, scorer)
            continue
        with pytest.raises(OfficialCrash, match=r"record 1 \(vid edge04\)") as err:
            official_report([rec(), bad], judge, scorer)
        assert expected in str(err.value), (name, scorer, str(err.value))


@pytest.mark.parametrize("records, where, error", [
    ([rec(**PERFECT)], "Overall Statistics", "math domain error in LGM1, ln(1 − what-accuracy)"),
    ([rec(), rec(**PERFECT, domain="cooking", answer_spatial_2=PERFECT["answer_spatial"])], "Domain: cooking", "math domain error"),
    ([rec(), rec(domain="empty", answer_vqa="")], "Domain: empty", "ZeroDivisionError"),
])
def test_a_split_the_official_script_stops_on_has_no_invented_number(records, where, error):
    for scorer in ("vstar", "open-o3"):
        rep = official_report(records, judge, scorer)
        assert f"stops at {where!r}" in rep.crash and error in rep.crash
        split = next(s for s in rep.splits if s.label == where)
        assert split.mLGM is None and split.crash


@pytest.mark.parametrize("text, span", [
    ("<think><t>1</t></think><answer>From <t>3</t>s to <t>6</t>s</answer>", [3.0, 6.0]),
    ("From 0:03 to 0:05", [3.0, 5.0]),
    ("1:05 to 11:05", []),  # "1:05" is replaced inside "11:05" too: three numbers
    ("<answer>From <t>.3.0</t>s to <t>8</t>s</answer>", [3.0, 8.0]),
    ("5.5.1", [5.5, 1.0]),
])
def test_the_papers_raw_when_reading(text, span):
    assert refined_span(text) == span


def test_official_rating_reads_the_reply_as_int():
    assert [official_rating(r) for r in ("2", " 3\n", "5", "Rating: 2", "2.", "")] == [2, 3, 5, -1, -1, -1]
    assert parse_rating("Rating: 2") == 2


@pytest.mark.parametrize("scoring", ["vstar", "open-o3", "o3video"])
def test_eval_vstar_scoring_option(scoring, tmp_path, capsys):
    results = tmp_path / "r.json"
    results.write_text(EDGE.read_text())
    report = tmp_path / "m.json"
    assert main(["eval", "vstar", "--results", str(results), "--judge", "exact", "--scoring", scoring, "--report", str(report)]) == 0
    payload = json.loads(report.read_text())
    assert payload["scoring"] == scoring
    out = capsys.readouterr().out
    if scoring != "o3video":
        assert "Overall Statistics" in out and payload["splits"][0]["label"] == "Overall Statistics"


def test_eval_vstar_names_the_record_the_official_script_stops_on(tmp_path, capsys):
    results = tmp_path / "r.json"
    results.write_text(json.dumps([rec(), rec(bboxes=NESTED)]))
    assert main(["eval", "vstar", "--results", str(results), "--judge", "exact", "--scoring", "vstar"]) == 2
    err = capsys.readouterr().err
    assert "record 1 (vid edge04)" in err and "KeyError: 'timestamp'" in err and str(results) in err
    assert main(["eval", "vstar", "--results", str(results), "--judge", "exact"]) == 0  # o3video unwraps them
