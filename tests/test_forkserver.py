"""The fork server the process tests start briefbot from behaves as `python` itself does there."""

from __future__ import annotations

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
