"""Start the benchmark server process and talk to it (JSON lines over its stdin/stdout)."""

from __future__ import annotations

import json
import subprocess
import sys
from collections.abc import Callable
from typing import Any

from .spec import RunSpec, ServerStats

__all__ = ["ServerProcess"]


class ServerProcess:
    """The server of :mod:`benchmarks.server`, one process for the whole suite."""

    def __init__(
        self,
        cwd: str,
        env: dict[str, str],
        preexec: Callable[[], None] | None,
        tls: tuple[str, str] | None = None,
    ) -> None:
        tls_args = ["--tls-cert", tls[0], "--tls-key", tls[1]] if tls else []
        self.proc = subprocess.Popen(
            [sys.executable, "-m", "benchmarks.server", *tls_args],
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            text=True,
            cwd=cwd,
            env=env,
            preexec_fn=preexec,
        )
        assert self.proc.stdout is not None
        line = self.proc.stdout.readline()
        if not line.startswith("PORT "):
            raise RuntimeError(f"benchmark server did not start: {line!r}")
        _, port, tls_port = line.split()
        self.port = int(port)
        self.url = f"ws://127.0.0.1:{self.port}"
        self.tls_url = f"wss://127.0.0.1:{tls_port}" if int(tls_port) else ""

    def command(self, **cmd: Any) -> dict[str, Any]:
        assert self.proc.stdin is not None and self.proc.stdout is not None
        self.proc.stdin.write(json.dumps(cmd) + "\n")
        self.proc.stdin.flush()
        line = self.proc.stdout.readline()
        if not line:
            raise RuntimeError("benchmark server exited")
        reply: dict[str, Any] = json.loads(line)
        if not reply.get("ok"):
            raise RuntimeError(f"benchmark server: {reply.get('error')}")
        return reply

    def prepare(self, mix: str, count: int) -> dict[str, Any]:
        return self.command(cmd="prepare", mix=mix, count=count)

    def arm(self, spec: RunSpec) -> None:
        self.command(cmd="arm", spec=json.loads(spec.to_json()))

    def wait(self, timeout: float) -> ServerStats:
        return ServerStats(**self.command(cmd="wait", timeout=timeout)["stats"])

    def close(self) -> None:
        if self.proc.poll() is None:
            assert self.proc.stdin is not None
            try:
                self.proc.stdin.write('{"cmd": "quit"}\n')
                self.proc.stdin.flush()
                self.proc.wait(5)
            except (OSError, subprocess.TimeoutExpired):
                self.proc.kill()
                self.proc.wait()
