"""Random access to the decoded frames of one video stream, seeking only when it pays.

Three lookups, all returning the frame actually decoded, with its presentation time:

* `at_or_after(t)`: the first frame whose time is >= t (uniform sampling, mode `exact`);
* `nearest(t)`: the frame closest to t (annotated key times, which may be rounded either way);
* `key_frame(key)`: one key frame, decoded from its packet alone (mode `keyframe`).

Why it is fast: requests are served in time order from one decoder position. Moving to the next
request continues decoding forward unless a key frame lies between the position and the request,
in which case seeking to that key frame skips the gap (decoding must restart at a key frame anyway,
so given the key-frame index this choice is optimal). On the way to a request, packets of frames
that are earlier than the request *and* that no other frame references are not decoded at all
(`skip_frame = NONREF`, decided per packet): they can never be the answer, and skipping them
cannot change any other frame's pixels.

Why it is exact: decoding starts at a key frame chosen from the key-frame index and only at a key
frame packet (demuxers such as MPEG-TS seek to arbitrary packets; those before the key frame are
read, not decoded). Key-frame times from an MP4 index are decode times, so the chosen key frame
can be *shown* after the request; when the first decoded frame is later than the request, the
reader backs off to the previous key frame, and as a last resort decodes from the start.
"""

from __future__ import annotations

import bisect
import math
from dataclasses import dataclass
from typing import Iterator

from PIL import Image

from o3video.video.probe import VideoInfo
from o3video.video.video_error import VideoError

_EPS = 1e-6  # seconds; float slack when comparing a frame's time with a request
_NEAREST_WINDOW = 1.0  # seconds before a `nearest` request decoded in full, so its predecessor is seen
_MAX_BACKOFF = 8
_TRANSPOSE = {90: Image.Transpose.ROTATE_90, 180: Image.Transpose.ROTATE_180, 270: Image.Transpose.ROTATE_270}


@dataclass(frozen=True)
class KeyEntry:
    """A key frame: its presentation timestamp (`seek_ts`, stream time base; seeking there lands on it
    or before it) and its time in seconds from the first frame (approximate for MP4 indexes)."""

    seek_ts: int
    time: float
    after_ts: float = -math.inf  # midway to the previous key frame: an earlier key packet is not this one


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
        self._start_key: int = 0  # index (in keys) of the key frame decoding started from
        self._last = None  # last frame taken from `_frames`
        self._before_last: float | None = None  # time of the frame before it (None: unknown)
        self._skip_below_pts: float = -math.inf

    def close(self) -> None:
        """Stop decoding and drop the running decode (a generator of this reader's, which refers back to it).

        Without it the reader and its generator form a cycle that only the garbage collector frees, at any time
        and in any thread; freeing the decoder there can deadlock with another thread's FFmpeg log capture
        (`o3video.video.probe.open_video`)."""
        if self._frames is not None:
            self._frames.close()
        self._reset()

    def __enter__(self) -> FrameReader:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

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
                    continue  # landed on an earlier key frame: read on (demux only) to ours
                frames = context.decode(packet) or context.decode(None)
                if frames and (packet.pts is None or frames[0].pts == packet.pts):
                    return self._decoded(frames[0])
                break  # nothing, or a frame whose time is not the packet's (e.g. MPEG-PS): decode exactly
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
                self._start_at_key(self._key_before(window))
            self._skip_below_pts = self.start_pts + window / self.time_base
            before = self._last if self._last is not None and self._time(self._last) >= window - _EPS else None
            fresh = self._last is None  # first frame after a seek: check we did not start too late
            backoffs = 0
            while True:
                frame = next(self._frames, None)
                if fresh:
                    late = frame is None or self._time(frame) > window + _EPS
                    if late and self._start_key is not None:
                        backoffs += 1  # started after the window: restart one key frame earlier
                        earlier = self._start_key - 1 if backoffs <= _MAX_BACKOFF else -1
                        self._start_at_key(earlier if earlier >= 0 else None)
                        continue
                    fresh = False
                if frame is None:
                    self._frames = None
                    if before is None and self._last is None:
                        raise VideoError(self.path, f"no frame could be decoded near {t:.3f}s")
                    return before or self._last, None
                time = self._time(frame)
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

    def _key_before(self, time: float) -> int | None:
        """Index of the last key frame at or before `time` (None: no key frames known)."""
        keys = self.keys()
        if not keys:
            return None
        return max(bisect.bisect_right([k.time for k in keys], time + _EPS) - 1, 0)

    def _reset(self) -> None:
        self._frames, self._last, self._before_last = None, None, None

    def _start_at_key(self, index: int | None) -> None:
        """Restart decoding at key frame `index` (None: at the very start of the stream)."""
        self._reset()
        if index is None:
            self._seek_to_start()
            self._frames, self._start_key = self._decode_stream(-math.inf), None
        else:
            key = self.keys()[index]
            self.container.seek(key.seek_ts, stream=self.stream, backward=True)
            self._frames, self._start_key = self._decode_stream(key.after_ts), index

    def _seek_to_start(self) -> None:
        """Seek before the first packet. Timestamp 0 (or the start, if negative) precedes every packet
        whether the demuxer compares presentation or decode times; some demuxers refuse negative ones."""
        import av

        try:
            self.container.seek(min(0, self.start_pts), stream=self.stream, backward=True)
        except av.error.FFmpegError:
            self.container.seek(self.start_pts, stream=self.stream, backward=True)

    def _decode_stream(self, after_ts: float) -> Iterator:
        """Decoded frames from the first key-frame packet at or after `after_ts` on."""
        context = self.stream.codec_context
        started = False
        for packet in self.container.demux(self.stream):
            if not started:
                if packet.size and not (packet.is_keyframe and (packet.pts is None or packet.pts >= after_ts)):
                    continue
                started = True
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
        pts = frame.pts if frame.pts is not None else frame.dts
        return Decoded(time=max(self._time(frame), 0.0), pts=int(pts), image=self._image(frame))

    def _image(self, frame) -> Image.Image:
        """The frame upright and at the model-input size, in one swscale pass (colour + resample)."""
        width, height = self.size
        if self.info.rotation in (90, 270):
            width, height = height, width
        image = frame.reformat(width=width, height=height, format="rgb24", interpolation="BICUBIC").to_image()
        if self.info.rotation:
            image = image.transpose(_TRANSPOSE[self.info.rotation])
        return image


def _keys_from_index(reader: FrameReader) -> list[KeyEntry] | None:
    """Key frames from the demuxer's index (MP4 sample table, Matroska cues) if it covers the video.

    MP4 index timestamps are decode times while its seeking compares presentation times; the shift
    between them is learnt from the first key frame (seek to it, read its packet) and applied to all.
    Key times are only used to choose which key frame to decode, never as a returned timestamp.
    """
    index = getattr(reader.stream, "index_entries", None) or []  # PyAV >= 16 exposes the demuxer's index
    entries = sorted({e.timestamp for e in index if e.is_keyframe and not e.is_discard})
    if len(entries) < 2:
        return None
    tb, start = reader.time_base, reader.start_pts
    end = start + reader.info.last_frame_time / tb
    gaps = [b - a for a, b in zip(entries, entries[1:])]
    if end - entries[-1] > 1.5 * max(gaps) + 1:
        return None  # the index stops early (e.g. Matroska without cues): don't trust it
    reader.container.seek(entries[0], stream=reader.stream, backward=True)
    shift = None
    for packet in reader.container.demux(reader.stream):
        if packet.size and packet.pts is not None:
            shift = packet.pts - entries[0] if packet.is_keyframe else None
            break
    reader._reset()
    if shift is None:
        return None  # the index does not lead to key frames: find them by demuxing
    return [KeyEntry(seek_ts=ts + shift, time=(ts + shift - start) * tb) for ts in entries]


def _keys_from_demux(reader: FrameReader) -> list[KeyEntry]:
    """Key frames by reading every packet once (no decoding): for files without a usable index.

    Seeking uses the decode time: demuxers without an index (MPEG-TS/PS) search by decode time and
    land exactly there; those that compare presentation times land on the key frame before, and the
    reader reads on (demux only) to this one.
    """
    reader._seek_to_start()
    keys = []
    for packet in reader.container.demux(reader.stream):
        if packet.size and packet.is_keyframe:
            pts = packet.pts if packet.pts is not None else packet.dts
            if pts is not None:
                seek_ts = packet.dts if packet.dts is not None else pts
                keys.append(KeyEntry(seek_ts=seek_ts, time=(pts - reader.start_pts) * reader.time_base))
    reader._reset()
    keys.sort(key=lambda k: k.seek_ts)
    return keys
