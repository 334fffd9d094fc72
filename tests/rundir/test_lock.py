"""The run lock (`filelock`: `flock` on POSIX, `msvcrt.locking` on Windows)."""

import os
import signal
import subprocess
import sys

import pytest

from kt_toolkit.errors import RunDirectoryError
from kt_toolkit.rundir import run_lock
from kt_toolkit.rundir.layout import lock_path

HOLD = ("import sys, time\n"
        "from kt_toolkit.rundir import run_lock\n"
        "with run_lock(sys.argv[1]):\n"
        "    print('held', flush=True)\n"
        "    time.sleep(120)\n")


def test_a_lock_held_by_another_process_refuses_and_goes_with_it(tmp_path):
    run_dir = str(tmp_path / "runs" / "r")
    holder = subprocess.Popen([sys.executable, "-c", HOLD, run_dir], stdout=subprocess.PIPE,
                              text=True)
    try:
        assert holder.stdout.readline().strip() == "held"
        held_by = rf"kt-toolkit \(pid {holder.pid}\)"
        with pytest.raises(RunDirectoryError, match=held_by) as info:
            with run_lock(run_dir):
                pass
        assert info.value.key == "output.run_name"
        assert not os.path.exists(run_dir)  # the lock lives beside the run, never in it
    finally:
        holder.send_signal(signal.SIGKILL)
        holder.wait()
    with run_lock(run_dir):  # released with its holder, kill -9 included
        assert os.path.exists(lock_path(run_dir))


def test_the_lock_refuses_a_second_holder_in_the_same_process(tmp_path):
    run_dir = str(tmp_path / "r")
    with run_lock(run_dir):
        with pytest.raises(RunDirectoryError, match=r"being searched by kt-toolkit"):
            with run_lock(run_dir):
                pass
        assert os.path.exists(lock_path(run_dir))  # the refused one left the holder's file
    with run_lock(run_dir):
        pass


def test_the_lock_file_goes_when_the_lock_is_released(tmp_path):
    run_dir = str(tmp_path / "r")
    with run_lock(run_dir):
        assert sorted(os.listdir(tmp_path)) == [".r.lock", ".r.lock.owner"]
    assert os.listdir(tmp_path) == []
    with pytest.raises(ValueError):  # a command that fails inside the lock
        with run_lock(run_dir):
            raise ValueError("bad input")
    assert os.listdir(tmp_path) == []


def test_a_released_and_removed_lock_still_keeps_out_a_second_process(tmp_path):
    run_dir = str(tmp_path / "r")
    with run_lock(run_dir):  # this process's lock file is made and removed
        pass
    holder = subprocess.Popen([sys.executable, "-c", HOLD, run_dir], stdout=subprocess.PIPE,
                              text=True)
    try:
        assert holder.stdout.readline().strip() == "held"
        with pytest.raises(RunDirectoryError, match=rf"kt-toolkit \(pid {holder.pid}\)"):
            with run_lock(run_dir):
                pass
        assert os.path.exists(lock_path(run_dir))
    finally:
        holder.terminate()
        holder.wait()


def test_an_unwritable_output_directory_is_a_run_directory_error(tmp_path):
    blocker = tmp_path / "file"
    blocker.write_text("not a directory")
    with pytest.raises(RunDirectoryError) as info:
        with run_lock(str(blocker / "runs" / "r")):
            pass
    assert info.value.key == "output.directory" and "writable" in str(info.value)
