"""A served model (`--model openai:BASE_URL:MODEL`, `o3video.served`) against a real local server answering
with the tiny model (`tests/served_tiny.py`): the same results as the model in process, resumable after a
failure, concurrent but in record order, and a one-line error when the server cannot be used."""

import json
import socket
import threading
import time

import pytest
from PIL import Image
from served_tiny import processor_messages, served_tiny

from o3video.cli import main
from o3video.errors import InputError
from o3video.eval.benchmark_runner import in_order
from o3video.served import ServedModel, family_of, openai_messages
from o3video.served import served_frame_settings as frame_settings


@pytest.fixture(scope="module")
def server(tiny_model):
    with served_tiny(tiny_model) as running:
        yield running


def vstar(synth_easy, model, out, *extra):
    return ["eval", "vstar", "--anno", str(synth_easy / "vstar_test.json"), "--videos", str(synth_easy / "videos"),
            "--model", str(model), "--out", str(out), "--frames", "4", "--max-new-tokens", "8", *extra]


@pytest.fixture(scope="module")
def in_process(synth_easy, tiny_model, tmp_path_factory):
    """The V-STaR results file of the tiny model in process."""
    out = tmp_path_factory.mktemp("in_process") / "local.jsonl"
    assert main(vstar(synth_easy, tiny_model, out)) == 0
    return out


def lines(path):
    return [json.loads(line) for line in path.read_text().splitlines()]


def test_served_vstar_gives_the_results_file_of_the_model_in_process(synth_easy, in_process, server, tmp_path):
    local, served = in_process, tmp_path / "served.jsonl"
    spec = f"openai:{server.url}:tiny"
    assert main(vstar(synth_easy, spec, served, "--concurrency", "3")) == 0
    assert lines(served) == lines(local) and len(lines(local)) == 4
    assert served.read_text() == local.read_text()
    settings = json.loads(served.with_name("served.jsonl.settings.json").read_text())
    assert settings["model"] == spec and settings["served_family"] == "qwen2_5_vl"
    assert {im.size for im in server.respond.images} == {(112, 84)}  # the frames as sampled, sent as they are


def test_served_infer_answers_like_the_model_in_process(synth_easy, tiny_model, server, tmp_path, capsys):
    video = next((synth_easy / "videos").glob("test_*.mp4"))
    results = []
    for name, model in (("local", str(tiny_model)), ("served", f"openai:{server.url}:tiny")):
        out = tmp_path / f"{name}.json"
        assert main(["infer", str(video), "What moves?", "--model", model, "--frames", "4", "--max-new-tokens", "16",
                     "--json", str(out)]) == 0
        results.append(json.loads(out.read_text()))
    assert results[0] == results[1] and results[0]["input_size"] == [112, 84]


def test_a_served_run_that_fails_mid_way_stops_naming_the_record_and_resumes_to_the_same_file(
        synth_easy, in_process, server, tmp_path, capsys):
    broken = tmp_path / "broken.jsonl"
    spec = f"openai:{server.url}:tiny"
    server.respond.fail_on = "red triangle"  # the third record's question
    try:
        assert main(vstar(synth_easy, spec, broken, "--concurrency", "2", "--retries", "0")) == 2
    finally:
        server.respond.fail_on = None
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and f"{spec}: HTTP 400" in err[0] and "record 2 " in err[0] and "the model is gone" in err[0]
    assert [r["index"] for r in lines(broken)] == [0, 1]  # written in record order: only what precedes the failure
    assert main(vstar(synth_easy, spec, broken, "--concurrency", "2")) == 0
    assert broken.read_text() == in_process.read_text()


def test_an_unreachable_server_is_one_line_naming_the_server_and_the_record(synth_easy, tmp_path, capsys):
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]  # closed again: connections are refused
    spec = f"openai:http://127.0.0.1:{port}/v1:tiny"
    started = time.monotonic()
    code = main(vstar(synth_easy, spec, tmp_path / "r.jsonl", "--retries", "1", "--request-timeout", "2"))
    err = capsys.readouterr().err.strip().splitlines()
    assert code == 2 and len(err) == 1 and time.monotonic() - started < 20
    assert err[0].startswith("o3video eval vstar: record 0 (0:") and f"{spec}: cannot reach the server after 1 retries" in err[0]
    assert "Traceback" not in err[0]


def test_a_bad_served_spec_or_family_is_one_line(synth_easy, tmp_path, capsys):
    assert main(vstar(synth_easy, "openai:http://127.0.0.1:8000/v1", tmp_path / "r.jsonl")) == 2
    assert "expected openai:BASE_URL:MODEL" in capsys.readouterr().err
    with pytest.raises(InputError, match="--served-family 'qwen9'"):
        frame_settings("qwen9", 1000)


def test_the_served_family_decides_the_frame_size():
    assert family_of("openai:http://h:8000/v1:Qwen/Qwen3-VL-8B-Instruct") == "qwen3_vl"
    assert family_of("openai:http://h:8000/v1:Qwen/Qwen2.5-VL-7B-Instruct") == "qwen2_5_vl"
    assert family_of("openai:http://h:8000/v1:my-model", "qwen3_vl") == "qwen3_vl"
    model = ServedModel.from_spec("openai:http://h:8000/v1:Qwen/Qwen3-VL-8B-Instruct", max_pixels=100352)
    assert model.frame_settings == {"factor": 32, "min_pixels": 65536, "max_pixels": 100352}
    assert frame_settings("qwen2_5_vl", 100352) == {"factor": 28, "min_pixels": 3136, "max_pixels": 100352}


def test_the_served_family_decides_the_box_convention_and_the_prompt_states_it():
    from o3video.answer import Question, ask_frames, set_video_model_convention
    from o3video.geometry import BoxConvention

    qwen3 = ServedModel.from_spec("openai:http://h:8000/v1:Qwen/Qwen3-VL-8B-Instruct")
    qwen25 = ServedModel.from_spec("openai:http://h:8000/v1:Qwen/Qwen2.5-VL-7B-Instruct")
    assert (qwen3.box_convention, qwen25.box_convention) == (BoxConvention.RELATIVE_1000, BoxConvention.PIXELS)
    forced = ServedModel.from_spec("openai:http://h:8000/v1:Qwen/Qwen3-VL-8B-Instruct", box_convention="pixels")
    assert forced.box_convention is BoxConvention.PIXELS
    assert set_video_model_convention(qwen25, "relative_1000").box_convention is BoxConvention.RELATIVE_1000

    asked = []
    qwen3.ask = lambda batch, **k: asked.extend(batch) or [""] * len(batch)
    from types import SimpleNamespace

    frame = SimpleNamespace(timestamp=0.5, image=Image.new("RGB", (64, 64)))
    ask_frames(qwen3, [frame], [Question("Where is it?")], duration=1.0)
    system = asked[0][0]["content"]
    system = system if isinstance(system, str) else " ".join(part.get("text", "") for part in system)
    assert "1000" in system


def test_the_prompt_builders_messages_become_openai_parts_in_order_and_back():
    from o3video.tasks import Task
    from o3video.video.prompt import build_messages
    from o3video.video.sampling import Frame

    frames = [Frame(index=i, timestamp=t, image=Image.new("RGB", (56, 28), (i * 40, 7, 200))) for i, t in enumerate((0.0, 1.5))]
    messages = build_messages(frames, "What moves?", Task.SPATIO_TEMPORAL, duration=3.0)
    sent = openai_messages(messages)
    assert isinstance(sent[0]["content"], str)  # the system prompt: text only
    kinds = [p["type"] for p in sent[1]["content"]]
    assert kinds == ["text", "text", "image_url", "text", "image_url", "text"]
    assert sent[1]["content"][1]["text"] == "Frame 1 at 0.0s: " and sent[1]["content"][3]["text"] == "\nFrame 2 at 1.5s: "
    assert all(p["image_url"]["url"].startswith("data:image/png;base64,") for p in sent[1]["content"] if p["type"] == "image_url")
    back = processor_messages(sent)
    assert [i["type"] for i in back[1]["content"]] == [i["type"] for i in messages[1]["content"]]
    images = [i["image"] for i in back[1]["content"] if i["type"] == "image"]
    assert [im.tobytes() for im in images] == [f.image.tobytes() for f in frames]  # PNG: lossless


def test_in_order_runs_at_once_but_yields_in_order_and_raises_in_order():
    started = []

    def work(i):
        started.append(i)
        time.sleep(0.02 * max(0, 5 - i))  # the later items finish first
        if i == 3:
            raise ValueError("three")
        return i * 10

    results = in_order(work, range(20), concurrency=4)
    assert [next(results) for _ in range(3)] == [0, 10, 20]
    with pytest.raises(ValueError, match="three"):
        next(results)
    assert max(started) < 12  # started ahead of the one awaited: twice the concurrency; the rest never
    assert list(in_order(lambda i: threading.get_ident(), range(3))) == [threading.get_ident()] * 3  # 1: inline


def test_a_malformed_reply_is_an_input_error(tiny_model):
    from o3video.lab.offline.server import LocalChatServer

    with LocalChatServer(lambda body, headers: [], model="tiny") as empty:
        model = ServedModel(empty.url, "tiny", retries=0, timeout=5)
        with pytest.raises(InputError, match=r"malformed reply \(expected 1 completion\(s\) as text, got 0"):
            model.ask([[{"role": "user", "content": [{"type": "text", "text": "hi"}]}]], max_new_tokens=4)


def test_served_mcq_with_test_time_scaling_and_tg_give_the_results_of_the_model_in_process(
        synth_easy, tiny_model, server, tmp_path):
    """Seeded samples (`n` per request), crop scoring and the faithfulness probe, as in process."""
    benches = {"mcq": ["--anno", str(synth_easy / "mcq_test.json"), "--tts", "confidence", "--n", "3", "--faithfulness"],
               "tg": ["--anno", str(synth_easy / "temporal_grounding_test.json")]}
    for bench, extra in benches.items():
        outs = {name: tmp_path / f"{bench}-{name}.jsonl" for name in ("local", "served")}
        for name, model in (("local", str(tiny_model)), ("served", f"openai:{server.url}:tiny")):
            assert main(["eval", bench, *extra, "--videos", str(synth_easy / "videos"), "--model", model,
                         "--out", str(outs[name]), "--frames", "4", "--max-new-tokens", "8", "--limit", "2"]) == 0
        assert outs["served"].read_text() == outs["local"].read_text()


def test_the_served_client_imports_no_torch():
    import subprocess
    import sys

    code = ("import sys, o3video.served, o3video.answer\n"
            "print(sorted(m for m in ('torch', 'transformers', 'openai') if m in sys.modules))")
    shown = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert shown.stdout.strip() == "[]"  # openai too is imported only when a client is built
