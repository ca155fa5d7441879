"""The demo's TTS / faithfulness / grounding sections: their arithmetic on hand-made results."""

import copy
from pathlib import Path

import pytest

from o3video.lab.demo.beyond_vstar import evidence_stats, grounding_table, tts_markdown


def _response(key, scores):
    return {"completion": "", "answer": key, "key": key, "evidence_scores": scores}


RESULTS = [
    {"tts": {"responses": [_response("A", [2, 2]), _response("B", []), _response(None, [0])], "majority": "A", "confidence": "A"}},
    {"tts": {"responses": [_response("C", [1]), _response("D", []), _response("D", [])], "majority": "D", "confidence": "C"}},
    {"error": "missing video"},
]


def test_evidence_stats_count_what_the_samples_cite():
    stats = evidence_stats(RESULTS)
    assert stats == {"questions": 2, "responses": 6, "with_evidence": 3, "crops": 4, "mean_score": 1.25,
                     "score_counts": {"0": 1, "1": 1, "2": 2}, "unreadable_answers": 1, "votes_differ": 1}


def test_tts_section_reports_the_three_accuracies_and_explains_a_vote_without_evidence():
    metrics = {"n": 2, "n_samples": 3, "accuracy": {"greedy": 0.5, "majority": 0.5, "confidence": 1.0},
               "evidence": evidence_stats(RESULTS)}
    text = tts_markdown(metrics)
    assert "| SFT+GSPO | 50.0 | 50.0 | 100.0 |" in text and "3 of 6 cite a box" in text
    assert "by construction" not in text
    plain = copy.deepcopy(RESULTS[:1])  # never the shared RESULTS: tests must not depend on their order
    plain[0]["tts"]["responses"] = [_response("A", []), _response("B", [])]
    text = tts_markdown(metrics | {"evidence": evidence_stats(plain)})
    assert "0 of 2 cite a box" in text and "majority vote by construction" in text


def test_grounding_section_has_mean_iou_and_recalls():
    row = grounding_table({"n": 4, "errors": 0, "mean_iou": 0.3125, "R1@0.3": 0.5, "R1@0.5": 0.25, "R1@0.7": 0.0})
    assert "| SFT+GSPO | 31.2 | 50.0 | 25.0 | 0.0 |" in row and row.startswith("4 synthetic queries")


def _summary(name, per_record):
    from o3video.lab.demo.evaluate import EvalSummary

    means = {m: sum(r[m] for r in per_record.values()) / len(per_record) for m in next(iter(per_record.values()))}
    return EvalSummary(name=name, n=len(per_record), **means, am_1=0, am_2=0, lgm_1=0, lgm_2=0, mAM=0, mLGM=0,
                       format=0, per_record=per_record)


def test_a_model_sees_only_where_it_beats_its_blind_twin_by_more_than_twice_the_paired_error():
    from o3video.lab.demo.seeing import margins, paired

    keys = [f"k{i}" for i in range(10)]
    row = lambda what, where: {"what": what, "when_1": 0.5, "where_1": where, "where_2": 0.0, "when_2": 0.5}  # noqa: E731
    model = _summary("SFT", {k: row(float(i % 2), 0.6 + 0.01 * i) for i, k in enumerate(keys)})
    blind = _summary("blind SFT", {k: row(float(i % 2 == 0), 0.1) for i, k in enumerate(keys)})
    ignoring = [_summary("centre", {k: row(0.0, 0.2) for k in keys})]
    mean, error, n = paired(model, blind, "where_1")
    assert n == 10 and abs(mean - 0.545) < 1e-9 and 0 < error < 0.01
    verdicts = {m.metric: m.verdict for m in margins(model, blind, ignoring)}
    assert verdicts["where_1"] == "sees"  # +54.5 points, tiny spread, above the centre box too
    assert verdicts["what"].startswith("cannot tell")  # 50 % vs 50 %: no margin
    assert verdicts["when_1"].startswith("cannot tell")  # identical answers
    strong_ignoring = [_summary("frequent", {k: row(0.0, 0.9) for k in keys})]
    assert {m.metric: m.verdict for m in margins(model, blind, strong_ignoring)}["where_1"].startswith("beats the blind")


def test_the_seed_report_gives_mean_and_sd_and_claims_only_what_exceeds_twice_the_sd():
    from o3video.lab.demo.seeds import aggregate_markdown

    def run(sft, gspo, blind):
        one = lambda name, v: _summary(name, {"k": {"what": v, "when_1": v, "where_1": v, "where_2": v, "when_2": v}})  # noqa: E731
        rows = {"sft": one("SFT", sft), "gspo": one("SFT+GSPO", gspo), "blind_sft": one("blind SFT", blind),
                "blind_gspo": one("blind SFT+GSPO", blind)}
        rows["sft"].mLGM, rows["gspo"].mLGM = sft, gspo
        return rows

    text = aggregate_markdown([run(0.5, 0.6, 0.1), run(0.5, 0.4, 0.1), run(0.5, 0.5, 0.1)], [0, 1, 2])
    assert "| SFT | what | +40.0 ± 0.0 | sees |" in text
    assert "mLGM gain +0.00 ± 10.00" in text and "cannot tell" in text.split("## GSPO over SFT")[1]
    assert "| SFT+GSPO | 50.0 ± 10.0 |" in text
    # an effect below zero that exceeds its spread is named as such, not "cannot tell"
    worse = aggregate_markdown([run(0.5, 0.4, 0.6), run(0.5, 0.41, 0.6), run(0.5, 0.39, 0.6)], [0, 1, 2])
    assert "| SFT | what | -10.0 ± 0.0 | the blind twin scores higher |" in worse
    assert "mLGM gain -10.00 ± 1.00 (sd across seeds): a loss larger than twice its sd: GSPO lowered mLGM." in worse
    assert "Synthetic multiple choice" not in text  # no MCQ summaries given

    def mcq(greedy, cited, drop_cited, drop_random):
        return {"accuracy": {"greedy": greedy, "majority": greedy, "confidence": greedy},
                "evidence": {"responses": 8, "with_evidence": cited},
                "faithfulness": {"drop_evidence_removed": drop_cited, "drop_random_removed": drop_random}}

    runs = [run(0.5, 0.6, 0.1), run(0.5, 0.4, 0.1)]
    text = aggregate_markdown(runs, [0, 1], [mcq(0.5, 2, 0.1, 0.0), mcq(0.7, 6, 0.3, 0.0)])
    section = text.split("## Synthetic multiple choice")[1].split("##")[0]
    assert "| greedy | 60.0 ± 14.1 |" in section and "| sampled responses citing evidence | 50.0 ± 35.4 |" in section
    assert "| accuracy drop without the cited frames | 20.0 ± 14.1 |" in section


def test_the_format_of_the_what_answer_is_read_from_its_full_completion():
    """Results keep only the answer text in `answer_vqa` (what the official judges read); the format reward
    must read the completion kept beside it, or every what answer would score 0."""
    import json
    from pathlib import Path

    from o3video.lab.demo.evaluate import format_scores

    record = json.loads((Path(__file__).parent / "data" / "vstar_edge_cases.json").read_text())[0]
    record = {k: v for k, v in record.items() if not k.startswith("answer_")}
    good = "<think>I see it.</think><answer>red</answer>"
    row = {**record, "answer_vqa": "red", "answer_vqa_raw_output": good}
    assert format_scores([row])["what"] == [1.0]
    assert format_scores([{**record, "answer_vqa": good}])["what"] == [1.0]  # older files kept it there


def test_the_base_line_says_how_the_base_was_built_and_tolerates_a_hand_made_base_json():
    from o3video.lab.demo.assemble import base_summary

    written = {"command": "o3video perception-base --steps 4000", "built": "2026-11-30 10:30:00", "seconds": 5400.0,
               "final": {"model": {"iou": 0.658, "iou_by_n": {"1": 0.741}}, "model_as_video": {"iou": 0.54}},
               "mean_box": {"iou": 0.06}}
    assert base_summary(written) == ("built by `o3video perception-base --steps 4000` (2026-11-30 10:30:00; 90.0 min "
                                     "one-time, not in this run's time; held-out IoU 0.66, single objects 0.74; "
                                     "asked as 8 frames 0.54; mean box 0.06)")
    # a base.json made by hand, with neither the time taken nor the curve: what it has, no KeyError
    assert base_summary({"command": "a script"}) == "built by `a script`"
    assert base_summary({}) == "(no command recorded)"
    # built in parts (--from): every part's command, in order, and the time of all of them
    parts = {"command": "o3video perception-base --from B --steps 0 --binding-steps 400", "seconds": 7200.0,
             "parts": [{"command": "o3video perception-base --binding-steps 3600", "seconds": 5400.0},
                       {"command": "o3video perception-base --from B --steps 0 --binding-steps 400", "seconds": 1800.0}]}
    assert base_summary(parts) == ("built in 2 parts, by `o3video perception-base --binding-steps 3600`, then "
                                   "`o3video perception-base --from B --steps 0 --binding-steps 400` (120.0 min "
                                   "one-time, not in this run's time)")


def test_the_demo_takes_the_cached_base_then_the_embedded_one_and_builds_only_when_neither_is_there(tmp_path,
                                                                                                  monkeypatch):
    import json

    from o3video.lab.perception import build_base as bases

    recipe = bases.BaseRecipe(steps=3)
    built = []
    monkeypatch.setattr(bases, "build_perception_base", lambda r: built.append(r) or tmp_path / "built")
    embedded = tmp_path / "bases" / "perception"
    monkeypatch.setattr(bases, "EMBEDDED", embedded)
    assert bases.perception_base(recipe) == tmp_path / "built" and built == [recipe]  # neither: built
    embedded.mkdir(parents=True)
    one_part = {"recipe": {**bases.asdict(recipe), "source": ""}}
    (embedded / "base.json").write_text(json.dumps(one_part))
    assert bases.perception_base(recipe) == embedded and len(built) == 1  # embedded: taken, nothing built
    assert bases.perception_base(bases.BaseRecipe(steps=4)) == tmp_path / "built"  # not this recipe: built
    two_parts = {"total": {**bases.asdict(bases.BaseRecipe(steps=4))}, "parts": [{}, {}]}
    two_parts["total"].pop("source")
    (embedded / "base.json").write_text(json.dumps(two_parts))
    assert bases.perception_base(bases.BaseRecipe(steps=4)) == embedded  # its parts add up to the recipe
    cached = tmp_path / "cache"
    monkeypatch.setattr(bases, "cached_base", lambda r: cached)
    assert bases.perception_base(bases.BaseRecipe(steps=4)) == cached  # the cache's own build comes first


def test_the_demo_starts_from_the_perception_base_by_default_only_when_one_is_at_hand(tmp_path, monkeypatch):
    import json

    from o3video.commands.demo import chosen_base
    from o3video.lab.perception import build_base as bases

    embedded = tmp_path / "bases" / "perception"
    monkeypatch.setattr(bases, "EMBEDDED", embedded)
    monkeypatch.setattr(bases, "cached_base", lambda r: None)
    monkeypatch.setattr(bases, "build_perception_base", lambda r: pytest.fail("auto must never build a base"))
    assert chosen_base("auto", quick=False, size="small") == "random"  # nothing at hand: random weights, no build
    embedded.mkdir(parents=True)
    total = {key: value for key, value in bases.asdict(bases.BaseRecipe()).items() if key != "source"}
    (embedded / "base.json").write_text(json.dumps({"total": total, "parts": [{}, {}]}))
    assert chosen_base("auto", quick=False, size="small") == "perception"  # the embedded default recipe
    assert chosen_base("auto", quick=False, size="base") == "random"  # not the recipe of this size
    assert chosen_base("auto", quick=True, size="small") == "random"  # the suite's quick preset: random weights
    assert chosen_base("random", quick=False, size="small") == "random"  # asked for: kept
    model = tmp_path / "model"
    model.mkdir()
    (model / "config.json").write_text("{}")
    assert chosen_base(str(model), quick=False, size="small") == str(model)  # a model directory: kept as given


def test_a_source_checkout_embeds_the_default_recipes_base_where_the_demo_looks_for_it():
    """`bases/perception` at the repository's root holds the default recipe's base, and `--base auto` finds it there."""
    from o3video.commands.demo import chosen_base
    from o3video.lab.perception.build_base import EMBEDDED, BaseRecipe, embedded_base

    root = Path(__file__).resolve().parents[1]
    assert EMBEDDED == root / "bases" / "perception"
    assert embedded_base(BaseRecipe()) == root / "bases" / "perception"
    assert chosen_base("auto", quick=False, size="small") == "perception"
