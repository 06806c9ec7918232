"""An output folder made ready for a run: checked writable up front, and locked while a run writes to it."""

from __future__ import annotations

import errno
import os
import socket
from pathlib import Path

LOCK_NAME = ".dav.lock"


class OutputBusyError(ValueError):
    """Another run holds the output folder."""


def prepare_output_folder(path: str | os.PathLike, name: str = "output") -> Path:
    """Create ``path`` if needed and check that files can be written there; errors name ``name``."""
    folder = Path(path)
    if folder.exists() and not folder.is_dir():
        raise ValueError(f"{name} {folder} is a file, not a folder: give a folder path")
    try:
        folder.mkdir(parents=True, exist_ok=True)
    except OSError as err:
        raise ValueError(f"{name} {folder} cannot be created: {err.strerror or err}") from None
    probe = folder / f".dav-write-test-{os.getpid()}"
    try:
        probe.write_bytes(b"")
        probe.unlink()
    except OSError as err:
        raise ValueError(f"{name} {folder} is not writable: {err.strerror or err}") from None
    return folder


class OutputLock:
    """An exclusive lock on ``folder`` for one run (``folder/.dav.lock``, released when the process ends,
    even when killed). A second run on the same folder gets :class:`OutputBusyError`.

    The lock is taken on the lock file itself (``flock``), so it holds between machines where the
    folder's storage shares locks (NFS, as Linux maps ``flock`` to NFS locks; most cluster filesystems);
    the file names the holder's pid and host. Storage that cannot lock at all is an error, not a
    silent pass."""

    def __init__(self, folder: Path, name: str = "output"):
        self.path, self.name, self._file = Path(folder) / LOCK_NAME, name, None

    def acquire(self) -> OutputLock:
        handle = open(self.path, "a+")  # noqa: SIM115 - held until release()
        try:
            locked = _try_lock(handle)
        except OSError as err:
            handle.close()
            raise ValueError(
                f"{self.name} {self.path.parent} cannot be locked ({err.strerror or err}): its storage does not "
                "support file locks; choose a folder on storage that does"
            ) from None
        if not locked:
            handle.seek(0)
            pid, _, host = (handle.read().strip() or "unknown").partition(" ")
            handle.close()
            where = f" on {host}" if host else ""
            raise OutputBusyError(
                f"{self.name} {self.path.parent} is in use by another run (pid {pid}){where}; wait for it to "
                "finish or choose another folder"
            )
        handle.seek(0)
        handle.truncate()
        handle.write(f"{os.getpid()} {socket.gethostname()}")
        handle.flush()
        self._file = handle
        return self

    def release(self) -> None:
        if self._file is not None:
            _unlock(self._file)
            self._file.close()
            self._file = None

    def __enter__(self) -> OutputLock:
        return self.acquire()

    def __exit__(self, *exc) -> None:
        self.release()


try:
    import fcntl

    def _try_lock(handle) -> bool:
        """True when locked, False when another holds it; other errors (no lock support) are raised."""
        try:
            fcntl.flock(handle.fileno(), fcntl.LOCK_EX | fcntl.LOCK_NB)
            return True
        except OSError as err:
            if err.errno in (errno.EWOULDBLOCK, errno.EAGAIN, errno.EACCES):
                return False
            raise

    def _unlock(handle) -> None:
        fcntl.flock(handle.fileno(), fcntl.LOCK_UN)

except ImportError:  # Windows
    import msvcrt

    def _try_lock(handle) -> bool:
        try:
            handle.seek(0)
            msvcrt.locking(handle.fileno(), msvcrt.LK_NBLCK, 1)
            return True
        except OSError:
            return False

    def _unlock(handle) -> None:
        handle.seek(0)
        msvcrt.locking(handle.fileno(), msvcrt.LK_UNLCK, 1)
