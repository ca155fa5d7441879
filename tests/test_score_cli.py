import json
from pathlib import Path

from o3video.cli import main

EXAMPLES = Path(__file__).resolve().parents[1] / "examples" / "completions.jsonl"


def test_help_lists_commands_one_line_each(capsys):
    try:
        main(["--help"])
    except SystemExit as exit:
        assert exit.code == 0
    out = capsys.readouterr().out
    assert "score" in out and "Score model completions" in out


def test_scores_the_bundled_examples_of_all_six_tasks(tmp_path, capsys):
    out = tmp_path / "scores.jsonl"
    assert main(["score", "--input", str(EXAMPLES), "--out", str(out)]) == 0
    rows = [json.loads(line) for line in out.read_text().splitlines()]
    assert len(rows) == 12 and all("error" not in r for r in rows)
    assert len({r["task"] for r in rows}) == 6
    for r in rows:
        assert abs(r["total"] - (r["accuracy"] + r["temporal"] + r["spatial"] + r["format"])) < 1e-9
    assert rows[0]["total"] > 3.9  # the grounded spatio-temporal example is right on every term
    summary = capsys.readouterr().err
    assert "Mean rewards per task" in summary and "visual QA" in summary


def test_malformed_lines_are_reported_and_the_rest_scored(tmp_path, capsys):
    good = EXAMPLES.read_text().splitlines()[8]
    src = tmp_path / "in.jsonl"
    src.write_text("\n".join([good, "{broken", json.dumps({"completion": "x", "sample": {"task": "temporal QA", "answer": "soon"}}), good]) + "\n")
    out = tmp_path / "out.jsonl"
    assert main(["score", "--input", str(src), "--out", str(out)]) == 1
    rows = [json.loads(line) for line in out.read_text().splitlines()]
    assert [r["line"] for r in rows] == [1, 2, 3, 4]
    assert "error" in rows[1] and "error" in rows[2] and rows[3]["total"] == rows[0]["total"]
    err = capsys.readouterr().err
    assert "in.jsonl:2: not valid JSON" in err and "in.jsonl:3: answer" in err


def test_ablation_flags_change_the_spatial_term(tmp_path):
    sample = json.loads(EXAMPLES.read_text().splitlines()[0])["sample"]
    text = "<think><obj>red car</obj><box>[112,50,224,139]</box>at<t>8.0</t>s</think><answer>x</answer>"
    src = tmp_path / "one.jsonl"
    src.write_text(json.dumps({"completion": text, "sample": sample}) + "\n")
    results = {}
    for name, flags in {"gated": [], "open": ["--no-gating"], "fixed": ["--sigma", "4", "--no-gating"]}.items():
        out = tmp_path / f"{name}.jsonl"
        main(["score", "--input", str(src), "--out", str(out), *flags])
        results[name] = json.loads(out.read_text())
    assert results["gated"]["spatial"] == 0.0  # 4 s from the nearest key frame, τ = 3
    assert results["open"]["spatial"] > 0.95
    assert results["fixed"]["temporal"] > results["open"]["temporal"]  # σ = 4 vs σ(1) = 1
