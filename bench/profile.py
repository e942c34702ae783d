"""Where a server's CPU time goes during a phase: py-spy (if installed; not a project dependency) attached
to each Python server process, and a summary of its collapsed stacks.

    .venv/bin/pip install py-spy && .venv/bin/python -m bench --profile /tmp/prof
"""

from __future__ import annotations

import shutil
import signal
import subprocess
import sys
import time
from collections import Counter
from dataclasses import dataclass
from pathlib import Path


def py_spy_path() -> str | None:
    return shutil.which("py-spy", path=str(Path(sys.executable).parent)) or shutil.which("py-spy")


@dataclass
class Recording:
    name: str
    output: Path
    popen: subprocess.Popen[bytes]

    def stop(self) -> None:
        if self.popen.poll() is None:
            self.popen.send_signal(signal.SIGINT)  # py-spy writes its output on SIGINT
        try:
            self.popen.wait(20)
        except subprocess.TimeoutExpired:
            self.popen.kill()
            self.popen.wait()


def start(name: str, pid: int, output: Path, rate: int = 1000) -> Recording:
    binary = py_spy_path()
    if binary is None:
        raise RuntimeError("py-spy is not installed (.venv/bin/pip install py-spy)")
    output.parent.mkdir(parents=True, exist_ok=True)
    argv = [binary, "record", "--pid", str(pid), "--rate", str(rate), "--format", "raw", "--nonblocking"]
    argv += ["--function", "--output", str(output)]
    popen = subprocess.Popen(argv, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    time.sleep(0.5)  # let it attach before the phase starts
    return Recording(name, output, popen)


def _frame_name(frame: str) -> str:
    """`handler (signaling/handlers.py:123)` -> `handler (signaling/handlers.py)`."""
    name, _, where = frame.partition(" (")
    return f"{name} ({where.rsplit(':', 1)[0]})" if where else name


PROJECT = ("signaling/", "rooms/", "server/", "bench/floor.py")
ENTRY = ("server/cli.py", "server/__main__.py")


def summarise(path: Path, top: int = 12) -> list[str]:
    """The functions holding the most samples: inclusive (on the stack, leaving out the trunk every
    sample shares: runpy, the event loop), the project's own, and self (running)."""
    inclusive: Counter[str] = Counter()
    own: Counter[str] = Counter()
    total = 0
    try:
        text = path.read_text(errors="replace")
    except OSError:
        return [f"(no profile written to {path})"]
    for line in text.splitlines():
        stack, _, count_text = line.rpartition(" ")
        if not stack or not count_text.isdigit():
            continue
        count = int(count_text)
        frames = [_frame_name(f) for f in stack.split(";") if f]
        if not frames:
            continue
        total += count
        own[frames[-1]] += count
        for frame in set(frames):
            inclusive[frame] += count
    if not total:
        return ["(no samples)"]
    trunk = 0.9 * max(inclusive.values())
    branches = [(f, n) for f, n in inclusive.most_common() if n < trunk]

    def is_project(frame: str) -> bool:
        where = frame.rpartition("(")[2]
        return (
            where.startswith(PROJECT)
            and not where.startswith(ENTRY)
            and not frame.startswith(("main ", "serve "))
        )

    def pct(n: int) -> str:
        return f"{100 * n / total:5.1f}%"

    lines = [f"{total} samples; inclusive (on the stack; the event loop's trunk left out):"]
    lines += [f"  {pct(n)}  {f}" for f, n in branches[:top]]
    lines.append("the project's own code, inclusive:")
    lines += [f"  {pct(n)}  {f}" for f, n in [b for b in branches if is_project(b[0])][:top]]
    lines.append("self (running):")
    lines += [f"  {pct(n)}  {f}" for f, n in own.most_common(top)]
    return lines
