"""Where blocks run: in this process, or in local worker processes.

Blocks are the unit of randomness and of work: whichever executor runs them, each block draws from
its own streams and the :class:`~simulator.engine.Accumulator` folds results in block order, so the
results are bit-identical for any executor and worker count (tests/test_executors.py).

Worker processes rebuild the scenario from its resolved TOML text, the same text the results file
stores, so a worker runs exactly what the parent would.
"""

from __future__ import annotations

import contextlib
import functools
import multiprocessing
import os
import signal
import sys
import threading
import time
import tomllib
from collections.abc import Iterable, Iterator
from multiprocessing import connection as mp_connection

from ..errors import ConfigError, WorkerError
from ..scenario import Scenario, scenario_from_dict
from .block import BlockRunner
from .state import BlockResult

_WORKER_RUNNER: BlockRunner | None = None
_BLAS = None  # a threadpoolctl.ThreadpoolController, made on first use (it scans the libraries)


def one_blas_thread():
    """A context in which BLAS (numpy's small matrix products in a block) uses one thread.

    Blocks are the unit of parallelism: BLAS threads inside them only oversubscribe the cores
    (with two workers on two cores a block took 13% longer than alone, 5% with this), and
    multithreaded BLAS reductions may sum in an order that depends on the thread count.
    """
    global _BLAS
    if _BLAS is None:
        from threadpoolctl import ThreadpoolController

        _BLAS = ThreadpoolController()
    return _BLAS.limit(limits=1, user_api="blas")


# The parent's runner, inherited by forked workers (set just before they start).
_FORK_RUNNER: BlockRunner | None = None


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


def _init_worker(toml_text: str | None, source: str, parent_pid: int) -> None:
    global _WORKER_RUNNER
    _die_with_parent(parent_pid)
    # Ctrl-C goes to the whole process group: only the parent handles it (and checkpoints).
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    signal.signal(signal.SIGTERM, signal.SIG_DFL)
    one_blas_thread()  # for the worker's whole life
    if toml_text is None:  # forked: the parent's runner, already built (and its kernels loaded)
        _WORKER_RUNNER = _FORK_RUNNER
    else:
        _WORKER_RUNNER = BlockRunner(scenario_from_dict(tomllib.loads(toml_text), source=source))


def _run_block(block: int) -> BlockResult:
    assert _WORKER_RUNNER is not None, "worker not initialised"
    return _WORKER_RUNNER(block)


@functools.lru_cache(maxsize=4)
def _runner_for(toml_text: str, source: str) -> BlockRunner:
    return BlockRunner(scenario_from_dict(tomllib.loads(toml_text), source=source))


def _dask_block(toml_text: str, source: str, block: int) -> BlockResult:
    """Run one block on a Dask worker (the runner is built once per worker and scenario)."""
    with one_blas_thread():
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
        with one_blas_thread():
            for b in blocks:
                yield runner(b)
        return
    yield from _local_blocks(scenario, blocks, min(workers, len(blocks)), runner)


def _worker_main(conn, toml_text: str | None, source: str, parent_pid: int) -> None:
    """A local worker: receive block numbers, send back results, until told to stop."""
    _init_worker(toml_text, source, parent_pid)
    while True:
        try:
            block = conn.recv()
        except (EOFError, OSError):
            return
        if block is None:
            return
        try:
            conn.send(("ok", _run_block(block)))
        except BaseException as exc:  # report it; the parent decides
            try:
                conn.send(("error", exc))
            except Exception:
                conn.send(("error", RuntimeError(f"{type(exc).__name__}: {exc}")))


def _how_it_ended(proc) -> str:
    """``"killed by SIGKILL"`` or ``"exit code 3"`` for a worker whose pipe just closed."""
    proc.join(timeout=5)  # its pipe closes a moment before it can be reaped
    code = proc.exitcode
    if code is None:
        return "its pipe closed while it still ran"
    if code < 0:
        try:
            return f"killed by {signal.Signals(-code).name}"
        except ValueError:
            return f"killed by signal {-code}"
    return f"exit code {code}"


def _start_workers(ctx, workers: int, args: tuple) -> tuple[list, list]:
    """Start ``workers`` local worker processes; their processes and the parent's pipe ends."""
    procs, conns = [], []
    for _ in range(workers):
        parent_end, child_end = ctx.Pipe()
        proc = ctx.Process(target=_worker_main, args=(child_end, *args), daemon=True)
        proc.start()
        child_end.close()
        procs.append(proc)
        conns.append(parent_end)
    return procs, conns


def _local_blocks(
    scenario: Scenario, blocks: list[int], workers: int, runner: BlockRunner | None = None
) -> Iterator[BlockResult]:
    """Run blocks in ``workers`` local processes, each with its own pipe.

    Forked workers use the parent's ``runner`` (the same object, inherited), so they start
    without rebuilding the model; spawned ones rebuild it from the scenario's resolved TOML.
    Each worker holds at most two blocks (one running, one queued). There is no manager thread:
    abandoning the pool (interruption, early stop, an error) kills the workers and closes their
    pipes, which cannot block, even if a worker dies in the middle of sending a result.
    """
    global _FORK_RUNNER
    ctx = _context()
    if runner is not None and ctx.get_start_method() == "fork":
        _FORK_RUNNER = runner
        runner.warm_up()  # load the compiled kernels once, here, for every worker
        args = (None, scenario.source, os.getpid())
    else:
        args = (scenario.to_toml(), scenario.source, os.getpid())
    procs, conns = _start_workers(ctx, workers, args)
    todo = iter(blocks)
    busy = dict.fromkeys(range(workers), 0)  # blocks sent and not yet answered, per worker
    finished = False
    try:
        for w in range(workers):
            for _ in range(2):
                b = next(todo, None)
                if b is not None:
                    conns[w].send(b)
                    busy[w] += 1
        while any(busy.values()):
            ready = mp_connection.wait([conns[w] for w in busy if busy[w]])
            for conn in ready:
                w = conns.index(conn)
                try:
                    status, payload = conn.recv()
                except (EOFError, OSError):
                    raise WorkerError(
                        f"a worker process died ({_how_it_ended(procs[w])})"
                    ) from None
                busy[w] -= 1
                if status == "error":
                    raise payload
                nxt = next(todo, None)
                if nxt is not None:
                    conn.send(nxt)
                    busy[w] += 1
                yield payload
        finished = True
    finally:
        for w, proc in enumerate(procs):
            if finished:
                with contextlib.suppress(OSError):
                    conns[w].send(None)
            else:
                proc.kill()  # nothing to save in a worker; never wait on a busy one
            conns[w].close()
        for proc in procs:
            proc.join(timeout=5)
        _FORK_RUNNER = None
