"""Random access to the decoded frames of one video stream, seeking only when it pays.

Three lookups, all returning the frame actually decoded with its presentation time:

* `at_or_after(t)`: the first frame whose time is >= t (uniform sampling, mode `exact`);
* `nearest(t)`: the frame closest to t (annotated key times, which may be rounded either way);
* `key_frame(key)`: one key frame, decoded from its packet alone (mode `keyframe`).

Why it is fast: requests are served in time order from one decoder position. Moving to the next
request continues decoding forward unless a key frame lies between the position and the request,
in which case seeking there skips the gap (decoding must restart at a key frame anyway, so this
choice is optimal given the key-frame index). On the way to a request, packets of frames that are
earlier than the request *and* that no other frame references are not decoded at all
(`skip_frame = NONREF`, set per packet); they can never be the answer, and skipping them cannot
change any other frame's pixels.

Why it is exact: MP4 indexes seek by decode time, so a seek can land on a key frame that is
*shown* after the request (B-frames). When the first frame after a seek is later than the request,
the reader backs off to the previous key frame.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import TYPE_CHECKING, Iterator

from PIL import Image

from o3video.video.errors import VideoError
from o3video.video.probe import VideoInfo

if TYPE_CHECKING:
    import av

_EPS = 1e-6  # seconds; float slack when comparing a frame's time with a request
_NEAREST_WINDOW = 1.0  # seconds before a `nearest` request decoded in full, so its predecessor is seen
_MAX_BACKOFF = 16


@dataclass(frozen=True)
class KeyEntry:
    """A key frame: its presentation timestamp (`seek_ts`, stream time base; seeking there lands on it)
    and its time in seconds from the first frame (approximate when the index holds decode times)."""

    seek_ts: int
    time: float  # approximate presentation time, relative to the first frame
    after_ts: float = -math.inf  # midway to the previous key frame: a key packet before this is not ours


@dataclass
class Decoded:
    """One decoded frame, already converted to the model-input size."""

    time: float  # presentation time, seconds from the first frame
    pts: int
    image: Image.Image


class FrameReader:
    """Decodes frames of `stream` for requests in time order; see the module docstring."""

    def __init__(self, path: str, container, stream, info: VideoInfo, size: tuple[int, int]) -> None:
        self.path = path
        self.container = container
        self.stream = stream
        self.info = info
        self.size = size
        self.time_base = float(stream.time_base)
        self.start_pts = round(info.start_time / self.time_base)
        self._keys: list[KeyEntry] | None = None
        self._frames: Iterator | None = None  # decoded frames from the current position
        self._last = None  # last frame taken from `_frames`
        self._before_last: float | None = None  # time of the frame before it (None: unknown)
        self._skip_below_pts: float = -math.inf
        self._landing_ts: int | None = None

    # ------------------------------------------------------------------ public lookups

    def at_or_after(self, t: float) -> Decoded:
        """The first frame shown at or after `t` seconds (the last frame if `t` is past the end)."""
        last = self._last
        if last is not None and self._before_last is not None:
            if self._time(last) >= t - _EPS and self._before_last < t - _EPS:
                return self._decoded(last)  # the current frame already answers (repeated request)
        before, hit = self._advance(t, window=t)
        return self._decoded(hit if hit is not None else before)

    def nearest(self, t: float) -> Decoded:
        """The frame shown closest to `t` seconds (ties go to the later frame)."""
        before, hit = self._advance(t, window=t - _NEAREST_WINDOW)
        if hit is None or (before is not None and t - self._time(before) < self._time(hit) - t):
            return self._decoded(before)
        return self._decoded(hit)

    def key_frame(self, key: KeyEntry) -> Decoded:
        """The key frame at `key`, decoding its packet only; falls back to `nearest` if it yields nothing."""
        import av

        self._reset()
        context = self.stream.codec_context
        try:
            self.container.seek(key.seek_ts, stream=self.stream, backward=True)
            for packet in self.container.demux(self.stream):
                if packet.size == 0 or not packet.is_keyframe:
                    continue
                if packet.pts is not None and packet.pts < key.after_ts:
                    continue  # landed on the previous key frame: read on (demux only) to ours
                frames = context.decode(packet) or context.decode(None)
                if frames:
                    return self._decoded(frames[0])
                break
        except av.error.FFmpegError as error:
            raise VideoError(self.path, f"cannot decode the key frame near {key.time:.3f}s: {error}") from None
        return self.nearest(key.time)

    def keys(self) -> list[KeyEntry]:
        """Key frames of the stream, in time order (from the container index, else one demux pass)."""
        if self._keys is None:
            keys = _keys_from_index(self) or _keys_from_demux(self)
            self._keys = [
                KeyEntry(key.seek_ts, key.time, (key.seek_ts + keys[i - 1].seek_ts) / 2 if i else -math.inf)
                for i, key in enumerate(keys)
            ]
        return self._keys

    # ------------------------------------------------------------------ decoding machinery

    def _advance(self, t: float, window: float):
        """Decode forward to the first frame at or after `t`; returns (frame before it, that frame).

        `window` <= t: frames from `window` on are decoded in full; earlier non-reference ones may be
        skipped. The frame before is only reported when it is at or after `window`.
        """
        import av

        window = max(window, 0.0)  # nothing is shown before the first frame (time 0)
        try:
            if self._must_seek(t, window):
                self._seek(window)
            self._skip_below_pts = self.start_pts + window / self.time_base
            before = self._last if self._last is not None and self._time(self._last) >= window - _EPS else None
            fresh = self._last is None  # first frame after a seek: check we did not land too late
            backoffs = 0
            while True:
                frame = next(self._frames, None)
                if frame is None:
                    self._frames = None
                    if before is None and self._last is None:
                        raise VideoError(self.path, f"no frame could be decoded near {t:.3f}s")
                    return before or self._last, None
                time = self._time(frame)
                if fresh:
                    fresh = False
                    if time > window + _EPS and backoffs < _MAX_BACKOFF:
                        backoffs += 1
                        fresh = self._back_off()  # restarts decoding, earlier if it can
                        continue
                self._before_last = self._time(self._last) if self._last is not None else None
                self._last = frame
                if time >= t - _EPS:
                    return before, frame
                if time >= window - _EPS:
                    before = frame
        except av.error.FFmpegError as error:
            raise VideoError(self.path, f"decoding failed near {t:.3f}s (corrupt data?): {error}") from None

    def _must_seek(self, t: float, window: float) -> bool:
        keys = self.keys()  # may seek (first call): do it before reading the position
        if self._frames is None or self._last is None:
            return True
        position = self._time(self._last)
        if position >= t - _EPS:
            return True  # already past it: go back
        if position >= window - _EPS:
            return False  # inside the window: keep going
        return any(position < key.time <= window for key in keys)

    def _reset(self) -> None:
        self._frames, self._last, self._before_last, self._landing_ts = None, None, None, None

    def _seek(self, time: float) -> None:
        self._seek_ts(math.floor(self.start_pts + time / self.time_base))

    def _seek_ts(self, ts: int) -> None:
        self.container.seek(ts, stream=self.stream, backward=True)
        self._reset()
        self._frames = self._decode_stream()

    def _back_off(self) -> bool:
        """Restart decoding at the key frame before the one we landed on.

        Returns False (and restarts at the same key frame) when there is no earlier one.
        """
        landing = self._landing_ts
        if landing is None:
            return False
        self._seek_ts(landing - 1)
        first = next(self._frames, None)  # decoding the first frame tells us where we landed
        if self._landing_ts is None or self._landing_ts >= landing:
            self._seek_ts(landing)
            return False
        self._frames = _chain(first, self._frames)
        return True

    def _decode_stream(self) -> Iterator:
        context = self.stream.codec_context
        for packet in self.container.demux(self.stream):
            if packet.size and self._landing_ts is None:
                stamps = [s for s in (packet.pts, packet.dts) if s is not None]
                self._landing_ts = min(stamps) if stamps else None
            skippable = packet.size and packet.pts is not None and packet.pts < self._skip_below_pts
            context.skip_frame = "NONREF" if skippable else "DEFAULT"
            yield from context.decode(packet)
        context.skip_frame = "DEFAULT"

    def _time(self, frame) -> float:
        pts = frame.pts if frame.pts is not None else frame.dts
        if pts is None:
            raise VideoError(self.path, "video frames carry no timestamps")
        return (pts - self.start_pts) * self.time_base

    def _decoded(self, frame) -> Decoded:
        return Decoded(time=max(self._time(frame), 0.0), pts=int(frame.pts if frame.pts is not None else frame.dts), image=self._image(frame))

    def _image(self, frame) -> Image.Image:
        """The frame upright and at the model-input size, in one swscale pass (colour + resample)."""
        width, height = self.size
        if self.info.rotation in (90, 270):
            width, height = height, width
        image = frame.reformat(width=width, height=height, format="rgb24", interpolation="BICUBIC").to_image()
        if self.info.rotation:
            transpose = {90: Image.Transpose.ROTATE_90, 180: Image.Transpose.ROTATE_180, 270: Image.Transpose.ROTATE_270}
            image = image.transpose(transpose[self.info.rotation])
        return image


def _chain(first, rest: Iterator) -> Iterator:
    if first is not None:
        yield first
    yield from rest


def _keys_from_index(reader: FrameReader) -> list[KeyEntry] | None:
    """Key frames from the demuxer's index (MP4 sample table, Matroska cues) if it covers the video.

    MP4 index timestamps are decode times while its seeking compares presentation times; the shift
    between them is learnt from the first key frame (seek to it, read its packet) and applied to all.
    Key times are only used to choose which key frame to decode, never as a returned timestamp.
    """
    entries = [e.timestamp for e in reader.stream.index_entries if e.is_keyframe and not e.is_discard]
    entries = sorted(set(entries))
    if len(entries) < 2:
        return None
    tb, start = reader.time_base, reader.start_pts
    end = start + reader.info.last_frame_time / tb
    gaps = [b - a for a, b in zip(entries, entries[1:])]
    if end - entries[-1] > 1.5 * max(gaps) + 1:
        return None  # the index stops early (e.g. Matroska without cues): don't trust it
    reader.container.seek(entries[0], stream=reader.stream, backward=True)
    shift = 0
    for packet in reader.container.demux(reader.stream):
        if packet.size and packet.pts is not None:
            shift = packet.pts - entries[0] if packet.is_keyframe else 0
            break
    reader._reset()
    return [KeyEntry(seek_ts=ts + shift, time=(ts + shift - start) * tb) for ts in entries]


def _keys_from_demux(reader: FrameReader) -> list[KeyEntry]:
    """Key frames by reading every packet once (no decoding): for files without a usable index."""
    reader.container.seek(0, stream=reader.stream, backward=True)
    keys = []
    for packet in reader.container.demux(reader.stream):
        if packet.size and packet.is_keyframe:
            pts = packet.pts if packet.pts is not None else packet.dts
            if pts is not None:
                keys.append(KeyEntry(seek_ts=pts, time=(pts - reader.start_pts) * reader.time_base))
    reader._reset()
    return keys
