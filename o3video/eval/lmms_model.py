"""o3video as an lmms-eval model: `lmms-eval --model o3video --model_args pretrained=PATH_OR_HUB_ID --tasks ...`.

lmms-eval (>= 0.7) finds it through the `lmms_eval.models` entry point in pyproject.toml, which names
`manifest`. Every generation request is answered the o3video way: the task's video (its `doc_to_visual`)
sampled with true timestamps at the model's input size, the task's prompt as the question inside the one
prompt builder's grounded prompt, and a grounded completion read by `o3video.grammar`.

What goes back to lmms-eval is a reasoning model's response, `<think>REASONING</think>ANSWER`: lmms-eval
logs it whole in a sample's `resps` (`--log_samples`) and, with its default `--reasoning_tags` (`<think>`),
hands the scorer only ANSWER, the completion's `<answer>` (`filtered_resps`). REASONING is the completion's
`<think>` with its inline evidence (`<obj>`, `<box>`, `<t>`), then one `evidence:` line of JSON: each cited
box as answered (in the model's box convention, named), in model-input and original pixels with its object
and time, the frame sizes, the frame times and the
grammar's problems. A malformed completion gives an empty answer (scored wrong) and is logged as it is.
`reasoning=false` answers with ANSWER alone, for a task whose own filters read the raw response.

It and the V-STaR task (`o3video.eval.vstar_lmms`) are the modules that import lmms-eval.
"""

from __future__ import annotations

import json
import re
from pathlib import Path
from typing import TYPE_CHECKING, Any

from lmms_eval.api.instance import Instance
from lmms_eval.api.model import lmms

from o3video.errors import InputError
from o3video.tasks import Task, parse_task

if TYPE_CHECKING:
    from lmms_eval.models.registry_v2 import ModelManifest

MODEL_ID = "o3video"
# The tags lmms-eval strips by default (`--reasoning_tags`); written inside REASONING they are defused.
_REASONING_TAG = re.compile(r"<(/?)(think|analysis)>")


def manifest() -> ModelManifest:
    """The entry point lmms-eval loads: `--model o3video` is `O3VideoLMM` (a `ModelManifest`, imported here: the
    registry's module runs the entry points as it loads, so importing it at the top would be a cycle)."""
    from lmms_eval.models.registry_v2 import ModelManifest

    return ModelManifest(model_id=MODEL_ID, simple_class_path=f"{__name__}.O3VideoLMM")


class O3VideoLMM(lmms):
    """Grounded video reasoning for lmms-eval's generation tasks (one video per request)."""

    def __init__(self, pretrained: str, num_frames: int = 64, max_pixels: int | None = None, max_new_tokens: int = 512,
                 mode: str = "exact", task: str = "auto", instruction: str | None = None, reasoning: bool = True,
                 dtype: str = "auto", device_map: str | None = None, attn_implementation: str | None = None,
                 cache_dir: str | None = None, device: str | None = None, box_convention: str = "auto",
                 **_lmms_eval_options: Any) -> None:
        """`pretrained`: a model directory or hub id (`o3video.models.load_model`); `task`: the o3video task
        that frames every question ("auto": multiple-choice when the prompt lists lettered options, else
        free-form); `instruction` replaces o3video's answer-format line ("" for none); `device` is
        lmms-eval's `--device`, used as the device map unless `device_map` is given; `box_convention`
        overrides the model's own (`auto`: from its config)."""
        super().__init__()
        from o3video.answer import LocalModel
        from o3video.models import load_model

        model, processor = load_model(pretrained, dtype=dtype, device_map=device_map or device,
                                      attn_implementation=attn_implementation, box_convention=box_convention,
                                      **({} if max_pixels is None else {"max_pixels": int(max_pixels)}))
        self.model = LocalModel(model, processor, name=pretrained)
        self.num_frames, self.max_new_tokens, self.mode = int(num_frames), int(max_new_tokens), mode
        self.task = None if task == "auto" else parse_task(task)
        self.instruction, self.reasoning, self.cache_dir = instruction, bool(reasoning), cache_dir

    def generate_until(self, requests: list[Instance]) -> list[str]:
        from o3video.progress import ProgressBar

        with ProgressBar(len(requests), desc="o3video", unit="request", disable=self.rank != 0) as bar:
            responses = []
            for request in requests:
                responses.append(self._respond(*request.args))
                bar.update()
        return responses

    def loglikelihood(self, requests: list[Instance]) -> list[tuple[float, bool]]:
        raise NotImplementedError("o3video answers by grounded generation: it runs lmms-eval's generate_until tasks, "
                                  "not loglikelihood (multiple-choice-by-likelihood) ones")

    def generate_until_multi_round(self, requests: list[Instance]) -> list[str]:
        raise NotImplementedError("o3video runs lmms-eval's single-round generate_until tasks, not multi-round ones")

    def _respond(self, context: str, gen_kwargs: dict[str, Any], doc_to_visual: Any, doc_id: int, task: str,
                 split: str) -> str:
        from o3video.inference import answer_video

        video = request_video(doc_to_visual(self.task_dict[task][split][doc_id]), f"{task} doc {doc_id}")
        result, _ = answer_video(self.model, video, context, task=self.task or question_task(context),
                                 num_frames=self.num_frames, mode=self.mode, max_new_tokens=self.max_new_tokens,
                                 temperature=float(gen_kwargs.get("temperature") or 0.0), cache_dir=self.cache_dir,
                                 instruction=self.instruction)
        return lmms_response(result.to_dict(), reasoning=self.reasoning)


def request_video(visuals: Any, where: str) -> str:
    """The one video file among a request's visuals (`doc_to_visual`'s list), or an InputError naming `where`."""
    items = visuals if isinstance(visuals, (list, tuple)) else [visuals]
    videos = [str(v) for v in items if isinstance(v, (str, Path)) and Path(v).is_file()]
    if len(videos) != 1:
        kinds = ", ".join(type(v).__name__ for v in items) or "nothing"
        raise InputError(f"lmms-eval {where}: o3video needs exactly one video file per request, got "
                         f"{len(videos)} video file(s) among {len(items)} visual(s) ({kinds})")
    return videos[0]


def question_task(question: str) -> Task:
    """Multiple-choice when at least two lines of `question` start with an option letter (`A.`, `B)`), else free-form."""
    from o3video.eval.mcq import parse_option_prefix

    options = [line for line in question.splitlines() if parse_option_prefix(line.lstrip("( "))]
    return Task.GENERAL_MCQ if len(options) >= 2 else Task.GENERAL_FREE


def lmms_response(result: dict[str, Any], *, reasoning: bool = True) -> str:
    """lmms-eval's response for one `InferenceResult` (as a dict): `<think>REASONING</think>ANSWER`, or ANSWER
    alone without `reasoning`. ANSWER is the completion's `<answer>` ("" when it has none)."""
    answer = _defused((result["answer"] or "").strip())
    if not reasoning:
        return answer
    well_formed = result["think"] is not None and result["answer"] is not None
    facts = {key: result[key] for key in ("evidence", "box_convention", "input_size", "source_size", "frame_times",
                                          "problems")}
    body = (result["think"] if well_formed else result["completion"]).strip()
    thought = f"{body}\nevidence: {json.dumps(facts)}"
    return f"<think>{_defused(thought)}</think>{answer}"


def response_facts(response: str) -> dict[str, Any] | None:
    """The `evidence:` facts of a response `lmms_response` wrote with its reasoning (the frame sizes, box
    convention, frame times, evidence and problems), or None for any other text."""
    think, closed, _ = response.removeprefix("<think>").partition("</think>")
    _, marked, facts = think.rpartition("\nevidence: ")
    if not (response.startswith("<think>") and closed and marked):
        return None
    try:
        read = json.loads(facts)
    except ValueError:
        return None
    return read if isinstance(read, dict) else None


def _defused(text: str) -> str:
    return _REASONING_TAG.sub(r"[\1\2]", text)


__all__ = ["MODEL_ID", "O3VideoLMM", "lmms_response", "manifest", "question_task", "request_video", "response_facts"]
