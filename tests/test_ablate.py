"""`o3video ablate`: the paper's ablation arms as data, the verdict rule, the tables, and the quick grid end to end
(numbers read from the runs' own summaries, a rerun that only re-reports, a killed arm that resumes)."""

import json
import math
import statistics
import subprocess
import sys
from pathlib import Path

import pytest

from o3video.cli import main
from o3video.lab.ablate.arms import ARM_BY_NAME, QUICK_ARMS, REFERENCE, arms_of
from o3video.lab.ablate.paper import TABLE_BY_NUMBER, TABLES
from o3video.lab.ablate.results import Measured
from o3video.lab.ablate.runner import AblateSettings, arm_settings
from o3video.lab.ablate.tables import claim_effect, table_markdown
from o3video.lab.ablate.verdict import AGREES, CANNOT_TELL, DISAGREES, effect
from o3video.lab.demo.settings import quick_settings

HERE = Path(__file__).parent


def test_an_effect_counts_only_when_larger_than_twice_its_spread():
    assert effect([0.10, 0.12, 0.11]).verdict == AGREES
    assert effect([-0.10, -0.12, -0.11]).verdict == DISAGREES
    assert effect([0.10, -0.05, 0.02]).verdict == CANNOT_TELL  # mean 0.023, sd 0.076
    assert effect([0.30]).verdict == CANNOT_TELL  # one seed has no spread to compare with
    assert effect([0.0, 0.0]).verdict == CANNOT_TELL
    found = effect([0.2, 0.05])
    assert found.mean == pytest.approx(0.125) and found.sd == pytest.approx(statistics.stdev([0.2, 0.05]))
    assert found.verdict == CANNOT_TELL  # 0.125 is not larger than 2 × 0.106
    assert effect([0.2, 0.1]).verdict == AGREES  # 0.15 is larger than 2 × 0.0707
    assert effect([]).seeds == 0 and math.isnan(effect([]).mean)


def _measured(**values):
    return Measured({"mAM": values.get("mAM", 0.0), "mLGM": values["mLGM"], "when_1": 0.5})


def test_the_table_writer_shows_mean_sd_the_paper_and_a_verdict_per_claim():
    table = TABLE_BY_NUMBER[8]
    rows = {"sft_gspo": [_measured(mLGM=0.30), _measured(mLGM=0.32)],
            "sigma_1": [_measured(mLGM=0.20), _measured(mLGM=0.21)],
            "sigma_4": [None, None]}
    md = table_markdown(table, rows)
    assert "| adaptive σ (SFT+GSPO) | 2 | 0.0 ± 0.0 | 31.0 ± 1.4 | 50.0 ± 0.0 | 33.7 | 46.6 |" in md
    assert "| fixed σ = 4 | 0 | not run | not run | not run | 33.0 | 45.2 |" in md
    # the paired per-seed gain 0.10, 0.11: +10.5 ± 0.7 > twice its sd; the paper's gain +2.1
    assert "| adaptive σ beats fixed σ = 1 | mLGM | +10.5 ± 0.7 | +2.1 | agrees |" in md
    assert "| adaptive σ beats fixed σ = 4 | mLGM | not run | +1.4 | not run |" in md
    # pairs are per seed: a seed missing on one side is left out of the difference
    rows["sigma_1"] = [None, _measured(mLGM=0.21)]
    assert claim_effect(rows, table.claims[0]).seeds == 1


def test_every_table_row_is_an_arm_or_a_measurement_and_every_claim_names_two_rows():
    for table in TABLES:
        keys = {row.key for row in table.rows}
        assert all(k in ARM_BY_NAME or k.startswith("mcq.") for k in keys)
        assert all({c.better, c.worse} <= keys and c.metric in table.metrics for c in table.claims)
        assert all(len(row.paper) == len(table.paper_columns) for row in table.rows)
    # SFT+GSPO is one arm, in tables 3, 5, 6, 8, 9 and 13; every grid starts with it
    assert ARM_BY_NAME[REFERENCE].tables == (3, 5, 6, 8, 9, 13)
    assert [a.name for a in arms_of((8,))] == [REFERENCE, "sigma_1", "sigma_4"]
    assert [a.name for a in arms_of((3, 5, 6, 8, 9, 13), QUICK_ARMS)] == list(QUICK_ARMS)


@pytest.mark.parametrize(("arm", "algo", "sigma", "gating", "terms"), [
    ("sft_gspo", "gspo", None, True, ["accuracy", "temporal", "spatial", "format"]),
    ("sft_grpo", "grpo", None, True, ["accuracy", "temporal", "spatial", "format"]),
    ("sigma_1", "gspo", 1.0, True, ["accuracy", "temporal", "spatial", "format"]),
    ("no_gating", "gspo", None, False, ["accuracy", "temporal", "spatial", "format"]),
    ("no_spatial", "gspo", None, True, ["accuracy", "temporal", "format"]),
    ("text_only", "gspo", None, True, ["accuracy", "format"]),
])
def test_an_arms_recipe_changes_reach_the_rl_config_and_its_reward_functions(tmp_path, arm, algo, sigma, gating, terms):
    from o3video.lab.demo.run import Demo
    from o3video.train.rl import reward_funcs

    settings = AblateSettings(out=tmp_path, seeds=2, quick=True, demo=quick_settings(tmp_path))
    one = arm_settings(settings, ARM_BY_NAME[arm], 1)
    assert one.out == tmp_path / "arms" / arm / "seed-1" and one.seed == 1
    config = Demo(one).train_config("rl", tmp_path / "sft")
    assert (config.algo, config.rewards.sigma, config.rewards.gating) == (algo, sigma, gating)
    assert [f.__name__ for f in reward_funcs(config)] == [f"{t}_reward" for t in terms]
    assert config.trainer["max_steps"] == 2  # the quick preset's sizes, shared by every arm
    assert config.output_dir == str(tmp_path / "arms" / arm / "seed-1" / "models" / "gspo")


def test_text_only_sft_data_keeps_questions_and_answers_and_drops_boxes_and_times(tmp_path):
    from o3video.lab.ablate.text_only import text_only_file

    source = tmp_path / "stgr_sft.json"
    record = {"id": "a", "task": "Spatio-temporal QA", "question": "What happens?", "answer": "it stops",
              "video_path": "videos/a.mp4",
              "reasoning_process": "The <obj>red car</obj><box>[1,2,3,4]</box>at<t>2.5</t>s stops, then waits."}
    source.write_text(json.dumps([record, {**record, "id": "b", "reasoning_process": ""}]))
    target = text_only_file(source)
    assert target.parent == source.parent  # its media paths stay relative to the same folder
    first, second = json.loads(target.read_text())
    assert first == {**record, "reasoning_process": "The red car stops, then waits."}
    assert second["reasoning_process"] == ""


def _md_cell(values):
    mean, sd = statistics.fmean(values), statistics.stdev(values)
    return f"{100 * mean:.1f} ± {100 * sd:.1f}"


def _files(folder: Path) -> dict[str, int]:
    return {str(p): p.stat().st_mtime_ns for p in folder.rglob("*") if p.is_file() and not p.is_symlink()}


@pytest.mark.slow
def test_quick_ablation_reports_its_runs_resumes_a_killed_arm_and_rerun_only_rereports(tmp_path, capsys):
    out = tmp_path / "ablate"
    helper = HERE / "kill_ablate_after_checkpoint.py"
    killed = subprocess.run([sys.executable, str(helper), "sigma_4/seed-1/models/gspo", "1", "ablate", "--quick",
                             "--out", str(out)], capture_output=True, text=True, timeout=900)
    assert killed.returncode == -9, killed.stderr[-3000:]
    arms = out / "arms"
    assert (arms / "sigma_4" / "seed-1" / "models" / "gspo" / "checkpoint-1").is_dir()
    assert not (arms / "sigma_4" / "seed-1" / "arm.json").exists()
    finished = {**_files(arms / "sft_gspo"), **_files(arms / "sigma_4" / "seed-0")}
    assert "estimated CPU time" in killed.stderr

    assert main(["ablate", "--quick", "--out", str(out)]) == 0
    printed = capsys.readouterr()
    assert "resuming" in printed.out and "sigma_4/seed-1/models/gspo from checkpoint-1" in printed.out
    assert "1 to do" in printed.err
    after = _files(arms / "sft_gspo") | _files(arms / "sigma_4" / "seed-0")
    assert {k: after[k] for k in finished} == finished  # the finished arms were re-read, not retrained

    # the table's numbers are the runs' own summaries, each arm beside its blind twin
    md = (out / "ablate.md").read_text()
    for label, arm, key in (("base (untrained)", "sft_gspo", "base"), ("SFT only", "sft_gspo", "sft"),
                            ("SFT+GSPO", "sft_gspo", "gspo")):
        summaries = [json.loads((arms / arm / f"seed-{k}" / "eval" / f"{key}.summary.json").read_text())
                     for k in (0, 1)]
        cells = [_md_cell([s[m] for s in summaries]) for m in ("mAM", "mLGM", "when_1")]
        if key != "base":
            blind = [json.loads((arms / arm / f"seed-{k}" / "eval" / f"blind_{key}.summary.json").read_text())
                     for k in (0, 1)]
            cells += [_md_cell([s[m] for s in blind]) for m in ("mAM", "mLGM", "when_1")]
        assert f"| {label} | 2 | {' | '.join(cells)} |" in md
    assert "| RL only (GSPO from the base) | 0 | not run |" in md and "| SFT+GRPO | 0 | not run |" in md
    sigma_4 = [json.loads((arms / "sigma_4" / f"seed-{k}" / "eval" / "gspo.summary.json").read_text()) for k in (0, 1)]
    cells = [_md_cell([s[m] for s in sigma_4]) for m in ("mAM", "mLGM", "when_1")]
    assert f"| fixed σ = 4 | 2 | {' | '.join(cells)} | 33.0 | 45.2 |" in md  # Table 8, not about seeing: no twin
    assert f"| without adaptive proximity (fixed σ = 4) | 2 | {' | '.join(cells)} |" in md  # the same runs in Table 5
    mcq = [json.loads((arms / "sft_gspo" / f"seed-{k}" / "eval" / "mcq_gspo.summary.json").read_text()) for k in (0, 1)]
    assert f"| majority vote | 2 | {_md_cell([m['accuracy']['majority'] for m in mcq])} | 37.3 | 53.1 |" in md
    evidence = [m["faithfulness"]["accuracy_evidence_removed"] for m in mcq]
    assert f"| without the frames nearest each cited time | 2 | {_md_cell(evidence)} | 66.0 |" in md
    assert md.count("| GSPO surpasses GRPO") == 3
    for number in (3, 5, 6, 8, 9, 13):
        assert (out / f"table-{number}.png").read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
        assert f"](table-{number}.png)" in md
    record = json.loads((out / "ablate.json").read_text())
    assert record["runs"]["sigma_4"][1]["values"]["mLGM"] == pytest.approx(
        json.loads((arms / "sigma_4" / "seed-1" / "eval" / "gspo.summary.json").read_text())["mLGM"])
    assert record["run_settings"]["sigma_4"][0]["rl_settings"]["rewards.sigma"] == 4.0
    # the σ = 4 arm's RL started from the seed's one SFT model, the reference's
    shared = arms / "sft_gspo" / "seed-0" / "models" / "sft"
    assert (arms / "sigma_4" / "seed-0" / "models" / "sft").resolve() == shared.resolve()

    # a rerun finds every arm done and only re-reports
    before = _files(arms)
    assert main(["ablate", "--quick", "--out", str(out)]) == 0
    printed = capsys.readouterr()
    assert "0 to do" in printed.err and "resuming" not in printed.out
    assert _files(arms) == before and (out / "ablate.md").read_text() == md


def test_the_estimate_reads_a_finished_run_of_the_same_size_else_the_stated_rates(tmp_path):
    from dataclasses import asdict, replace

    from o3video.lab.ablate.estimate import RL_SECONDS_PER_STEP, estimate

    settings = quick_settings(tmp_path / "x")
    arms = [ARM_BY_NAME["sigma_4"], ARM_BY_NAME["sft_grpo"], ARM_BY_NAME["base"]]
    seconds, source = estimate(settings, arms, [tmp_path / "none"])
    rl, evaluation = 2 * RL_SECONDS_PER_STEP, 4 * 0.8  # the quick preset: 2 RL steps, 4 test records
    assert seconds == pytest.approx((rl + evaluation) + 2 * (rl + evaluation)) and "per-step rates" in source

    run = tmp_path / "run"  # a finished demo run of the same size (another seed and folder)
    run.mkdir()
    (run / "report.md").write_text("")
    (run / "settings.json").write_text(json.dumps(asdict(replace(settings, out=run, seed=5)), default=str))
    (run / "timings.json").write_text(json.dumps({"SFT": 10.0, "GSPO": 3.0, "evaluate SFT+GSPO": 1.0, "MCQ": 6.0}))
    seconds, source = estimate(settings, [ARM_BY_NAME[REFERENCE], *arms], [run])
    assert seconds == pytest.approx(20.0 + 4.0 + 2 * 4.0) and str(run) in source
    bigger = replace(settings, test_records=8)  # another size: its timings are not this run's
    assert "per-step rates" in estimate(bigger, arms, [run])[1]
