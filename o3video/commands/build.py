"""`o3video build`: construct STGR data (paper §3): source filters, VLM annotation, box filtering,
self-consistency, mixing, report. Resumable: rerun the same command to continue or retry failures."""

from __future__ import annotations

import argparse

from o3video.commands.option_checks import Bound

HELP = "Build STGR data: annotate sources with a VLM, filter boxes, check self-consistency, mix; --synthetic-demo runs it offline."


BUILD_BOUNDS = (
    Bound("--max-items", 1), Bound("--concurrency", 1), Bound("--rpm", 0, strict=True),
    Bound("--timeout", 0, strict=True), Bound("--max-retries", 0), Bound("--reply-retries", 0),
    Bound("--max-tokens", 1), Bound("--verify-max-tokens", 1), Bound("--temperature", 0), Bound("--frames", 1),
    Bound("--max-box-area", 0, 1, strict=True), Bound("--min-video-s", 0), Bound("--max-video-s", 0, strict=True),
    Bound("--max-action-share", 0, 1, strict=True), Bound("--max-span-share", 0, 1, strict=True),
    Bound("--max-cot-chars", 1), Bound("--mix-total", 1), Bound("--demo-videos", 1), Bound("--demo-existing", 0),
    Bound("--verifier-error-rate", 0, 1),
)


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--out", required=True, help="output directory (a rerun resumes it)")
    src = parser.add_argument_group("sources")
    src.add_argument("--source", action="append", default=[], metavar="FILE",
                     help="source file (repeatable): temporal grounding JSON (ActivityNet/Charades/QVHighlights-like) "
                          "or region dense captions (PLM-Rdcap-like)")
    src.add_argument("--source-kind", action="append", default=[], choices=["temporal", "dense", "temporal-qa"],
                     help="kind of each --source (one value applies to all): temporal and dense are annotated; "
                          "temporal-qa (samples with a chain of thought) becomes temporal QA records")
    src.add_argument("--source-name", action="append", default=[], help="data set name of each --source (default: file stem)")
    src.add_argument("--videos", help="directory the sources' video names are relative to")
    src.add_argument("--max-items", type=int, help="take only the first N items of each source (a trial run)")
    vlm = parser.add_argument_group("VLM")
    vlm.add_argument("--vlm", help="annotator: openai:BASE_URL:MODEL (vLLM, SGLang, OpenAI), gemini-openai:MODEL, google:MODEL")
    vlm.add_argument("--verifier", help="crop and sentence checker (default: the annotator), same forms")
    vlm.add_argument("--concurrency", type=int, default=4, help="items processed at once (default 4)")
    vlm.add_argument("--rpm", type=float, help="at most this many VLM requests per minute, all threads together")
    vlm.add_argument("--timeout", type=float, default=120.0, help="seconds per request (default 120)")
    vlm.add_argument("--max-retries", type=int, default=4, help="HTTP retries with exponential backoff (default 4)")
    vlm.add_argument("--reply-retries", type=int, default=2, help="re-asks after an unreadable reply (default 2)")
    vlm.add_argument("--max-tokens", type=int, default=4096,
                     help="annotation reply token limit (default 4096; raise it for thinking models such as Gemini 2.5)")
    vlm.add_argument("--verify-max-tokens", type=int, default=16, help="yes/no reply token limit (default 16)")
    vlm.add_argument("--temperature", type=float, default=0.2, help="annotation temperature (default 0.2)")
    vlm.add_argument("--send-context", action="store_true", help="send item metadata in a header (for test servers)")
    checks = parser.add_argument_group("frames and checks")
    checks.add_argument("--frames", type=int, default=8, help="frames shown to the annotator per item (default 8)")
    checks.add_argument("--frame-format", choices=["jpg", "png"], default="jpg", help="key-frame image format (default jpg)")
    checks.add_argument("--max-box-area", type=float, default=0.8, help="remove boxes covering more of the frame (default 0.8)")
    checks.add_argument("--no-crop-check", action="store_true", help="skip 'Is this a {object}?' on crops")
    checks.add_argument("--no-sentence-check", action="store_true", help="skip checking reasoning sentences against crops")
    checks.add_argument("--min-video-s", type=float, default=10.0, help="shortest video to annotate (default 10)")
    checks.add_argument("--max-video-s", type=float, default=180.0, help="longest video to annotate (default 180)")
    checks.add_argument("--max-action-share", type=float, default=0.5, help="annotated action / video, temporal sources (default 0.5)")
    checks.add_argument("--max-span-share", type=float, default=0.7, help="ground-truth span / video, temporal QA (default 0.7)")
    checks.add_argument("--max-cot-chars", type=int, default=6000, help="longest chain of thought kept (default 6000)")
    mix = parser.add_argument_group("mix")
    mix.add_argument("--mix", help="sft, rl (the paper's mixes) or weights 'temporal,spatial,spatio-temporal,general'")
    mix.add_argument("--mix-total", type=int, help="records in the mix (default: as many as the shares allow)")
    mix.add_argument("--include", action="append", default=[], metavar="FILE", help="existing STGR file to mix with (repeatable)")
    mix.add_argument("--seed", type=int, default=0, help="seed of the mix draw (default 0)")
    demo = parser.add_argument_group("synthetic demo")
    demo.add_argument("--synthetic-demo", action="store_true",
                      help="build synthetic sources and run everything against a local ground-truth server with injected errors")
    demo.add_argument("--errors", help="injected error rates kind=rate,... or all=rate (kinds: shifted_box, oversized_box, "
                                       "wrong_name, time_outside_key_frames, hallucinated_object, broken_json; default 0.1 each)")
    demo.add_argument("--demo-videos", type=int, default=12, help="synthetic videos of 10-13 s (default 12; 2 shorter ones are added)")
    demo.add_argument("--demo-existing", type=int, default=80, help="synthetic STGR records of the other categories to mix with (default 80)")
    demo.add_argument("--verifier-error-rate", type=float, default=0.0, help="share of ground-truth verdicts flipped (default 0)")
    parser.add_argument("--restart", action="store_true", help="discard this output directory's finished stages first")
    parser.add_argument("--quiet", action="store_true", help="no progress bars")


def _restart(out) -> None:
    import shutil

    for name in ("stages", "frames"):
        shutil.rmtree(out / name, ignore_errors=True)
    for path in [out / "build_config.json", out / "report.json", out / "report.md", *out.glob("stgr_*.jsonl")]:
        path.unlink(missing_ok=True)
    (out / "world" / "injections.jsonl").unlink(missing_ok=True)


def _config(args: argparse.Namespace):
    from pathlib import Path

    from o3video.construction import BuildConfig, CheckConfig, SourceFilterConfig, SourceSpec, VLMOptions

    kinds = args.source_kind or ["temporal"]
    if len(kinds) not in (1, len(args.source)):
        raise ValueError(f"give one --source-kind for all sources or one per --source ({len(args.source)})")
    if args.source_name and len(args.source_name) != len(args.source):
        raise ValueError("give one --source-name per --source")
    names = args.source_name or [None] * len(args.source)
    kinds = kinds * len(args.source) if len(kinds) == 1 else kinds
    sources = tuple(SourceSpec(Path(path), kind, name) for path, kind, name in zip(args.source, kinds, names))
    if not sources and not (args.include and args.mix):
        raise ValueError("nothing to build: give --source FILE (with --vlm), or --include FILE with --mix")
    return BuildConfig(
        out=Path(args.out),
        sources=sources,
        videos=Path(args.videos) if args.videos else None,
        vlm=args.vlm,
        verifier=args.verifier,
        includes=tuple(Path(p) for p in args.include),
        mix=args.mix,
        mix_total=args.mix_total,
        seed=args.seed,
        concurrency=max(1, args.concurrency),
        frames_per_item=args.frames,
        frame_format=args.frame_format,
        max_items=args.max_items,
        filters=SourceFilterConfig(args.min_video_s, args.max_video_s, args.max_action_share, args.max_span_share, args.max_cot_chars),
        checks=CheckConfig(max_box_area=args.max_box_area, verify_crops=not args.no_crop_check,
                           verify_sentences=not args.no_sentence_check),
        vlm_options=VLMOptions(timeout_s=args.timeout, max_retries=args.max_retries, reply_retries=args.reply_retries,
                               max_tokens=args.max_tokens, verify_max_tokens=args.verify_max_tokens,
                               temperature=args.temperature, requests_per_minute=args.rpm,
                               send_context=args.send_context),
        progress=not args.quiet,
    )


def run(args: argparse.Namespace) -> int:
    from pathlib import Path

    from o3video.commands.option_checks import check_bounds
    from o3video.construction.build_report import render_validation
    from o3video.construction.vlm import VLMError
    from o3video.errors import InputError

    check_bounds(args, BUILD_BOUNDS)
    if args.min_video_s > args.max_video_s:
        raise InputError(f"--min-video-s must be <= --max-video-s ({args.max_video_s}), got {args.min_video_s}")
    if args.synthetic_demo and args.errors:
        from o3video.lab.offline.annotator import parse_error_rates

        try:
            parse_error_rates(args.errors)
        except ValueError as error:
            raise InputError(f"--errors {args.errors}: {error}") from None
    out = Path(args.out)
    if args.restart:
        _restart(out)
    try:
        if args.synthetic_demo:
            from o3video.lab.offline.build_demo import DEFAULT_ERRORS, DemoConfig, run_synthetic_demo

            summary = run_synthetic_demo(DemoConfig(out=out, videos=args.demo_videos, errors=args.errors or DEFAULT_ERRORS,
                                                    existing=args.demo_existing, mix=args.mix or "sft", seed=args.seed,
                                                    concurrency=max(1, args.concurrency),
                                                    verifier_error_rate=args.verifier_error_rate, progress=not args.quiet))
        else:
            from o3video.construction import build

            summary = build(_config(args))
    except (ValueError, VLMError) as err:  # the options, sources and VLM specs; an unreachable VLM
        raise InputError(str(err)) from None
    written = ", ".join(f"{name} {count}" for name, count in summary.records.items())
    print(f"wrote {summary.out}: {written} (report: {summary.out / 'report.md'})")
    if summary.report.get("validation"):
        print(render_validation(summary.report["validation"]))
    if summary.failed:
        print(f"{summary.failed} item(s) failed this run (see report.md); rerun the same command to retry them")
        return 1
    return 0
