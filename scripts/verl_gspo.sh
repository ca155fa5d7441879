#!/usr/bin/env bash
# GSPO on verl (Ray; one node or many) with the paper's reward, from rows `o3video export --to verl` wrote:
#
#   o3video export --to verl --config o3video/configs/qwen2_5_vl_7b_rl.yaml --out data/stgr_rl.parquet
#   NNODES=2 bash scripts/verl_gspo.sh data/stgr_rl.parquet Qwen/Qwen2.5-VL-7B-Instruct runs/verl_gspo [overrides]
#
# The settings follow o3video/configs/qwen2_5_vl_7b_rl.yaml (docs/scaling.md): 4 completions per prompt, 8 prompts
# per step, one update per rollout, GSPO's sequence-level loss (policy_loss.loss_mode=gspo, seq-mean-token-mean),
# KL 0.04, top_p 0.95, 768 new tokens, lr 1e-6 cosine, weight decay 0.01, grad clip 5. verl passes no training step
# to a reward function, so σ is fixed (reward.custom_reward_function.reward_kwargs.sigma, default 1: the end of the
# paper's 4 -> 1 schedule). verl 0.9.1's main_ppo reads the reward function from `reward.custom_reward_function`
# only (the top-level `custom_reward_function` of older verl is no longer read there).
# limit_images bounds the frames per prompt vLLM accepts: 16 uniform frames plus inserted key frames.
# verl is not in o3video's tested set (verl 0.9.1 needs transformers <5.11): install it in its own environment,
# with o3video (`pip install -e .`, no extras) beside it for the reward function.
set -euo pipefail
train=${1:?rows from o3video export --to verl}; model=${2:?model}; out=${3:?checkpoint folder}; shift 3
reward=$(python -c 'import o3video.integrations.verl as v; print(v.__file__)')
python3 -m verl.trainer.main_ppo \
    algorithm.adv_estimator=grpo \
    actor_rollout_ref.actor.policy_loss.loss_mode=gspo \
    actor_rollout_ref.actor.loss_agg_mode=seq-mean-token-mean \
    actor_rollout_ref.actor.clip_ratio_low=0.0003 \
    actor_rollout_ref.actor.clip_ratio_high=0.0004 \
    data.train_files="['$train']" \
    data.val_files="['$train']" \
    data.prompt_key=prompt \
    data.image_key=images \
    data.return_raw_chat=True \
    data.truncation=error \
    data.train_batch_size=8 \
    data.max_prompt_length=16384 \
    data.max_response_length=768 \
    actor_rollout_ref.model.path="$model" \
    actor_rollout_ref.model.enable_gradient_checkpointing=true \
    actor_rollout_ref.actor.optim.lr=1e-6 \
    actor_rollout_ref.actor.optim.weight_decay=0.01 \
    actor_rollout_ref.actor.optim.lr_scheduler_type=cosine \
    actor_rollout_ref.actor.grad_clip=5.0 \
    actor_rollout_ref.actor.ppo_mini_batch_size=8 \
    actor_rollout_ref.actor.ppo_epochs=1 \
    actor_rollout_ref.actor.ppo_micro_batch_size_per_gpu=1 \
    actor_rollout_ref.actor.use_kl_loss=true \
    actor_rollout_ref.actor.kl_loss_coef=0.04 \
    actor_rollout_ref.rollout.name=vllm \
    actor_rollout_ref.rollout.n=4 \
    actor_rollout_ref.rollout.temperature=1.0 \
    actor_rollout_ref.rollout.top_p=0.95 \
    actor_rollout_ref.rollout.log_prob_micro_batch_size_per_gpu=1 \
    actor_rollout_ref.ref.log_prob_micro_batch_size_per_gpu=1 \
    +actor_rollout_ref.rollout.limit_images=32 \
    reward.custom_reward_function.path="$reward" \
    reward.custom_reward_function.name=compute_score \
    +reward.custom_reward_function.reward_kwargs.sigma=1.0 \
    trainer.default_local_dir="$out" \
    trainer.n_gpus_per_node="${GPUS_PER_NODE:-8}" \
    trainer.nnodes="${NNODES:-1}" \
    trainer.resume_mode=auto \
    trainer.logger='["console","tensorboard"]' \
    trainer.val_before_train=false \
    "$@"
