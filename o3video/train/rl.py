"""Stage 2: reinforcement learning with GSPO (or token-level GRPO, the ablation) on TRL's GRPOTrainer.

GSPO is GRPOTrainer with `importance_sampling_level="sequence"`: one importance ratio per completion
(the geometric mean of its token ratios), clipped per sequence, with the clip range TRL documents
for it (ε = 3e-4, ε_high = 4e-4); `algo: grpo` switches to token-level ratios with ε = 0.2. The
reward is the paper's, `r = r_acc + r_t + r_s + r_fmt`, as four reward functions from
`o3video.rewards` (TRL sums them, then normalises within each group of generations and logs each
term per step). They read progress `step / max_steps` from the trainer state, so σ anneals 4 → 1 over
the run; `rewards.sigma` fixes σ and `rewards.gating: false` removes the temporal gate (ablations).

Several prompts per step (`per_device_train_batch_size / num_generations`), all generated in one batch,
each asked `num_generations` times — not one prompt per device per step as the reference code does.
"""

from __future__ import annotations

import logging
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from o3video.models.load import frame_settings, set_box_convention
from o3video.train.callbacks import METRICS_FILE, MetricsLogger, sigma_of_state
from o3video.train.common import (
    load_for_training,
    prepare_output,
    replace_progress_bar,
    run_trainer,
    set_threads,
    trainer_kwargs,
)
from o3video.train.completion_log import COMPLETIONS_FILE, CompletionLog
from o3video.train.lora import lora_config
from o3video.train.rl_data import rl_dataset
from o3video.train.train_config import TrainConfig
from o3video.train.train_records import load_training_records, read_training_files, task_mix

log = logging.getLogger(__name__)

RL_DEFAULTS: dict[str, Any] = {
    "learning_rate": 1e-6,  # the paper's
    "num_train_epochs": 1,
    "num_generations": 4,
    "max_completion_length": 768,
    "temperature": 1.0,
    "beta": 0.0,
    "save_strategy": "steps",
    "save_steps": 200,
}


def reward_funcs(config: TrainConfig) -> list[Any]:
    """The paper's reward terms as TRL reward functions, with the config's ablations applied (V-STaR
    practice rows, `vstar_kind`, are scored by `o3video.rewards` like `o3video score` scores them)."""
    from o3video.rewards import reward_functions

    tau = config.rewards.tau if config.rewards.gating else None
    return reward_functions(sigma=config.rewards.sigma, tau=tau, terms=config.rewards.terms)


def grpo_kwargs(config: TrainConfig) -> dict[str, Any]:
    """GRPOConfig kwargs: defaults, then the algorithm's ratio level and clipping, then the file's `trainer`."""
    algo = dict(config.algo_settings.get(config.algo) or {})
    if not algo:
        raise ValueError(f"no settings for algo {config.algo!r} in algo_settings")
    return trainer_kwargs(config, {**RL_DEFAULTS, **algo})


def rl_args(config: TrainConfig):
    """TRL's GRPOConfig for `config` (made before the model loads: see `o3video.train.common.run_trainer`)."""
    from trl import GRPOConfig

    return GRPOConfig(**grpo_kwargs(config))


def build_rl_trainer(config: TrainConfig, *, args: Any = None, model: Any = None, processor: Any = None,
                     callbacks: Sequence[Any] = ()):
    """The GRPOTrainer for `config` (model loaded unless given); nothing is trained yet."""
    from o3video.train.trainers import GroundedGRPOTrainer

    set_threads(config.threads)
    args = args if args is not None else rl_args(config)
    out = prepare_output(config)
    files = read_training_files(config.data)  # every record checked before the model loads
    model, processor = load_for_training(config, model, processor)
    # GRPOTrainer left-pads the prompt ids itself but re-runs the processor with its default padding side
    # for the multimodal fields of the log-prob pass; with right padding, Qwen's mm_token_type_ids no
    # longer line up with the ids, the mRoPE positions of every padded prompt are wrong (and a batch of
    # prompts with different frame counts fails outright). Left padding makes the two agree.
    processor.tokenizer.padding_side = "left"
    convention = set_box_convention(model, config.box_convention)  # targets and rewards write boxes in it
    records = load_training_records(config.data, frame_settings(processor), files, convention)
    log.info("%s on %d records: %s", config.algo.upper(), len(records), task_mix(records))
    if args.use_vllm:
        check_vllm(config, records, processor)
    logger = MetricsLogger(out / METRICS_FILE, extra=sigma_of_state(config.rewards.sigma))
    trainer = GroundedGRPOTrainer(
        model=model,
        reward_funcs=reward_funcs(config),
        args=args,
        train_dataset=rl_dataset(records),
        processing_class=processor,
        peft_config=lora_config(config.lora),
        callbacks=[logger, *callbacks],
    )
    if config.completions_every:
        trainer.completion_log = CompletionLog(out / COMPLETIONS_FILE, config.completions_every)
    replace_progress_bar(trainer, config.algo.upper())
    return trainer, processor, out


def check_vllm(config: TrainConfig, records: list[Any], processor: Any) -> None:
    """Before a vLLM run: vLLM's prompt (its processor: the checkpoint's own) equals the trainer's for a record of
    each task; logs the image limit per prompt, for `trl vllm-serve --limit-mm-per-prompt` in server mode."""
    from o3video.models.load import load_processor
    from o3video.train.vllm_prompt import check_for_vllm

    limit = check_for_vllm(records, processor, load_processor(config.model, max_pixels=None), config.data.num_frames)
    log.info("vLLM rollouts: at most %d images per prompt; server mode: trl vllm-serve --model %s "
             "--limit-mm-per-prompt '{\"image\": %d}'", limit, config.model, limit)


def train_rl(config: TrainConfig, *, model: Any = None, processor: Any = None, callbacks: Sequence[Any] = ()) -> Path:
    """Run GSPO/GRPO (resuming from the last checkpoint in `output_dir` if any; a finished run is left as it
    is); returns the saved model's directory."""
    return run_trainer(config, rl_args, build_rl_trainer, model=model, processor=processor, callbacks=callbacks)


__all__ = ["RL_DEFAULTS", "build_rl_trainer", "grpo_kwargs", "rl_args", "reward_funcs", "train_rl"]
