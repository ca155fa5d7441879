"""The error a user can fix, and how the command line shows it.

`InputError` is raised for input that cannot be used as it is (a file, a record, a field, an option); its
message names the file, and the record (index or line) and field where there is one. `o3video.cli.main`
turns it, `VideoError` and file-system errors into one line, `o3video <command>: <message>`, with exit
code 2. Anything else is a bug and keeps its traceback.

Pure standard library: the core may import it.
"""

from __future__ import annotations


class InputError(ValueError):
    """Input that cannot be used as it is; the message names the file (record, line, field) and the problem.

    A `ValueError`, so code that catches `ValueError` around parsing keeps working."""


class Interrupted(KeyboardInterrupt):
    """Ctrl-C during work that keeps what it finished; the message says what was kept and how to resume."""


INTERRUPTED_EXIT = 130  # 128 + SIGINT, as a shell reports a command Ctrl-C ended


def one_line(text: str) -> str:
    """`text` with its line breaks (YAML and FFmpeg messages have them) joined into one line."""
    return " ".join(part.strip() for part in str(text).splitlines() if part.strip())


# Which extra brings each third-party module a command may import (pyproject.toml's optional dependencies).
EXTRA_OF_MODULE = {
    "av": "video", "numpy": "video", "PIL": "video",
    "torch": "models", "torchvision": "models", "transformers": "models", "tokenizers": "models",
    "accelerate": "models", "safetensors": "models",
    "trl": "train", "datasets": "train", "yaml": "train",
    "openai": "eval", "matplotlib": "all", "markdown_it": "all", "cv2": "bench",
    "gradio": "app", "gradio_client": "app",
}


def missing_extra(error: BaseException) -> str | None:
    """For an import of a module that an extra brings: which extra to install, as one line."""
    if not isinstance(error, ModuleNotFoundError) or error.name is None:
        return None
    extra = EXTRA_OF_MODULE.get(error.name.split(".")[0])
    if extra is None:
        return None
    return f"needs the [{extra}] extra (no module {error.name!r}): pip install 'o3video[{extra}]' (or 'o3video[all]')"


def _video_errors() -> tuple[type, ...]:
    """The video layer's error type, when that layer is installed (the core installs without it)."""
    try:
        from o3video.video.video_error import VideoError
    except ModuleNotFoundError:
        return ()
    return (VideoError,)


def user_message(error: BaseException) -> str | None:
    """The one-line message for an error the user can fix, or None for a bug (which keeps its traceback).

    User errors: `InputError` (and its kinds: `ConfigError`, `RecordError`, `RunFileError`, ...), the video
    layer's `VideoError`, and operating-system errors on a named file (missing, a folder, no permission,
    disk full)."""
    extra = missing_extra(error)
    if extra is not None:
        return extra
    if isinstance(error, (InputError, *_video_errors())):
        return one_line(str(error))
    if isinstance(error, OSError):
        if error.filename is not None and error.strerror:
            return one_line(f"{error.filename}: {error.strerror}")
        return one_line(error.strerror or str(error)) or None
    return None


__all__ = ["EXTRA_OF_MODULE", "INTERRUPTED_EXIT", "InputError", "Interrupted", "missing_extra", "one_line",
           "user_message"]
