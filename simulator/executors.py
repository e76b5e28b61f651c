"""Where blocks run: in this process, or in local worker processes.

Blocks are the unit of randomness and of work: whichever executor runs them, each block draws from
its own streams and the :class:`~simulator.engine.Accumulator` folds results in block order, so the
results are bit-identical for any executor and worker count (tests/test_executors.py).

Worker processes rebuild the scenario from its resolved TOML text, the same text the results file
stores, so a worker runs exactly what the parent would.
"""

from __future__ import annotations

import functools
import multiprocessing
import os
import signal
import sys
import threading
import time
import tomllib
from collections.abc import Iterable, Iterator
from concurrent.futures import FIRST_COMPLETED, Future, ProcessPoolExecutor, wait

from .engine import BlockResult, BlockRunner
from .errors import ConfigError
from .scenario import Scenario, scenario_from_dict

_WORKER_RUNNER: BlockRunner | None = None


def parse_workers(value: str | int | None) -> int:
    """``"auto"`` → the number of CPUs; otherwise a whole number ≥ 1."""
    if value is None:
        return 1
    if isinstance(value, str) and value.strip().lower() == "auto":
        return max(1, os.cpu_count() or 1)
    try:
        n = int(value)
    except (TypeError, ValueError):
        n = 0
    if n < 1:
        raise ConfigError(f"--workers {value!r}: expected a whole number ≥ 1 or 'auto'")
    return n


def _die_with_parent(parent_pid: int) -> None:
    """End this worker if its parent dies (even by SIGKILL), so no orphan is left blocked."""
    if sys.platform.startswith("linux"):
        try:
            import ctypes

            libc = ctypes.CDLL(None, use_errno=True)
            libc.prctl(1, signal.SIGKILL)  # PR_SET_PDEATHSIG
        except (OSError, AttributeError):
            pass
        else:
            if os.getppid() != parent_pid:  # the parent died before prctl took effect
                os._exit(1)
            return

    def watch() -> None:  # elsewhere: poll the parent's pid
        while os.getppid() == parent_pid:
            time.sleep(1.0)
        os._exit(1)

    threading.Thread(target=watch, daemon=True).start()


def _init_worker(toml_text: str, source: str, parent_pid: int) -> None:
    global _WORKER_RUNNER
    _die_with_parent(parent_pid)
    # Ctrl-C goes to the whole process group: only the parent handles it (and checkpoints).
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    signal.signal(signal.SIGTERM, signal.SIG_DFL)
    _WORKER_RUNNER = BlockRunner(scenario_from_dict(tomllib.loads(toml_text), source=source))


def _run_block(block: int) -> BlockResult:
    assert _WORKER_RUNNER is not None, "worker not initialised"
    return _WORKER_RUNNER(block)


@functools.lru_cache(maxsize=4)
def _runner_for(toml_text: str, source: str) -> BlockRunner:
    return BlockRunner(scenario_from_dict(tomllib.loads(toml_text), source=source))


def _dask_block(toml_text: str, source: str, block: int) -> BlockResult:
    """Run one block on a Dask worker (the runner is built once per worker and scenario)."""
    return _runner_for(toml_text, source)(block)


def scheduler_address(value: str | None) -> str | None:
    """``--scheduler`` or, failing that, the ``DASK_SCHEDULER_ADDRESS`` environment variable."""
    value = value or os.environ.get("DASK_SCHEDULER_ADDRESS") or None
    if value is not None and "://" not in value:
        raise ConfigError(f"--scheduler {value!r}: expected an address such as tcp://host:8786")
    return value


def _dask_blocks(
    scenario: Scenario, blocks: list[int], address: str, in_flight: int
) -> Iterator[BlockResult]:
    try:
        from distributed import Client, as_completed
    except ImportError:
        raise ConfigError("--scheduler needs dask.distributed: pip install 'g3sim[dask]'") from None
    try:
        client = Client(address, timeout="5s", set_as_default=False)
    except (OSError, TimeoutError) as exc:
        raise ConfigError(
            f"--scheduler {address}: cannot reach a Dask scheduler ({exc}); check the address "
            "and that the scheduler runs"
        ) from None
    toml_text, source = scenario.to_toml(), scenario.source
    key = scenario.sha256[:16]
    pending = []
    try:
        todo = iter(blocks)

        def submit(b):
            return client.submit(
                _dask_block, toml_text, source, b, key=f"g3sim-{key}-block-{b}", pure=False
            )

        for b in todo:
            pending.append(submit(b))
            if len(pending) >= in_flight:
                break
        done = as_completed(pending, loop=client.loop)
        for fut in done:
            result = fut.result()
            fut.release()
            yield result
            nxt = next(todo, None)
            if nxt is not None:
                done.add(submit(nxt))
    finally:
        for fut in pending:
            if not fut.done():
                fut.cancel()
        client.close()


def _context():
    # fork starts workers in milliseconds and is safe here (no threads of ours run at that
    # point); other platforms use spawn.
    if sys.platform.startswith("linux"):
        return multiprocessing.get_context("fork")
    return multiprocessing.get_context("spawn")


def run_blocks(
    scenario: Scenario,
    blocks: Iterable[int],
    *,
    workers: int = 1,
    runner: BlockRunner | None = None,
    scheduler: str | None = None,
) -> Iterator[BlockResult]:
    """Yield the results of ``blocks`` (in completion order).

    ``scheduler`` (a Dask scheduler address) sends blocks to that cluster; otherwise ``workers``
    local processes run them (1: this process).
    """
    blocks = list(blocks)
    if scheduler is not None:
        yield from _dask_blocks(scenario, blocks, scheduler, in_flight=64)
        return
    if workers <= 1 or len(blocks) <= 1:
        runner = runner or BlockRunner(scenario)
        for b in blocks:
            yield runner(b)
        return
    in_flight = 2 * workers  # bounded: memory stays proportional to workers, not to draws
    pool = ProcessPoolExecutor(
        max_workers=min(workers, len(blocks)),
        mp_context=_context(),
        initializer=_init_worker,
        initargs=(scenario.to_toml(), scenario.source, os.getpid()),
    )
    pending: set[Future] = set()
    finished = False
    try:
        todo = iter(blocks)
        for b in todo:
            pending.add(pool.submit(_run_block, b))
            if len(pending) >= in_flight:
                break
        while pending:
            done, pending = wait(pending, return_when=FIRST_COMPLETED)
            for fut in done:
                yield fut.result()
                nxt = next(todo, None)
                if nxt is not None:
                    pending.add(pool.submit(_run_block, nxt))
        finished = True
    finally:
        if finished:
            pool.shutdown(wait=True)
        else:
            # Interrupted, stopped early or failed: don't wait for running blocks.
            for fut in pending:
                fut.cancel()
            for proc in list(getattr(pool, "_processes", {}).values()):
                proc.terminate()
            pool.shutdown(wait=True, cancel_futures=True)
