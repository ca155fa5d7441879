"""Run with verl's python (scripts/verl_venv.sh): load the reward function with verl's own loader from a configuration
verl composed, and score cases of exported rows with it.

    python tests/verl_loader.py CONFIG.yaml ROWS.parquet CASES.json

CONFIG.yaml is what `python -m verl.trainer.main_ppo ... --cfg job` printed (verl's trainer configuration with the
launch's overrides); `get_custom_reward_fn` reads `reward.custom_reward_function` from it as verl's reward manager
does. CASES.json is a list of `{"row": i, "text": completion}`. Prints `{"verl", "transformers", "scores"}` as JSON,
each score as the reward manager receives it, from a call with the keywords that manager passes.
"""

import json
import sys
from pathlib import Path

import pyarrow.parquet as pq
import transformers
import verl
from omegaconf import OmegaConf
from verl.trainer.ppo.reward import get_custom_reward_fn

if __name__ == "__main__":
    config_file, rows_file, cases_file = sys.argv[1:4]
    compute_score = get_custom_reward_fn(OmegaConf.load(config_file))
    if compute_score is None:
        sys.exit(f"{config_file}: verl finds no custom reward function (reward.custom_reward_function.path)")
    rows = pq.read_table(rows_file).to_pylist()
    scores = []
    for case in json.loads(Path(cases_file).read_text(encoding="utf-8")):
        row = rows[case["row"]]
        scores.append(compute_score(data_source=row["data_source"], solution_str=case["text"],
                                    ground_truth=row["reward_model"]["ground_truth"], extra_info=row["extra_info"]))
    print(json.dumps({"verl": verl.__version__, "transformers": transformers.__version__, "scores": scores}))
