"""Claims on runs: an atomic lease file per run, renewed while a worker holds it.

A pull-worker (``runner work``) claims a run before it trains or measures it.
The claim is a file ``runs/<run_id>/lease.json`` created with
``O_CREAT | O_EXCL`` (atomic on local file systems and on NFSv3+), holding the
worker's host, pid, engine and job id and a random token. Its modification
time is the heartbeat: the holder touches it every ``timeout_s / 4`` seconds.
A lease whose heartbeat is older than ``timeout_s`` is stale (its worker died
without a word: SIGKILL, a lost node); another worker takes it over by renaming
it aside (only one rename of a file succeeds) and claiming afresh. A holder
that finds its token gone has lost the lease and must stop writing.
"""

from __future__ import annotations

import json
import os
import socket
import threading
import time
import uuid
from dataclasses import dataclass, field
from pathlib import Path

LEASE_NAME = "lease.json"
#: Default seconds without a heartbeat after which a lease is stale.
DEFAULT_TIMEOUT_S = 120.0


def owner(engine: str = "local", job_id: str | None = None) -> dict:
    """Who claims: host, pid, engine and its job id (Slurm array task, Ray actor), for ``runner status``."""
    return {"host": socket.gethostname(), "pid": os.getpid(), "engine": engine, "job_id": job_id}


@dataclass
class Lease:
    """A held claim on one run; renew it with :meth:`start_heartbeat`, end it with :meth:`release`.

    Attributes
    ----------
    path : Path
        The lease file.
    token : str
        Random id of this claim; the file holds it while the claim is ours.
    info : dict
        What the file says (owner, token, claimed_at, and progress: epoch, phase).
    """

    path: Path
    token: str
    info: dict
    timeout_s: float = DEFAULT_TIMEOUT_S
    _stop: threading.Event = field(default_factory=threading.Event, repr=False)
    _thread: threading.Thread | None = field(default=None, repr=False)
    lost: bool = False

    def held(self) -> bool:
        """True while the file still holds this claim's token (False once taken over or removed)."""
        current = read_lease(self.path)
        self.lost = current is None or current.get("token") != self.token
        return not self.lost

    def beat(self) -> bool:
        """Renew the heartbeat (the file's modification time); False when the lease was lost."""
        if not self.held():
            return False
        try:
            os.utime(self.path)
        except FileNotFoundError:
            self.lost = True
        return not self.lost

    def update(self, **progress) -> None:
        """Record progress (``epoch=``, ``phase=``) in the lease for ``runner status``; also a heartbeat."""
        if not self.held():
            return
        self.info.update(progress)
        _write_json(self.path, self.info)

    def start_heartbeat(self) -> None:
        """Renew the lease from a daemon thread every ``timeout_s / 4`` seconds until :meth:`release`."""
        def loop():
            while not self._stop.wait(self.timeout_s / 4):
                if not self.beat():
                    return

        self._thread = threading.Thread(target=loop, daemon=True, name=f"lease-{self.path.parent.name}")
        self._thread.start()

    def release(self) -> None:
        """Stop the heartbeat and remove the lease file if it is still ours."""
        self._stop.set()
        if self.held():
            try:
                self.path.unlink()
            except FileNotFoundError:
                pass


def read_lease(path: Path) -> dict | None:
    """The lease's content with its heartbeat age (``age_s``), or None when there is none (or it is half-written)."""
    try:
        info = json.loads(path.read_text())
        info["age_s"] = time.time() - path.stat().st_mtime
    except (FileNotFoundError, json.JSONDecodeError, OSError):
        return None
    return info


def claim(run_dir: Path, who: dict, timeout_s: float = DEFAULT_TIMEOUT_S) -> Lease | None:
    """Claim a run, or return None when another live worker holds it.

    Parameters
    ----------
    run_dir : Path
        ``runs/<run_id>`` of the store (created if missing).
    who : dict
        :func:`owner` of the claimant.
    timeout_s : float
        Seconds without a heartbeat after which an existing lease is stale and taken over.

    Returns
    -------
    Lease or None
    """
    run_dir.mkdir(parents=True, exist_ok=True)
    path = run_dir / LEASE_NAME
    for _ in range(3):  # a takeover races other takers: at most a couple of rounds
        token = uuid.uuid4().hex
        info = {**who, "token": token, "claimed_at": time.time()}
        try:
            fd = os.open(path, os.O_CREAT | os.O_EXCL | os.O_WRONLY, 0o644)
        except FileExistsError:
            current = read_lease(path)
            if current is None and _young(path, timeout_s):
                return None  # being written right now by its claimant
            if current is not None and current["age_s"] <= timeout_s:
                return None
            if not _take_over(path, None if current is None else current.get("token"), timeout_s):
                return None
            continue
        try:
            with os.fdopen(fd, "w") as f:
                json.dump(info, f)
                f.flush()
                os.fsync(f.fileno())
        except BaseException:  # a full disk: no half-written lease may block the run for a whole timeout
            path.unlink(missing_ok=True)
            raise
        return Lease(path, token, info, timeout_s)
    return None


def _young(path: Path, timeout_s: float) -> bool:
    try:
        return time.time() - path.stat().st_mtime <= timeout_s
    except FileNotFoundError:
        return False


def _take_over(path: Path, stale_token: str | None, timeout_s: float) -> bool:
    """Move the stale lease ``stale_token`` aside under a takeover mutex (an atomic ``mkdir``).

    Only the taker holding the mutex moves a lease, and only the very lease it
    judged stale: a fresh lease another taker created meanwhile is left alone.
    Returns False when another taker is at work or won.
    """
    mutex = path.with_name(path.name + ".takeover")
    try:
        os.mkdir(mutex)
    except FileExistsError:
        if not _young(mutex, timeout_s):  # left by a taker that died mid-takeover
            try:
                os.rmdir(mutex)
            except OSError:
                pass
        return False
    try:
        current = read_lease(path)
        if current is not None and (current.get("token") != stale_token or current["age_s"] <= timeout_s):
            return False
        if current is None and path.exists() and _young(path, timeout_s):
            return False
        try:
            os.rename(path, path.with_name(f"{path.name}.stale-{uuid.uuid4().hex[:8]}"))
        except FileNotFoundError:
            pass
        return True
    finally:
        os.rmdir(mutex)


def _write_json(path: Path, obj: dict) -> None:
    tmp = path.with_name(f".{path.name}.tmp-{os.getpid()}-{threading.get_ident()}")
    with open(tmp, "w") as f:
        json.dump({k: v for k, v in obj.items() if k != "age_s"}, f)
        f.flush()
        os.fsync(f.fileno())
    os.replace(tmp, path)
