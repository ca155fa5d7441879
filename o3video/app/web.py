"""The Gradio page of `o3video app`: the Ask, Results and Data views as tabs, each deep-linkable by record
(`?view=results&record=KEY`, `?view=data&sample=ID`, `?view=ask`).

Every handler catches what goes wrong and shows it as one line in the page (`status` boxes): bad input
(`o3video.errors.user_message`) as its message, anything else as its type and message, with the traceback
on the server's console. The app keeps serving either way. Each event has an `api_name`, so
`gradio_client` can drive the views. (No postponed annotations here: Gradio reads the handlers' `gr.Request`
and `gr.SelectData` annotations at run time.)
"""

import logging
from collections.abc import Callable
from pathlib import Path
from typing import Any

from o3video.app import data_view, results_view
from o3video.app.app_config import AppConfig, read_deep_link
from o3video.app.ask_view import EVIDENCE_COLUMNS, ModelShelf, ask
from o3video.app.scored_results import ScoredResults, score_results

ANY = "any"
GALLERY = {"fit_columns": False, "object_fit": "contain", "height": 320}  # whole frames, a few to a row
log = logging.getLogger("o3video.app")


def failure_line(error: BaseException) -> str:
    """One line for the page: the message of an error the user can fix, else the error's type and message."""
    from o3video.errors import one_line, user_message

    message = user_message(error)
    if message is None:
        log.exception("o3video app: unexpected error", exc_info=error)
        message = one_line(f"{type(error).__name__}: {error}")
    return f"**Error:** {message}"


def guarded(fn: Callable[..., tuple], blanks: int) -> Callable[..., tuple]:
    """`fn` returning (status, *outputs); on an exception, (the error's line, None × `blanks`)."""
    def run(*args: Any, **kwargs: Any) -> tuple:
        try:
            return fn(*args, **kwargs)
        except Exception as error:  # noqa: BLE001 - shown in the page; the app keeps serving
            return (failure_line(error), *([None] * blanks))
    run.__name__, run.__doc__ = fn.__name__, fn.__doc__
    return run


def _optional(text: str | None) -> Path | None:
    return Path(text.strip()) if text and text.strip() else None


def _any(value: str | None) -> str | None:
    return None if value in (None, "", ANY) else value


class AppState:
    """What the page keeps between events: the model shelf and the files opened (by their settings)."""

    def __init__(self, config: AppConfig, shelf: ModelShelf | None = None) -> None:
        self.config = config
        self.shelf = shelf or ModelShelf()
        self._results: dict[tuple, ScoredResults] = {}
        self._data: dict[str, data_view.DataSet] = {}

    def results(self, path: str, anno: str, scoring: str, judge: str) -> ScoredResults:
        where = _optional(path)
        if where is None:
            raise ValueError("results: give a results file")
        key = (str(where), anno, scoring, judge, where.stat().st_mtime_ns)
        if key not in self._results:
            self._results[key] = score_results(where, judge=judge, scoring=scoring, anno=_optional(anno))
        return self._results[key]

    def data(self, path: str) -> data_view.DataSet:
        where = _optional(path)
        if where is None:
            raise ValueError("data: give an STGR file or a construction output folder")
        if str(where) not in self._data:
            self._data[str(where)] = data_view.open_data(where)
        return self._data[str(where)]


def _cells(rows: list[list[Any]]) -> list[list[Any]]:
    """Table cells the page shows: lists as text, None as empty."""
    return [["" if v is None else str(v) if isinstance(v, (list, dict)) else v for v in row] for row in rows]


def build_page(config: AppConfig, state: AppState | None = None) -> Any:
    """The `gradio.Blocks` page."""
    import gradio as gr

    state = state or AppState(config)

    def ask_answer(video: str, question: str, model: str, frames: float, progress=gr.Progress()) -> tuple:
        answered = ask(state.shelf, video, question, model, frames=int(frames),
                       progress=lambda f, what: progress(f, desc=what))
        r = answered.result
        answer = r.answer if r.answer is not None else f"(no <answer>) {r.completion}"
        status = (f"Answered with {model} on {len(r.frame_times)} frames; boxes in "
                  f"{r.box_convention}, shown in original-video pixels ({r.source_size[0]}x{r.source_size[1]}).")
        return status, answer, answered.rendered.image, _cells(answered.evidence_rows), answered.reasoning_html

    def beside_of(compare: str, anno: str, scoring: str, judge: str) -> ScoredResults | None:
        """The second results file, scored, or None when none is named."""
        return None if _optional(compare) is None else state.results(compare, anno, scoring, judge)

    def record_table(rows: list[list[Any]], beside: ScoredResults | None) -> Any:
        """The records table, without the columns no record fills (so the second file's columns fit)."""
        names, rows = results_view.without_empty_columns(results_view.columns(beside), rows)
        return gr.Dataframe(value=_cells(rows), headers=names)

    def results_open(path: str, compare: str, anno: str, scoring: str, judge: str) -> tuple:
        scored = state.results(path, anno, scoring, judge)
        beside = beside_of(compare, anno, scoring, judge)
        status = f"{len(scored.records)} records of {scored.benchmark}, scored with --scoring {scoring}."
        summary = scored.summary
        if beside is not None:
            status += f" Beside it: {beside.path} ({len(beside.records)} records), its columns marked (beside)."
            summary += f"\n\n## Beside it: {beside.path}\n\n{beside.summary}"
        return (status, summary, record_table(results_view.table(scored, beside=beside), beside),
                *(gr.Dropdown(choices=[ANY, *results_view.choices(scored, c)], value=ANY)
                  for c in ("task", "domain", "length")),
                gr.Dropdown(choices=results_view.sortable(beside), value="key"))

    def results_filter(path: str, compare: str, anno: str, scoring: str, judge: str, task: str, domain: str,
                       length: str, chain: str, tiou_min: float, tiou_max: float, viou_min: float, viou_max: float,
                       judge_score: str, sort_by: str, descending: bool) -> tuple:
        scored = state.results(path, anno, scoring, judge)
        beside = beside_of(compare, anno, scoring, judge)
        where = results_view.RecordFilter(_any(task), _any(domain), _any(length), int(chain),
                                          (float(tiou_min), float(tiou_max)), (float(viou_min), float(viou_max)),
                                          None if _any(judge_score) is None else int(judge_score))
        rows = results_view.table(scored, where, sort_by=sort_by, descending=bool(descending), beside=beside)
        return f"{len(rows)} of {len(scored.records)} records shown.", record_table(rows, beside)

    def one_record(path: str, anno: str, scoring: str, judge: str, videos: str, key: str) -> tuple:
        scored = state.results(path, anno, scoring, judge)
        detail = results_view.record_detail(scored, key.strip(), _optional(videos) or config.videos_dir())
        return (detail.spans, detail.frames, _cells([list(p) for p in detail.prompts]), detail.metrics,
                "; ".join(detail.notes))

    def results_record(path: str, compare: str, anno: str, scoring: str, judge: str, videos: str, key: str) -> tuple:
        shown = one_record(path, anno, scoring, judge, videos, key)
        beside: tuple = (None,) * 5
        if _optional(compare) is not None:
            try:
                beside = one_record(compare, anno, scoring, judge, videos, key)
            except Exception as error:  # noqa: BLE001 - the first file's record is still shown
                beside = (None, None, None, None, failure_line(error))
        return (f"Record {key.strip()}.", *shown, *beside)

    def data_open(path: str) -> tuple:
        data = state.data(path)
        status = f"{len(data.samples)} samples ({data.kind})."
        return (status, _cells(data_view.table(data)),
                *(gr.Dropdown(choices=[ANY, *data_view.choices(data, w)], value=ANY)
                  for w in ("stage", "status", "reason")))

    def data_filter(path: str, stage: str, status_: str, reason: str) -> tuple:
        data = state.data(path)
        rows = data_view.table(data, data_view.SampleFilter(_any(stage), _any(status_), _any(reason)))
        return f"{len(rows)} of {len(data.samples)} samples shown.", _cells(rows)

    def data_sample(path: str, sample_id: str) -> tuple:
        detail = data_view.sample_detail(state.data(path), sample_id.strip())
        checked = "All references are key frames and key items." if not detail.problems else \
            "\n".join(f"- {p}" for p in detail.problems)
        return (f"Sample {detail.id}. " + "; ".join(detail.notes), detail.frames, _cells(detail.claims), checked,
                detail.reasoning_html)

    with gr.Blocks(title="o3video") as page:
        gr.Markdown("# o3video: answers, results and data, with their evidence")
        with gr.Tabs(selected="ask") as tabs:
            with gr.Tab("Ask", id="ask"):
                with gr.Row():
                    video = gr.Video(label="video (pick or upload)", sources=["upload"])
                    with gr.Column():
                        question = gr.Textbox(label="question")
                        model = gr.Textbox(label="model (checkpoint, hub id or openai:BASE_URL:MODEL)",
                                           value=config.model or "")
                        frames = gr.Slider(1, 64, value=config.frames, step=1, label="frames")
                        ask_button = gr.Button("Ask", variant="primary")
                ask_status = gr.Markdown()
                answer = gr.Textbox(label="answer", interactive=False)
                picture = gr.Image(label="evidence: cited boxes on their frames, cited times on the timeline",
                                   type="pil", interactive=False)
                evidence = gr.Dataframe(headers=list(EVIDENCE_COLUMNS), label="evidence", interactive=False)
                reasoning = gr.HTML(label="reasoning")
            with gr.Tab("Results", id="results"):
                with gr.Row():
                    results_path = gr.Textbox(label="results file", value=str(config.results or ""))
                    compare_path = gr.Textbox(label="beside it (optional)", value=str(config.compare or ""))
                    anno_path = gr.Textbox(label="annotations (optional, checked)", value=str(config.anno or ""))
                    videos_path = gr.Textbox(label="videos folder", value=str(config.videos_dir() or ""))
                with gr.Row():
                    from o3video.eval.scoring import SCORINGS

                    scoring = gr.Dropdown(list(SCORINGS), value=config.scoring, label="--scoring")
                    judge = gr.Textbox(label="judge", value=config.judge)
                    open_button = gr.Button("Open", variant="primary")
                results_status = gr.Markdown()
                with gr.Accordion("the scorer's report", open=False):
                    summary = gr.Markdown()
                with gr.Row():
                    task = gr.Dropdown([ANY], value=ANY, label="task")
                    domain = gr.Dropdown([ANY], value=ANY, label="domain")
                    length = gr.Dropdown([ANY], value=ANY, label="length")
                    judge_score = gr.Dropdown([ANY, "0", "1", "2", "3"], value=ANY, label="judge score")
                    chain = gr.Dropdown(["1", "2"], value="1", label="chain")
                with gr.Row():
                    tiou_min = gr.Number(0.0, label="tIoU ≥")
                    tiou_max = gr.Number(1.0, label="tIoU ≤")
                    viou_min = gr.Number(0.0, label="vIoU ≥")
                    viou_max = gr.Number(1.0, label="vIoU ≤")
                    sort_by = gr.Dropdown(list(results_view.SORTABLE), value="key", label="sort by")
                    descending = gr.Checkbox(label="descending")
                    filter_button = gr.Button("Filter")
                records = gr.Dataframe(headers=list(results_view.COLUMNS), label="records (select one)",
                                       interactive=False)
                record_key = gr.Textbox(label="record key")
                record_outputs = []
                with gr.Row():
                    for side in ("", " (beside)"):
                        with gr.Column():
                            record_outputs += [
                                gr.Image(label=f"spans: truth against answers{side}", type="pil", interactive=False,
                                         show_label=False, buttons=[]),  # nothing over the truth's row
                                gr.Gallery(label=f"annotated seconds: truth (green) and answers{side}", columns=2,
                                           **GALLERY),
                                gr.Dataframe(headers=["prompt", "question", "completion"], label=f"prompts{side}",
                                             interactive=False, wrap=True),
                                gr.JSON(label=f"metrics (the scorer's){side}"),
                                gr.Markdown(),
                            ]
            with gr.Tab("Data", id="data"):
                with gr.Row():
                    data_path = gr.Textbox(label="STGR file or construction output folder",
                                           value=str(config.data or ""))
                    data_button = gr.Button("Open", variant="primary")
                data_status = gr.Markdown()
                with gr.Row():
                    stage = gr.Dropdown([ANY], value=ANY, label="stage")
                    status_filter = gr.Dropdown([ANY], value=ANY, label="status")
                    reason = gr.Dropdown([ANY], value=ANY, label="reason")
                    data_filter_button = gr.Button("Filter")
                samples = gr.Dataframe(headers=list(data_view.COLUMNS), label="samples (select one)", interactive=False)
                sample_id = gr.Textbox(label="sample id")
                sample_outputs = [
                    gr.Gallery(label="key frames with their key items", columns=3, **(GALLERY | {"height": "auto"})),
                    gr.Dataframe(headers=["object", "time (s)", "boxes (0-1)"], label="reasoning claims",
                                 interactive=False),
                    gr.Markdown(),
                    gr.HTML(),
                ]

        results_inputs = [results_path, compare_path, anno_path, scoring, judge]
        filter_inputs = [*results_inputs, task, domain, length, chain, tiou_min, tiou_max, viou_min, viou_max,
                         judge_score, sort_by, descending]
        record_inputs = [results_path, compare_path, anno_path, scoring, judge, videos_path, record_key]
        ask_button.click(guarded(ask_answer, 4), [video, question, model, frames],
                         [ask_status, answer, picture, evidence, reasoning], api_name="ask")
        open_outputs = [results_status, summary, records, task, domain, length, sort_by]
        open_button.click(guarded(results_open, 6), results_inputs, open_outputs, api_name="results_open")
        filter_button.click(guarded(results_filter, 1), filter_inputs, [results_status, records],
                            api_name="results_filter")
        record_key.submit(guarded(results_record, 10), record_inputs, [results_status, *record_outputs],
                          api_name="results_record")
        data_button.click(guarded(data_open, 4), [data_path], [data_status, samples, stage, status_filter, reason],
                          api_name="data_open")
        data_filter_button.click(guarded(data_filter, 1), [data_path, stage, status_filter, reason],
                                 [data_status, samples], api_name="data_filter")
        sample_id.submit(guarded(data_sample, 4), [data_path, sample_id], [data_status, *sample_outputs],
                         api_name="data_sample")

        def first_cell(event: gr.SelectData) -> str:
            row = getattr(event, "row_value", None)
            return str(row[0]) if row else ""

        records.select(first_cell, None, record_key, api_name=False).then(
            guarded(results_record, 10), record_inputs, [results_status, *record_outputs], api_name=False)
        samples.select(first_cell, None, sample_id, api_name=False).then(
            guarded(data_sample, 4), [data_path, sample_id], [data_status, *sample_outputs], api_name=False)

        def opened(request: gr.Request) -> tuple:
            """The view, record and sample the page's address names (`?view=results&record=KEY`)."""
            try:
                link = read_deep_link(dict(request.query_params) if request is not None else {})
            except Exception as error:  # noqa: BLE001 - a bad link opens the Ask view with the message
                return gr.Tabs(selected="ask"), "", "", failure_line(error)
            return gr.Tabs(selected=link.view), link.record or "", link.sample or "", ""

        load = page.load(opened, None, [tabs, record_key, sample_id, ask_status], api_name="deep_link")
        # files named on the command line are open from the start; the linked record or sample opens after its
        # file, so the view's status line ends on it
        results_opened, data_opened = load, load
        if config.results is not None:
            results_opened = load.then(guarded(results_open, 6), results_inputs, open_outputs, api_name=False)
        if config.data is not None:
            data_opened = load.then(guarded(data_open, 4), [data_path],
                                    [data_status, samples, stage, status_filter, reason], api_name=False)
        results_opened.then(lambda key, *rest: guarded(results_record, 10)(*rest, key) if key else (gr.skip(),) * 11,
                            [record_key, *record_inputs[:-1]], [results_status, *record_outputs], api_name=False)
        data_opened.then(lambda sid, path: guarded(data_sample, 4)(path, sid) if sid else (gr.skip(),) * 5,
                         [sample_id, data_path], [data_status, *sample_outputs], api_name=False)
    return page


__all__ = ["AppState", "build_page", "failure_line", "guarded"]
