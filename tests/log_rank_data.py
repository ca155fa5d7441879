"""Train as one rank of a distributed launch and log, per rank, the data that rank really trained on.

    torchrun --nproc_per_node 2 tests/log_rank_data.py sft|rl LOG_DIR key=value ...

Each rank appends to `LOG_DIR/rank-<k>.jsonl`:
- sft: one line per batch its data collator received, `{"rank", "batch", "records"}`: the records of the batch's
  examples, told apart by their text (every record's example text is checked to be unique first);
- rl: one line per completion of each rollout it generated and scored, `{"rank", "rollout", "record_id", "rewards",
  "advantage"}`: `rewards` are the values each reward function returned for it on this rank, `advantage` the one this
  rank trains it with. The run's reward functions are the paper's four plus `rank_reward` (the scoring rank's index),
  which makes a group spread over both ranks differ in reward, so that a normalisation within one rank would show.
  Line `{"settings": ...}` first: TRL's reward weights, `scale_rewards` and `multi_objective_aggregation`.
"""

import functools
import sys
from pathlib import Path

from accelerate import PartialState

from o3video.io import json_line
from o3video.train import common, rl, sft
from o3video.train.completion_log import message_text
from o3video.train.sft_data import sft_example
from o3video.train.train_config import load_config
from o3video.train.train_prompts import record_name


class RankLog:
    """`folder/rank-<k>.jsonl` of this process (known once TRL's config has set the processes up)."""

    def __init__(self, folder: Path) -> None:
        self.folder = folder

    def write(self, **row) -> None:
        rank = PartialState().process_index
        with (self.folder / f"rank-{rank}.jsonl").open("a", encoding="utf-8") as f:
            f.write(json_line({"rank": rank, **row}))


def example_text(example: dict) -> str:
    return "\n".join(message_text(message) for message in example["messages"])


def logged_sft(log: RankLog):
    """build_sft_trainer whose trainer's collator logs the records of every batch it collates."""
    trained = []
    dataset = sft.sft_dataset
    sft.sft_dataset = lambda records: (trained.extend(records), dataset(records))[1]

    def build(config, **kwargs):
        trainer, processor, out = sft.build_sft_trainer(config, **kwargs)
        names = {example_text(sft_example(item)): record_name(item.record) for item in trained}
        assert len(names) == len(trained), "two records have the same example text"
        collate = trainer.data_collator
        batches = iter(range(10**9))

        def logging_collator(examples):
            log.write(batch=next(batches), records=[names[example_text(e)] for e in examples])
            return collate(examples)

        trainer.data_collator = logging_collator
        return trainer, processor, out

    return build


def rank_reward(completions, **kwargs) -> list[float]:
    """The index of the rank that scores the completions, for each of them."""
    return [float(PartialState().process_index)] * len(completions)


def logged_rl(log: RankLog):
    """build_rl_trainer whose reward functions keep this rank's values and whose rollouts log each completion."""
    returned: dict[str, list] = {}

    def keeping(func):
        @functools.wraps(func)
        def kept(*args, **kwargs):
            returned[func.__name__] = values = func(*args, **kwargs)
            return values

        return kept

    paper_rewards = rl.reward_funcs
    rl.reward_funcs = lambda config: [keeping(f) for f in [*paper_rewards(config), rank_reward]]

    def build(config, **kwargs):
        trainer, processor, out = rl.build_rl_trainer(config, **kwargs)
        log.write(settings={"reward_weights": trainer.reward_weights.tolist(), "scale_rewards": trainer.scale_rewards,
                            "aggregation": trainer.multi_objective_aggregation, "functions": trainer.reward_func_names})
        generate_and_score = trainer._generate_and_score_completions
        rollouts = iter(range(10**9))

        def logging_generate_and_score(inputs):
            returned.clear()
            batch = generate_and_score(inputs)
            rollout = next(rollouts)
            for i, row in enumerate(inputs):
                log.write(rollout=rollout, record_id=row["record_id"], advantage=batch["advantages"][i].item(),
                          rewards={name: returned[name][i] for name in trainer.reward_func_names})
            return batch

        trainer._generate_and_score_completions = logging_generate_and_score
        return trainer, processor, out

    return build


if __name__ == "__main__":
    stage, folder, overrides = sys.argv[1], Path(sys.argv[2]), sys.argv[3:]
    config = load_config(None, overrides, stage=stage)
    log = RankLog(folder)
    if stage == "sft":
        common.run_trainer(config, sft.sft_args, logged_sft(log))
    else:
        common.run_trainer(config, rl.rl_args, logged_rl(log))
