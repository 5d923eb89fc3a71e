"""Leases: one claimant wins, a stale lease is taken over once, a holder notices when it lost its lease."""

from __future__ import annotations

import multiprocessing as mp
import os
import time

from runner.leases import LEASE_NAME, claim, owner, read_lease


def test_one_claim_wins_and_a_live_lease_is_respected(tmp_path):
    first = claim(tmp_path / "r", owner(job_id="7"), timeout_s=60)
    assert first is not None and claim(tmp_path / "r", owner(), timeout_s=60) is None
    info = read_lease(tmp_path / "r" / LEASE_NAME)
    assert info["pid"] == os.getpid() and info["job_id"] == "7" and info["token"] == first.token
    first.release()
    assert not (tmp_path / "r" / LEASE_NAME).exists()
    assert claim(tmp_path / "r", owner(), timeout_s=60) is not None


def test_a_stale_lease_is_taken_over_and_its_holder_learns_it(tmp_path):
    old = claim(tmp_path / "r", owner(), timeout_s=60)
    past = time.time() - 120
    os.utime(old.path, (past, past))  # no heartbeat for two minutes: its worker died
    new = claim(tmp_path / "r", owner(), timeout_s=60)
    assert new is not None and new.token != old.token
    assert not old.beat() and old.lost  # the old holder must stop writing
    old.release()  # does not remove the new holder's lease
    assert read_lease(new.path)["token"] == new.token
    assert len(list((tmp_path / "r").glob(f"{LEASE_NAME}.stale-*"))) == 1


def test_heartbeat_keeps_a_lease_alive_and_progress_is_readable(tmp_path):
    lease = claim(tmp_path / "r", owner(), timeout_s=0.4)
    lease.start_heartbeat()
    lease.update(epoch=3, phase="train")
    time.sleep(1.0)  # 2.5 timeouts: without the heartbeat it would be stale
    assert claim(tmp_path / "r", owner(), timeout_s=0.4) is None
    info = read_lease(lease.path)
    assert info["epoch"] == 3 and info["phase"] == "train" and info["age_s"] < 0.4
    lease.release()


def _race(path, n, out):
    got = claim(path, owner(), timeout_s=60)
    out.put(got.token if got else None)


def test_concurrent_claims_of_one_run_give_exactly_one_winner(tmp_path):
    ctx = mp.get_context("fork")
    out = ctx.Queue()
    procs = [ctx.Process(target=_race, args=(tmp_path / "r", i, out)) for i in range(8)]
    for p in procs:
        p.start()
    results = [out.get(timeout=30) for _ in procs]
    for p in procs:
        p.join()
    winners = [r for r in results if r]
    assert len(winners) == 1 and read_lease(tmp_path / "r" / LEASE_NAME)["token"] == winners[0]


def test_concurrent_takeovers_of_a_stale_lease_give_exactly_one_winner(tmp_path):
    stale = claim(tmp_path / "r", owner(), timeout_s=60)
    past = time.time() - 600
    os.utime(stale.path, (past, past))
    ctx = mp.get_context("fork")
    out = ctx.Queue()
    procs = [ctx.Process(target=_race, args=(tmp_path / "r", i, out)) for i in range(8)]
    for p in procs:
        p.start()
    results = [out.get(timeout=30) for _ in procs]
    for p in procs:
        p.join()
    assert len([r for r in results if r]) == 1
