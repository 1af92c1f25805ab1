"""Per-stage wall time, CPU time, peak RSS and items/s of a build, for the run record and bench/.

Stages nest in code (each stage loads its shards into the warehouse), but the figures must add up
to the whole build, so :class:`StageClock` keeps *exclusive* time: while a nested section such as
``load`` runs, the enclosing stage's clock is paused. CPU time covers the process tree: this process
(every thread), its live children (a local Dask cluster's workers, Prefect's server) and the
children that have exited. Peak RSS is the high-water mark of this process during the section
(Linux lets us reset it between sections through ``/proc/self/clear_refs``; elsewhere the figure is
the peak so far) and, separately, the sum of the children's peaks. Because of that reset, a parent
process reading this one's ``ru_maxrss`` after it exits sees only the last section's peak; the whole
run's is ``total.peak_rss_mb`` of :meth:`StageClock.report`.
"""

from __future__ import annotations

import os
import resource
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import psutil

_CLEAR_REFS = Path("/proc/self/clear_refs")


def tree_cpu_seconds() -> float:
    """User + system CPU of this process, its live descendants and its reaped children."""
    me = psutil.Process()
    total = sum(me.cpu_times()[:2])
    for child in me.children(recursive=True):
        try:
            total += sum(child.cpu_times()[:2])
        except psutil.Error:  # exited meanwhile: counted below once reaped
            continue
    reaped = resource.getrusage(resource.RUSAGE_CHILDREN)
    return total + reaped.ru_utime + reaped.ru_stime


def peak_rss_mb() -> float:
    """This process's RSS high-water mark (since the last :func:`reset_peak_rss`)."""
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def children_peak_rss_mb() -> float:
    """Sum of the live descendants' RSS high-water marks (an upper bound of their joint peak)."""
    total = 0.0
    for child in psutil.Process().children(recursive=True):
        try:
            status = Path(f"/proc/{child.pid}/status").read_text()
        except OSError:
            continue
        for line in status.splitlines():
            if line.startswith("VmHWM:"):
                total += int(line.split()[1]) / 1024
    return total


def reset_peak_rss() -> bool:
    """Reset this process's RSS high-water mark (Linux >= 4.0); False where that is not possible."""
    try:
        with _CLEAR_REFS.open("w") as fh:
            fh.write("5")
        return True
    except OSError:
        return False


@dataclass(slots=True)
class StageFigures:
    """Accumulated figures of one stage (a stage may run in several sections, e.g. ``load``)."""

    wall_s: float = 0.0
    cpu_s: float = 0.0
    peak_rss_mb: float = 0.0
    items: int = 0

    def as_dict(self) -> dict[str, Any]:
        return {
            "wall_s": round(self.wall_s, 3),
            "cpu_s": round(self.cpu_s, 3),
            "peak_rss_mb": round(self.peak_rss_mb, 1),
            "items": self.items,
            "items_per_s": round(self.items / self.wall_s, 2) if self.wall_s > 0 else None,
        }


@dataclass
class StageClock:
    """Exclusive wall/CPU time and peak RSS per named stage; ``with clock.stage("link"): ...``."""

    stages: dict[str, StageFigures] = field(default_factory=dict)
    _stack: list[tuple[str, float, float]] = field(default_factory=list)
    _started: float = field(default_factory=lambda: time.perf_counter())
    _cpu_started: float = field(default_factory=lambda: tree_cpu_seconds())

    @contextmanager
    def stage(self, name: str) -> Iterator[StageFigures]:
        """Time a section as ``name``; an enclosing section is paused meanwhile."""
        figures = self.stages.setdefault(name, StageFigures())
        self._pause_outer()
        self._stack.append((name, time.perf_counter(), tree_cpu_seconds()))
        reset_peak_rss()
        try:
            yield figures
        finally:
            self._close_top()
            self._resume_outer()

    def report(self) -> dict[str, Any]:
        """Per stage figures and the total (wall and CPU since the clock was made)."""
        wall = time.perf_counter() - self._started
        out: dict[str, Any] = {name: f.as_dict() for name, f in self.stages.items()}
        out["total"] = {
            "wall_s": round(wall, 3),
            "cpu_s": round(tree_cpu_seconds() - self._cpu_started, 3),
            "peak_rss_mb": round(max([peak_rss_mb(), *(f.peak_rss_mb for f in self.stages.values())]), 1),
            "children_peak_rss_mb": round(children_peak_rss_mb(), 1),
            "pid": os.getpid(),
        }
        return out

    def _close_top(self) -> None:
        name, wall0, cpu0 = self._stack.pop()
        figures = self.stages[name]
        figures.wall_s += time.perf_counter() - wall0
        figures.cpu_s += tree_cpu_seconds() - cpu0
        figures.peak_rss_mb = max(figures.peak_rss_mb, peak_rss_mb())

    def _pause_outer(self) -> None:
        if self._stack:
            name = self._stack[-1][0]
            self._close_top()
            self._stack.append((name, 0.0, 0.0))  # placeholder, restarted by _resume_outer

    def _resume_outer(self) -> None:
        if self._stack:
            name = self._stack.pop()[0]
            self._stack.append((name, time.perf_counter(), tree_cpu_seconds()))
            reset_peak_rss()
