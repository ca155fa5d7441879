"""LoRA on the tiny model: a `lora:` SFT run and a GSPO run train only the adapter, save only the adapter,
resume from an adapter checkpoint to the uninterrupted run's adapter, and `load_model` loads the adapter
folder merged into its base model, answering as the unmerged model does."""

import json
import shutil

import pytest
import torch
from safetensors.torch import load_file
from transformers import TrainerCallback

import o3video.train.rl as rl_module
from o3video.models import load_model
from o3video.train.checkpoints import STATE_FILE
from o3video.train.rl import train_rl
from o3video.train.sft import train_sft
from o3video.train.train_config import ConfigError, load_config

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
