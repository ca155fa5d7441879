"""A killed `synth` or `build` leaves `.NAME.PID.tmp.SUFFIX` temporaries behind; the next run removes those
of dead processes and keeps those of live ones (another writer may be at work)."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

from o3video.cli import main
from o3video.io import atomic_path, remove_orphans, temp_path

SYNTH = ["--sft", "2", "--rl", "0", "--bench", "0", "--size", "56x42", "--duration", "2,2", "--quiet"]


def dead_pid() -> int:
    """The PID of a process that has exited (what a SIGKILLed writer leaves in its temporaries' names)."""
    child = subprocess.Popen([sys.executable, "-c", "pass"])
    child.wait()
    return child.pid


def plant(folder: Path) -> tuple[list[Path], list[Path]]:
    """Temporaries as a killed writer leaves them, and as a live one (this test) has them open."""
    folder.mkdir(parents=True, exist_ok=True)
    pid = dead_pid()
    orphans = [folder / f".x.{pid}.tmp.mp4", folder / f".stgr_sft.{pid}-3.tmp.json", folder / f".00009.{pid}.tmp.png"]
    live = [folder / f".y.{os.getpid()}.tmp.mp4"]
    for path in orphans + live:
        path.write_bytes(b"half a file")
    return orphans, live


def temporaries(folder: Path) -> list[Path]:
    return sorted(folder.rglob(".*.tmp*"))


def test_temporaries_keep_the_suffix_and_are_gone_after_a_write(tmp_path):
    target = tmp_path / "clip.mp4"
    first, second = temp_path(target).name, temp_path(target).name
    assert first.startswith(f".clip.{os.getpid()}-") and first.endswith(".tmp.mp4")  # muxers and PIL still see .mp4
    assert first != second  # two threads writing one file never share a temporary
    with atomic_path(target) as tmp:
        tmp.write_bytes(b"video")
    assert target.read_bytes() == b"video" and temporaries(tmp_path) == []


def test_remove_orphans_removes_dead_writers_temporaries_only(tmp_path):
    orphans, live = plant(tmp_path / "videos")
    (tmp_path / ".hidden.tmp").write_text("not ours: no PID")
    assert remove_orphans(tmp_path) == len(orphans)
    assert temporaries(tmp_path) == sorted([*live, tmp_path / ".hidden.tmp"])


def test_synth_rerun_removes_a_killed_runs_temporaries(tmp_path, capsys):
    out = tmp_path / "synth"
    assert main(["synth", "--out", str(out), *SYNTH]) == 0
    assert temporaries(out) == []
    orphans, live = plant(out / "videos")
    more, live_too = plant(out)
    assert main(["synth", "--out", str(out), *SYNTH]) == 0
    assert temporaries(out) == sorted(live + live_too)
    assert not any(p.exists() for p in orphans + more)
    assert len(list((out / "videos").glob("*.mp4"))) >= 1


def test_build_rerun_removes_a_killed_runs_temporaries(tmp_path, synth_easy, capsys):
    out = tmp_path / "build"
    args = ["build", "--out", str(out), "--include", str(synth_easy / "stgr_sft.json"), "--mix", "sft", "--quiet"]
    orphans, live = plant(out / "frames" / "item")
    assert main(args) == 0
    assert temporaries(out) == live
    assert not any(p.exists() for p in orphans)
    assert (out / "stgr_sft.jsonl").is_file() and (out / "report.json").is_file()
