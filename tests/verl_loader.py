"""Run with verl's python (scripts/verl_venv.sh): load a reward function with verl's own loader, the way verl's
trainer does for `custom_reward_function.{path,name,reward_kwargs}`, and score cases of exported rows with it.

    python tests/verl_loader.py ROWS.parquet CASES.json REWARD_FILE SIGMA

CASES.json is a list of `{"row": i, "text": completion}`; prints `{"verl", "transformers", "scores"}` as JSON, each
score as verl's reward manager receives it, called with the keywords that manager passes.
"""

import json
import sys

import pyarrow.parquet as pq
import transformers
import verl
from omegaconf import OmegaConf
from verl.trainer.ppo.reward import get_custom_reward_fn

if __name__ == "__main__":
    rows_file, cases_file, reward_file, sigma = sys.argv[1], sys.argv[2], sys.argv[3], float(sys.argv[4])
    reward = {"path": reward_file, "name": "compute_score", "reward_kwargs": {"sigma": sigma}}
    compute_score = get_custom_reward_fn(OmegaConf.create({"reward": {"custom_reward_function": reward}}))
    rows = pq.read_table(rows_file).to_pylist()
    scores = []
    for case in json.loads(open(cases_file, encoding="utf-8").read()):
        row = rows[case["row"]]
        scores.append(compute_score(data_source=row["data_source"], solution_str=case["text"],
                                    ground_truth=row["reward_model"]["ground_truth"], extra_info=row["extra_info"]))
    print(json.dumps({"verl": verl.__version__, "transformers": transformers.__version__, "scores": scores}))
