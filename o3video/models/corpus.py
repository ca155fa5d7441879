"""Text corpora for training the tiny model's tokenizer.

`default_corpus` is a small built-in corpus in the project's formats (frame prompts, questions,
options, grounded `<think>…</think><answer>…</answer>` strings full of numbers) so the tokenizer
sees the pieces it will meet; the demo passes the synthetic dataset's own texts instead, read with
`read_corpus` from a `.txt` (one text per line) or `.jsonl` (records; all their text fields).
"""

from __future__ import annotations

import json
import random
from collections.abc import Iterator, Sequence
from pathlib import Path

from o3video.grammar import Claim, render_claim, render_completion, render_span

_OBJECTS = (
    "red car", "blue ball", "white dog", "person", "bicycle", "green box", "black cat",
    "yellow cup", "man in a hat", "woman", "bus", "traffic light", "chair", "laptop", "bird",
)
_ACTIONS = (
    "stops at the light", "rolls to the left", "jumps over the fence", "picks up the cup",
    "walks towards the door", "turns around", "sits down", "opens the laptop", "flies away",
    "moves to the right", "enters the frame", "leaves the scene",
)
_QUESTIONS = (
    "What does the {o} do after it appears?",
    "When does the {o} {a}?",
    "Where is the {o} when it {a}?",
    "Which object {a} first?",
    "How many times does the {o} {a}?",
    "Describe what happens to the {o}.",
    "Please find the {o} in the image and give its bounding box.",
    "Give the query: '{o} {a}', when does the described content occur in the video?",
)
_SENTENCES = (
    "The video shows a street scene with several objects moving.",
    "Answer with the option's letter from the given choices directly.",
    "Think step by step and cite the time and the box of every object you mention.",
    "First output the thinking process in <think> </think> tags and then output the final "
    "answer in <answer> </answer> tags.",
    "You are a helpful assistant.",
)


def default_corpus(n_texts: int = 600, seed: int = 0) -> list[str]:
    """A deterministic list of `n_texts` texts in the project's prompt and answer formats."""
    rng = random.Random(seed)
    makers = (_frame_prompt, _question, _grounded_answer, _temporal_answer, _mcq_prompt)
    texts = list(_SENTENCES)
    while len(texts) < n_texts:
        texts.append(makers[len(texts) % len(makers)](rng))
    return texts


def _time(rng: random.Random) -> float:
    return round(rng.uniform(0, 180), 1)


def _claim(rng: random.Random) -> str:
    boxes = []
    for _ in range(rng.choice((1, 1, 2))):
        x1, y1 = rng.randint(0, 300), rng.randint(0, 200)
        boxes.append((x1, y1, x1 + rng.randint(8, 200), y1 + rng.randint(8, 150)))
    return render_claim(Claim(rng.choice(_OBJECTS), tuple(boxes), _time(rng)))


def _frame_prompt(rng: random.Random) -> str:
    """Frame labels exactly as the prompt builder writes them (tokenizer-training text)."""
    from o3video.video.prompt import frame_label

    start = rng.randint(1, 12)
    times = sorted(_time(rng) for _ in range(4))
    return " ".join(frame_label(i, t) for i, t in enumerate(times, start=start))


def _question(rng: random.Random) -> str:
    template = rng.choice(_QUESTIONS)
    return template.format(o=rng.choice(_OBJECTS), a=rng.choice(_ACTIONS))


def _grounded_answer(rng: random.Random) -> str:
    claims = " Then ".join(f"the {_claim(rng)} {rng.choice(_ACTIONS)}." for _ in range(rng.randint(1, 3)))
    return render_completion(claims[0].upper() + claims[1:], rng.choice(_ACTIONS))


def _temporal_answer(rng: random.Random) -> str:
    start, end = sorted((_time(rng), _time(rng)))
    think = f"The {rng.choice(_OBJECTS)} {rng.choice(_ACTIONS)} between {start}s and {end}s."
    return render_completion(think, render_span(start, end) + ".")


def _mcq_prompt(rng: random.Random) -> str:
    options = rng.sample(_ACTIONS, 4)
    lines = [f"{letter}. {option}" for letter, option in zip("ABCD", options)]
    return f"{_question(rng)}\nOptions:\n" + "\n".join(lines) + f"\nCorrect Option: {rng.choice('ABCD')}"


def read_corpus(path: str | Path) -> Iterator[str]:
    """Texts from a `.txt` file (each non-empty line) or a `.jsonl` file (every string value of
    every record, recursively, except file paths — keys ending in `path`)."""
    path = Path(path)
    if path.suffix not in (".txt", ".jsonl"):
        raise ValueError(f"{path}: corpus must be a .txt or .jsonl file")
    with path.open(encoding="utf-8") as lines:
        for line_number, line in enumerate(lines, start=1):
            if not line.strip():
                continue
            if path.suffix == ".txt":
                yield line.rstrip("\n")
                continue
            try:
                record = json.loads(line)
            except json.JSONDecodeError as error:
                raise ValueError(f"{path}:{line_number}: not valid JSON ({error.msg})") from None
            yield from _strings_in(record)


def _strings_in(value: object, key: str = "") -> Iterator[str]:
    if isinstance(value, str):
        if value and not key.endswith("path"):
            yield value
    elif isinstance(value, dict):
        for child_key, child in value.items():
            yield from _strings_in(child, str(child_key))
    elif isinstance(value, list):
        for child in value:
            yield from _strings_in(child, key)


def tokenizer_corpus(stgr_files: list[Path], vstar_files: Sequence[Path] = ()) -> list[str]:
    """The tiny tokenizer's corpus: the run's own texts — every prompt part the builder writes, the training
    records and the benchmark questions (the tokenizer must know the words it will be asked in)."""
    from o3video.data.vstar import vstar_prompts
    from o3video.geometry import BoxConvention
    from o3video.io import json_records
    from o3video.tasks import Task
    from o3video.video.prompt import answer_instruction, frame_label, system_prompt

    texts = [system_prompt(t, c) for c in BoxConvention for t in Task] + [answer_instruction(t) for t in Task]
    texts += [frame_label(i, i * 0.25) for i in range(1, 64)]
    for path in stgr_files:
        for r in json.loads(Path(path).read_text()):
            texts += [r.get("question", ""), r.get("answer", ""), r.get("reasoning_process", ""), r.get("instruction", "")]
    for path in vstar_files:
        for annotation in json_records(path):
            texts += [p.question + "\n" + p.instruction for p in vstar_prompts(annotation)]
    return [t for t in texts if t]
