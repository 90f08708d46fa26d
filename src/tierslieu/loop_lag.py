"""Event-loop lag probe for benchmarks (``TIERSLIEU_LOOP_LAG_LOG=1``).

A callback asks to run every 10 ms; how late it runs is the time some other work held
the loop (a request served in one go, a blocking call). At shutdown the percentiles are
printed on one line that ``benchmarks/run.py`` reads. Off by default: it costs ~100
wake-ups a second.
"""

from __future__ import annotations

import asyncio
import sys
from collections import deque

INTERVAL_S = 0.010
MAX_SAMPLES = 500_000  # ~80 minutes of samples


class LoopLagProbe:
    def __init__(self) -> None:
        self.samples: deque[float] = deque(maxlen=MAX_SAMPLES)
        self._task: asyncio.Task[None] | None = None

    def start(self) -> None:
        self._task = asyncio.get_running_loop().create_task(self._run())

    async def _run(self) -> None:
        loop = asyncio.get_running_loop()
        while True:
            asked = loop.time()
            await asyncio.sleep(INTERVAL_S)
            self.samples.append(max(0.0, (loop.time() - asked - INTERVAL_S) * 1000))

    def percentiles(self) -> dict[str, float]:
        ordered = sorted(self.samples)
        if not ordered:
            return {"n": 0, "p50": 0.0, "p99": 0.0, "max": 0.0}

        def at(q: float) -> float:
            return ordered[min(len(ordered) - 1, int(q * len(ordered)))]

        return {"n": len(ordered), "p50": at(0.50), "p99": at(0.99), "max": ordered[-1]}

    async def stop(self) -> None:
        if self._task is not None:
            self._task.cancel()
            await asyncio.gather(self._task, return_exceptions=True)
        p = self.percentiles()
        # Straight to stderr: the line must reach the benchmark whatever logging became.
        print(
            f"LOOP_LAG_MS n={p['n']} p50={p['p50']:.2f} p99={p['p99']:.2f} max={p['max']:.2f}",
            file=sys.stderr,
            flush=True,
        )
