"""verl: `o3video export --to verl` writes the RL records as verl's parquet rows (its chat with an `<image>` per
frame, the frames, the reward sample), and `o3video.integrations.verl.compute_score`, loaded from its file the way
verl loads a custom reward function, gives `o3video.rewards.score`'s numbers on the exported rows.

verl 0.9.1 requires transformers <5.11 and the tested set pins 5.23, so verl is not in .venv: the fast tests load the
file as verl's `load_extern_object` does (`importlib.util.spec_from_file_location`) and call it with the keyword
arguments verl's reward managers pass; a slow one loads it with verl's own `get_custom_reward_fn` in the throwaway
environment scripts/verl_venv.sh makes (verl 0.9.1 and transformers 5.10 over .venv's packages)."""

import importlib.util
import io
import json
import os
import subprocess
from pathlib import Path

import pytest
from datasets import load_dataset
from packaging.version import Version
from PIL import Image

from o3video.cli import main
from o3video.integrations import verl
from o3video.rewards import score
from o3video.train.rl_data import rl_row
from o3video.train.targets import target_completion
from o3video.train.train_config import load_config

HERE = Path(__file__).parent
ROOT = HERE.parent


@pytest.fixture(scope="module")
def exported_file(synth_easy, tiny_model, tmp_path_factory):
    out = tmp_path_factory.mktemp("verl") / "train.parquet"
    settings = [f"model={tiny_model}", "data.limit=8", "data.num_frames=3", f"data.cache_dir={synth_easy / 'cache'}"]
    assert main(["export", "--to", "verl", "--data", str(synth_easy / "stgr_rl.json"), "--out", str(out),
                 *settings]) == 0
    config = load_config(None, [f"data.train={synth_easy / 'stgr_rl.json'}", "output_dir=.", *settings], stage="rl")
    return out, config


@pytest.fixture(scope="module")
def exported(exported_file):
    out, config = exported_file
    return load_dataset("parquet", data_files=str(out), split="train"), config


def completions(truth):
    """Completions of a record scoring high, low and 0, and one citing a time 1.5 s after its first key frame."""
    texts = {"target": target_completion(truth, truth["image_size"], truth["box_convention"]),
             "guess": "<think>no idea</think><answer>A</answer>", "unformatted": "A"}
    if truth.get("key_frames"):
        texts["late"] = f"<think>at <t>{truth['key_frames'][0]['time'] + 1.5:.1f}</t>s</think><answer>A</answer>"
    return texts


def verl_reward_function():
    spec = importlib.util.spec_from_file_location("custom_module_o3video", verl.__file__)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module.compute_score


def test_rows_hold_verls_columns_the_frames_in_prompt_order_and_the_reward_sample(exported):
    from o3video.integrations.verl_export import training_records

    rows, config = exported
    assert rows.column_names == ["data_source", "prompt", "images", "ability", "reward_model", "extra_info"]
    records = training_records(config)
    assert len(rows) == len(records) == 8
    for row, item in zip(rows, records):
        trained = rl_row(item)  # what `o3video train rl` feeds TRL for the same record
        system, user = row["prompt"]
        assert (system["role"], user["role"]) == ("system", "user")
        assert system["content"] == trained["prompt"][0]["content"][0]["text"]
        parts = [p["text"] if p["type"] == "text" else "<image>" for p in trained["prompt"][1]["content"]]
        assert user["content"] == "".join(parts) and "<image>" in user["content"]
        images = [p["image"] for p in trained["prompt"][1]["content"] if p["type"] == "image"]
        assert len(row["images"]) == user["content"].count("<image>") == len(images)
        for stored, image in zip(row["images"], images):
            assert Image.open(io.BytesIO(stored["bytes"])).tobytes() == image.convert("RGB").tobytes()
        truth = json.loads(row["reward_model"]["ground_truth"])
        assert truth["image_size"] == trained["image_size"] and truth["answer"] == trained["answer"]
        assert row["extra_info"]["record_id"] == trained["record_id"]


def test_compute_score_loaded_as_verl_loads_it_gives_the_papers_reward(exported):
    rows, config = exported
    compute_score = verl_reward_function()
    totals = {"target": 0.0, "guess": 0.0, "unformatted": 0.0, "late": 0.0}
    for row in rows:
        truth = json.loads(row["reward_model"]["ground_truth"])
        for name, text in completions(truth).items():
            got = compute_score(data_source=row["data_source"], solution_str=text,
                                ground_truth=row["reward_model"]["ground_truth"], extra_info=dict(row["extra_info"]))
            expected = score(text, truth, 1.0)
            assert got == {"score": expected["total"], **{k: expected[k] for k in verl.TERMS}}
            totals[name] += got["score"]
    assert totals["target"] > totals["guess"] > totals["unformatted"] == 0.0


def test_a_fixed_sigma_from_verls_reward_kwargs_reaches_the_temporal_term(exported):
    rows, _ = exported
    temporal = [row for row in rows if json.loads(row["reward_model"]["ground_truth"]).get("key_frames")]
    truth = json.loads(temporal[0]["reward_model"]["ground_truth"])
    frames = truth["key_frames"]
    late = f"<think>at <t>{frames[0]['time'] + 1.5:.1f}</t>s</think><answer>A</answer>"
    wide = verl.compute_score("o3video/stgr", late, temporal[0]["reward_model"]["ground_truth"], sigma=4.0)
    narrow = verl.compute_score("o3video/stgr", late, temporal[0]["reward_model"]["ground_truth"])
    assert wide["temporal"] == score(late, truth, 1.0, sigma=4.0)["temporal"]
    assert wide["temporal"] > narrow["temporal"] == score(late, truth, 1.0)["temporal"]


@pytest.mark.slow
def test_verls_own_loader_on_the_launch_scripts_configuration_gives_the_papers_numbers(exported_file, tmp_path):
    """verl 0.9.1's main_ppo composes its configuration with scripts/verl_gspo.sh's settings and a σ given after them
    (Hydra's `--cfg job` prints it and trains nothing); verl's `get_custom_reward_fn` loads `compute_score` from it."""
    made = subprocess.run(["bash", str(ROOT / "scripts" / "verl_venv.sh")], capture_output=True, text=True,
                          timeout=900)
    assert made.returncode == 0, made.stderr[-3000:]
    python = Path(made.stdout.split()[-1])
    rows_file, _ = exported_file
    env = {**os.environ, "PATH": f"{python.parent}{os.pathsep}{os.environ['PATH']}"}
    composed = subprocess.run(["bash", str(ROOT / "scripts" / "verl_gspo.sh"), str(rows_file), "model",
                               str(tmp_path / "run"), "reward.custom_reward_function.reward_kwargs.sigma=2.0",
                               "--cfg", "job"], capture_output=True, text=True, env=env, timeout=300)
    assert composed.returncode == 0, composed.stderr[-3000:]
    (tmp_path / "config.yaml").write_text(composed.stdout)
    rows = load_dataset("parquet", data_files=str(rows_file), split="train")
    truths = [json.loads(row["reward_model"]["ground_truth"]) for row in rows]
    cases = [{"row": i, "name": name, "text": text} for i, truth in enumerate(truths)
             for name, text in completions(truth).items()]
    (tmp_path / "cases.json").write_text(json.dumps(cases))
    ran = subprocess.run([str(python), str(HERE / "verl_loader.py"), str(tmp_path / "config.yaml"), str(rows_file),
                          str(tmp_path / "cases.json")], capture_output=True, text=True, timeout=300)
    assert ran.returncode == 0, ran.stderr[-3000:]
    got = json.loads(ran.stdout.splitlines()[-1])
    assert got["verl"] == "0.9.1" and Version(got["transformers"]) < Version("5.11")  # verl's own set, not .venv's
    assert len(got["scores"]) == len(cases) > len(rows)
    for case, result in zip(cases, got["scores"]):
        expected = score(case["text"], truths[case["row"]], 1.0, sigma=2.0)  # σ from the command line
        assert result == {"score": expected["total"], **{k: expected[k] for k in verl.TERMS}}
    late = [(case, result) for case, result in zip(cases, got["scores"]) if case["name"] == "late"]
    assert any(result["temporal"] != score(case["text"], truths[case["row"]], 1.0)["temporal"]
               for case, result in late)  # σ = 2 reached the temporal term (σ = 1 scores differently)
