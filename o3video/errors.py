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


def one_line(text: str) -> str:
    """`text` with its line breaks (YAML and FFmpeg messages have them) joined into one line."""
    return " ".join(part.strip() for part in str(text).splitlines() if part.strip())


def user_message(error: BaseException) -> str | None:
    """The one-line message for an error the user can fix, or None for a bug (which keeps its traceback).

    User errors: `InputError` (and its kinds: `ConfigError`, `RecordError`, `RunFileError`, ...), the video
    layer's `VideoError`, and operating-system errors on a named file (missing, a folder, no permission,
    disk full)."""
    from o3video.video.errors import VideoError

    if isinstance(error, (InputError, VideoError)):
        return one_line(str(error))
    if isinstance(error, OSError):
        if error.filename is not None and error.strerror:
            return one_line(f"{error.filename}: {error.strerror}")
        return one_line(error.strerror or str(error)) or None
    return None


__all__ = ["InputError", "one_line", "user_message"]
