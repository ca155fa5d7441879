"""Judges for V-STaR's *what* answers: score a candidate 0–3 against the ground truth.

* `exact`  — closed-vocabulary answers (the synthetic world): 3 if the normalised answers are equal,
  2 if the candidate contains the ground truth as a phrase, else 0. No model.
* `hf:PATH` — a local causal LM (the benchmark uses Qwen2.5-72B-Instruct) with the benchmark's prompt.
* `openai:BASE_URL:MODEL` — any OpenAI-compatible server (vLLM, SGLang, ...) with the same prompt;
  the key comes from `OPENAI_API_KEY` (any value for servers that ignore it); `gemini-openai:MODEL`
  likewise, with GEMINI_API_KEY. Specs are read by `o3video.remote.parse_remote_spec`, as the annotators' are.
A judge is a callable `(question, ground_truth, candidate) -> int`, −1 when its reply is unreadable.
Model judges read their reply with `parse_rating` (the first 0–3 in it) by default, or with
`official_rating` (the whole reply as an int) to score as the official V-STaR scripts do.
"""

from __future__ import annotations

import re
from collections.abc import Callable

from o3video.rewards import exact_rating

JUDGE_SYSTEM_PROMPT = """
As an AI assistant, your task is to evaluate a candidate answer in comparison to a given correct answer.
The question itself, the correct 'groundtruth' answer, and the candidate answer will be provided to you.
Your assessment should range from 0 to 3, based solely on the semantic similarity between the groundtruth and the candidate answer, disregarding any grammatical differences.
A rating of 0 suggests no similarity, implying the candidate answer is entirely incorrect.
A rating of 1 suggests low similarity, meaning the candidate answer is largely incorrect.
A rating of 2 suggests high similarity, meaning the candidate answer is largely correct.
Lastly, a rating of 3 indicates complete similarity, which means the candidate answer is entirely correct.
Your response should be a single integer from 0, 1, 2, or 3.
"""
JUDGE_USER_TEMPLATE = "Question: {}\nGroundtruth answer: {}\nCandidate answer: {}\nYour response: "

Judge = Callable[[str, str, str], int]


def parse_rating(reply: str) -> int:
    """The 0–3 rating in a judge's reply; −1 if there is none."""
    match = re.search(r"\b([0-3])\b", reply or "")
    return int(match.group(1)) if match else -1


def official_rating(reply: str) -> int:
    """The rating as both official V-STaR scorers read a judge's reply: the whole reply as a Python int
    (`" 2\n"` is 2, `"5"` is 5 and counts as correct), −1 when it is not one (`"Rating: 2"`, `"2."`)."""
    try:
        return int(reply)
    except (TypeError, ValueError):
        return -1


Rating = Callable[[str], int]


def exact_judge(question: str, ground_truth: str, candidate: str) -> int:
    return exact_rating(ground_truth, candidate)


def judge_messages(question: str, ground_truth: str, candidate: str) -> list[dict[str, str]]:
    return [{"role": "system", "content": JUDGE_SYSTEM_PROMPT},
            {"role": "user", "content": JUDGE_USER_TEMPLATE.format(question, ground_truth, candidate)}]


class HFJudge:
    """A local instruction-tuned LM loaded with transformers, greedy decoding."""

    def __init__(self, path: str, *, device_map: str | None = "auto", max_new_tokens: int = 16, rating: Rating = parse_rating):
        from transformers import AutoModelForCausalLM, AutoTokenizer

        self.rating = rating
        self.tokenizer = AutoTokenizer.from_pretrained(path)
        self.model = AutoModelForCausalLM.from_pretrained(path, dtype="auto", device_map=device_map)
        self.max_new_tokens = max_new_tokens

    def __call__(self, question: str, ground_truth: str, candidate: str) -> int:
        import torch

        text = self.tokenizer.apply_chat_template(judge_messages(question, ground_truth, candidate), tokenize=False, add_generation_prompt=True)
        inputs = self.tokenizer([text], return_tensors="pt").to(self.model.device)
        with torch.no_grad():
            out = self.model.generate(**inputs, max_new_tokens=self.max_new_tokens, do_sample=False)
        reply = self.tokenizer.decode(out[0, inputs["input_ids"].shape[1] :], skip_special_tokens=True)
        return self.rating(reply)


class OpenAIJudge:
    """A model behind an OpenAI-compatible chat-completions endpoint; the client retries with backoff."""

    def __init__(self, base_url: str, model: str, *, max_retries: int = 3, timeout: float = 60.0,
                 api_key_env: str = "OPENAI_API_KEY", rating: Rating = parse_rating):
        from o3video.remote import openai_client

        self.rating = rating
        self.client = openai_client(base_url, api_key_env=api_key_env, max_retries=max_retries, timeout=timeout)
        self.model = model

    def __call__(self, question: str, ground_truth: str, candidate: str) -> int:
        reply = self.client.chat.completions.create(
            model=self.model, messages=judge_messages(question, ground_truth, candidate), temperature=0.0, max_tokens=16
        )
        return self.rating(reply.choices[0].message.content or "")


def parse_judge_spec(spec: str) -> tuple[str, ...]:
    """`("exact",)`, `("hf", PATH)` or `(kind, BASE_URL, MODEL)` for an OpenAI-compatible remote spec
    (`o3video.remote.parse_remote_spec`: `openai:BASE_URL:MODEL`, `gemini-openai:MODEL`). Checked apart
    from `make_judge` so that a typo is found before an evaluation runs, not after it."""
    from o3video.remote import OPENAI_COMPATIBLE, parse_remote_spec

    if spec == "exact":
        return ("exact",)
    kind, _, rest = spec.partition(":")
    if kind == "hf" and rest:
        return ("hf", rest)
    return tuple(parse_remote_spec(spec, what="--judge: unknown judge", kinds=OPENAI_COMPATIBLE, also=LOCAL_JUDGES))


LOCAL_JUDGES = ("exact", "hf:PATH")  # the judges that need no server


def judge_forms() -> str:
    """The values `--judge` takes, as a list in words."""
    from o3video.remote import OPENAI_COMPATIBLE, spec_forms

    return spec_forms(OPENAI_COMPATIBLE, LOCAL_JUDGES)


def make_judge(spec: str, *, rating: Rating = parse_rating) -> Judge:
    """The judge `spec` names (see `parse_judge_spec`); a model judge reads its reply with `rating`
    (`official_rating` to read it as the official V-STaR scorers do)."""
    from o3video.remote import RemoteSpec

    kind, *rest = parse_judge_spec(spec)
    if kind == "exact":
        return exact_judge
    if kind == "hf":
        return HFJudge(rest[0], rating=rating)
    remote = RemoteSpec(kind, *rest)
    return OpenAIJudge(remote.base_url, remote.model, api_key_env=remote.key_env, rating=rating)
