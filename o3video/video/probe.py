"""Opening a video and measuring it honestly: duration, frame rate, size and frame count.

Container headers lie or are missing (browser-recorded WebM has no duration, a remux can keep a
stale one, audio can outlast video). So the numbers here come from the video stream itself:
the start is the presentation time of the first decoded frame, the end is the largest
`pts + duration` among the last packets (found by seeking to the last key frame and demuxing
to the end of the file, no decoding), and the frame count comes from the sample table when the
container has one, otherwise from counting packets or, last, duration x rate.
"""

from __future__ import annotations

import itertools
import math
import threading
from contextlib import contextmanager
from dataclasses import asdict, dataclass
from fractions import Fraction
from pathlib import Path
from typing import TYPE_CHECKING, Any, Iterator

from o3video.video.video_error import VideoError

if TYPE_CHECKING:
    import av.container
    import av.video.stream

# Seeking to this timestamp (backward) lands on the last key frame in every demuxer we use.
_FAR_FUTURE = 2**62
# Truncation is detected by index entries that point past the end of the file; the last ones suffice.
_INDEX_TAIL = 64
_REORDER_MARGIN = 2.0  # seconds: B-frame reordering never moves a frame this far in decode order
_TRUNCATION_MARKERS = ("ended prematurely", "partial file", "truncated")


@dataclass(frozen=True)
class VideoInfo:
    """What a video is, measured from its video stream. Times are seconds from the first frame."""

    path: str
    duration: float  # first frame's start to last frame's end
    fps: float  # average frame rate: frame_count / duration when the count is exact
    width: int  # as displayed (after the stream's rotation, if any)
    height: int
    frame_count: int
    frame_count_exact: bool  # False: estimated as duration x fps (container has no sample count)
    constant_rate: bool  # frames evenly spaced (frame numbers are then round(time x fps))
    last_frame_time: float  # presentation time of the last frame
    start_time: float  # absolute presentation time of the first frame (all times are relative to it)
    rotation: int  # degrees the decoded picture is turned counter-clockwise for display
    codec: str
    container: str
    stream_index: int
    time_base: str  # the stream's time base, "num/den"

    @property
    def size(self) -> tuple[int, int]:
        """(width, height) as displayed."""
        return self.width, self.height

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> "VideoInfo":
        return cls(**data)


def probe(path: str | Path) -> VideoInfo:
    """Measure the video at `path`; raises VideoError naming the file if it cannot be used."""
    with open_video(path) as (container, stream):
        return probe_open(path, container, stream)


@contextmanager
def open_video(path: str | Path) -> Iterator[tuple["av.container.InputContainer", "av.video.stream.VideoStream"]]:
    """Open `path` and pick its video stream; every failure becomes a VideoError naming the file.

    One video is open at a time in a process (`_ffmpeg_lock`, held until the block ends): the FFmpeg-warning
    capture switches PyAV's process-wide log level, and PyAV 15's log callback fails ("Exception ignored in:
    'av.logging.log_callback'") when the level is unset while another thread's FFmpeg call is inside it.
    Threads that sample frames (served models, the construction pipeline) wait for each other's decoding
    instead; their parallelism is in the requests."""
    with _ffmpeg_lock:
        yield from _open_video(path)


def _open_video(path: str | Path) -> Iterator[tuple["av.container.InputContainer", "av.video.stream.VideoStream"]]:
    import av

    file = Path(path)
    if not file.exists():
        raise VideoError(path, "file not found")
    if file.is_dir():
        raise VideoError(path, "is a directory, not a video file")
    if file.stat().st_size == 0:
        raise VideoError(path, "file is empty")
    try:
        with _ffmpeg_warnings() as logs:
            container = av.open(str(file), metadata_errors="ignore")
    except av.error.FFmpegError as error:
        said = "; ".join(dict.fromkeys(m.strip() for _, _, m in logs if m.strip()))  # e.g. "moov atom not found"
        detail = f"{_reason(error)}" + (f" (FFmpeg: {said})" if said else "")
        raise VideoError(path, f"not a video FFmpeg can read (corrupt, truncated or unsupported): {detail}") from None
    try:
        stream = _video_stream(path, container)
        stream.thread_type = "AUTO"  # frame + slice threads; must be set before the decoder opens
        yield container, stream
        _drain_decoder(stream)
    finally:
        container.close()


def _drain_decoder(stream) -> None:
    """Wait for the decoder's frame threads (`flush_buffers`) while this thread holds `_ffmpeg_lock`: freed later
    with a frame still being decoded ahead, the decoder would wait on a thread that needs the GIL to log."""
    import av

    try:
        stream.codec_context.flush_buffers()
    except av.error.FFmpegError:
        pass  # a decoder that never opened (or broke) has no frame in flight


def probe_open(path: str | Path, container: "av.container.InputContainer", stream: "av.video.stream.VideoStream") -> VideoInfo:
    """`probe` on an already open container (leaves the read position anywhere: seek before decoding)."""
    import av

    time_base = stream.time_base
    if time_base is None or time_base <= 0:
        raise VideoError(path, "video stream has no time base")
    _check_index_within_file(path, stream)
    try:
        with _ffmpeg_warnings() as warnings:
            first = _first_frame(path, container, stream)
            start_pts = _frame_pts(path, first)
            end_pts, packets_seen, whole_file = _end_pts(container, stream)
    except av.error.FFmpegError as error:
        raise VideoError(path, f"cannot demux or decode the video stream (corrupt or truncated): {_reason(error)}") from None
    _check_no_truncation_warning(path, warnings)
    start = float(start_pts * time_base)
    rate = _declared_rate(stream)
    last_frame_time = float(end_pts.last_pts * time_base) - start
    frame_duration = float(end_pts.last_duration * time_base) if end_pts.last_duration else (1 / rate if rate else 0.0)
    duration = max(last_frame_time + frame_duration, 0.0)
    if stream.frames and stream.frames > 0:
        frame_count, exact = int(stream.frames), True
    elif whole_file:
        frame_count, exact = packets_seen, True
    else:
        frame_count, exact = max(1, round(duration * rate)) if rate else 1, False
    fps = frame_count / duration if exact and duration > 0 else (rate or 0.0)
    width, height, rotation = _display_size(first)
    constant = (
        exact
        and rate is not None
        and abs(fps - rate) <= 1e-3 * rate
        and abs(last_frame_time * fps - (frame_count - 1)) < 0.5
    )
    return VideoInfo(
        path=str(path),
        duration=duration,
        fps=fps,
        width=width,
        height=height,
        frame_count=frame_count,
        frame_count_exact=exact,
        constant_rate=bool(constant),
        last_frame_time=max(last_frame_time, 0.0),
        start_time=start,
        rotation=rotation,
        codec=stream.codec_context.name,
        container=container.format.name,
        stream_index=stream.index,
        time_base=f"{time_base.numerator}/{time_base.denominator}",
    )


def _reason(error: Exception) -> str:
    """FFmpeg's message without the file name PyAV appends (ours already leads the message)."""
    text = getattr(error, "strerror", None) or str(error)
    return str(text)


def _video_stream(path: str | Path, container: "av.container.InputContainer") -> "av.video.stream.VideoStream":
    from av.stream import Disposition

    for stream in container.streams.video:
        if not stream.disposition & Disposition.attached_pic:  # cover art in audio files is not video
            return stream
    kinds = sorted({s.type for s in container.streams}) or ["no streams"]
    raise VideoError(path, f"has no video stream (contains: {', '.join(kinds)}; audio-only?)")


def _first_frame(path: str | Path, container, stream):
    for frame in container.decode(stream):
        return frame
    raise VideoError(path, "contains no decodable video frames")


def _frame_pts(path: str | Path, frame) -> int:
    pts = frame.pts if frame.pts is not None else frame.dts
    if pts is None:
        raise VideoError(path, "video frames carry no timestamps")
    return int(pts)


@dataclass
class _End:
    last_pts: int
    last_duration: int


def _end_pts(container, stream) -> tuple[_End, int, bool]:
    """The packet with the largest pts (the last frame shown), from the last key frame to EOF.

    Returns (end, packets counted, whether the whole file was demuxed). Falls back to demuxing the
    whole file when seeking is impossible or lands nowhere (files without an index).
    """
    import av

    try:
        container.seek(_FAR_FUTURE, stream=stream, backward=True)
        landing = _first_packet(container, stream)
        if landing is not None:
            if landing.is_keyframe:
                end, count = _scan_packets(container, stream, first=landing)
            else:
                # Some demuxers (MPEG-TS) land anywhere; packets shown later may precede the landing
                # point in decode order, so scan from a safe distance before it.
                stamp = landing.dts if landing.dts is not None else landing.pts
                back = round(_REORDER_MARGIN / float(stream.time_base))
                container.seek(max(stamp - back, 0), stream=stream, backward=True)
                end, count = _scan_packets(container, stream)
            if end is not None:
                return end, count, False
    except av.error.FFmpegError:
        pass
    container.seek(0, stream=stream, backward=True)  # raises if even this fails: then the file is unusable
    end, count = _scan_packets(container, stream)
    if end is None:
        raise av.error.InvalidDataError(0, "no video packets")
    return end, count, True


def _first_packet(container, stream):
    for packet in container.demux(stream):
        if packet.size and (packet.pts is not None or packet.dts is not None):
            return packet
    return None


def _scan_packets(container, stream, first=None) -> tuple[_End | None, int]:
    best: _End | None = None
    count = 0
    packets = container.demux(stream)
    for packet in itertools.chain([first] if first is not None else [], packets):
        if packet.size == 0:
            continue  # PyAV's flush packets at EOF
        count += 1
        pts = packet.pts if packet.pts is not None else packet.dts
        if pts is not None and (best is None or pts > best.last_pts):
            best = _End(int(pts), int(packet.duration or 0))
    return best, count


def _check_index_within_file(path: str | Path, stream) -> None:
    """Index entries (MP4 sample table, Matroska cues) pointing past the end of the file mean it was cut.
    PyAV before 16 does not expose the index: then only the other checks speak."""
    entries = getattr(stream, "index_entries", None) or []
    n = len(entries)
    if n == 0:
        return
    size = Path(path).stat().st_size
    for entry in entries[max(0, n - _INDEX_TAIL) :]:
        if entry.pos >= 0 and entry.pos + max(entry.size, 0) > size:
            raise VideoError(
                path,
                f"file is truncated: its index points to byte {entry.pos + entry.size} but the file has {size} bytes",
            )


@contextmanager
def _ffmpeg_warnings() -> Iterator[list]:
    """Capture FFmpeg's warnings on this thread (PyAV drops all FFmpeg logs unless a level is set).

    PyAV's log settings are process-wide, so the level is raised to WARNING (if lower) and repeat
    suppression turned off while any thread is inside this block, then restored by the last one out.
    """
    import av.logging

    _enter_log_capture()
    try:
        with av.logging.Capture() as logs:
            yield logs
    finally:
        _leave_log_capture()


_log_lock = threading.Lock()
_ffmpeg_lock = threading.RLock()  # see open_video
_log_users = 0
_log_saved: tuple[int | None, bool] = (None, True)


def _enter_log_capture() -> None:
    import av.logging

    global _log_users, _log_saved
    with _log_lock:
        if _log_users == 0:
            level = av.logging.get_level()
            _log_saved = (level, av.logging.get_skip_repeated())
            if level is None or level < av.logging.WARNING:
                av.logging.set_level(av.logging.WARNING)
            av.logging.set_skip_repeated(False)  # else a message seen before (another file) is dropped
        _log_users += 1


def _leave_log_capture() -> None:
    import av.logging

    global _log_users
    with _log_lock:
        _log_users -= 1
        if _log_users == 0:
            level, skip_repeated = _log_saved
            av.logging.set_skip_repeated(skip_repeated)
            if av.logging.get_level() != level:
                av.logging.set_level(level)


def _check_no_truncation_warning(path: str | Path, logs: list) -> None:
    """FFmpeg's own word that the data stops early (Matroska: "File ended prematurely"; MP4: "partial file")."""
    for _level, _name, message in logs:
        text = message.strip()
        if any(marker in text.lower() for marker in _TRUNCATION_MARKERS):
            raise VideoError(path, f"file is truncated (FFmpeg: {text})")


def _declared_rate(stream) -> float | None:
    for rate in (stream.average_rate, stream.guessed_rate, stream.base_rate):
        if rate is not None and rate > 0 and math.isfinite(float(rate)):
            return float(Fraction(rate))
    return None


def _display_size(frame) -> tuple[int, int, int]:
    """(width, height, rotation) as a player shows it; rotation is normalised to 0/90/180/270."""
    rotation = int(round(getattr(frame, "rotation", 0) or 0)) % 360
    rotation = 90 * round(rotation / 90) % 360
    if rotation in (90, 270):
        return frame.height, frame.width, rotation
    return frame.width, frame.height, rotation
