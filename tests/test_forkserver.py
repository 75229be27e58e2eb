"""The fork server the process tests start briefbot from behaves as `python` itself does there."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
from pathlib import Path

import pytest

import bot.cli
from tests.fixtures import forkserver


def test_a_forked_program_gets_the_argv_env_cwd_and_stdin_given_and_exits_with_its_code(
    tmp_path: Path,
) -> None:
    code = (
        "import os, sys\n"
        "print(sys.argv[1:], os.environ.get('PROBE'), os.getcwd(), sys.stdin.read())\n"
        "sys.exit(3)\n"
    )
    done = forkserver.run(
        [sys.executable, "-c", code, "a", "b"],
        input="piped",
        capture_output=True,
        text=True,
        cwd=tmp_path,
        env={"PROBE": "yes", "PATH": "/usr/bin:/bin"},
        timeout=30,
    )
    assert (done.returncode, done.stderr) == (3, "")
    assert done.stdout == f"['a', 'b'] yes {tmp_path} piped\n"


def test_a_forked_program_starts_from_the_imported_package_not_the_test_worker(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setattr(bot.cli, "main", lambda: 99)
    code = "import bot.cli; print(bot.cli.main.__module__)"
    done = forkserver.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=30)
    assert done.stdout == "bot.cli\n"


def test_a_module_runs_as_main_and_an_error_ends_it_as_an_interpreter_does() -> None:
    done = forkserver.run(
        [sys.executable, "-m", "bot.cli", "no-such-command"], capture_output=True, text=True
    )
    assert done.returncode == 2 and "invalid choice" in done.stderr
    assert "RuntimeWarning" not in done.stderr  # the preloaded bot.cli is not run over itself
    raised = forkserver.run([sys.executable, "-c", "raise ValueError('boom')"], capture_output=True)
    assert raised.returncode == 1 and raised.stderr.endswith(b"ValueError: boom\n")
    interrupted = forkserver.run([sys.executable, "-c", "raise KeyboardInterrupt"])
    assert interrupted.returncode == -signal.SIGINT


def test_a_forked_process_can_be_waited_for_with_a_timeout_and_killed() -> None:
    with forkserver.ForkedProcess(
        [sys.executable, "-c", "print('up', flush=True); import time; time.sleep(60)"],
        stdout=subprocess.PIPE,
        text=True,
    ) as process:
        try:
            assert process.stdout is not None and process.stdout.readline() == "up\n"
            with pytest.raises(subprocess.TimeoutExpired):
                process.wait(timeout=0.1)
            assert process.poll() is None
        finally:
            process.kill()
        assert process.wait(timeout=10) == -signal.SIGKILL


def test_a_forked_program_ends_as_an_interpreter_does(tmp_path: Path) -> None:
    # An unclosed file is flushed when the process's objects are finalized.
    code = f"f = open({str(tmp_path / 'out')!r}, 'w'); f.write('data')"
    assert forkserver.run([sys.executable, "-c", code]).returncode == 0
    assert (tmp_path / "out").read_text() == "data"
    # Output that cannot be flushed at exit: status 120 and the complaint, as python gives.
    read_end, write_end = os.pipe()
    os.close(read_end)
    try:
        buffered = {k: v for k, v in os.environ.items() if k != "PYTHONUNBUFFERED"}
        done = forkserver.run(
            [sys.executable, "-c", "print('x' * 10)"],
            stdout=write_end,
            stderr=subprocess.PIPE,
            env=buffered,
        )
    finally:
        os.close(write_end)
    assert done.returncode == 120 and b"BrokenPipeError" in done.stderr


def test_standard_input_is_read_without_newline_translation() -> None:
    code = "import sys; print(repr(sys.stdin.read()))"
    done = forkserver.run([sys.executable, "-c", code], input=b"a\r\nb\rc\n", capture_output=True)
    assert done.stdout == b"'a\\r\\nb\\rc\\n'\n"


def test_settings_an_interpreter_reads_at_start_are_honoured() -> None:
    code = "import sys, time; print(sys.stdout.encoding, time.strftime('%Z'))"
    env = {**os.environ, "PYTHONIOENCODING": "latin-1", "TZ": "Asia/Tokyo"}
    done = forkserver.run([sys.executable, "-c", code], env=env, capture_output=True, text=True)
    assert done.stdout == "iso8859-1 JST\n"  # exec'd: the encoding is chosen at start
    env = {**os.environ, "TZ": "Asia/Tokyo"}  # forked: TZ applied there
    done = forkserver.run([sys.executable, "-c", code], env=env, capture_output=True, text=True)
    assert done.stdout.split()[1] == "JST"


def test_a_dash_c_program_is_compiled_and_finalized_as_python_does_it() -> None:
    # Its own future flags only (the server's module has `annotations`), its globals still there
    # when its objects' finalizers run, and a stdout it closed itself is nothing to flush.
    code = (
        "import os, sys\n"
        "def f(a: int): pass\n"
        "print(f.__annotations__['a'] is int)\n"
        "class Late:\n"
        "    def __del__(self): print(os.sep == '/')\n"
        "late = Late()\n"
    )
    done = forkserver.run([sys.executable, "-c", code], capture_output=True, text=True)
    assert (done.returncode, done.stdout, done.stderr) == (0, "True\nTrue\n", "")
    closed = forkserver.run(
        [sys.executable, "-c", "import sys; sys.stdout.close()"], capture_output=True
    )
    assert (closed.returncode, closed.stderr) == (0, b"")
