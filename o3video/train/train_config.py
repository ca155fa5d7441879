"""Training run configuration: YAML files plus `key=value` overrides, read into dataclasses.

A config file names the stage, the model, the data and the trainer settings::

    stage: rl                      # sft | rl
    model: runs/sft                # hub id or a directory written by save_pretrained
    output_dir: runs/rl
    data:
      train: [data/stgr/stgr_rl.json]   # STGR files (released JSON array or JSON lines), mixed
      num_frames: 16
      max_pixels: 100352
    trainer:                       # passed as they are to TRL's SFTConfig / GRPOConfig
      learning_rate: 1.0e-6
      num_train_epochs: 1
    algo: gspo                     # rl only: gspo (sequence-level ratio) | grpo (token-level, the ablation)
    rewards: {sigma: null, gating: true, tau: 3.0}
    box_convention: auto           # auto (from the model) | pixels | relative_1000: how targets and rewards write boxes
    freeze_vision: false           # true: the vision tower keeps its loaded weights (as Qwen-VL's own fine-tuning can)
    lora: {r: 64, lora_alpha: 128} # peft LoraConfig fields: train a LoRA adapter only (default: no LoRA)
    load_in_4bit: false            # true (with lora): QLoRA, the base model in 4-bit through bitsandbytes
    completions_every: 50          # rl: every 50 steps, the latest rollout's completions and reward terms (0: off)

Overrides address any field with a dotted path: `trainer.learning_rate=1e-5`, `data.num_frames=8`,
`algo=grpo`, `rewards.gating=false`. Values are read as YAML (`null`, `true`, lists), and a
number YAML leaves as text (`1e-5`) is read as a number.

Every value is checked against its field's type when the config is loaded (so `--print-config` fails
too): our fields by the dataclasses below, `trainer.*` (and `algo_settings.*`) by the fields of TRL's
SFTConfig / GRPOConfig, so a typo or `trainer.max_steps=abc` is a one-line error naming the key rather
than a failure after the model has loaded.
"""

from __future__ import annotations

import copy
import difflib
import functools
import types
import typing
from collections.abc import Mapping
from dataclasses import asdict, dataclass, field, fields, is_dataclass
from pathlib import Path
from typing import Any

import yaml

from o3video.errors import InputError
from o3video.geometry import AUTO_CONVENTION, CONVENTION_CHOICES, MAX_PIXELS
from o3video.io import atomic_write_text
from o3video.rewards import check_sigma

STAGES = ("sft", "rl")
ALGOS = ("gspo", "grpo")

# The clipping each algorithm needs. GSPO's ratio is a per-token geometric mean, so its clip range is
# tiny: TRL's documented GSPO setting (GSPO paper v2, §5.1). GRPO's token ratios use the usual 0.2.
ALGO_SETTINGS: dict[str, dict[str, Any]] = {
    "gspo": {"importance_sampling_level": "sequence", "loss_type": "grpo", "epsilon": 3e-4, "epsilon_high": 4e-4},
    "grpo": {"importance_sampling_level": "token", "loss_type": "grpo", "epsilon": 0.2, "epsilon_high": 0.2},
}


CONFIG_DIR = Path(__file__).resolve().parents[1] / "configs"  # package data: the recipes o3video ships
SHIPPED_CONFIGS = tuple(sorted(p.name for p in CONFIG_DIR.glob("*.yaml")))


def shipped_config(path: Path) -> Path:
    """`path`, or the shipped config of that name when no such file exists (`--config tiny_sft.yaml`,
    `trainer.deepspeed: deepspeed_zero3.json`)."""
    if not path.exists() and (CONFIG_DIR / path.name).is_file() and len(path.parts) == 1:
        return CONFIG_DIR / path.name
    return path


class ConfigError(InputError):
    """A config file or override that cannot be used; the message names the file and the key."""


@dataclass
class DataConfig:
    """Where the training records are and how each one becomes a prompt."""

    train: list[str] = field(default_factory=list)  # STGR files, mixed in one shuffled dataset
    root: str | None = None  # media root for video_path/image_path/key-frame paths; default: each file's folder
    num_frames: int = 16  # uniform frames per video (key frames are inserted in addition)
    frame_mode: str = "exact"  # exact | keyframe (see o3video.video.sample_frames)
    max_pixels: int = MAX_PIXELS  # each video frame's area bound
    image_max_pixels: int | None = None  # a visual-QA image's area bound (None: max_pixels)
    insert_key_frames: bool = True  # the paper's key-frame insertion for records with key_frames
    cache_dir: str | None = ".cache/frames"  # decoded frames are cached here once per video
    limit: int | None = None  # only the first N records of each file (smoke runs)
    on_error: str = "raise"  # raise | skip, for malformed records
    blank_frames: bool = False  # the blind baseline: every frame and image blank (times and sizes kept)


@dataclass
class RewardConfig:
    """The paper's reward and its ablations (docs/design.md §3)."""

    sigma: float | None = None  # None: adaptive σ(p) = max(1, 4(1-p)); a number fixes σ (ablation)
    gating: bool = True  # False: no temporal gate for the spatial reward (ablation)
    tau: float = 3.0  # the gate, seconds
    terms: list[str] = field(default_factory=lambda: ["accuracy", "temporal", "spatial", "format"])


@dataclass
class TrainConfig:
    stage: str
    model: str
    output_dir: str
    data: DataConfig = field(default_factory=DataConfig)
    trainer: dict[str, Any] = field(default_factory=dict)
    algo: str = "gspo"
    rewards: RewardConfig = field(default_factory=RewardConfig)
    algo_settings: dict[str, dict[str, Any]] = field(default_factory=lambda: copy.deepcopy(ALGO_SETTINGS))
    dtype: str = "auto"  # model weights: auto (the checkpoint's) | bfloat16 | float32 ...
    attn_implementation: str | None = None  # sdpa | flash_attention_2 | eager (None: transformers' choice)
    box_convention: str = AUTO_CONVENTION  # how the model writes boxes: auto (its config) | pixels | relative_1000
    threads: int | None = None  # torch CPU threads (None: leave torch's default)
    freeze_vision: bool = False  # keep the vision tower (its merger included) as loaded; train the rest
    lora: dict[str, Any] | None = None  # peft LoraConfig fields: train a LoRA adapter only (o3video.train.lora)
    load_in_4bit: bool = False  # QLoRA: the base model's linear layers in 4-bit NF4 (bitsandbytes, CUDA); needs lora
    completions_every: int = 0  # rl: every N steps, the latest rollout with its reward terms to completions.jsonl
    resume: bool = True  # continue from the last complete checkpoint-N in output_dir when there is one
    overwrite: bool = False  # train again even if output_dir holds a finished run (deletes it first)
    seed: int = 0

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


def _build(cls: type, data: dict[str, Any], where: str, prefix: str = "") -> Any:
    """`cls(**data)` with nested dataclasses built too and every value checked against its field's type;
    unknown keys are an error naming them."""
    known = {f.name: f for f in fields(cls)}
    hints = typing.get_type_hints(cls)
    unknown = sorted(set(data) - set(known))
    if unknown:
        raise ConfigError(f"{where}: {prefix}unknown key(s) {unknown}; expected some of {sorted(known)}")
    kwargs = {}
    for name, value in data.items():
        default = known[name].default_factory() if callable(known[name].default_factory) else None  # type: ignore[misc]
        if is_dataclass(default) and not isinstance(value, type(default)):
            if not isinstance(value, dict):
                raise ConfigError(f"{where}: {prefix}{name}: must be a mapping, got {value!r}")
            value = _build(type(default), value, where, f"{prefix}{name}.")
        else:
            value = typed(value, hints[name], f"{where}: {prefix}{name}")
        kwargs[name] = value
    try:
        return cls(**kwargs)
    except TypeError as err:
        raise ConfigError(f"{where}: {err}") from None


_SIMPLE = {bool: "true or false", int: "an integer", float: "a number", str: "a string"}


def typed(value: Any, hint: Any, key: str) -> Any:
    """`value` as a field typed `hint` takes it (an integral float becomes an int), or a `ConfigError`
    naming `key`. Checked: bool, int, float, str, lists of them, and unions with None; other types (enums,
    mappings, `Any`) are left to the code that reads them."""
    origin, args = typing.get_origin(hint), typing.get_args(hint)
    if origin in (typing.Union, types.UnionType):
        if value is None and type(None) in args:
            return None
        options = [a for a in args if a is not type(None)]
        for option in options:
            try:
                return typed(value, option, key)
            except ConfigError:
                continue
        raise ConfigError(f"{key}: expected {_describe(hint)}, got {value!r}")
    if origin is list and isinstance(value, list):
        return [typed(v, args[0] if args else Any, f"{key}[{i}]") for i, v in enumerate(value)]
    if origin is list or hint in _SIMPLE:
        return _simple(value, hint if hint in _SIMPLE else list, key)
    return value


def _simple(value: Any, hint: type, key: str) -> Any:
    if hint is int and isinstance(value, float) and value.is_integer():
        return int(value)
    ok = isinstance(value, hint) and not (hint in (int, float) and isinstance(value, bool))
    if hint is float and isinstance(value, int) and not isinstance(value, bool):
        ok = True
    if not ok:
        raise ConfigError(f"{key}: expected {_describe(hint)}, got {value!r}")
    return value


def _describe(hint: Any) -> str:
    args = [a for a in typing.get_args(hint) if a is not type(None)]
    if typing.get_origin(hint) in (typing.Union, types.UnionType):
        names = [_describe(a) for a in args] + (["null"] if type(None) in typing.get_args(hint) else [])
        return " or ".join(names)
    if hint is list or typing.get_origin(hint) is list:
        return "a list"
    return _SIMPLE.get(hint, getattr(hint, "__name__", str(hint)))


@functools.lru_cache(maxsize=2)
def trl_fields(stage: str) -> tuple[str, dict[str, Any]]:
    """The name of TRL's config class for `stage` (SFTConfig, GRPOConfig) and the types of its fields."""
    from trl import GRPOConfig, SFTConfig

    cls = SFTConfig if stage == "sft" else GRPOConfig
    hints = typing.get_type_hints(cls)
    return cls.__name__, {f.name: hints.get(f.name, Any) for f in fields(cls) if f.init}


@functools.lru_cache(maxsize=1)
def lora_fields() -> dict[str, Any]:
    """The init fields of peft's LoraConfig (the `lora` mapping) and their types (Any where peft's hints cannot
    be resolved)."""
    from peft import LoraConfig

    try:
        hints = typing.get_type_hints(LoraConfig)
    except (NameError, TypeError):
        hints = {}
    return {f.name: hints.get(f.name, Any) for f in fields(LoraConfig) if f.init}


def check_trainer_settings(settings: dict[str, Any], stage: str, key: str) -> dict[str, Any]:
    """`settings` (the `trainer` mapping, or one of `algo_settings`) checked against TRL's config class
    for `stage`: an unknown name (with the nearest field) or a value of the wrong type is a `ConfigError`
    naming `key.name`. `null` passes as it is."""
    name, known = trl_fields(stage)
    return check_fields(settings, known, f"TRL's {name}", key)


def check_fields(settings: dict[str, Any], known: dict[str, Any], owner: str, key: str) -> dict[str, Any]:
    """`settings` checked against the field types `known` of `owner` (a class named in the message): an unknown
    name (with the nearest field) or a value of the wrong type is a `ConfigError` naming `key.name`."""
    checked = {}
    for field_name, value in settings.items():
        if field_name not in known:
            near = difflib.get_close_matches(field_name, known, n=1)
            hint = f"; did you mean {near[0]}?" if near else ""
            raise ConfigError(f"{key}.{field_name}: not a field of {owner}{hint}")
        checked[field_name] = value if value is None else typed(value, known[field_name], f"{key}.{field_name}")
    return checked


def parse_value(text: str) -> Any:
    """An override value: YAML (`null`, `true`, `[8, 16]`, `1.0e-6`), with `1e-6`-style numbers as floats."""
    value = yaml.safe_load(text) if text.strip() else ""
    if isinstance(value, str):
        try:
            return float(value)
        except ValueError:
            return value
    return value


def set_value(data: dict[str, Any], key: str, value: Any, *, where: str) -> None:
    """Set the dotted `key` (`a.b.c`) of the nested dict `data` to `value` as it is (creating mappings on the way)."""
    parts = key.strip().split(".")
    node = data
    for part in parts[:-1]:
        child = node.setdefault(part, {})
        if not isinstance(child, dict):
            raise ConfigError(f"{where}: {part} is not a mapping")
        node = child
    node[parts[-1]] = value


def apply_override(data: dict[str, Any], assignment: str) -> None:
    """Set `a.b.c=value` (text from the command line, read as YAML: `parse_value`) in the nested dict `data`."""
    key, sep, text = assignment.partition("=")
    if not sep or not key.strip():
        raise ConfigError(f"override {assignment!r}: expected key=value")
    set_value(data, key, parse_value(text), where=f"override {assignment!r}")


def load_config(path: str | Path | None = None, overrides: list[str] = (), *, stage: str | None = None,
                values: Mapping[str, Any] | None = None) -> TrainConfig:
    """Read a YAML config, set the typed `values` (dotted key -> value, taken as they are), then apply the
    `key=value` text overrides of a command line, validate, and return the TrainConfig.

    `stage` (from the command line) must agree with the file's `stage` when both are given."""
    data: dict[str, Any] = {}
    where = "config"
    if path is not None:
        path = shipped_config(Path(path))
        where = str(path)
        if not path.is_file():
            raise ConfigError(f"{path}: no such config file (shipped ones: {', '.join(SHIPPED_CONFIGS)})")
        try:
            loaded = yaml.safe_load(path.read_text(encoding="utf-8"))
        except yaml.YAMLError as err:
            raise ConfigError(f"{path}: not valid YAML ({err})") from None
        if loaded is not None and not isinstance(loaded, dict):
            raise ConfigError(f"{path}: the top level must be a mapping")
        data = loaded or {}
    for key, value in (values or {}).items():
        set_value(data, key, value, where=f"{where}: {key}")
    for assignment in overrides:
        apply_override(data, assignment)
    if stage is not None:
        if data.get("stage", stage) != stage:
            raise ConfigError(f"{where}: is a {data['stage']!r} config, but the command trains {stage!r}")
        data["stage"] = stage
    for required in ("stage", "model", "output_dir"):
        if not data.get(required):
            raise ConfigError(f"{where}: {required} is required")
    if isinstance(data.get("data", {}).get("train"), str):
        data["data"]["train"] = [data["data"]["train"]]
    config = _build(TrainConfig, data, where)
    validate(config, where)
    return config


def validate(config: TrainConfig, where: str = "config") -> None:
    if config.stage not in STAGES:
        raise ConfigError(f"{where}: stage must be one of {STAGES}, got {config.stage!r}")
    if config.algo not in ALGOS:
        raise ConfigError(f"{where}: algo must be one of {ALGOS}, got {config.algo!r}")
    if not config.data.train:
        raise ConfigError(f"{where}: data.train must name at least one STGR file")
    if config.completions_every < 0:
        raise ConfigError(f"{where}: completions_every must be >= 0 (0: no completions.jsonl)")
    if config.data.num_frames < 1:
        raise ConfigError(f"{where}: data.num_frames must be >= 1")
    if config.data.on_error not in ("raise", "skip"):
        raise ConfigError(f"{where}: data.on_error must be raise or skip")
    if config.box_convention not in CONVENTION_CHOICES:
        raise ConfigError(f"{where}: box_convention must be one of {', '.join(CONVENTION_CHOICES)}, "
                          f"got {config.box_convention!r}")
    try:
        check_sigma(config.rewards.sigma)
    except ValueError:
        raise ConfigError(f"{where}: rewards.sigma must be > 0 and finite (or null for the adaptive schedule), "
                          f"got {config.rewards.sigma!r}") from None
    if not isinstance(config.trainer, dict):
        raise ConfigError(f"{where}: trainer must be a mapping of SFTConfig/GRPOConfig fields")
    config.trainer = check_trainer_settings(config.trainer, config.stage, f"{where}: trainer")
    if config.lora is not None:
        if not isinstance(config.lora, dict):
            raise ConfigError(f"{where}: lora must be a mapping of peft LoraConfig fields")
        config.lora = check_fields(config.lora, lora_fields(), "peft's LoraConfig", f"{where}: lora")
    if config.load_in_4bit and config.lora is None:
        raise ConfigError(f"{where}: load_in_4bit needs lora: a 4-bit base model trains through a LoRA adapter only")
    if config.stage == "rl":
        for algo, settings in config.algo_settings.items():
            if not isinstance(settings, dict):
                raise ConfigError(f"{where}: algo_settings.{algo}: must be a mapping of GRPOConfig fields")
            config.algo_settings[algo] = check_trainer_settings(settings, "rl", f"{where}: algo_settings.{algo}")


def save_config(config: TrainConfig, path: str | Path) -> Path:
    """Write the resolved config (after overrides) next to the run, so a run says how it was made."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    atomic_write_text(path, yaml.safe_dump(config.to_dict(), sort_keys=False))
    return path


__all__ = [
    "ALGOS",
    "ALGO_SETTINGS",
    "ConfigError",
    "DataConfig",
    "RewardConfig",
    "STAGES",
    "TrainConfig",
    "apply_override",
    "check_fields",
    "check_trainer_settings",
    "load_config",
    "lora_fields",
    "parse_value",
    "save_config",
    "trl_fields",
    "typed",
]
