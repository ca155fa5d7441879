"""The VLM client against a real local OpenAI-compatible server (loopback): what goes over the wire,
HTTP retries, failures, specs, throttling, and the optional Google SDK."""

import base64
import io
import json

import pytest
from PIL import Image

from o3video.construction.vlm import CONTEXT_HEADER, OpenAIVLM, ThrottledVLM, VLMError, VLMRequest, make_vlm
from o3video.lab.offline.server import HTTPStatusReply, LocalChatServer


class Recorder:
    def __init__(self, replies=None, fail_first=0, status=503):
        self.bodies, self.headers = [], []
        self.replies = list(replies or [("fine", "stop")])
        self.fail_first, self.status = fail_first, status

    def __call__(self, body, headers):
        self.bodies.append(body)
        self.headers.append({k.lower(): v for k, v in headers.items()})
        if len(self.bodies) <= self.fail_first:
            raise HTTPStatusReply(self.status, "busy")
        return self.replies.pop(0) if len(self.replies) > 1 else self.replies[0]


def test_text_images_system_and_context_go_over_the_wire():
    recorder = Recorder([("Yes.", "stop")])
    image = Image.new("RGB", (40, 30), (200, 10, 10))
    big = Image.new("RGB", (400, 300), (10, 200, 10))
    with LocalChatServer(recorder) as server:
        client = OpenAIVLM(server.url, "qwen-vl", send_context=True, max_retries=0)
        request = VLMRequest.ask(["look:", image, "and", big], system="be brief", max_tokens=7, temperature=0.3,
                                 context={"purpose": "verify_object", "item": "a:1"})
        reply = client.complete(request.followup("Maybe.", "yes or no?"))
    assert reply.text == "Yes." and reply.finish_reason == "stop" and not reply.truncated
    body = recorder.bodies[0]
    assert body["model"] == "qwen-vl" and body["max_tokens"] == 7 and body["temperature"] == 0.3
    system, user, assistant, note = body["messages"]
    assert system == {"role": "system", "content": "be brief"}
    assert assistant == {"role": "assistant", "content": "Maybe."} and note == {"role": "user", "content": "yes or no?"}
    kinds = [p["type"] for p in user["content"]]
    assert kinds == ["text", "image_url", "text", "image_url"]
    small_uri, big_uri = user["content"][1]["image_url"]["url"], user["content"][3]["image_url"]["url"]
    assert small_uri.startswith("data:image/png;base64,") and big_uri.startswith("data:image/jpeg;base64,")
    decoded = Image.open(io.BytesIO(base64.b64decode(small_uri.split(",", 1)[1])))
    assert decoded.size == (40, 30) and decoded.convert("RGB").getpixel((5, 5)) == (200, 10, 10)
    assert json.loads(recorder.headers[0][CONTEXT_HEADER.lower()]) == {"purpose": "verify_object", "item": "a:1"}


def test_context_is_not_sent_unless_asked():
    recorder = Recorder()
    with LocalChatServer(recorder) as server:
        OpenAIVLM(server.url, "m", max_retries=0).complete(VLMRequest.ask(["hi"], context={"item": "x"}))
    assert CONTEXT_HEADER.lower() not in recorder.headers[0] and recorder.bodies[0]["messages"] == [{"role": "user", "content": "hi"}]


def test_server_errors_are_retried_by_the_client_then_reported():
    recorder = Recorder(fail_first=2)
    with LocalChatServer(recorder) as server:
        client = OpenAIVLM(server.url, "m", max_retries=2)
        assert client.complete(VLMRequest.ask(["hi"])).text == "fine"
        assert len(recorder.bodies) == 3
        bad = Recorder(fail_first=10, status=400)
        with LocalChatServer(bad) as other, pytest.raises(VLMError, match="BadRequestError"):
            OpenAIVLM(other.url, "m", max_retries=3).complete(VLMRequest.ask(["hi"]))
        assert len(bad.bodies) == 1  # a bad request is not retried


def test_specs_throttling_and_the_optional_google_sdk(monkeypatch):
    client = make_vlm("openai:http://127.0.0.1:9/v1:Qwen/Qwen2.5-VL-72B-Instruct")
    assert isinstance(client, OpenAIVLM) and client.model == "Qwen/Qwen2.5-VL-72B-Instruct"
    assert str(client.client.base_url).startswith("http://127.0.0.1:9/v1")
    monkeypatch.setenv("GEMINI_API_KEY", "k")
    gemini = make_vlm("gemini-openai:gemini-2.5-pro")
    assert "generativelanguage.googleapis.com" in str(gemini.client.base_url) and gemini.client.api_key == "k"
    for bad in ("openai:http://x", "gpt-4o", "google:"):
        with pytest.raises(ValueError, match="VLM spec"):
            make_vlm(bad)
    try:
        import google.genai  # noqa: F401
    except ImportError:
        with pytest.raises(VLMError, match="google-genai"):
            make_vlm("google:gemini-2.5-pro")
    recorder = Recorder()
    with LocalChatServer(recorder) as server:
        throttled = make_vlm(f"openai:{server.url}:m", requests_per_minute=600)  # one request per 0.1 s
        assert isinstance(throttled, ThrottledVLM) and throttled.bucket.rate == 10.0
        # a frozen clock: the bucket must ask to sleep 0.1 s more for each request past the first
        waits = []
        monkeypatch.setattr(throttled.bucket, "_clock", lambda: 0.0)
        monkeypatch.setattr(throttled.bucket, "_sleep", waits.append)
        throttled.bucket._last = 0.0
        for _ in range(4):
            throttled.complete(VLMRequest.ask(["hi"]))
        assert waits == pytest.approx([0.1, 0.2, 0.3]) and len(recorder.bodies) == 4


def test_judges_and_annotators_read_remote_specs_alike():
    """One parser (o3video.remote): a BASE_URL alone is refused by both with the same explanation (the
    judge once took `8000/v1` for the model's name); BASE_URL:MODEL is read the same by both."""
    from o3video.errors import InputError
    from o3video.eval.judges import make_judge, parse_judge_spec

    spec = "openai:http://h:8000/v1"
    with pytest.raises(InputError) as for_vlm:
        make_vlm(spec)
    with pytest.raises(InputError) as for_judge:
        make_judge(spec)
    tail = f"{spec!r}: expected openai:BASE_URL:MODEL"
    assert str(for_vlm.value).startswith(f"VLM spec {tail}") and str(for_judge.value).startswith(f"--judge: unknown judge {tail}")
    assert str(for_vlm.value).split(repr(spec))[1] == str(for_judge.value).split(repr(spec))[1]
    good = spec + ":Qwen/Qwen2.5-VL-7B-Instruct"
    client, judge = make_vlm(good), make_judge(good)
    assert parse_judge_spec(good) == ("openai", "http://h:8000/v1", "Qwen/Qwen2.5-VL-7B-Instruct")
    assert (client.model, judge.model) == ("Qwen/Qwen2.5-VL-7B-Instruct",) * 2
    assert str(client.client.base_url) == str(judge.client.base_url) == "http://h:8000/v1/"
