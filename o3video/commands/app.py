"""`o3video app`: a local web app to ask a model, browse benchmark results and inspect constructed data."""

from __future__ import annotations

import argparse
from pathlib import Path

from o3video.commands.option_checks import Bound

HELP = "A local web app (Gradio): ask a video question, browse eval results, inspect STGR data, with their evidence."


APP_BOUNDS = (Bound("--frames", 1), Bound("--port", 1, 65535))


def add_arguments(parser: argparse.ArgumentParser) -> None:
    from o3video.app.app_config import DEFAULT_HOST
    from o3video.commands.infer import MODEL_HELP
    from o3video.eval.scoring import SCORINGS

    parser.add_argument("--model", help=f"the Ask view's model (loaded on the first question): {MODEL_HELP}")
    parser.add_argument("--results", type=Path, help="an `o3video eval vstar|mcq|tg` results file")
    parser.add_argument("--compare", type=Path, help="a second results file of the same annotations, shown beside it")
    parser.add_argument("--anno", type=Path, help="the annotations the results were made from (checked against them)")
    parser.add_argument("--videos", type=Path,
                        help="the records' videos (default: the annotations' or results' folder)")
    parser.add_argument("--data", type=Path, help="an STGR file or an `o3video build` output folder")
    parser.add_argument("--judge", default="exact", help="V-STaR what-judge (default exact; as `o3video eval`)")
    parser.add_argument("--scoring", choices=SCORINGS, default="o3video", help="V-STaR scoring (as `o3video eval`)")
    parser.add_argument("--frames", type=int, default=16, help="the Ask view's default number of frames")
    parser.add_argument("--host", default=DEFAULT_HOST, help=f"address to serve on (default {DEFAULT_HOST})")
    parser.add_argument("--port", type=int, help="port (default: the first free one from 7860)")


def run(args: argparse.Namespace) -> int:
    from o3video.app.app_config import AppConfig
    from o3video.commands.option_checks import check_bounds, check_text
    from o3video.eval.judges import parse_judge_spec

    check_bounds(args, APP_BOUNDS)
    check_text(args.host, "--host")
    parse_judge_spec(args.judge)  # a typo is found now, not on the first results shown
    from o3video.app.data_view import open_data
    from o3video.app.web import AppState, build_page

    config = AppConfig(model=args.model, results=args.results, compare=args.compare, anno=args.anno,
                       videos=args.videos, data=args.data, judge=args.judge, scoring=args.scoring,
                       frames=args.frames, host=args.host, port=args.port)
    state = AppState(config)
    # files named on the command line are read now, so a bad one is one line here, before anything is served
    for path in (config.results, config.compare):
        if path is not None:
            state.results(str(path), str(config.anno or ""), config.scoring, config.judge)
    if config.data is not None:
        open_data(config.data)
    if config.model:
        state.shelf.get(config.model)
    page = build_page(config, state)
    page.queue().launch(server_name=config.host, server_port=config.port, inbrowser=False)
    return 0
