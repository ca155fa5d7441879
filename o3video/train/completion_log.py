"""Sample completions with their reward terms, every N steps of an RL run, to `completions.jsonl` in the run folder.

TRL's GRPOTrainer keeps the latest rollout (the prompts, completions, each reward function's value and the
advantage of every completion, gathered from all processes) for its own `log_completions` tables; every
`completions_every` optimizer steps the main process appends that rollout here, one JSON line per completion
(`o3video.io.JsonlLog`, keyed `step:index`, so a step redone after a resume replaces its rows when read).
"""

from __future__ import annotations

import math
from pathlib import Path
from typing import Any

from o3video.io import JsonlLog

COMPLETIONS_FILE = "completions.jsonl"


def message_text(message: Any) -> str:
    """The text of a chat message (its text items joined; images left out), or the string itself."""
    if isinstance(message, str):
        return message
    content = message.get("content", "")
    if isinstance(content, str):
        return content
    return "".join(item.get("text", "") for item in content if item.get("type") == "text")


class CompletionLog:
    """Appends the latest rollout's completions to `path` at every `every`-th step (each step once)."""

    def __init__(self, path: str | Path, every: int) -> None:
        self.log = JsonlLog(path, key="key")
        self.every = every
        self.written_step: int | None = None

    def write(self, step: int, rollout: dict[str, Any]) -> int:
        """Append the rows of `rollout` (TRL's `GRPOTrainer._logs`) for `step` when it is due; returns how many."""
        if step <= 0 or step % self.every or step == self.written_step:
            return 0
        self.written_step = step
        terms = {name: list(values) for name, values in rollout["rewards"].items()}
        advantages = list(rollout["advantages"])
        for index, (prompt, completion) in enumerate(zip(rollout["prompt"], rollout["completion"])):
            rewards = {name: values[index] for name, values in terms.items()}
            self.log.append({
                "key": f"{step}:{index}", "step": step, "index": index,
                "question": message_text(prompt[-1]) if isinstance(prompt, list) else prompt,
                "completion": "".join(message_text(m) for m in completion) if isinstance(completion, list)
                else completion,
                "reward": math.fsum(v for v in rewards.values() if v is not None and not math.isnan(v)),
                "rewards": rewards, "advantage": advantages[index],
            })
        return len(advantages)


__all__ = ["COMPLETIONS_FILE", "CompletionLog", "message_text"]
