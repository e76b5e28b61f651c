"""Where blocks run: in this process, or in local worker processes.

Blocks are the unit of randomness and of work: whichever executor runs them, each block draws from
its own streams and the :class:`~simulator.engine.Accumulator` folds results in block order, so the
results are bit-identical for any executor and worker count (tests/engine/test_executors.py).

Worker processes rebuild the scenario from its resolved TOML text, the same text the results file
stores, so a worker runs exactly what the parent would.
"""

from __future__ import annotations

import contextlib
import functools
import itertools
import logging
import math
import multiprocessing
import os
import queue
import signal
import sys
import threading
import time
import tomllib
from collections.abc import Iterable, Iterator
from concurrent.futures import CancelledError
from multiprocessing import connection as mp_connection

from ..errors import ClusterError, ConfigError, G3simError, WorkerError, option
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
        raise ConfigError(f"{option('workers')} {value!r}: expected a whole number ≥ 1 or 'auto'")
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


_STOP_SIGNALS = {signal.SIGINT, signal.SIGTERM}


def _init_worker(toml_text: str | None, source: str, parent_pid: int) -> None:
    global _WORKER_RUNNER
    _die_with_parent(parent_pid)
    # Ctrl-C goes to the whole process group: only the parent handles it (and checkpoints).
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    signal.signal(signal.SIGTERM, signal.SIG_DFL)
    signal.pthread_sigmask(signal.SIG_UNBLOCK, _STOP_SIGNALS)  # held back by _start_workers
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
        raise ConfigError(
            f"{option('scheduler')} {value!r}: expected an address such as tcp://host:8786"
        )
    return value


CONNECT_TIMEOUT = 5.0  # seconds to reach the scheduler and hear its answer
DEFAULT_CLUSTER_TIMEOUT = 30.0  # seconds without workers, or without the scheduler, during a run


def cluster_timeout() -> float:
    """Seconds a run waits for a Dask cluster without workers or scheduler before it fails.

    ``G3SIM_CLUSTER_TIMEOUT`` (a positive number of seconds) or 30. A cluster whose workers are
    alive and busy is never timed out: a block may take as long as it takes.

    Raises
    ------
    ConfigError
        If the environment variable is set to anything but a positive number.
    """
    text = os.environ.get("G3SIM_CLUSTER_TIMEOUT", "").strip()
    if not text:
        return DEFAULT_CLUSTER_TIMEOUT
    try:
        value = float(text)
    except ValueError:
        value = math.nan
    if not (math.isfinite(value) and value > 0):
        raise ConfigError(
            f"G3SIM_CLUSTER_TIMEOUT={text!r}: expected a positive number of seconds, e.g. 30; "
            "fix or unset the variable"
        )
    return value


# Loggers that report a lost cluster in many lines (tracebacks included) on stderr; a run reports
# it in one line (ClusterError) instead.
_NOISY_LOGGERS = ("distributed", "tornado", "asyncio")


@contextlib.contextmanager
def _quiet_dask_logs():
    """A context in which Dask's, Tornado's and asyncio's loggers print nothing (then restored)."""
    names = {
        name
        for name in list(logging.root.manager.loggerDict)
        if name.split(".")[0] in _NOISY_LOGGERS
    } | set(_NOISY_LOGGERS)
    loggers = [logging.getLogger(name) for name in sorted(names)]
    levels = [lg.level for lg in loggers]
    for lg in loggers:
        lg.setLevel(logging.CRITICAL + 1)
    try:
        yield
    finally:
        for lg, level in zip(loggers, levels, strict=True):
            lg.setLevel(level)


def _ask_identity(address: str, timeout: float) -> None:
    """Connect to the scheduler at ``address`` and ask for its identity, within ``timeout``.

    ``distributed`` bounds the TCP connection but not the handshake that follows, so a listener
    that accepts and never answers would block ``Client(address, timeout=...)`` for ever.
    """
    import asyncio

    from distributed.core import rpc

    async def ask():
        async with rpc(address, timeout=timeout) as scheduler:
            return await scheduler.identity(n_workers=0)

    async def bounded():
        try:
            return await asyncio.wait_for(ask(), timeout)
        except TimeoutError:
            raise TimeoutError(f"no answer within {timeout:g} s") from None

    asyncio.run(bounded())


def _connect(address: str, timeout: float):
    """A ``distributed.Client`` of the scheduler at ``address``, made within about ``timeout``.

    The connection runs in a daemon thread, so that the caller waits a bounded time even if the
    scheduler stops answering between the identity probe and the client's own handshake (the
    thread would then be left behind, blocked, rather than the run).

    Raises
    ------
    ConfigError
        If no Dask scheduler answers at ``address``.
    """
    from distributed import Client

    box: dict = {}

    def connect():
        try:
            _ask_identity(address, timeout)
            box["client"] = Client(address, timeout=timeout, set_as_default=False)
        except BaseException as exc:  # reported by the caller
            box["error"] = exc

    thread = threading.Thread(target=connect, name="g3sim-dask-connect", daemon=True)
    thread.start()
    thread.join(2 * timeout + 2)  # the probe, then the client, each bounded by ``timeout``
    error = box.get("error")
    if "client" in box:
        return box["client"]
    reason = f"no answer within {timeout:g} s" if error is None else _short_reason(error)
    raise ConfigError(
        f"{option('scheduler')} {address}: cannot reach a Dask scheduler ({reason}); check the "
        "address "
        "and that the scheduler runs"
    )


def _short_reason(exc: BaseException) -> str:
    """The first line of an exception's text (or its type), for a one-line message."""
    lines = str(exc).strip().splitlines()
    text = lines[0] if lines else type(exc).__name__
    if text.startswith("in <") and ">: " in text:  # CommClosedError: "in <TCP ...>: reason"
        text = text.split(">: ", 1)[1]
    return text


class _Watch:
    """Whether a Dask cluster still has a scheduler that answers and workers to run blocks.

    A bounded question to the scheduler (its identity, with the number of workers) whenever no
    block has finished for ``poll`` seconds; :class:`~simulator.errors.ClusterError` once the
    scheduler has not answered, or has had no workers, for ``timeout`` seconds.
    """

    def __init__(self, client, address: str, timeout: float):
        self.client = client
        self.address = address
        self.timeout = timeout
        # Floors, so that a tiny timeout neither floods the scheduler nor mistakes a scheduler
        # that answers in a few milliseconds for a lost one.
        self.poll = min(1.0, max(0.05, timeout / 4))
        self.ask_timeout = min(CONNECT_TIMEOUT, max(0.5, timeout / 2))
        now = time.monotonic()
        self.answered = now  # the scheduler's last sign of life
        self.had_workers = now  # the last time it had a worker

    def alive(self) -> None:
        """Note a sign of life: a block finished, so scheduler and a worker were there."""
        self.answered = self.had_workers = time.monotonic()

    def lost(self, reason: str) -> ClusterError:
        """The error of a lost scheduler."""
        return ClusterError(f"lost the Dask scheduler at {self.address}: {reason}")

    def check(self) -> None:
        """Ask the scheduler how many workers it has; raise if the cluster is gone for too long.

        Raises
        ------
        ClusterError
            If the client is closed, or the scheduler has not answered or has had no workers for
            ``timeout`` seconds.
        """
        status = getattr(self.client, "status", "closed")
        if status in ("closing", "closed"):
            raise self.lost("the connection closed")
        try:
            info = self.client.sync(
                self.client.scheduler.identity, n_workers=0, callback_timeout=self.ask_timeout
            )
            workers = int(info["n_workers"])
        except Exception as exc:  # no answer: OSError, TimeoutError, CommClosedError, ...
            reason = _short_reason(exc)
            if time.monotonic() - self.answered >= self.timeout:
                raise self.lost(
                    f"no answer for {self.timeout:g} s ({reason})"
                    if status == "running"
                    else f"the connection closed ({reason})"
                ) from None
            return
        now = self.answered = time.monotonic()
        if workers > 0:
            self.had_workers = now
        elif now - self.had_workers >= self.timeout:
            raise ClusterError(
                f"the Dask cluster at {self.address} has had no workers for {self.timeout:g} s; "
                f"start workers (dask worker ADDRESS), or run without {option('scheduler')}"
            )


def _outcome(fut, block: int, watch: _Watch) -> BlockResult:
    """The result of a finished future, or the error it stands for.

    A block that raised on a worker raises the same exception here (a :class:`ModelError` stays a
    ``ModelError``); a cancelled block, workers that kept dying while running it, or a cluster
    lost while its result is fetched raise :class:`~simulator.errors.ClusterError`.
    """
    from distributed import KilledWorker

    # The worker that holds the result may die before it is fetched: the fetch then waits for
    # the block to run again. It runs in a thread, so the cluster is checked meanwhile; it is
    # never cancelled (distributed would log the cancelled fetch's tasks), and closing the client
    # ends it.
    box: dict = {}
    fetched = threading.Event()

    def fetch():
        try:
            box["result"] = fut.result()
        except BaseException as exc:  # reported below
            box["error"] = exc
        finally:
            fetched.set()

    threading.Thread(target=fetch, name="g3sim-dask-fetch", daemon=True).start()
    while not fetched.wait(watch.poll):
        watch.check()
    if "result" in box:
        return box["result"]
    exc = box["error"]
    if isinstance(exc, G3simError):
        raise exc  # the block's own error, e.g. a ModelError
    if isinstance(exc, KilledWorker):
        raise ClusterError(
            f"the workers of the Dask cluster at {watch.address} kept dying while running "
            f"block {block}; check the workers' logs (memory limit?)"
        ) from None
    if isinstance(exc, CancelledError) or fut.status == "cancelled":
        if getattr(watch.client, "status", "closed") != "running":
            raise watch.lost("the connection closed") from None
        raise ClusterError(
            f"block {block} was cancelled on the Dask cluster at {watch.address}; rerun, and "
            "check that nothing else cancels g3sim's tasks or restarts the cluster"
        ) from None
    if fut.status == "error":
        raise exc  # the block's own error: a bug, reported as one
    raise watch.lost(_short_reason(exc)) from None  # OSError, CommClosedError, TimeoutError ...


def _dask_blocks(
    scenario: Scenario, blocks: list[int], address: str, in_flight: int
) -> Iterator[BlockResult]:
    """Run ``blocks`` on the Dask cluster at ``address``, at most ``in_flight`` at a time.

    Nothing here waits without a bound: reaching the scheduler takes at most
    :data:`CONNECT_TIMEOUT` seconds (a :class:`~simulator.errors.ConfigError` otherwise), and a
    cluster that has had no workers, or no scheduler, for :func:`cluster_timeout` seconds ends
    the run with a one-line :class:`~simulator.errors.ClusterError`. Dask's own log messages are
    silenced meanwhile, so a lost cluster prints no tracebacks.
    """
    try:
        import distributed  # noqa: F401
    except ImportError:
        raise ConfigError(
            f"{option('scheduler')} needs dask.distributed: pip install 'g3sim[dask]'"
        ) from None
    timeout = cluster_timeout()
    with _quiet_dask_logs():
        client = _connect(address, CONNECT_TIMEOUT)
        try:
            yield from _dask_run(client, scenario, blocks, address, in_flight, timeout)
        finally:
            with contextlib.suppress(Exception):
                client.close(timeout=min(CONNECT_TIMEOUT, timeout))


def _dask_run(
    client, scenario: Scenario, blocks: list[int], address: str, in_flight: int, timeout: float
) -> Iterator[BlockResult]:
    toml_text, source = scenario.to_toml(), scenario.source
    key = scenario.sha256[:16]
    finished: queue.SimpleQueue = queue.SimpleQueue()  # futures, as they finish (or fail)
    live: dict[str, tuple[object, int]] = {}  # key → (future, block), submitted and not yet taken
    watch = _Watch(client, address, timeout)

    def submit(b: int) -> None:
        fut = client.submit(
            _dask_block, toml_text, source, b, key=f"g3sim-{key}-block-{b}", pure=False
        )
        live[fut.key] = (fut, b)
        fut.add_done_callback(finished.put)

    todo = iter(blocks)
    try:
        for b in itertools.islice(todo, in_flight):
            submit(b)
        while live:
            try:
                fut = finished.get(timeout=watch.poll)
            except queue.Empty:
                watch.check()
                continue
            entry = live.pop(fut.key, None)
            if entry is None:
                continue
            result = _outcome(fut, entry[1], watch)
            watch.alive()
            fut.release()
            yield result
            b = next(todo, None)
            if b is not None:
                submit(b)
    finally:
        # An early stop, an error or a lost cluster: cancel every block still submitted (cancel
        # only sends a message to the scheduler; it does not wait for an answer).
        if live and getattr(client, "status", "closed") == "running":
            with contextlib.suppress(Exception):
                client.cancel([fut for fut, _ in live.values()])
        live.clear()


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


def _send(conn, block: int, proc) -> None:
    """Send a block number to a worker; a worker that died meanwhile is a WorkerError."""
    try:
        conn.send(block)
    except OSError:  # BrokenPipeError: it died after sending its last result
        raise WorkerError(f"a worker process died ({_how_it_ended(proc)})") from None


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
    # A Ctrl-C while a worker starts would reach it (the whole process group) before it ignores
    # SIGINT, and print its traceback: the signals wait until the worker has set its handlers.
    previous = signal.pthread_sigmask(signal.SIG_BLOCK, _STOP_SIGNALS)
    try:
        for _ in range(workers):
            parent_end, child_end = ctx.Pipe()
            proc = ctx.Process(target=_worker_main, args=(child_end, *args), daemon=True)
            proc.start()
            child_end.close()
            procs.append(proc)
            conns.append(parent_end)
    finally:
        signal.pthread_sigmask(signal.SIG_SETMASK, previous)
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
                    _send(conns[w], b, procs[w])
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
                    _send(conn, nxt, procs[w])
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
