"""Ports and child processes for the benches that start servers of their own."""
from __future__ import annotations

import socket
import subprocess
import time


def free_ports(n: int) -> list[int]:
    """n distinct free ports (all held open while choosing, so no two are the same)."""
    socks = [socket.socket() for _ in range(n)]
    try:
        for s in socks:
            s.bind(("127.0.0.1", 0))
        return [s.getsockname()[1] for s in socks]
    finally:
        for s in socks:
            s.close()


def free_port() -> int:
    return free_ports(1)[0]


def wait_port(port: int, proc: subprocess.Popen, timeout: float = 60) -> None:
    """Until something answers on `port`; raises if `proc` exits first or nothing answers in time."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise RuntimeError(f"process for port {port} exited with {proc.returncode}")
        try:
            socket.create_connection(("127.0.0.1", port), timeout=0.2).close()
            return
        except OSError:
            time.sleep(0.1)
    raise RuntimeError(f"nothing answers on port {port}")
