"""The output-folder lock is a lock on a file in the folder (so it holds between processes and machines
sharing the storage), names its holder's pid and host, and refuses storage that cannot lock."""

from __future__ import annotations

import errno
import os
import socket

import pytest

from dav_core.io import output_folder
from dav_core.io.output_folder import LOCK_NAME, OutputBusyError, OutputLock


def test_a_second_holder_is_refused_with_pid_and_host(tmp_path):
    with OutputLock(tmp_path, "--output"):
        assert (tmp_path / LOCK_NAME).read_text() == f"{os.getpid()} {socket.gethostname()}"
        with pytest.raises(OutputBusyError, match=rf"\(pid {os.getpid()}\) on {socket.gethostname()}"):
            OutputLock(tmp_path, "--output").acquire()  # another open file: as another process sees it
    OutputLock(tmp_path).acquire().release()  # free again once released


@pytest.mark.skipif(not hasattr(output_folder, "fcntl"), reason="flock only")
def test_storage_without_locks_is_an_error_not_a_pass(tmp_path, monkeypatch):
    def no_locks(fd, operation):
        raise OSError(errno.ENOLCK, "No locks available")

    monkeypatch.setattr(output_folder.fcntl, "flock", no_locks)
    with pytest.raises(ValueError, match="cannot be locked .*No locks available"):
        OutputLock(tmp_path, "--output").acquire()
