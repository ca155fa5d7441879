"""Fuzzing and timing of the parsers and rewards on hostile model output (issue #12): total, finite, linear.

Two tables:

* `random run` — N seeded random completions built from tag fragments and hostile pieces (1,200 nested
  `[`, 400-digit numbers, m:ss with 4,301 minute digits, `NaN`, `1e309`, ...) go through `grammar.parse`,
  the V-STaR answer parsers (`parse_temporal_answer`, `parse_spatial_answer` + `rescale_spatial`), and
  `rewards.score` on valid samples and on malformed ones (junk `key_frames`, NaN times, bad sizes, σ of 0,
  NaN, ...). A failure is an exception other than the documented input errors (`RewardInputError`, or a
  ValueError naming `sigma`), a non-finite number, or a result that is not standard JSON (`allow_nan=False`).
  Reports cases per second and the worst time per function.
* `repeated tags` — texts of `--size` characters (100k: `'<think>' * 14286`, `'<answer>' * 12500`, a
  100k-digit number, 100k spaces inside a `<t>`, ...): the time of each function at size/10 and at size, and
  the growth between them (about 10 when linear, 100 when quadratic). Target: parse and score under 0.1 s.

The summary counts cases and failures per class of the issue: (3) V-STaR answers, (4) repeated tags,
(6) rewards on malformed samples and σ. Uses only APIs older than the fixes, so it also runs on the code
before them (`PYTHONPATH=OLD_CHECKOUT python bench/parse_fuzz.py`) to count the failures there.

    python bench/parse_fuzz.py                  # 20,000 random cases, 100k-character repeated tags
    python bench/parse_fuzz.py --cases 2000 --size 20000 --json out.json
"""

from __future__ import annotations

import argparse
import json
import math
import random
import sys
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from o3video.data.vstar import parse_spatial_answer, parse_temporal_answer, rescale_spatial  # noqa: E402
from o3video.grammar import parse  # noqa: E402
from o3video.rewards import RewardInputError, score  # noqa: E402

TARGET_S = 0.1  # parse and score of `--size` characters
FRAGMENTS = ["<think>", "</think>", "<answer>", "</answer>", "<obj>", "</obj>", "<box>", "</box>", "<t>", "</t>", "s",
             " at ", "[", "]", ",", " ", "\n", "cup", "From ", " to ", "Correct Option: B", '{"1": ', "```json\n", "```"]
HOSTILE = ["[" * 1200, "{" * 300, "9" * 400, "1" * 4400, "1" * 4301 + ":30", "12:05", "1e309", "-1e309", "NaN",
           "Infinity", "-inf", "0" * 5000 + "1", "'", '"', ":", "null"]
VALID = [
    {"task": "temporal-spatial free-form QA", "answer": "the cup", "image_size": [64, 48],
     "key_frames": [{"idx": 1, "time": 1.0}, {"idx": 5, "time": 4.0}],
     "key_items": {"1": {"cup": [[0.1, 0.1, 0.5, 0.5]]}, "5": {"cup": [[0.2, 0.2, 0.9, 0.9]]}}},
    {"task": "temporal QA", "answer": "[1.0, 3.0]"},
    {"task": "temporal QA (MCQ)", "answer": "B\n[1.0, 3.0]"},
    {"task": "visual QA", "answer": "<box>[1,1,20,20]</box>", "image_size": [64, 48], "original_image_size": [128, 96]},
    {"task": "General video QA MCQ", "answer": "C"},
    {"task": "General video QA Free-form", "answer": "it rains"},
]
JUNK = [None, 5, -1, 0, 10**400, 1e308, math.nan, math.inf, "x", "1e999", "nan", [], [[]], {}, {"1": 5}, [1, 2],
        [math.nan, 1], [1e308, 1e308], [0, 0, 1e308, 1], [1e-300, 1e-300], [[0, 0, 10**400, 1]]]
FIELDS = ["task", "answer", "image_size", "original_image_size", "key_frames", "key_items"]
BAD_SIGMAS = [0.0, -1.0, math.nan, math.inf, "0"]


@dataclass
class Tally:
    cases: int = 0
    failures: int = 0
    seconds: float = 0.0
    worst_s: float = 0.0
    worst_chars: int = 0
    examples: list[str] = field(default_factory=list)

    def run(self, fn: Callable[[], Any], check: Callable[[Any], bool], size: int, allowed: tuple[type, ...] = (),
            allow: Callable[[BaseException], bool] = lambda err: False) -> None:
        """Time `fn()`; a failure is an exception not `allowed` (and `allow`ed), or a result `check` rejects."""
        self.cases += 1
        start = time.perf_counter()
        try:
            ok = check(fn())
        except allowed as err:
            ok = allow(err)
            if not ok:
                self._note(f"{type(err).__name__}: {str(err)[:70]}")
        except Exception as err:  # noqa: BLE001 - counting them is the point
            ok = False
            self._note(f"{type(err).__name__}: {str(err)[:70]}")
        else:
            if not ok:
                self._note("non-finite or non-standard-JSON result")
        elapsed = time.perf_counter() - start
        self.seconds += elapsed
        if elapsed > self.worst_s:
            self.worst_s, self.worst_chars = elapsed, size
        self.failures += not ok

    def _note(self, what: str) -> None:
        if len(self.examples) < 3 and what not in self.examples:
            self.examples.append(what)


# --- checks ----------------------------------------------------------------------------------------------


def _finite(values: Any) -> bool:
    return all(isinstance(v, (int, float)) and math.isfinite(v) for v in values)


def _standard_json(value: Any) -> bool:
    try:
        json.dumps(value, allow_nan=False)
    except ValueError:
        return False
    return True


def parse_ok(c: Any) -> bool:
    return (_finite(c.times + c.answer_times) and all(_finite(b) for b in c.boxes + c.answer_boxes)
            and all(cl.time is None or math.isfinite(cl.time) for cl in c.claims))


def span_ok(span: Any) -> bool:
    return (span == [] or (len(span) == 2 and _finite(span))) and _standard_json(span)


def boxes_ok(boxes: Any) -> bool:
    return all(len(b) == 4 and _finite(b) for b in boxes.values()) and _standard_json(boxes)


def scores_ok(out: dict[str, float]) -> bool:
    return _finite(out.values()) and _standard_json(out)


def sigma_error(err: BaseException) -> bool:
    return str(err).startswith("sigma")


# --- the random run --------------------------------------------------------------------------------------


def random_text(rng: random.Random) -> str:
    pieces = []
    for _ in range(rng.randint(0, 40)):
        kind = rng.random()
        if kind < 0.6:
            pieces.append(rng.choice(FRAGMENTS))
        elif kind < 0.7:
            pieces.append(rng.choice(HOSTILE))
        elif kind < 0.9:
            pieces.append(rng.choice([str(rng.uniform(-50, 50)), str(rng.randint(0, 60)), repr(rng.choice([1e308, -0.0, 5e-324]))]))
        else:
            pieces.append("".join(chr(rng.randint(32, 0x2FFF)) for _ in range(rng.randint(1, 4))))
    return "".join(pieces)


def malformed_sample(rng: random.Random) -> dict[str, Any]:
    sample = dict(rng.choice(VALID))
    for name in rng.sample(FIELDS, rng.randint(1, 2)):
        if name == "key_frames" and rng.random() < 0.5:
            sample[name] = [{"idx": 1, "time": rng.choice(JUNK)}]
        else:
            sample[name] = rng.choice(JUNK)
    return sample


def random_run(cases: int, seed: int) -> dict[str, Tally]:
    rng = random.Random(seed)
    tallies = {name: Tally() for name in ("parse", "vstar when", "vstar where", "score valid", "score malformed")}
    for _ in range(cases):
        text = random_text(rng)
        n = len(text)
        tallies["parse"].run(lambda: parse(text), parse_ok, n)
        tallies["vstar when"].run(lambda: parse_temporal_answer(text), span_ok, n)
        tallies["vstar where"].run(lambda: rescale_spatial(parse_spatial_answer(text), (448, 252), (1280, 720)), boxes_ok, n)
        progress = rng.choice([0.0, 0.5, 1.0, math.nan, -3.0])
        if rng.random() < 0.5:
            sample = rng.choice(VALID)
            tallies["score valid"].run(lambda: score(text, sample, progress), scores_ok, n)
        else:
            sample = malformed_sample(rng) if rng.random() < 0.8 else rng.choice(VALID)
            sigma = rng.choice(BAD_SIGMAS) if rng.random() < 0.3 else None
            tallies["score malformed"].run(lambda: score(text, sample, progress, sigma=sigma), scores_ok, n,
                                           (RewardInputError, ValueError), lambda e: isinstance(e, RewardInputError) or sigma_error(e))
    return tallies


# --- repeated tags ---------------------------------------------------------------------------------------


def repeated_cases(size: int) -> dict[str, str]:
    """Name → text of about `size` characters."""
    def rep(piece: str) -> str:
        return piece * max(1, size // len(piece))

    return {
        f"'<think>' * {size // 7}": rep("<think>"),
        f"'<answer>' * {size // 8}": rep("<answer>"),
        "'</think>' * n": rep("</think>"),
        "'<answer></answer><think>' * n": rep("<answer></answer><think>"),
        "'<obj>' * n": rep("<obj>"),
        "'<t>' * n": rep("<t>"),
        "'<obj>a</obj><box>[1,2,3,4]</box>' * n": rep("<obj>a</obj><box>[1,2,3,4]</box>"),
        "'<t>1</t>s ' * n in <think>": "<think>" + rep("<t>1</t>s ") + "</think><answer>a</answer>",
        "n spaces inside one <t>": "<think><t>1" + " " * size + "x</t></think><answer>a</answer>",
        "n-digit number in <t>": "<think><t>" + "9" * size + "</t>s</think><answer>From <t>1</t>s to <t>2</t>s</answer>",
        "'From <n digits> to 5'": "From " + "9" * size + " to 5",
        "m:ss with n minute digits": "1" * size + ":30 to 2:00",
        "n nested '['": "[" * size,
        "'```' * n": rep("```"),
        "'<' * n": rep("<"),
    }


SAMPLE_ST, SAMPLE_TQA = VALID[0], VALID[1]


def _timed(fn: Callable[[], Any], repeats: int) -> tuple[float, str]:
    """(best time of `repeats` calls, exception name or ""); one call when the first is slow."""
    best, error = math.inf, ""
    for _ in range(repeats):
        start = time.perf_counter()
        try:
            fn()
        except Exception as err:  # noqa: BLE001
            error = type(err).__name__
        best = min(best, time.perf_counter() - start)
        if best > 1.0:
            break
    return best, error


def _measure(fn: Callable[[str], Any], text: str, small_text: str) -> tuple[float, str, float]:
    """(best time on `text`, exception name or "", growth from `small_text`)."""
    t_small, _ = _timed(lambda: fn(small_text), 5)
    t_large, error = _timed(lambda: fn(text), 3)
    return t_large, error, t_large / max(t_small, 1e-6)


def repeated_run(size: int) -> list[dict[str, Any]]:
    """Per case, each function's time at `size` and its growth from `size // 10`; `score` is the slower of a
    spatio-temporal sample (claims, key frames) and a temporal-QA one (answer span)."""
    functions: dict[str, Callable[[str], Any]] = {"parse": parse, "when": parse_temporal_answer, "where": parse_spatial_answer}
    small, large = repeated_cases(size // 10), repeated_cases(size)
    rows = []
    for (name, text), small_text in zip(large.items(), small.values()):
        row: dict[str, Any] = {"case": name, "chars": len(text)}
        measured = {fn_name: _measure(fn, text, small_text) for fn_name, fn in functions.items()}
        measured["score"] = max(_measure(lambda t: score(t, SAMPLE_ST), text, small_text),
                                _measure(lambda t: score(t, SAMPLE_TQA), text, small_text))
        for fn_name, (seconds, error, growth) in measured.items():
            row |= {fn_name: seconds, f"{fn_name}_error": error, f"{fn_name}_growth": growth}
        row["ok"] = row["parse"] < TARGET_S and row["score"] < TARGET_S and not any(e for _, e, _ in measured.values())
        rows.append(row)
        print(f"  {name}: parse {row['parse']:.3f}s  score {row['score']:.3f}s", file=sys.stderr, flush=True)
    return rows


# --- report ----------------------------------------------------------------------------------------------


def print_random(tallies: dict[str, Tally]) -> None:
    print(f"\nrandom run ({tallies['parse'].cases} texts; worst = slowest single call)")
    print(f"  {'function':16s} {'cases':>7s} {'failures':>8s} {'cases/s':>9s} {'worst ms':>9s} {'at chars':>9s}  examples")
    for name, t in tallies.items():
        rate = t.cases / t.seconds if t.seconds else float("inf")
        print(f"  {name:16s} {t.cases:7d} {t.failures:8d} {rate:9.0f} {t.worst_s * 1e3:9.2f} {t.worst_chars:9d}  {'; '.join(t.examples)}")


def print_repeated(rows: list[dict[str, Any]]) -> None:
    print("\nrepeated tags (best of 3, seconds at full size; x = time(size) / time(size/10): ~10 linear, ~100 quadratic)")
    print(f"  {'case':42s} {'chars':>7s} {'parse':>7s} {'x':>5s} {'score':>7s} {'x':>5s} {'when':>7s} {'x':>5s} {'where':>7s} {'x':>5s}  ok")
    for r in rows:
        cells = "".join(f" {r[f]:7.3f}{r[f + '_error'][:1] or ' '}{r[f + '_growth']:5.0f}" for f in ("parse", "score", "when", "where"))
        errors = ", ".join(f"{f}: {r[f + '_error']}" for f in ("parse", "score", "when", "where") if r[f + "_error"])
        print(f"  {r['case']:42s} {r['chars']:7d}{cells}  {'ok' if r['ok'] else 'MISSED'}{'  (' + errors + ')' if errors else ''}")


def summary(tallies: dict[str, Tally], rows: list[dict[str, Any]]) -> dict[str, dict[str, int]]:
    vstar = [tallies["vstar when"], tallies["vstar where"]]
    classes = {
        "3 V-STaR answers": {"cases": sum(t.cases for t in vstar), "failures": sum(t.failures for t in vstar)},
        "4 repeated tags": {"cases": len(rows), "failures": sum(not r["ok"] for r in rows)},
        "6 malformed samples/sigma": {"cases": tallies["score malformed"].cases, "failures": tallies["score malformed"].failures},
        "- parse, score on valid samples": {"cases": tallies["parse"].cases + tallies["score valid"].cases,
                                            "failures": tallies["parse"].failures + tallies["score valid"].failures},
    }
    print("\nper class of issue #12")
    for name, c in classes.items():
        print(f"  {name:34s} cases {c['cases']:7d}   failures {c['failures']:6d}")
    return classes


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--cases", type=int, default=20_000, help="random texts (each goes through every function)")
    parser.add_argument("--size", type=int, default=100_000, help="characters of each repeated-tag text")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--json", type=Path, help="also write the numbers here")
    args = parser.parse_args()

    start = time.perf_counter()
    score("<answer>warm up</answer>", VALID[-1])  # the first free-form score imports ROUGE: not a parse cost
    tallies = random_run(args.cases, args.seed)
    print_random(tallies)
    rows = repeated_run(args.size)
    print_repeated(rows)
    classes = summary(tallies, rows)
    print(f"\n{time.perf_counter() - start:.1f} s in all")
    if args.json:
        args.json.write_text(json.dumps({"random": {k: vars(t) for k, t in tallies.items()}, "repeated": rows,
                                         "classes": classes}, indent=1) + "\n", encoding="utf-8")
    return 0 if all(c["failures"] == 0 for c in classes.values()) else 1


if __name__ == "__main__":
    sys.exit(main())
