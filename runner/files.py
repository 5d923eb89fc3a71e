"""Durable, atomic file writes: a temporary name, fsync, rename, fsync of the folder.

A crash (or a full disk) at any moment leaves either the old file or the new
one, never half of one; the temporary file of a failed write is removed.
Temporary names are ``.<name>.tmp-<pid>`` so that :func:`remove_stale_temporaries`
can find those a killed process left behind.
"""

from __future__ import annotations

import json
import os
from collections.abc import Callable
from pathlib import Path
from typing import Any

TMP_MARK = ".tmp-"


def temporary(path: Path) -> Path:
    """The temporary name of ``path`` for this process."""
    return path.with_name(f".{path.name}{TMP_MARK}{os.getpid()}")


def write_via(path: Path, write: Callable[[Path], None]) -> None:
    """Write ``path`` atomically and durably with ``write(tmp_path)``.

    Raises
    ------
    OSError
        From the write (ENOSPC, EDQUOT, EROFS, EIO, ...), after removing the temporary file.
    """
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = temporary(path)
    try:
        write(tmp)
        fsync(tmp)
        os.replace(tmp, path)
    except BaseException:
        tmp.unlink(missing_ok=True)
        raise
    fsync(path.parent)


def write_parquet(table, path: Path) -> None:
    """Write the Arrow ``table`` to ``path`` as Parquet, atomically and durably."""
    import pyarrow.parquet as pq

    write_via(path, lambda tmp: pq.write_table(table, tmp))


def write_json(obj: Any, path: Path) -> None:
    """Write ``obj`` as JSON to ``path``, atomically and durably."""
    text = json.dumps(obj, indent=1, sort_keys=True)
    write_via(path, lambda tmp: tmp.write_text(text))


def fsync(path: Path) -> None:
    """Flush a file's (or a folder's entries') data to the device; a no-op where folders cannot be opened."""
    try:
        fd = os.open(path, os.O_RDONLY)
    except (IsADirectoryError, PermissionError):
        return
    try:
        os.fsync(fd)
    except OSError:
        if not path.is_dir():
            raise
    finally:
        os.close(fd)


def remove_stale_temporaries(root: Path, live_pids: set[int] = frozenset()) -> int:
    """Remove the temporary files under ``root`` whose writing process is gone.

    A temporary file of a live process (``live_pids``, or any process still
    running on this machine) is kept. Returns the number removed.
    """
    removed = 0
    for tmp in root.rglob(f".*{TMP_MARK}*"):
        try:
            pid = int(tmp.name.rsplit(TMP_MARK, 1)[1].split("-")[0])
        except ValueError:
            continue
        if pid in live_pids or _running(pid):
            continue
        tmp.unlink(missing_ok=True)
        removed += 1
    return removed


def _running(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True
