"""Resumable files (o3video.io) and the evaluation runs built on them: a cut last line is redone, damage
is named, a resume with other settings or a second writer is refused, and a SIGKILLed `eval vstar`
resumes to the same results file as an uninterrupted run."""

import json
import os
import signal
import subprocess
import sys
import time

import pytest

from o3video.cli import main
from o3video.eval.vstar_run import VStarRunConfig, run_vstar
from o3video.io import JsonlLog, RunFileError, WriterLock, atomic_path, check_settings, remove_orphans


def test_a_cut_last_line_is_dropped_and_damage_before_it_is_named(tmp_path):
    path = tmp_path / "log.jsonl"
    log = JsonlLog(path)
    log.append({"key": "a", "x": 1})
    log.append({"key": "b", "x": float("nan")})  # written as null: standard JSON only
    with path.open("a") as f:
        f.write('{"key": "c", "x"')  # a kill in the middle of a line
    again = JsonlLog(path)
    assert set(again.entries) == {"a", "b"} and again.dropped_partial and again.entries["b"]["x"] is None
    assert path.read_text().endswith("}\n")
    path.write_text('{"key": "a"}\nnot json\n{"key": "b"}\n')
    with pytest.raises(RunFileError, match=r"log.jsonl:2: damaged line"):
        JsonlLog(path)


def test_atomic_writes_leave_the_old_file_on_error_and_orphans_of_dead_writers_are_removed(tmp_path):
    target = tmp_path / "a.json"
    target.write_text("old")
    with pytest.raises(RuntimeError), atomic_path(target) as tmp:
        tmp.write_text("half")
        raise RuntimeError
    assert target.read_text() == "old" and list(tmp_path.iterdir()) == [target]
    dead = subprocess.run([sys.executable, "-c", "import os; print(os.getpid())"], capture_output=True, text=True)
    orphan = tmp_path / "sub" / f".clip.{int(dead.stdout)}.tmp.mp4"
    live = tmp_path / "sub" / f".clip.{os.getpid()}.tmp.mp4"
    orphan.parent.mkdir()
    orphan.write_bytes(b"x")
    live.write_bytes(b"x")
    assert remove_orphans(tmp_path) == 1 and not orphan.exists() and live.exists()


def test_a_resume_with_other_settings_is_refused_and_restart_starts_over(tmp_path):
    out = tmp_path / "r.jsonl"
    check_settings(out, {"model": "m1", "num_frames": 16})
    out.write_text('{"key": "0:a"}\n')
    check_settings(out, {"model": "m1", "num_frames": 16})  # the same run resumes
    with pytest.raises(RunFileError, match=r"num_frames: 16 there, 8 now"):
        check_settings(out, {"model": "m1", "num_frames": 8})
    check_settings(out, {"model": "m1", "num_frames": 8}, restart=True)
    assert not out.exists() and json.loads(out.with_name("r.jsonl.settings.json").read_text())["num_frames"] == 8


def test_a_second_writer_is_refused_naming_the_holder(tmp_path):
    out = tmp_path / "r.jsonl"
    holder = subprocess.Popen([sys.executable, "-c", (
        "import sys, time; from o3video.io import WriterLock\n"
        f"with WriterLock({str(out)!r}):\n    print('held', flush=True); time.sleep(60)")],
        stdout=subprocess.PIPE, text=True)
    try:
        assert holder.stdout.readline().strip() == "held"
        with pytest.raises(RunFileError, match=rf"being written by process {holder.pid} "):
            WriterLock(out).__enter__()
    finally:
        holder.kill()
        holder.wait()
    with WriterLock(out):  # the kernel released the killed holder's lock
        assert out.with_name("r.jsonl.lock").read_text().startswith(f"process {os.getpid()} ")
    assert not out.with_name("r.jsonl.lock").exists()  # a finished writer leaves no lock file behind


def test_the_lock_follows_its_file_when_a_finishing_writer_removes_it(tmp_path):
    out = tmp_path / "r.jsonl"
    first = WriterLock(out).__enter__()
    stale = os.open(out.with_name("r.jsonl.lock"), os.O_RDWR)  # opened before the first writer finishes
    first.__exit__(None, None, None)
    with WriterLock(out):  # the lock file is new: a process locking the removed one would not exclude us
        import fcntl

        fcntl.flock(stale, fcntl.LOCK_EX | fcntl.LOCK_NB)  # the stale inode is free, and no longer the lock
        assert os.fstat(stale).st_ino != os.stat(out.with_name("r.jsonl.lock")).st_ino
    os.close(stale)


def vstar_args(synth_easy, model, out, *extra):
    return ["eval", "vstar", "--anno", str(synth_easy / "vstar_test.json"), "--videos", str(synth_easy / "videos"),
            "--model", str(model), "--out", str(out), "--frames", "4", "--max-new-tokens", "48", *extra]


def test_eval_refuses_to_mix_two_models_in_one_results_file(synth_easy, tiny_model, tmp_path, capsys):
    out = tmp_path / "r.jsonl"
    assert main(vstar_args(synth_easy, tiny_model, out, "--limit", "1")) == 0
    before = out.read_text()
    with pytest.raises(RunFileError, match=r"num_frames: 4 there, 2 now"):
        run_vstar(VStarRunConfig(anno=synth_easy / "vstar_test.json", videos=synth_easy / "videos",
                                 model=str(tiny_model), out=out, num_frames=2))
    assert out.read_text() == before


@pytest.mark.slow
def test_a_killed_eval_resumes_to_the_results_of_an_uninterrupted_run(synth_easy, tiny_model, tmp_path):
    full = tmp_path / "full.jsonl"
    assert main(vstar_args(synth_easy, tiny_model, full)) == 0
    out = tmp_path / "killed.jsonl"
    run = subprocess.Popen([sys.executable, "-m", "o3video.cli", *vstar_args(synth_easy, tiny_model, out)],
                           stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    deadline = time.time() + 300
    while time.time() < deadline and not (out.exists() and out.read_text().count("\n") >= 1):
        time.sleep(0.01)
    run.send_signal(signal.SIGKILL)
    assert run.wait() == -signal.SIGKILL
    done = out.read_text().count("\n")
    assert 1 <= done < 4  # killed in the middle of the run
    assert main(vstar_args(synth_easy, tiny_model, out)) == 0
    assert out.read_text() == full.read_text()


def test_a_blind_evaluation_shows_the_model_blank_frames_and_records_it(synth_easy, tiny_model, tmp_path, monkeypatch):
    import numpy as np

    import o3video.models as models
    from o3video.video.prompt import messages_images

    seen = []
    real = models.generate
    monkeypatch.setattr(models, "generate", lambda m, p, batch, **k: seen.extend(batch) or real(m, p, batch, **k))
    out = tmp_path / "blind.jsonl"
    run_vstar(VStarRunConfig(anno=synth_easy / "vstar_test.json", videos=synth_easy / "videos", model=str(tiny_model),
                             out=out, num_frames=4, max_new_tokens=4, limit=1, blank_frames=True))
    images = [im for messages in seen for im in messages_images(messages)]
    assert len(images) == 5 * 4 and all(np.asarray(im).std() == 0 for im in images)
    assert json.loads(out.with_name("blind.jsonl.settings.json").read_text())["blank_frames"] is True


def test_training_metrics_leave_out_only_a_cut_last_line(tmp_path):
    from o3video.train.callbacks import read_metrics

    path = tmp_path / "metrics.jsonl"
    path.write_text('{"step": 1, "loss": 2.0}\n{"step": 2, "loss": 1.5}\n{"step": 3, "lo')
    assert [row["step"] for row in read_metrics(path)] == [1, 2]
    path.write_text('{"step": 1, "loss": 2.0}\n{"step": 2, "lo\n{"step": 3, "loss": 1.0}\n')
    with pytest.raises(RunFileError, match=r"metrics.jsonl:2: damaged line"):
        read_metrics(path)
