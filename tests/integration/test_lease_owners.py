"""Lease holders are judged dead only when provably dead: same host, boot and pid namespace, process gone."""

from __future__ import annotations

import subprocess
import sys

from connector.store.locks import is_dead_owner, new_owner


def _owner_of_a_finished_process() -> str:
    code = "from connector.store.locks import new_owner; print(new_owner())"
    return subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout.strip()


def test_a_living_holder_is_not_dead() -> None:
    assert not is_dead_owner(new_owner())


def test_a_holder_whose_process_ended_in_our_namespace_is_dead() -> None:
    assert is_dead_owner(_owner_of_a_finished_process())


def test_a_holder_in_another_pid_namespace_with_our_hostname_is_never_judged_dead() -> None:
    # Two containers with one hostname: the pid means nothing here, whatever process has it in ours.
    host, pid, nonce, identity = _owner_of_a_finished_process().split(":")
    started = identity.rpartition("/")[2]
    other = ":".join([host, pid, nonce, f"0ther000.4026599999/{started}"])
    assert not is_dead_owner(other)


def test_a_recycled_pid_does_not_keep_a_dead_holder_alive() -> None:
    host, pid, nonce, identity = new_owner().split(":")
    namespace = identity.rpartition("/")[0]
    earlier_process_with_our_pid = ":".join([host, pid, nonce, f"{namespace}/1"])
    assert is_dead_owner(earlier_process_with_our_pid)


def test_an_owner_fits_the_lease_columns() -> None:
    assert len(new_owner()) <= 80


def test_a_holder_named_the_old_way_only_expires() -> None:
    assert not is_dead_owner("vm:999999:1:abcd1234")
    assert not is_dead_owner(None) and not is_dead_owner("")
