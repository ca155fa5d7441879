"""Issue #12: never die on model output. The cases the issue names, one test per class:
(3) V-STaR answers that killed `eval vstar`, (4) quadratic parsing of repeated tags, (6) malformed
reward samples and σ. The property tests in test_properties.py cover the same ground at random."""

import json
import math
import time

import pytest

from o3video.cli import main
from o3video.data.vstar import parse_spatial_answer, parse_spatial_boxes, parse_temporal_answer, rescale_spatial
from o3video.grammar import parse
from o3video.rewards import RewardInputError, reward_functions, score


def _spatial_rescaled(raw):
    return rescale_spatial(parse_spatial_boxes(raw), (448, 252), (1280, 720))


# (3) Each of these raised (RecursionError, ValueError, OverflowError) or gave inf, which the results file
# wrote as `Infinity`. An unreadable answer is no answer: [] / {}.
@pytest.mark.parametrize("parser, raw, expected", [
    (parse_spatial_answer, "[" * 1000, {}),  # RecursionError in json.loads
    (parse_spatial_answer, "```json\n" + '{"1": ' * 5000, {}),  # RecursionError after closing the brackets
    (parse_spatial_answer, "[" + "1" * 5000 + "]", {}),  # int past the 4300-digit limit: ValueError
    (parse_spatial_answer, '{"1": [0, 0, ' + "9" * 400 + ", 5]}", {}),  # OverflowError: int too large for a float
    (_spatial_rescaled, '{"1": [0, 0, 1e308, 5], "2": [1, 2, 3, 4]}', {"2": [[2.9, 5.7, 8.6, 11.4]]}),  # inf after rescaling
    (parse_temporal_answer, "1" * 4301 + ":30 to 2:00", []),  # int() of 4301 digits: ValueError
    (parse_temporal_answer, "From " + "9" * 400 + " to 5", []),  # inf start
    (parse_temporal_answer, "From <t>" + "9" * 400 + "</t>s to <t>5</t>s", []),
    (parse_temporal_answer, [10**400, 1, 2], [1.0, 2.0]),  # math.isfinite(int) overflowed
    (parse_temporal_answer, "0001:05 to 1:10", [65.0, 70.0]),  # leading zeros are not absurd digits
])
def test_vstar_answers_that_killed_the_run_are_unreadable_not_fatal(parser, raw, expected):
    parsed = parser(raw)
    assert parsed == expected
    json.dumps(parsed, allow_nan=False)  # any writer writes it as standard JSON: no Infinity/NaN


# (4) 100k characters of repeated tags took 6.8 s to parse (one scan to the end per opener); now linear.
REPEATED = {
    "think": "<think>" * 14286,
    "answer": "<answer>" * 12500,
    "answer-then-think": "<answer></answer><think>" * 4167,
    "spaces-in-a-time": "<think><t>1" + " " * 100_000 + "x</t></think><answer>a</answer>",
}


@pytest.mark.parametrize("name", REPEATED)
def test_parsing_100k_characters_of_repeated_tags_is_fast(name):
    text = REPEATED[name]
    start = time.perf_counter()
    parse(text)
    score(text, {"task": "temporal QA", "answer": "[1, 3]"})
    parse_temporal_answer(text)
    parse_spatial_answer(text)
    elapsed = time.perf_counter() - start
    assert elapsed < 1.0, f"{name}: {elapsed:.2f} s for {len(text)} characters"  # about 0.05 s; quadratic was > 20 s


# (6) Each of these raised TypeError / ZeroDivisionError or returned NaN (written as `NaN`, exit 0).
ST = {"task": "temporal-spatial free-form QA", "answer": "a", "image_size": [64, 48],
      "key_frames": [{"idx": 1, "time": 1.0}], "key_items": {"1": {"cup": [[0.1, 0.1, 0.5, 0.5]]}}}
GROUNDED = "<think><obj>cup</obj><box>[6,5,32,24]</box>at<t>1.5</t>s</think><answer>a</answer>"


@pytest.mark.parametrize("change, sigma, error, field", [
    ({"key_frames": 5}, None, RewardInputError, r"^key_frames:"),
    ({"key_frames": "1.0"}, None, RewardInputError, r"^key_frames:"),
    ({"key_items": [1]}, None, RewardInputError, r"^key_items:"),
    ({"key_frames": [{"idx": 1, "time": math.nan}]}, None, RewardInputError, r"^key_frames\[0\]\.time:"),
    ({"key_frames": [{"idx": 1, "time": "inf"}]}, None, RewardInputError, r"^key_frames\[0\]\.time:"),
    ({"key_frames": [{"idx": 1, "time": 10**400}]}, None, RewardInputError, r"^key_frames\[0\]\.time:"),
    ({"key_items": {"1": {"cup": [[0, 0, 10**400, 1]]}}}, None, RewardInputError, r"^key_frames\[0\] / key_items:"),
    ({"image_size": [10**400, 48]}, None, RewardInputError, r"^image_size:"),
    ({}, 0, ValueError, r"^sigma:"),
    ({}, -1.0, ValueError, r"^sigma:"),
    ({}, math.nan, ValueError, r"^sigma:"),
    ({}, math.inf, ValueError, r"^sigma:"),
])
def test_malformed_samples_and_sigma_are_input_errors_naming_the_field(change, sigma, error, field):
    with pytest.raises(error, match=field):
        score(GROUNDED, {**ST, **change}, sigma=sigma)
    if sigma is not None:
        with pytest.raises(ValueError, match=field):
            reward_functions(sigma=sigma)


def test_huge_times_give_finite_rewards():
    far = {**ST, "key_frames": [{"idx": 1, "time": -1e308}]}
    text = GROUNDED.replace("1.5", "1e308")
    for sigma in (None, 1e200):
        assert all(math.isfinite(v) for v in score(text, far, sigma=sigma).values())


def test_score_cli_reports_bad_lines_and_sigma_and_goes_on(tmp_path, capsys):
    good = {"completion": GROUNDED, "sample": ST}
    lines = [good, {"completion": GROUNDED, "sample": {**ST, "key_frames": 5}},
             {"completion": GROUNDED, "sample": {**ST, "key_frames": [{"idx": 1, "time": math.nan}]}}, good]
    src, out = tmp_path / "in.jsonl", tmp_path / "out.jsonl"
    src.write_text("".join(json.dumps(line) + "\n" for line in lines) + "[" * 100_000 + "\n")
    assert main(["score", "--input", str(src), "--out", str(out)]) == 1
    err = capsys.readouterr().err
    assert "in.jsonl:2: key_frames: must be a list" in err and "in.jsonl:3: key_frames[0].time" in err
    assert "in.jsonl:5: not readable JSON" in err and "Traceback" not in err
    rows = [json.loads(line, parse_constant=pytest.fail) for line in out.read_text().splitlines()]
    assert [("error" in r) for r in rows] == [False, True, True, False, True]
    for bad in (["--sigma", "0"], ["--sigma", "nan"], ["--tau", "nan"]):
        with pytest.raises(SystemExit) as exit:
            main(["score", "--input", str(src), *bad])
        assert exit.value.code == 2 and bad[0][2:] + ":" in capsys.readouterr().err
