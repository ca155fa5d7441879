"""Every command's options with a bad value: exit code 2, one line on stderr naming the option and what it
accepts, no traceback, and nothing loaded or started (no model, no video read, no file written)."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import pytest

from o3video.cli import main


@dataclass(frozen=True)
class BadValue:
    argv: tuple[str, ...]  # "{tmp}" stands for the case's own folder
    line: str  # the whole of stderr, "{tmp}" as in argv

    @property
    def id(self) -> str:
        return " ".join(a for a in self.argv[:3] if not a.startswith("{tmp}"))


INFER = ("infer", "{tmp}/clip.mp4", "what?", "--model", "{tmp}/model")
VSTAR = ("eval", "vstar", "--anno", "{tmp}/a.json", "--videos", "{tmp}", "--model", "{tmp}/model",
         "--out", "{tmp}/r.jsonl")
MCQ = ("eval", "mcq", *VSTAR[2:])
TG = ("eval", "tg", *VSTAR[2:])
JUDGES = "exact, hf:PATH, openai:BASE_URL:MODEL or gemini-openai:MODEL"
FRAMES = ("frames", "{tmp}/clip.mp4", "--out", "{tmp}/frames")
SYNTH = ("synth", "--out", "{tmp}/world")
BUILD = ("build", "--out", "{tmp}/build")
TINY_SFT = Path(__file__).resolve().parents[1] / "o3video" / "configs" / "tiny_sft.yaml"

CASES = [
    BadValue((*INFER, "--frames", "0"), "o3video infer: --frames must be >= 1, got 0"),
    BadValue((*INFER, "--max-pixels", "10"), "o3video infer: --max-pixels must be >= 3136, got 10"),
    BadValue((*INFER, "--max-new-tokens", "0"), "o3video infer: --max-new-tokens must be >= 1, got 0"),
    BadValue((*INFER, "--temperature", "-1"), "o3video infer: --temperature must be >= 0, got -1.0"),
    BadValue((*INFER, "--temperature", "nan"), "o3video infer: --temperature must be >= 0, got nan"),
    BadValue((*INFER, "--retries", "-1"), "o3video infer: --retries must be >= 0, got -1"),
    BadValue((*INFER, "--request-timeout", "0"), "o3video infer: --request-timeout must be > 0, got 0.0"),
    BadValue(("infer", "{tmp}/clip.mp4", "  ", "--model", "{tmp}/model"),
             "o3video infer: the question: must not be empty"),
    BadValue((*INFER, "--viz", "{tmp}/ev.jpg"), "o3video infer: --viz {tmp}/ev.jpg: cannot tell the picture format "
                                                "from suffix '.jpg'; use .png, .gif or .html"),
    BadValue((*INFER, "--frames", "many"),
             "o3video infer: error: argument --frames: invalid int value: 'many' (see o3video infer --help)"),
    BadValue((*INFER, "--mode", "fast"), "o3video infer: error: argument --mode: invalid choice: 'fast' "
                                         "(choose from 'exact', 'keyframe') (see o3video infer --help)"),
    BadValue((*VSTAR, "--limit", "0"), "o3video eval vstar: --limit must be >= 1, got 0"),
    BadValue((*VSTAR, "--limit", "-1"), "o3video eval vstar: --limit must be >= 1, got -1"),
    BadValue((*VSTAR, "--frames", "0"), "o3video eval vstar: --frames must be >= 1, got 0"),
    BadValue((*VSTAR, "--max-pixels", "10"), "o3video eval vstar: --max-pixels must be >= 3136, got 10"),
    BadValue((*VSTAR, "--max-new-tokens", "0"), "o3video eval vstar: --max-new-tokens must be >= 1, got 0"),
    BadValue((*VSTAR, "--concurrency", "0"), "o3video eval vstar: --concurrency must be >= 1, got 0"),
    BadValue((*VSTAR, "--retries", "-2"), "o3video eval vstar: --retries must be >= 0, got -2"),
    BadValue((*VSTAR, "--request-timeout", "-5"), "o3video eval vstar: --request-timeout must be > 0, got -5.0"),
    BadValue((*VSTAR, "--report", "{tmp}/m.md"),
             "o3video eval vstar: --report {tmp}/m.md: the suffix must be one of .json, got '.md'"),
    BadValue(("eval", "vstar", "--results", "{tmp}/r.jsonl"), f"o3video eval vstar: scoring needs --judge: {JUDGES}"),
    BadValue((*VSTAR, "--judge", "exat"), f"o3video eval vstar: --judge: unknown judge 'exat': expected {JUDGES}"),
    BadValue((*MCQ, "--n", "0"), "o3video eval mcq: --n must be >= 1, got 0"),
    BadValue((*MCQ, "--limit", "0"), "o3video eval mcq: --limit must be >= 1, got 0"),
    BadValue((*TG, "--max-new-tokens", "-3"), "o3video eval tg: --max-new-tokens must be >= 1, got -3"),
    BadValue(("score", "--input", "{tmp}/in.jsonl", "--progress", "2"),
             "o3video score: --progress must be between 0 and 1, got 2.0"),
    BadValue(("demo", "--out", "{tmp}/run", "--seeds", "0"), "o3video demo: --seeds must be >= 1, got 0"),
    BadValue(("demo", "--out", "{tmp}/run", "--threads", "0"), "o3video demo: --threads must be >= 1, got 0"),
    BadValue(("demo", "--out", "{tmp}/run", "--replay-where", "2"),
             "o3video demo: --replay-where must be between 0 and 1, got 2.0"),
    BadValue((*FRAMES, "--num", "0"), "o3video frames: --num must be >= 1, got 0"),
    BadValue((*FRAMES, "--max-pixels", "0"), "o3video frames: --max-pixels must be >= 1, got 0"),
    BadValue((*FRAMES, "--max-pixels", "100", "--min-pixels", "200"),
             "o3video frames: --max-pixels must be >= --min-pixels (200), got 100"),
    BadValue((*FRAMES, "--factor", "0"), "o3video frames: --factor must be >= 1, got 0"),
    BadValue((*FRAMES, "--key-time", "1", "--key-time", "-2"), "o3video frames: --key-time must be >= 0, got -2.0"),
    BadValue((*SYNTH, "--sft", "-1"), "o3video synth: --sft must be >= 0, got -1"),
    BadValue((*SYNTH, "--bench", "-5"), "o3video synth: --bench must be >= 0, got -5"),
    BadValue((*SYNTH, "--general-mcq-share", "1.5"),
             "o3video synth: --general-mcq-share must be between 0 and 1, got 1.5"),
    BadValue((*SYNTH, "--fps", "0"), "o3video synth: --fps must be >= 1, got 0"),
    BadValue((*SYNTH, "--workers", "0"), "o3video synth: --workers must be >= 1, got 0"),
    BadValue((*SYNTH, "--size", "224"), "o3video synth: --size '224': expected two numbers separated by 'x'"),
    BadValue((*SYNTH, "--duration", "5"), "o3video synth: --duration '5': expected two numbers separated by ','"),
    BadValue((*SYNTH, "--sft-mix", "1,2"), "o3video synth: --sft-mix: mix '1,2': need 4 comma-separated numbers "
                                           "(temporal, spatial, spatio-temporal, general)"),
    BadValue(("tiny-model", "--out", "{tmp}/m", "--max-pixels", "10"),
             "o3video tiny-model: --max-pixels must be >= 3136, got 10"),
    BadValue(("train", "rl", "--config", "{tmp}/c.yaml", "--fixed-sigma", "0"),
             "o3video train rl: --fixed-sigma must be > 0, got 0.0"),
    BadValue(("train", "sft", "--config", str(TINY_SFT), "trainer.max_steps=many"),
             f"o3video train sft: {TINY_SFT}: trainer.max_steps: expected an integer, got 'many'"),
    BadValue((*BUILD, "--concurrency", "0"), "o3video build: --concurrency must be >= 1, got 0"),
    BadValue((*BUILD, "--timeout", "0"), "o3video build: --timeout must be > 0, got 0.0"),
    BadValue((*BUILD, "--max-tokens", "0"), "o3video build: --max-tokens must be >= 1, got 0"),
    BadValue((*BUILD, "--temperature", "-0.5"), "o3video build: --temperature must be >= 0, got -0.5"),
    BadValue((*BUILD, "--max-box-area", "0"), "o3video build: --max-box-area must be > 0 and <= 1, got 0.0"),
    BadValue((*BUILD, "--min-video-s", "20", "--max-video-s", "10"),
             "o3video build: --min-video-s must be <= --max-video-s (10.0), got 20.0"),
    BadValue((*BUILD, "--verifier-error-rate", "2"),
             "o3video build: --verifier-error-rate must be between 0 and 1, got 2.0"),
    BadValue((*BUILD, "--synthetic-demo", "--errors", "shifted_box=2"),
             "o3video build: --errors shifted_box=2: error rates must be >= 0 and sum to at most 1, got shifted_box=2"),
    BadValue(("perception-base", "--threads", "0"), "o3video perception-base: --threads must be >= 1, got 0"),
    BadValue(("perception-base", "--steps", "0"), "o3video perception-base: --steps must be >= 1, got 0"),
    BadValue(("perception-base", "--where-steps", "-1"), "o3video perception-base: --where-steps must be >= 0, got -1"),
    BadValue(("app", "--frames", "0"), "o3video app: --frames must be >= 1, got 0"),
    BadValue(("app", "--port", "70000"), "o3video app: --port must be between 1 and 65535, got 70000"),
    BadValue(("app", "--host", " "), "o3video app: --host: must not be empty"),
    BadValue(("app", "--judge", "exat"), f"o3video app: --judge: unknown judge 'exat': expected {JUDGES}"),
]


@pytest.fixture
def nothing_loads(monkeypatch):
    """Loading a model or reading a video fails the test: a bad value must end the command before either."""
    import o3video.answer
    import o3video.video

    def refuse(*args, **kwargs):
        raise AssertionError("reached work that a bad option value must stop before")

    monkeypatch.setattr(o3video.answer, "load_video_model", refuse)
    monkeypatch.setattr(o3video.video, "probe", refuse)


@pytest.mark.parametrize("case", CASES, ids=[f"{c.id} {' '.join(c.argv[-2:])}" for c in CASES])
def test_a_bad_option_value_is_one_line_and_exit_2_before_anything_runs(case, tmp_path, capsys, nothing_loads):
    argv = [a.replace("{tmp}", str(tmp_path)) for a in case.argv]
    try:
        code = main(argv)
    except SystemExit as exit:  # argparse's own errors (a value of the wrong type, a choice not offered)
        code = exit.code
    err = capsys.readouterr().err
    assert code == 2
    assert err.strip().splitlines() == [case.line.replace("{tmp}", str(tmp_path))]
    assert sorted(p.name for p in tmp_path.iterdir()) == []  # nothing written


def test_the_evidence_picture_path_is_checked_by_the_writer_too(tmp_path):
    from o3video.errors import InputError
    from o3video.viz.save import check_evidence_path

    assert check_evidence_path(tmp_path / "ev.GIF") == tmp_path / "ev.GIF"
    with pytest.raises(InputError, match=r"--viz .*ev\.jpg: cannot tell the picture format from suffix '\.jpg'"):
        check_evidence_path(tmp_path / "ev.jpg")
    (tmp_path / "taken.png").mkdir()
    with pytest.raises(InputError, match="taken.png: is a folder, not a file"):
        check_evidence_path(Path(tmp_path / "taken.png"))
