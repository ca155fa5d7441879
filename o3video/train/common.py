"""What SFT and RL runs share: threads, the model, trainer-argument defaults, the run (resume, finish)."""

from __future__ import annotations

import logging
from collections.abc import Callable
from pathlib import Path
from typing import Any

from o3video.train.callbacks import METRICS_FILE
from o3video.train.checkpoints import (
    STATE_FILE,
    checkpoint_step,
    clear_run,
    finished_step,
    interrupted_note,
    last_checkpoint,
)
from o3video.train.train_config import TrainConfig, save_config, shipped_config

log = logging.getLogger(__name__)

RESOLVED_CONFIG = "train_config.yaml"


def set_threads(threads: int | None) -> None:
    """Torch CPU threads: on a small machine, one per core beats the default oversubscription."""
    if threads:
        import torch

        torch.set_num_threads(int(threads))


def load_for_training(config: TrainConfig, model: Any = None, processor: Any = None) -> tuple[Any, Any]:
    """The model and processor to train: the given ones, else `config.model` loaded by path or hub id; with
    `config.freeze_vision`, its vision tower no longer takes gradients."""
    if model is not None:
        if processor is None:
            raise ValueError("a model passed in needs its processor too")
    else:
        from o3video.models import load_model
        from o3video.train.lora import quantization_config

        model, processor = load_model(config.model, max_pixels=processor_pixels(config), dtype=config.dtype,
                                      attn_implementation=config.attn_implementation,
                                      quantization_config=quantization_config(config.load_in_4bit, config.dtype))
    if config.freeze_vision:
        freeze_vision(model)
    return model, processor


def processor_pixels(config: TrainConfig) -> int:
    """The processor's area bound: the larger of the frames' and the visual-QA images' (the prompt builder
    resizes each kind to its own)."""
    return max(config.data.max_pixels, config.data.image_max_pixels or 0)


def freeze_vision(model: Any) -> int:
    """Stop gradients to the vision tower of a Qwen-VL model (`model.model.visual`: patch embedding, blocks and
    merger); returns how many parameters it froze. The trainer then optimises only the rest."""
    visual = getattr(getattr(model, "model", model), "visual", None)
    if visual is None:
        raise ValueError(f"{type(model).__name__} has no vision tower (model.visual) to freeze")
    frozen = 0
    for parameter in visual.parameters():
        parameter.requires_grad_(False)
        frozen += parameter.numel()
    log.info("vision tower frozen: %d parameters", frozen)
    return frozen


def trainer_kwargs(config: TrainConfig, defaults: dict[str, Any]) -> dict[str, Any]:
    """TRL config kwargs: our defaults, then the file's `trainer` mapping (which wins).

    Mixed precision defaults to bf16 on a GPU that has it and to fp32 elsewhere (TRL's own default,
    bf16 everywhere, fails on CPUs); without a GPU, several launched processes train on the CPU with gloo."""
    import torch

    kwargs = {
        "output_dir": config.output_dir,
        "seed": config.seed,
        "report_to": "none",
        "logging_steps": 1,
        "remove_unused_columns": False,  # rows are built from an index column by a transform
        "bf16": bool(torch.cuda.is_available() and torch.cuda.is_bf16_supported()),
        "dataloader_pin_memory": torch.cuda.is_available(),
        "use_cpu": not torch.cuda.is_available(),  # torchrun / accelerate on a machine without GPUs: gloo DDP
        **defaults,
    }
    kwargs.update(config.trainer)
    if isinstance(kwargs.get("deepspeed"), str):  # a shipped DeepSpeed config by name: deepspeed_zero3.json
        kwargs["deepspeed"] = str(shipped_config(Path(kwargs["deepspeed"])))
    return kwargs


def prepare_output(config: TrainConfig) -> Path:
    from o3video.train.processes import is_main_process

    out = Path(config.output_dir)
    out.mkdir(parents=True, exist_ok=True)
    if is_main_process():
        save_config(config, out / RESOLVED_CONFIG)
    return out


def run_trainer(config: TrainConfig, make_args: Callable[[TrainConfig], Any],
                build: Callable[..., tuple[Any, Any, Path]], **build_kwargs: Any) -> Path:
    """Train with the trainer `build(config, args=make_args(config), **build_kwargs)` makes, resuming from the
    last complete checkpoint.

    TRL's config comes first: it sets up the processes of a distributed launch (and DeepSpeed ZeRO-3's sharded
    loading, in force for the model `build` then loads). The main process alone decides, and tells the others:
    a finished run (its final `trainer_state.json` in `output_dir`) is left exactly as it is unless
    `config.overwrite`; starting over (`overwrite`, or `resume: false`) first removes the old checkpoints and
    metrics, so that a later resume can never pick up a stale one."""
    from o3video.train.processes import check_launch, decided_by_main

    args = make_args(config)
    check_launch(args)
    out = Path(config.output_dir)
    step = decided_by_main(lambda: finished_step(out))
    if step is not None and not config.overwrite:
        log.warning("%s: finished at step %d; left as it is (overwrite=true / --overwrite trains again)", out, step)
        return out
    from o3video.errors import Interrupted
    from o3video.models.load import transformers_bars_off
    from o3video.train.processes import is_main_process

    resume_from = decided_by_main(lambda: start_or_resume(config, out))
    if resume_from is not None and is_main_process():
        print(f"resuming {out} from {Path(resume_from).name} (step {checkpoint_step(Path(resume_from))})", flush=True)
    with transformers_bars_off():  # the run's own bar shows progress; an interrupt is then one line
        trainer, processor, out = build(config, args=args, **build_kwargs)
        try:
            trainer.train(resume_from_checkpoint=resume_from)
        except KeyboardInterrupt:
            raise Interrupted(interrupted_note(out)) from None
        return finish(trainer, processor, out)


def start_or_resume(config: TrainConfig, out: Path) -> str | None:
    """The checkpoint to resume from (incomplete ones removed), after clearing `out` when the run starts over."""
    if config.overwrite or not config.resume:
        clear_run(out, METRICS_FILE)
    return last_checkpoint(config)


def finish(trainer: Any, processor: Any, out: Path) -> Path:
    """Save the trained model (or LoRA adapter) and its processor with `save_pretrained`, loadable by
    `load_model(out)`; `trainer_state.json`, written last, marks the run finished. Every process takes part in
    saving the model (a sharded one is gathered); only the main process writes files."""
    from o3video.train.processes import wait_for_everyone

    trainer.save_model(str(out))
    if trainer.args.should_save:
        processor.save_pretrained(str(out))
        trainer.state.save_to_json(str(out / STATE_FILE))
    wait_for_everyone()
    return out


def replace_progress_bar(trainer: Any, description: str) -> None:
    """The run's one progress bar (`CompactProgress`) in place of transformers' own: its tqdm bar, or the printer that
    takes its place (one log dict per line) when `disable_tqdm` is set."""
    from transformers.trainer_callback import PrinterCallback, ProgressCallback

    from o3video.train.callbacks import CompactProgress

    trainer.remove_callback(ProgressCallback)
    trainer.remove_callback(PrinterCallback)
    trainer.add_callback(CompactProgress(description))


__all__ = [
    "RESOLVED_CONFIG",
    "finish",
    "freeze_vision",
    "load_for_training",
    "prepare_output",
    "processor_pixels",
    "replace_progress_bar",
    "run_trainer",
    "start_or_resume",
    "set_threads",
    "trainer_kwargs",
]
