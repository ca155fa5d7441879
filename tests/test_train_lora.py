"""LoRA on the tiny model: a `lora:` SFT run and a GSPO run train only the adapter, save only the adapter,
resume from an adapter checkpoint to the uninterrupted run's adapter, and `load_model` loads the adapter
folder merged into its base model, answering as the unmerged model does."""

import json
import re
import shutil

import pytest
import torch
from safetensors.torch import load_file
from transformers import TrainerCallback

import o3video.train.rl as rl_module
from o3video.models import load_model
from o3video.train.checkpoints import STATE_FILE
from o3video.train.lora import quantization_config
from o3video.train.rl import train_rl
from o3video.train.sft import train_sft
from o3video.train.train_config import CONFIG_DIR, SHIPPED_CONFIGS, ConfigError, load_config

LORA = ["lora.r=8", "lora.lora_alpha=16", "lora.lora_dropout=0.0", "lora.target_modules=all-linear"]


class KeepsModel(TrainerCallback):
    """Holds the trained (PEFT-wrapped, unmerged) model at the end of training."""

    model = None

    def on_train_end(self, args, state, control, model=None, **kwargs):
        self.model = model


def overrides(synth_easy, tiny_model, out, stage, *extra):
    data = synth_easy / ("stgr_sft.json" if stage == "sft" else "stgr_rl.json")
    return [f"model={tiny_model}", f"output_dir={out}", f"data.train={data}", "data.num_frames=2", "data.limit=6",
            f"data.cache_dir={synth_easy / 'frame_cache'}", "trainer.activation_checkpointing=false", "threads=2",
            "trainer.learning_rate=1e-2", "trainer.lr_scheduler_type=constant", *LORA, *extra]


def base_weights_unchanged(peft_model, base_path):
    """Every base tensor of the trained PEFT model equals the base checkpoint's; the LoRA B matrices moved."""
    base, _ = load_model(base_path)
    original = base.state_dict()
    trained = peft_model.get_base_model().state_dict()
    lora = {k: v for k, v in trained.items() if "lora_" in k}
    plain = {k.replace(".base_layer", ""): v for k, v in trained.items() if "lora_" not in k}
    assert lora and any(v.abs().sum() > 0 for k, v in lora.items() if "lora_B" in k)
    assert set(plain) == set(original)
    return all(torch.equal(plain[k], original[k]) for k in original)


def answers(model, processor, text="the red ball"):
    ids = processor.tokenizer(text, return_tensors="pt").input_ids
    with torch.no_grad():
        return model(input_ids=ids).logits


def check_saved_adapter(out, trained, tiny_model):
    assert (out / "adapter_config.json").is_file() and (out / "adapter_model.safetensors").is_file()
    assert not (out / "model.safetensors").exists()  # only the adapter is saved
    merged, processor = load_model(out)
    assert not hasattr(merged, "peft_config")  # a plain model, the adapter merged in
    base, _ = load_model(tiny_model)
    unmerged = answers(trained.eval(), processor)
    assert torch.allclose(answers(merged, processor), unmerged, atol=1e-5)
    assert not torch.allclose(answers(base, processor), unmerged, atol=1e-5)


def test_lora_settings_are_checked_against_peft(tmp_path):
    config = load_config(None, ["model=m", "output_dir=o", "data.train=a", *LORA], stage="sft")
    assert config.lora == {"r": 8, "lora_alpha": 16, "lora_dropout": 0.0, "target_modules": "all-linear"}
    with pytest.raises(ConfigError, match="lora.rank: not a field of peft's LoraConfig"):
        load_config(None, ["model=m", "output_dir=o", "data.train=a", "lora.rank=8"], stage="sft")
    with pytest.raises(ConfigError, match="lora.r: expected an integer"):
        load_config(None, ["model=m", "output_dir=o", "data.train=a", "lora.r=abc"], stage="sft")


@pytest.mark.slow
def test_lora_sft_trains_only_the_adapter_and_resumes_from_an_adapter_checkpoint(synth_easy, tiny_model, tmp_path):
    run = ["trainer.max_steps=4", "trainer.save_steps=2", "trainer.per_device_train_batch_size=2"]
    kept = KeepsModel()
    full = train_sft(load_config(None, overrides(synth_easy, tiny_model, tmp_path / "full", "sft", *run), stage="sft"),
                     callbacks=[kept])
    assert base_weights_unchanged(kept.model, tiny_model)
    check_saved_adapter(full, kept.model, tiny_model)

    # the state of a run killed after checkpoint-2: later checkpoints and the final files gone
    cut = tmp_path / "cut"
    shutil.copytree(full, cut)
    shutil.rmtree(cut / "checkpoint-4")
    for name in (STATE_FILE, "adapter_model.safetensors", "adapter_config.json"):
        (cut / name).unlink()
    assert (cut / "checkpoint-2" / "adapter_model.safetensors").is_file()
    resumed = train_sft(load_config(None, overrides(synth_easy, tiny_model, cut, "sft", *run), stage="sft"))
    final = load_file(resumed / "adapter_model.safetensors")
    uninterrupted = load_file(full / "adapter_model.safetensors")
    assert set(final) == set(uninterrupted) and all(torch.equal(final[k], uninterrupted[k]) for k in final)


@pytest.mark.slow
def test_lora_gspo_on_an_sft_adapter_trains_only_its_own_adapter(synth_easy, tiny_model, tmp_path, monkeypatch):
    """GSPO's adapter on top of SFT's (the policy is the SFT adapter merged into the base): only the new adapter
    trains, and its folder loads base + SFT adapter + GSPO adapter. A random tiny model earns 0 on every paper
    reward (nothing to learn); a length reward gives each group different rewards, which is all this test
    needs: that GSPO's update reaches the adapter and only it."""

    def length_reward(completions, **kwargs):
        return [float(len(str(c))) for c in completions]

    sft = train_sft(load_config(None, overrides(synth_easy, tiny_model, tmp_path / "sft", "sft", "trainer.max_steps=1",
                                                "trainer.per_device_train_batch_size=2"), stage="sft"))
    monkeypatch.setattr(rl_module, "reward_funcs", lambda config: [length_reward])
    kept = KeepsModel()
    config = load_config(None, overrides(synth_easy, sft, tmp_path / "gspo", "rl", "trainer.max_steps=1",
                                         "trainer.num_generations=2", "trainer.per_device_train_batch_size=4",
                                         "trainer.max_completion_length=8", "trainer.beta=0.04"), stage="rl")
    out = train_rl(config, callbacks=[kept])
    assert json.loads((out / "adapter_config.json").read_text())["base_model_name_or_path"] == str(sft)
    assert base_weights_unchanged(kept.model, sft)
    check_saved_adapter(out, kept.model, sft)


LORA_CONFIGS = sorted(p.name for p in CONFIG_DIR.glob("qwen2_5_vl_*_lora*.yaml"))


def test_the_lora_configs_cover_3b_and_7b_for_sft_and_gspo_at_24_and_80_gb():
    shipped = {(name.split("_")[3], name.split("_")[4], "24gb" if "24gb" in name else "80gb") for name in LORA_CONFIGS}
    assert shipped == {(size, stage, card) for size in ("3b", "7b") for stage in ("sft", "rl")
                       for card in ("24gb", "80gb")}


@pytest.mark.parametrize("name", LORA_CONFIGS)
def test_each_lora_config_keeps_the_official_batch_and_states_its_peak_memory(name):
    config = load_config(CONFIG_DIR / name)
    trainer = config.trainer
    assert config.lora["r"] in (16, 64) and config.trainer["activation_checkpointing"]
    assert config.model.startswith(("Qwen/Qwen2.5-VL-", "runs/")) and ("3b" in name) == ("3B" in config.model or
                                                                                        "3b" in config.model)
    per_step = trainer["per_device_train_batch_size"] * trainer["gradient_accumulation_steps"]
    if config.stage == "sft":
        assert per_step == 8
    else:  # 8 prompts x 4 generations per optimizer step, one on-policy rollout per step
        assert per_step == 32 and trainer["num_generations"] == 4
        assert trainer["steps_per_generation"] == trainer["gradient_accumulation_steps"]
    header = (CONFIG_DIR / name).read_text().split("\nstage:")[0]
    peak = re.search(r"Estimated peak, about (\d+) GB", header)
    assert peak and int(peak.group(1)) < (24 if "24gb" in name else 80)
    assert config.load_in_4bit == ("7b" in name and "24gb" in name)  # only the 7B needs 4-bit to fit 24 GB


def test_load_in_4bit_is_trls_nf4_bitsandbytes_config_and_needs_lora(tmp_path):
    bnb = quantization_config(True, "bfloat16")
    assert bnb.load_in_4bit and bnb.bnb_4bit_quant_type == "nf4" and bnb.bnb_4bit_use_double_quant
    assert bnb.bnb_4bit_compute_dtype == torch.bfloat16 and quantization_config(False, "bfloat16") is None
    assert quantization_config(True, "auto").bnb_4bit_compute_dtype == torch.bfloat16
    path = tmp_path / "c.yaml"
    path.write_text("stage: sft\nmodel: m\noutput_dir: o\ndata: {train: a}\nload_in_4bit: true\n")
    with pytest.raises(ConfigError, match="load_in_4bit needs lora"):
        load_config(path)
    assert load_config(path, ["lora.r=8"]).load_in_4bit


@pytest.mark.parametrize("name", [n for n in SHIPPED_CONFIGS if not n.startswith("accelerate_")])
def test_every_shipped_training_config_loads(name):
    assert load_config(CONFIG_DIR / name).stage in ("sft", "rl")
