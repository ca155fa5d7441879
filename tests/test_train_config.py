"""Training configs: YAML + dotted overrides, validation, the shipped recipes, the algorithm switch, the CLI."""

import json
import os
import re
from pathlib import Path

import pytest
import yaml

from o3video.cli import main
from o3video.train.common import trainer_kwargs
from o3video.train.rl import grpo_kwargs, reward_funcs
from o3video.train.sft import SFT_DEFAULTS
from o3video.train.train_config import ConfigError, load_config, parse_value

CONFIGS = Path(__file__).resolve().parents[1] / "o3video" / "configs"


def write(tmp_path, text):
    path = tmp_path / "c.yaml"
    path.write_text(text)
    return path


def test_overrides_reach_nested_fields_and_read_numbers_booleans_nulls_and_lists(tmp_path):
    path = write(tmp_path, "stage: rl\nmodel: m\noutput_dir: o\ndata: {train: a.json, num_frames: 16}\ntrainer: {beta: 0.04}\n")
    config = load_config(path, ["trainer.learning_rate=1e-5", "data.num_frames=8", "rewards.gating=false",
                                "rewards.sigma=2", "data.train=[x.json, y.json]", "trainer.beta=null"])
    assert config.trainer == {"beta": None, "learning_rate": 1e-5}
    assert config.data.num_frames == 8 and config.data.train == ["x.json", "y.json"]
    assert config.rewards.gating is False and config.rewards.sigma == 2
    assert load_config(path).data.train == ["a.json"]  # a single file is a one-element list
    assert parse_value("1e-6") == 1e-6 and parse_value("true") is True and parse_value("abc") == "abc"


@pytest.mark.parametrize(
    ("text", "overrides", "message"),
    [
        ("stage: sft\nmodel: m\noutput_dir: o\ndata: {train: a}\nlearning_rate: 1\n", [], "unknown key(s) ['learning_rate']"),
        ("stage: sft\nmodel: m\noutput_dir: o\ndata: {train: a, frames: 3}\n", [], "unknown key(s) ['frames']"),
        ("stage: sft\noutput_dir: o\ndata: {train: a}\n", [], "model is required"),
        ("stage: rl\nmodel: m\noutput_dir: o\ndata: {train: a}\n", ["algo=ppo"], "algo must be one of"),
        ("stage: rl\nmodel: m\noutput_dir: o\ndata: {train: a}\n", ["rewards.sigma=0"], "rewards.sigma must be > 0"),
        ("stage: rl\nmodel: m\noutput_dir: o\n", [], "data.train must name"),
        ("stage: sft\nmodel: m\noutput_dir: o\ndata: {train: a}\n", ["novalue"], "expected key=value"),
        ("- a list\n", [], "top level must be a mapping"),
    ],
)
def test_bad_configs_name_the_file_and_the_key(tmp_path, text, overrides, message):
    path = write(tmp_path, text)
    with pytest.raises(ConfigError) as err:
        load_config(path, overrides)
    assert message in str(err.value)


def test_overrides_are_typed_by_our_fields_and_trls(tmp_path):
    path = write(tmp_path, "stage: rl\nmodel: m\noutput_dir: o\ndata: {train: a}\n")
    config = load_config(path, ["trainer.max_steps=1e3", "trainer.learning_rate=1", "trainer.report_to=none",
                                "data.limit=null", "rewards.sigma=2"])
    assert config.trainer["max_steps"] == 1000 and isinstance(config.trainer["max_steps"], int)
    assert config.trainer["learning_rate"] == 1 and config.data.limit is None and config.rewards.sigma == 2
    for override, message in [("trainer.max_steps=2.5", "trainer.max_steps: expected an integer, got 2.5"),
                              ("trainer.bf16=maybe", "trainer.bf16: expected true or false or null"),
                              ("data.train=[a.json, 3]", "data.train[1]: expected a string"),
                              ("algo_settings.gspo.epsilonn=0.1", "algo_settings.gspo.epsilonn: not a field of TRL's GRPOConfig")]:
        with pytest.raises(ConfigError, match=re.escape(message)):
            load_config(path, [override])


def test_stage_on_the_command_line_must_match_the_file(tmp_path):
    path = write(tmp_path, "stage: rl\nmodel: m\noutput_dir: o\ndata: {train: a}\n")
    with pytest.raises(ConfigError, match="is a 'rl' config"):
        load_config(path, stage="sft")
    assert load_config(None, ["model=m", "output_dir=o", "data.train=a"], stage="sft").stage == "sft"


def test_shipped_7b_recipes_are_the_papers():
    sft = load_config(CONFIGS / "qwen2_5_vl_7b_sft.yaml", stage="sft")
    rl = load_config(CONFIGS / "qwen2_5_vl_7b_rl.yaml", stage="rl")
    for config in (sft, rl):
        assert config.model.endswith(("Qwen2.5-VL-7B-Instruct", "qwen2_5_vl_7b_sft"))
        assert config.trainer["learning_rate"] == 1e-6 and config.trainer["num_train_epochs"] == 1
        assert config.data.num_frames == 16 and config.data.max_pixels == 128 * 28 * 28
        assert config.data.insert_key_frames
    kwargs = grpo_kwargs(rl)
    assert kwargs["importance_sampling_level"] == "sequence" and kwargs["loss_type"] == "grpo"
    assert (kwargs["epsilon"], kwargs["epsilon_high"]) == (3e-4, 4e-4)  # TRL's documented GSPO clipping
    assert kwargs["max_completion_length"] == 768 and kwargs["beta"] == 0.04
    assert rl.rewards.sigma is None and rl.rewards.gating and rl.rewards.tau == 3.0
    assert SFT_DEFAULTS["assistant_only_loss"] and "assistant_only_loss" not in sft.trainer


def zero_stage(trainer_kwargs):
    """The ZeRO stage of the DeepSpeed config a recipe's `trainer.deepspeed` names (resolved like training does)."""
    return json.loads(Path(trainer_kwargs["deepspeed"]).read_text())["zero_optimization"]["stage"]


def launcher_config(name):
    return yaml.safe_load((CONFIGS / name).read_text())


def test_7b_recipes_match_the_official_scripts_setting_by_setting():
    """Open-o3-Video@1eb6eca: src/scripts/run_{sft,grpo}_video.sh, local_scripts/zero{2,3}.json (issue 36's table)."""
    sft = trainer_kwargs(load_config(CONFIGS / "qwen2_5_vl_7b_sft.yaml"), SFT_DEFAULTS)
    rl_config = load_config(CONFIGS / "qwen2_5_vl_7b_rl.yaml")
    rl = grpo_kwargs(rl_config)
    sft_launch = launcher_config("accelerate_zero2_8gpu.yaml")
    rl_launch = launcher_config("accelerate_zero3_8gpu.yaml")
    # GSPO: groups of 4, one prompt x 4 generations per GPU, 8 prompts per optimizer step
    assert rl["num_generations"] == 4
    prompts = rl_launch["num_processes"] * rl["per_device_train_batch_size"] * rl["gradient_accumulation_steps"] // 4
    assert prompts == 8 and rl["per_device_train_batch_size"] == 4
    # one on-policy update per rollout: a generation batch serves exactly one optimizer step
    assert rl["steps_per_generation"] == rl["gradient_accumulation_steps"] and rl["num_iterations"] == 1
    assert rl["top_p"] == 0.95 and rl["temperature"] == 1.0
    assert rl["lr_scheduler_type"] == "cosine" and rl["weight_decay"] == 0.01
    assert rl["max_grad_norm"] == 5 and sft["max_grad_norm"] == 5
    # SFT: 8 records per step, linear schedule without warm-up, no weight decay
    assert sft_launch["num_processes"] * sft["per_device_train_batch_size"] * sft["gradient_accumulation_steps"] == 8
    assert sft["lr_scheduler_type"] == "linear" and sft["warmup_steps"] == 0 and sft["weight_decay"] == 0
    # ZeRO-2 for SFT, ZeRO-3 for GSPO, in the DeepSpeed JSON the trainer reads and in the launcher configs
    assert zero_stage(sft) == 2 and zero_stage(rl) == 3
    assert sft_launch["deepspeed_config"]["zero_stage"] == 2 and rl_launch["deepspeed_config"]["zero_stage"] == 3
    # visual-QA images at 256*28*28, video frames at 128*28*28
    for config in (load_config(CONFIGS / "qwen2_5_vl_7b_sft.yaml"), rl_config):
        assert config.data.image_max_pixels == 200704 and config.data.max_pixels == 100352
    assert rl["max_completion_length"] == 768 and rl["beta"] == 0.04 and rl["save_steps"] == sft["save_steps"] == 500


def test_grpo_ablation_switches_to_token_level_ratios_and_reward_ablations_reach_the_callables():
    rl = load_config(CONFIGS / "qwen2_5_vl_7b_rl.yaml", ["algo=grpo", "rewards.sigma=2.0", "rewards.gating=false"])
    kwargs = grpo_kwargs(rl)
    assert kwargs["importance_sampling_level"] == "token" and kwargs["epsilon"] == 0.2
    funcs = reward_funcs(rl)
    assert [f.__name__ for f in funcs] == ["accuracy_reward", "temporal_reward", "spatial_reward", "format_reward"]


def test_tiny_recipes_load_and_train_on_cpu_settings():
    for name, stage in (("tiny_sft.yaml", "sft"), ("tiny_rl.yaml", "rl")):
        config = load_config(CONFIGS / name, stage=stage)
        assert config.trainer["activation_checkpointing"] is False and config.threads == 2
        assert config.trainer["per_device_train_batch_size"] > 1  # padded batches, several prompts per step
    rl = load_config(CONFIGS / "tiny_rl.yaml")
    assert rl.trainer["per_device_train_batch_size"] // rl.trainer["num_generations"] >= 2


def test_cli_prints_the_resolved_config_with_flag_ablations(capsys):
    code = main(["train", "rl", "--config", str(CONFIGS / "qwen2_5_vl_7b_rl.yaml"), "--algo", "grpo",
                 "--fixed-sigma", "1.5", "--no-gating", "--print-config", "trainer.learning_rate=2e-6"])
    out = capsys.readouterr().out
    assert code == 0
    assert "algo: grpo" in out and "sigma: 1.5" in out and "gating: false" in out and "learning_rate: 2.0e-06" in out


def test_typed_values_reach_the_config_as_they_are_even_where_yaml_would_read_them_otherwise(tmp_path):
    """Paths that YAML reads as a number, a null or a list, set as values, stay the strings they are."""
    path = write(tmp_path, "stage: sft\nmodel: m\noutput_dir: o\ndata: {train: a.json}\n")
    values = {"model": "1e3", "output_dir": "null", "data.train": ["runs/a, b.json", "[c].json"], "data.root": None,
              "data.blank_frames": True, "seed": 7}
    config = load_config(path, values=values)
    assert config.model == "1e3" and config.output_dir == "null"
    assert config.data.train == ["runs/a, b.json", "[c].json"] and config.data.root is None
    assert config.data.blank_frames is True and config.seed == 7
    # a value of the wrong type is still named by its key
    with pytest.raises(ConfigError, match="data.num_frames"):
        load_config(path, values={"data.num_frames": "many"})
    # the command line's text overrides come after the values
    assert load_config(path, ["seed=3"], values={"seed": 7}).seed == 3


def test_cli_refuses_a_flag_and_an_override_that_set_the_same_key(capsys):
    code = main(["train", "rl", "--config", str(CONFIGS / "qwen2_5_vl_7b_rl.yaml"), "--fixed-sigma", "1.5",
                 "--print-config", "rewards.sigma=2"])
    assert code == 2
    assert capsys.readouterr().err.strip() == ("o3video train rl: 'rewards.sigma=2' and a flag both set rewards.sigma; "
                                               "give one of them")


def test_cli_rejects_a_wrong_stage_with_a_message(capsys):
    code = main(["train", "sft", "--config", str(CONFIGS / "qwen2_5_vl_7b_rl.yaml"), "--print-config"])
    assert code == 2 and "is a 'rl' config" in capsys.readouterr().err


@pytest.mark.slow
def test_a_non_editable_install_ships_the_configs_the_demo_and_train_use(tmp_path):
    """`pip install .` (not editable) then commands from another folder: the shipped configs come along."""
    import subprocess
    import sys

    root = Path(__file__).resolve().parents[1]
    target = tmp_path / "site"
    subprocess.run([sys.executable, "-m", "pip", "install", "-q", "--no-deps", "--no-build-isolation", "--target",
                    str(target), str(root)], check=True, capture_output=True)
    elsewhere = tmp_path / "elsewhere"
    elsewhere.mkdir()
    env = {**os.environ, "PYTHONPATH": str(target)}
    code = ("import o3video, pathlib; from o3video.lab.demo.run import DemoSettings; s = DemoSettings(); "
            "print(pathlib.Path(o3video.__file__).parent); print(s.sft_config.is_file() and s.rl_config.is_file())")
    shown = subprocess.run([sys.executable, "-c", code], cwd=elsewhere, env=env, capture_output=True, text=True, check=True)
    package, found = shown.stdout.split()
    assert Path(package).is_relative_to(target) and found == "True"
    printed = subprocess.run([sys.executable, "-m", "o3video.cli", "train", "sft", "--config", "tiny_sft.yaml",
                              "--print-config"], cwd=elsewhere, env=env, capture_output=True, text=True)
    assert printed.returncode == 0, printed.stderr
    assert "learning_rate: 0.003" in printed.stdout


def test_single_gpu_lora_recipes_keep_the_official_batch_and_build_a_peft_config():
    from o3video.train.lora import lora_config

    sft = trainer_kwargs(load_config(CONFIGS / "qwen2_5_vl_7b_sft_lora.yaml"), SFT_DEFAULTS)
    rl_config = load_config(CONFIGS / "qwen2_5_vl_7b_rl_lora.yaml")
    rl = grpo_kwargs(rl_config)
    assert sft["per_device_train_batch_size"] * sft["gradient_accumulation_steps"] == 8  # records per step, 1 GPU
    assert rl["per_device_train_batch_size"] * rl["gradient_accumulation_steps"] // rl["num_generations"] == 8
    assert rl["steps_per_generation"] == rl["gradient_accumulation_steps"]  # one on-policy rollout per step
    assert "deepspeed" not in sft and "deepspeed" not in rl
    peft = lora_config(rl_config.lora)
    assert peft.r == 64 and peft.task_type == "CAUSAL_LM" and "language_model" in peft.target_modules


def test_vllm_generation_settings_reach_trls_grpo_config():
    """vLLM itself needs a GPU (not here): this checks only that the recipe's settings reach GRPOConfig."""
    from o3video.train.rl import rl_args

    config = load_config(CONFIGS / "tiny_rl.yaml", ["trainer.use_vllm=true", "trainer.vllm_mode=colocate",
                                                    "trainer.vllm_gpu_memory_utilization=0.3"])
    args = rl_args(config)
    assert args.use_vllm and args.vllm_mode == "colocate" and args.vllm_gpu_memory_utilization == 0.3
    server = rl_args(load_config(CONFIGS / "tiny_rl.yaml", ["trainer.use_vllm=true", "trainer.vllm_mode=server",
                                                            "trainer.vllm_server_port=8001"]))
    assert server.vllm_mode == "server" and server.vllm_server_port == 8001


def flat(mapping, prefix=""):
    """A nested mapping as {dotted key: value}."""
    out = {}
    for key, value in mapping.items():
        if isinstance(value, dict) and value:
            out.update(flat(value, f"{prefix}{key}."))
        else:
            out[f"{prefix}{key}"] = value
    return out


def documented_differences():
    """The rows of docs/scaling.md's table of what the `_official.yaml` files change: (stage, key) -> the
    official file's value and o3video's, read as YAML (`absent`: neither set)."""
    text = (CONFIGS.parents[1] / "docs" / "scaling.md").read_text()
    section = text.split("### The official values as their own files", 1)[1].split("\n\n## ", 1)[0]
    rows = {}
    for line in section.splitlines():
        cells = [c.strip() for c in line.strip().strip("|").split("|")]
        if len(cells) == 5 and cells[0] in ("sft", "rl"):
            official, ours = (None if c == "absent" else yaml.safe_load(c.strip("`")) for c in cells[2:4])
            rows[(cells[0], cells[1].strip("`"))] = (official, ours)
    return rows


@pytest.mark.parametrize("stage", ["sft", "rl"])
def test_official_files_differ_from_ours_exactly_where_the_docs_table_says(stage):
    ours = flat(load_config(CONFIGS / f"qwen2_5_vl_7b_{stage}.yaml").to_dict())
    official = flat(load_config(CONFIGS / f"qwen2_5_vl_7b_{stage}_official.yaml").to_dict())
    differences = {key: (official.get(key), ours.get(key)) for key in set(ours) | set(official)
                   if official.get(key) != ours.get(key)}
    table = {key: values for (row_stage, key), values in documented_differences().items() if row_stage == stage}
    assert differences == table


def test_official_files_carry_the_official_scripts_values():
    """Open-o3-Video@1eb6eca run_{sft,grpo}_video.sh and grpo_trainer.py's fixed clip range and sampling."""
    sft = trainer_kwargs(load_config(CONFIGS / "qwen2_5_vl_7b_sft_official.yaml"), SFT_DEFAULTS)
    rl = grpo_kwargs(load_config(CONFIGS / "qwen2_5_vl_7b_rl_official.yaml"))
    assert (rl["epsilon"], rl["epsilon_high"], rl["importance_sampling_level"]) == (0.2, 0.2, "sequence")
    assert (rl["top_p"], rl["temperature"], rl["num_generations"], rl["beta"]) == (0.95, 1.0, 4, 0.04)
    assert rl["per_device_train_batch_size"] == 4 and rl["steps_per_generation"] == rl["gradient_accumulation_steps"]
    for kwargs, stage in ((sft, 2), (rl, 3)):
        assert kwargs["learning_rate"] == 1e-6 and kwargs["max_grad_norm"] == 5 and kwargs["save_only_model"]
        assert kwargs["save_steps"] == 500 and zero_stage(kwargs) == stage and "save_total_limit" not in kwargs
    assert rl["lr_scheduler_type"] == "cosine" and rl["weight_decay"] == 0.01
    assert sft["lr_scheduler_type"] == "linear" and sft["warmup_steps"] == 0


def test_the_runs_one_progress_bar_replaces_transformers_bar_and_its_printer(tmp_path):
    """With `disable_tqdm` transformers prints every log dict on a line of its own (PrinterCallback); the run's own
    bar replaces that as it replaces the tqdm bar."""
    import torch
    from transformers import Trainer, TrainingArguments
    from transformers.trainer_callback import PrinterCallback, ProgressCallback

    from o3video.train.callbacks import CompactProgress
    from o3video.train.common import replace_progress_bar

    for disable in (True, False):
        args = TrainingArguments(output_dir=str(tmp_path), disable_tqdm=disable, report_to=[], use_cpu=True)
        trainer = Trainer(model=torch.nn.Linear(2, 2), args=args)
        replace_progress_bar(trainer, "SFT")
        kinds = [type(c) for c in trainer.callback_handler.callbacks]
        assert PrinterCallback not in kinds and ProgressCallback not in kinds and kinds.count(CompactProgress) == 1
