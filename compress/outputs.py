"""Output folders that are written atomically, locked while written, and never replace what
compress did not write.

Everything is written into a hidden temporary folder and moved into place at the end, so a
failed or interrupted run never leaves a half-written output, and the old output is removed
only after the new one is complete. `--overwrite` replaces only an empty folder or one whose
`manifest.json` lists every file in it (a compress output nobody added to); the root, the home
folder, the current folder and any folder holding an input are refused whatever the flags.
A lock on the output path keeps two runs from writing the same output at once.
"""

from __future__ import annotations

import errno
import fcntl
import hashlib
import json
import os
import secrets
import shutil
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from compress.errors import CompressError
from compress.version import __version__

MANIFEST = "manifest.json"
PARTIAL_MARK = ".compress-partial"  # inside every temporary folder, so cleaning touches only ours
IN_MOUNT_PREFIX = ".compress-"  # temporary entries written inside an output that is a mount point


def _is_within(path: Path, folder: Path) -> bool:
    return path == folder or folder in path.parents


def refuse_unsafe(out: Path, inputs: Sequence[Path | str | None] = ()) -> None:
    """Folders that no flag may let compress replace: /, home, the current folder, and any
    folder that is or holds one of the inputs (model, data, recipe)."""
    if out == Path(out.anchor):
        raise CompressError(f"--out {out}: refusing to write to the root of the file system")
    if out == Path.home().resolve():
        raise CompressError(f"--out {out}: refusing to write to the home folder; name a folder inside it")
    if _is_within(Path.cwd().resolve(), out):
        raise CompressError(f"--out {out}: refusing to write to the current folder or one above it; name a new folder")
    for item in inputs:
        if item is None:
            continue
        path = Path(item).expanduser()
        if path.exists() and _is_within(path.resolve(), out):
            raise CompressError(f"--out {out}: it holds an input ({item}); choose another output folder")


def _entries(out: Path) -> list[Path]:
    """What is in `out`, less compress's own temporary entries inside a mount point."""
    return sorted(p for p in out.iterdir() if not p.name.startswith(IN_MOUNT_PREFIX))


def stray_files(out: Path) -> list[str]:
    """Files in a non-empty `out` that its manifest does not list (all of them without a manifest)."""
    entries = _entries(out)
    files = sorted(
        str(p.relative_to(out))
        for p in out.rglob("*")
        if not p.is_dir() and not p.relative_to(out).parts[0].startswith(IN_MOUNT_PREFIX)
    )
    if not entries:
        return []
    try:
        listed = json.loads((out / MANIFEST).read_text(encoding="utf-8"))["files"]
        known = {(f["path"], f["bytes"]) for f in listed}
    except (OSError, ValueError, KeyError, TypeError):
        return [f for f in files] or [p.name for p in entries]
    strays = [f for f in files if f != MANIFEST and (f, (out / f).stat().st_size) not in known]
    empty_dirs = [str(p.relative_to(out)) + "/" for p in out.rglob("*") if p.is_dir() and not any(p.iterdir())]
    return strays + empty_dirs


def check_destination(out: Path, overwrite: bool, inputs: Sequence[Path | str | None] = ()) -> Path:
    """Refuse a destination this run may not write; returns the resolved path."""
    out = out.expanduser().resolve()
    refuse_unsafe(out, inputs)
    if out.exists() and not out.is_dir():
        raise CompressError(f"output {out} exists and is not a folder")
    if out.is_dir() and _entries(out):
        if not overwrite:
            raise CompressError(f"output folder {out} is not empty; pass --overwrite to replace it")
        strays = stray_files(out)
        if strays:
            more = f" and {len(strays) - 3} more" if len(strays) > 3 else ""
            raise CompressError(
                f"--overwrite: {out} holds files compress did not write ({', '.join(strays[:3])}{more}); "
                "move them or choose another output folder"
            )
    return out


@dataclass
class Output:
    """The temporary folder a run writes into; `manifest` extras are written beside the file list."""

    path: Path
    manifest: dict[str, Any] = field(default_factory=dict)


@contextmanager
def output_lock(out: Path) -> Iterator[None]:
    """Hold an exclusive lock on `out` for the whole run; a second run fails at once."""
    lock = out / f"{IN_MOUNT_PREFIX}lock" if os.path.ismount(out) else out.parent / f".{out.name}.lock"
    try:
        handle = os.open(lock, os.O_RDWR | os.O_CREAT, 0o666)
    except OSError as exc:
        raise CompressError(f"cannot create the lock {lock}: {exc.strerror}") from None
    try:
        try:
            fcntl.flock(handle, fcntl.LOCK_EX | fcntl.LOCK_NB)
            same = os.fstat(handle).st_ino == os.stat(lock).st_ino  # not a lock file another run just removed
        except (BlockingIOError, FileNotFoundError):
            same = False
        if not same:
            raise CompressError(f"another compress run is writing {out}; wait for it to finish or choose another --out")
        os.ftruncate(handle, 0)
        os.write(handle, f"{os.getpid()}\n".encode())
        try:
            yield
        finally:
            lock.unlink(missing_ok=True)  # while still held, so no waiting run can lock the old file
    finally:
        os.close(handle)


def _make_folder(parent: Path, prefix: str) -> Path:
    """A new uniquely named folder whose mode follows the umask (unlike mkdtemp's 0700)."""
    while True:
        path = parent / f"{prefix}{os.getpid()}-{secrets.token_hex(4)}"
        try:
            path.mkdir(mode=0o777)
        except FileExistsError:
            continue
        (path / PARTIAL_MARK).touch()
        return path


def _clean_stale(out: Path, in_mount: bool) -> None:
    """Remove temporary folders that crashed or killed runs left; we hold the lock, so none is live.
    A replaced output that was moved aside but never removed is put back if nothing took its place."""
    parent, prefix = (out, IN_MOUNT_PREFIX) if in_mount else (out.parent, f".{out.name}.")
    for path in parent.glob(f"{prefix}partial-*"):
        if path.is_dir() and (path / PARTIAL_MARK).is_file():
            shutil.rmtree(path, ignore_errors=True)
    for path in parent.glob(f"{prefix}old-*"):
        if not (path.is_dir() and (path / MANIFEST).is_file()):
            continue
        if not in_mount and not out.exists():
            path.rename(out)
        elif not stray_files(path):
            shutil.rmtree(path, ignore_errors=True)


@contextmanager
def atomic_folder(out: Path, overwrite: bool, inputs: Sequence[Path | str | None] = ()) -> Iterator[Output]:
    """Yield an `Output` to write into; on success it replaces `out`, on failure it is removed."""
    out = check_destination(out, overwrite, inputs)
    out.parent.mkdir(parents=True, exist_ok=True)
    with output_lock(out):
        check_destination(out, overwrite, inputs)  # again, now that no other run can change it
        in_mount = os.path.ismount(out)
        _clean_stale(out, in_mount)
        scratch = _make_folder(
            out if in_mount else out.parent, f"{IN_MOUNT_PREFIX}partial-" if in_mount else f".{out.name}.partial-"
        )
        try:
            output = Output(scratch)
            yield output
            (scratch / PARTIAL_MARK).unlink()
            write_json(scratch / MANIFEST, manifest(scratch, output.manifest))
            _follow_umask(scratch)
            _commit(scratch, out, in_mount)
        except BaseException:
            shutil.rmtree(scratch, ignore_errors=True)
            raise


def _follow_umask(folder: Path) -> None:
    """Give every file and folder the mode the umask asks for: some writers (safetensors) make files 0600."""
    mask = os.umask(0)
    os.umask(mask)
    for path in [folder, *folder.rglob("*")]:
        if not path.is_symlink():
            path.chmod((0o777 if path.is_dir() else 0o666) & ~mask)


def _commit(scratch: Path, out: Path, in_mount: bool) -> None:
    if in_mount:  # a mount point cannot be renamed: swap its entries inside it instead
        _swap_entries(scratch, out)
        return
    if not out.exists():
        _rename(scratch, out)
        return
    old = out.parent / f".{out.name}.old-{os.getpid()}"
    _rename(out, old)
    _rename(scratch, out)
    shutil.rmtree(old, ignore_errors=True)


def _written_entries(out: Path) -> list[Path]:
    """The top-level entries of an existing output that its manifest lists (and the manifest):
    the only ones a swap may move, whatever else a bug or a race put there."""
    try:
        listed = json.loads((out / MANIFEST).read_text(encoding="utf-8"))["files"]
    except (OSError, ValueError, KeyError, TypeError):
        return []
    names = {Path(f["path"]).parts[0] for f in listed} | {MANIFEST}
    return [out / name for name in sorted(names) if (out / name).exists()]


def _swap_entries(scratch: Path, out: Path) -> None:
    """Move the old output's own entries aside, the new ones in, then drop the old; put the old
    ones back if a move fails half-way."""
    old = _make_folder(out, f"{IN_MOUNT_PREFIX}old-")
    (old / PARTIAL_MARK).unlink()
    moved: list[Path] = []
    try:
        for entry in _written_entries(out):
            entry.rename(old / entry.name)
            moved.append(entry)
        for entry in scratch.iterdir():
            entry.rename(out / entry.name)
    except OSError:
        for entry in moved:
            if not entry.exists():
                (old / entry.name).rename(entry)
        raise
    scratch.rmdir()
    shutil.rmtree(old, ignore_errors=True)


def _rename(source: Path, target: Path) -> None:
    try:
        source.rename(target)
    except OSError as exc:
        if exc.errno in (errno.EBUSY, errno.EXDEV):
            raise CompressError(f"cannot move the finished output into {target}: {exc.strerror}") from None
        raise


def check_writable(path: Path) -> None:
    """Fail before the work, not after it, when a result file cannot be written."""
    path = path.expanduser()
    if path.is_dir():
        raise CompressError(f"{path}: is a folder; give a file name")
    if not path.parent.is_dir():
        raise CompressError(f"{path}: folder {path.parent} does not exist")
    if not os.access(path.parent, os.W_OK) or (path.exists() and not os.access(path, os.W_OK)):
        raise CompressError(f"{path}: not writable")


def write_json(path: Path, data: Any) -> None:
    """Write JSON atomically: a reader never sees half a file."""
    scratch = path.with_name(f".{path.name}.partial-{os.getpid()}")
    try:
        scratch.write_text(json.dumps(data, indent=2, ensure_ascii=False, default=str) + "\n", encoding="utf-8")
        scratch.replace(path)
    except BaseException:
        scratch.unlink(missing_ok=True)
        raise


def manifest(folder: Path, extra: dict[str, Any]) -> dict[str, Any]:
    """Every file under `folder` with size and sha256, so a user can check what they deploy; it
    also marks the folder as compress's, which is what lets `--overwrite` replace it."""
    files = []
    for path in sorted(p for p in folder.rglob("*") if p.is_file()):
        digest = hashlib.sha256()
        with open(path, "rb") as handle:
            for chunk in iter(lambda: handle.read(1 << 20), b""):
                digest.update(chunk)
        files.append(
            {"path": str(path.relative_to(folder)), "bytes": path.stat().st_size, "sha256": digest.hexdigest()}
        )
    return {"written_by": f"compress {__version__}", **extra, "files": files}
