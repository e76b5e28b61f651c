"""The checkpoint of a run into a file: the spool of per-draw rows, and the saved fold state.

While a run to ``results/x.nc`` is going, ``results/x.nc.checkpoint/`` holds:

* ``state.npz``: the folded reducer state (sums, trace, blocks done) — plain arrays, no pickle;
* ``meta.json``: the resolved scenario (TOML), its sha256, the stop rule, and how many per-draw
  rows are durable;
* ``<variable>.bin``: per-draw rows spooled in block order as raw little-endian binary, so memory
  does not grow with kept draws and a crash leaves at most a torn tail, which resume truncates.

The checkpoint is replaced atomically (write to a temporary name, fsync, rename) every
``every_s`` seconds and when the run is interrupted. ``resume`` refuses a checkpoint written for
a different scenario, seed or stop rule. The finished file equals an uninterrupted run's: blocks
are folded in the same order from the same state.
"""

from __future__ import annotations

import contextlib
import json
import os
import re
import secrets
import zipfile
import zlib
from collections.abc import Mapping
from pathlib import Path

import numpy as np

from .._faults import pause_point
from ..engine import Accumulator, ReducerState
from ..errors import FORCE, ConfigError, SpoolDamaged
from ..results.files import fsync_dir, write_atomic
from ..results.kinds import CHECKPOINT

CHECKPOINT_VERSION = CHECKPOINT.version  # 2: state-*.npz named by meta.json; CRC-32
# segments. 3: the Eve-grouped variance sums and per-year conditioning diagnostics (SMC).


class SpoolVar:
    """One per-draw variable on disk: rows of ``row_shape`` and ``dtype``, appended in order.

    Every append is a *segment* (one block's rows) whose CRC-32 is recorded, so that the rows a
    checkpoint committed can be verified before they are used again (on resume, and before the
    final write): a short, grown or garbled file is refused instead of read as data.
    """

    def __init__(
        self,
        path: Path,
        dtype: np.dtype,
        row_shape: tuple[int, ...],
        segments: list[tuple[int, int]] | None = None,
    ):
        self.path = path
        self.dtype = np.dtype(dtype).newbyteorder("<")  # on disk: little-endian, always
        self.row_shape = tuple(row_shape)
        self.row_bytes = int(np.prod(row_shape, dtype=np.int64)) * self.dtype.itemsize
        self.segments: list[tuple[int, int]] = [(int(n), int(c)) for n, c in segments or ()]
        self.rows = sum(n for n, _ in self.segments)

    @property
    def shape(self) -> tuple[int, ...]:
        return (self.rows, *self.row_shape)

    def append(self, block: np.ndarray) -> None:
        data = np.ascontiguousarray(block, dtype=self.dtype).tobytes()
        with open(self.path, "ab") as fh:
            try:
                fh.write(data)
                fh.flush()
            except BaseException:
                with contextlib.suppress(OSError):  # leave no torn tail behind (best effort)
                    fh.truncate(self.rows * self.row_bytes)
                raise
        self.segments.append((len(block), zlib.crc32(data)))
        self.rows += len(block)

    def truncate(self, rows: int) -> None:
        """Forget the rows after ``rows`` (a segment boundary), on disk and in the record."""
        kept, total = [], 0
        for n, crc in self.segments:
            if total + n > rows:
                break
            kept.append((n, crc))
            total += n
        if total != rows:
            raise SpoolDamaged(f"{self.path.name}: {rows} rows is not a block boundary")
        self.segments, self.rows = kept, rows
        with open(self.path, "ab") as fh:
            fh.truncate(rows * self.row_bytes)

    def verify(self) -> None:
        """Check that the file holds exactly the recorded rows, segment by segment."""
        try:
            size = self.path.stat().st_size
        except FileNotFoundError:
            raise SpoolDamaged(f"{self.path.name} is missing") from None
        if size != self.rows * self.row_bytes:
            raise SpoolDamaged(
                f"{self.path.name} holds {size} bytes, expected {self.rows * self.row_bytes}"
            )
        with open(self.path, "rb") as fh:
            row = 0
            for n, crc in self.segments:
                if zlib.crc32(fh.read(n * self.row_bytes)) != crc:
                    raise SpoolDamaged(
                        f"{self.path.name}: rows {row:,}–{row + n - 1:,} fail their checksum"
                    )
                row += n

    def sync(self) -> None:
        with open(self.path, "ab") as fh:
            fh.flush()
            os.fsync(fh.fileno())

    def spec(self) -> dict:
        return {
            "dtype": self.dtype.str,
            "row_shape": list(self.row_shape),
            "rows": self.rows,
            "segments": [list(s) for s in self.segments],
        }

    def __getitem__(self, key: slice) -> np.ndarray:
        lo, hi, _ = key.indices(self.rows)
        count = max(hi - lo, 0) * (self.row_bytes // self.dtype.itemsize)
        data = np.fromfile(self.path, dtype=self.dtype, count=count, offset=lo * self.row_bytes)
        if data.size != count:
            raise SpoolDamaged(f"{self.path.name} ends before row {hi:,}")
        return data.reshape((max(hi - lo, 0), *self.row_shape)).astype(self.dtype.newbyteorder("="))


class SpoolSink:
    """Per-draw rows to :class:`SpoolVar` files (the accumulator writes them in block order)."""

    def __init__(self, folder: Path):
        self.folder = folder
        self.vars: dict[str, SpoolVar] = {}

    @classmethod
    def resume(cls, folder: Path, specs: Mapping[str, dict], rows: int) -> SpoolSink:
        """The spool as a checkpoint committed it: verified, cut back to ``rows`` rows.

        Rows written after the checkpoint are dropped; a file the checkpoint does not list holds
        no committed rows and is removed (the first checkpoint is taken before any block).
        """
        sink = cls(folder)
        for name, spec in specs.items():
            var = SpoolVar(
                folder / f"{name}.bin",
                np.dtype(spec["dtype"]),
                tuple(spec["row_shape"]),
                [tuple(s) for s in spec["segments"]],
            )
            if var.rows != rows:
                raise SpoolDamaged(f"{name}.bin records {var.rows} rows, the state {rows}")
            try:
                size = var.path.stat().st_size
            except FileNotFoundError:
                raise SpoolDamaged(f"{name}.bin is missing") from None
            if size < var.rows * var.row_bytes:
                raise SpoolDamaged(f"{name}.bin is shorter than its {var.rows:,} committed rows")
            with open(var.path, "ab") as fh:
                fh.truncate(var.rows * var.row_bytes)
            var.verify()
            sink.vars[name] = var
        for path in folder.glob("*.bin"):
            if path.stem not in sink.vars:
                path.unlink()
        return sink

    def write(self, start: int, rows: Mapping[str, np.ndarray]) -> None:
        for name, block in rows.items():
            var = self.vars.get(name)
            if var is None:
                var = self.vars[name] = SpoolVar(
                    self.folder / f"{name}.bin", block.dtype, block.shape[1:]
                )
            if var.rows != start:  # pragma: no cover - the accumulator writes in order
                raise RuntimeError(f"spool {name}: expected row {var.rows}, got {start}")
            var.append(block)

    def commit(self, rows: int) -> None:
        """Cut every variable back to ``rows`` (a block that failed half-way leaves more)."""
        for var in self.vars.values():
            var.truncate(rows)

    def specs(self) -> dict[str, dict]:
        return {n: v.spec() for n, v in self.vars.items()}

    def verify(self) -> None:
        for v in self.vars.values():
            v.verify()

    def sync(self) -> None:
        for v in self.vars.values():
            v.sync()


def checkpoint_dir(output: Path) -> Path:
    return output.with_name(output.name + ".checkpoint")


def save_checkpoint(folder: Path, acc: Accumulator, meta: dict) -> None:
    """Make the folded state durable as one unit; ``meta.json``'s rename is the commit point.

    The spool is cut to the folded rows and synced, the state goes to a new ``state-*.npz``, and
    only then does ``meta.json`` (naming that state file and each spool file's committed rows
    and checksums) replace the previous one. A crash at any moment leaves the previous
    checkpoint whole; superseded state files are removed after the commit.
    """
    sink = acc.sink
    if isinstance(sink, SpoolSink):
        sink.commit(acc.draws_done)
        sink.sync()
    state = acc.state()
    state_file = f"state-{secrets.token_hex(6)}.npz"
    write_atomic(folder / state_file, lambda tmp: _save_npz(tmp, state))
    pause_point("checkpoint-state-written")
    meta = dict(
        meta,
        draws_done=acc.draws_done,
        next_block=acc.next_block,
        state_file=state_file,
        spool=sink.specs() if isinstance(sink, SpoolSink) else {},
        version=CHECKPOINT_VERSION,
    )
    write_atomic(
        folder / "meta.json", lambda tmp: tmp.write_bytes(json.dumps(meta, indent=1).encode())
    )
    fsync_dir(folder)
    for old in folder.glob("state-*.npz"):
        if old.name != state_file:
            old.unlink(missing_ok=True)


def _save_npz(path: Path, arrays: Mapping[str, np.ndarray]) -> None:
    with open(path, "wb") as fh:  # a file object: np.savez would add ".npz" to a path
        np.savez(fh, **arrays)


_STATE_FILE = re.compile(r"state-[0-9a-f]{12}\.npz")


def _well_formed(meta, state: Mapping[str, np.ndarray]) -> bool:
    """Whether a checkpoint's meta and state have every field a resume reads, of its type."""
    fields = {"draws_done": int, "seed": int, "scenario_sha256": str, "spool": dict}
    if not all(isinstance(meta.get(k), t) for k, t in fields.items()):
        return False
    for spec in meta["spool"].values():
        try:
            np.dtype(spec["dtype"])
            segments = spec["segments"]
            ok = all(isinstance(v, int) for v in [spec["rows"], *spec["row_shape"]]) and all(
                len(s) == 2 and all(isinstance(v, int) and v >= 0 for v in s) for s in segments
            )
        except (TypeError, KeyError, ValueError):
            return False
        if not ok:
            return False
    try:
        ReducerState.from_arrays(state)
    except KeyError:  # a sum is missing
        return False
    return all(
        k in state and state[k].shape == (1,) for k in ("draws_done", "next_block", "stopped")
    )


def load_checkpoint(folder: Path) -> tuple[dict, dict[str, np.ndarray]]:
    def damaged(why: str) -> ConfigError:
        return ConfigError(f"{folder}: the checkpoint is damaged ({why}); start over with {FORCE}")

    try:
        meta = json.loads((folder / "meta.json").read_text())
    except (OSError, ValueError) as exc:
        raise damaged(type(exc).__name__) from None
    if not isinstance(meta, dict):
        raise damaged("fields missing or of the wrong type")
    if meta.get("version") not in (None, CHECKPOINT_VERSION):
        raise ConfigError(
            f"{folder}: checkpoint format {meta.get('version')} is not "
            f"{CHECKPOINT_VERSION} (written by another g3sim version); start over with {FORCE}"
        )
    state_file = meta.get("state_file")
    if not isinstance(state_file, str) or not _STATE_FILE.fullmatch(state_file):
        raise damaged("fields missing or of the wrong type")
    try:
        with np.load(folder / state_file, allow_pickle=False) as z:
            state = {k: z[k] for k in z.files}
    except (OSError, ValueError, KeyError, EOFError, zipfile.BadZipFile) as exc:
        raise damaged(type(exc).__name__) from None
    if not _well_formed(meta, state):
        raise damaged("fields missing or of the wrong type")
    if int(state["draws_done"][0]) != meta["draws_done"]:
        raise ConfigError(
            f"{folder}: checkpoint state and metadata disagree; start over with {FORCE}"
        )
    return meta, state
