"""Downloading the published Depth Any Video checkpoint from the Hugging Face hub into a plain folder.

``download_model(models_dir)`` fetches ``hhyangcs/depth-any-video`` into ``models_dir/depth-any-video``:
each component's ``config.json`` and ``diffusion_pytorch_model.safetensors``, the scheduler config and
``model_index.json``; pickle weights (``.bin``, ``.ckpt``, ...) are never requested.

- Complete or absent: files go to a hidden sibling ``.depth-any-video.partial/`` (hidden folders are not
  listed as models), which is renamed into place only after every file matched the hub's size and hash
  and every safetensors header parsed. A folder under the final name is always whole.
- Resumable: a download stopped by the network, Ctrl-C or ComfyUI's Cancel keeps its bytes and the next
  call continues with an HTTP Range request. huggingface_hub 2.x deletes a failed file's partial data and
  does not check sha256, so resuming and hashing are done here, over huggingface_hub's HTTP client
  (``http_get``: its session, headers, redirects and in-call retries).
- Fails fast offline: ``HF_HUB_OFFLINE`` or a hub that does not answer within ``timeout`` seconds ends in
  one line saying where to put the folder by hand.
"""

from __future__ import annotations

import hashlib
import inspect
import json
import logging
import os
import re
import shutil
import sys
from dataclasses import dataclass
from pathlib import Path
from types import SimpleNamespace
from urllib.parse import quote

from ..hooks import NO_HOOKS, Hooks
from ..io.output_folder import LOCK_NAME, OutputLock, prepare_output_folder
from .loading import HUB_HINT, PICKLE_SUFFIXES, WEIGHTS_NAME, CheckpointError

logger = logging.getLogger(__name__)

DEFAULT_REPO = "hhyangcs/depth-any-video"
COMPONENTS = ("unet", "unet_interp", "vae")
REQUIRED = ("unet", "vae")
EXTRA_FILES = ("scheduler/scheduler_config.json", "model_index.json")  # fetched when the repo has them
MARKER = ".dav_download.json"  # what was downloaded: repo, revision, commit, files with their hashes
HUB_TIMEOUT = 8.0  # seconds the hub may take to answer the listing request
INSTALL_HINT = "pip install huggingface_hub"


class DownloadError(RuntimeError):
    """The hub could not be reached or sent something other than what it listed; the message says what to do."""


@dataclass(frozen=True)
class HubFile:
    """One file as the hub lists it: size, sha256 (LFS files) or git blob id (small files)."""

    path: str
    size: int | None
    sha256: str | None = None
    blob_id: str | None = None


def default_folder_name(repo_id: str) -> str:
    """``hhyangcs/depth-any-video`` -> ``depth-any-video``."""
    return repo_id.rsplit("/", 1)[-1]


def is_model_folder(path: Path) -> bool:
    """True when ``path`` has the required components (config.json and safetensors weights in each)."""
    return all(
        (path / name / "config.json").is_file() and any((path / name).glob("*.safetensors"))
        for name in REQUIRED
    )


def download_model(
    models_dir: str | os.PathLike,
    repo_id: str = DEFAULT_REPO,
    *,
    revision: str | None = None,
    name: str | None = None,
    hooks: Hooks = NO_HOOKS,
    show_progress: bool = False,
    endpoint: str | None = None,
    timeout: float = HUB_TIMEOUT,
) -> Path:
    """Download ``repo_id`` into ``models_dir/name`` (default: the repo's name) and return that folder.

    A folder already there is returned as it is (no network). ``hooks`` get bytes done / total and may
    cancel; ``show_progress`` draws a tqdm bar on stderr. ``endpoint`` defaults to ``$HF_ENDPOINT``.
    """
    if not re.fullmatch(r"[\w.-]+/[\w.-]+", repo_id or ""):
        raise ValueError(f"repo must be a hub id 'owner/name', got {repo_id!r}")
    name = name or default_folder_name(repo_id)
    if name != Path(name).name or name.startswith(".") or name in ("", ".."):
        raise ValueError(f"name must be a plain folder name (no '/', not starting with '.'), got {name!r}")
    models_dir = Path(models_dir).expanduser()
    target = models_dir / name
    if target.exists():
        return _existing(target, repo_id, revision)
    hub = _import_hub(repo_id)
    _check_online(hub, repo_id)
    endpoint = (endpoint or os.environ.get("HF_ENDPOINT") or hub.constants.ENDPOINT).rstrip("/")
    commit, listing = _hub_listing(hub, repo_id, revision, endpoint, timeout)
    files = plan_files(listing, repo_id)
    prepare_output_folder(models_dir, "models folder")
    partial = models_dir / f".{name}.partial"
    partial.mkdir(exist_ok=True)
    lock = OutputLock(partial, "model download").acquire()
    try:
        if target.exists():  # another process finished it meanwhile
            return _existing(target, repo_id, revision)
        _start(partial, {"repo_id": repo_id, "revision": revision, "commit": commit})
        _check_space(partial, files)
        counter = _Counter(sum(f.size or 0 for f in files), hooks, show_progress, repo_id)
        try:
            for file in files:
                url = f"{endpoint}/{repo_id}/resolve/{quote(commit, safe='')}/{quote(file.path)}"
                _fetch(hub, url, partial, file, counter, repo_id)
        finally:
            counter.close()
        verify_folder(partial, files)
        _write_marker(partial, repo_id, revision, commit, files)
    finally:
        lock.release()
    (partial / LOCK_NAME).unlink(missing_ok=True)
    os.replace(partial, target)  # atomic: the model appears whole or not at all
    logger.info("downloaded %s (commit %s) to %s", repo_id, commit[:12], target)
    return target


# --------------------------------------------------------------------------- the hub


def _import_hub(repo_id: str) -> SimpleNamespace:
    """The parts of huggingface_hub used here, or one line saying how to get it."""
    try:
        from huggingface_hub import HfApi, constants
        from huggingface_hub.file_download import http_get
        from huggingface_hub.utils import RepositoryNotFoundError, RevisionNotFoundError, build_hf_headers
    except ImportError:
        raise DownloadError(
            f"downloading {repo_id} needs huggingface_hub ({INSTALL_HINT}); or {HUB_HINT}"
        ) from None
    return SimpleNamespace(
        HfApi=HfApi,
        constants=constants,
        http_get=http_get,
        build_hf_headers=build_hf_headers,
        RepositoryNotFoundError=RepositoryNotFoundError,
        RevisionNotFoundError=RevisionNotFoundError,
    )


def _check_online(hub, repo_id: str) -> None:
    flags = (os.environ.get(v, "").upper() for v in ("HF_HUB_OFFLINE", "TRANSFORMERS_OFFLINE"))
    if hub.constants.HF_HUB_OFFLINE or any(f in ("1", "ON", "YES", "TRUE") for f in flags):
        raise DownloadError(_unreachable(repo_id, "HF_HUB_OFFLINE is set"))


def _unreachable(repo_id: str, reason: str) -> str:
    return (
        f"cannot download {repo_id} from the Hugging Face hub ({reason}); {HUB_HINT} "
        f"(`dav download --output DIR` on a machine that is online fetches that folder)"
    )


def _hub_listing(hub, repo_id: str, revision: str | None, endpoint: str, timeout: float):
    """The commit ``revision`` points to and the repo's files with their sizes and hashes."""
    try:
        info = hub.HfApi(endpoint=endpoint).model_info(
            repo_id, revision=revision, files_metadata=True, timeout=timeout
        )
    except hub.RevisionNotFoundError:
        raise ValueError(f"revision {revision!r} does not exist in {repo_id} on {endpoint}") from None
    except hub.RepositoryNotFoundError:
        raise ValueError(
            f"repo {repo_id!r} is not a model on {endpoint} (or it is private or gated: log in with `hf auth login`)"
        ) from None
    except Exception as err:  # connection refused, timeout, offline, 5xx: all mean "not now"
        raise DownloadError(_unreachable(repo_id, _reason(err))) from None
    if not info.sha:
        raise DownloadError(
            f"the hub at {endpoint} did not say which commit {repo_id} is at; try again later"
        )
    listing = {}
    for s in info.siblings or []:
        lfs = s.lfs
        listing[s.rfilename] = HubFile(
            s.rfilename,
            size=lfs.size if lfs else s.size,
            sha256=lfs.sha256 if lfs else None,
            blob_id=None if lfs else s.blob_id,
        )
    return info.sha, listing


def plan_files(listing: dict[str, HubFile], repo_id: str) -> list[HubFile]:
    """The files a DAV folder needs, in download order; refuses a component offered only as pickle."""
    chosen = []
    for component in COMPONENTS:
        present = sorted(p for p in listing if p.startswith(component + "/"))
        if not present:
            if component in REQUIRED:
                raise CheckpointError(
                    f"{repo_id} has no {component}/ folder: not a Depth Any Video checkpoint "
                    "(expected unet/, unet_interp/, vae/, scheduler/)"
                )
            logger.warning(
                "%s has no %s/: clips longer than one keyframe pass cannot be processed", repo_id, component
            )
            continue
        weights, config = f"{component}/{WEIGHTS_NAME}", f"{component}/config.json"
        if weights not in listing:
            pickles = [p for p in present if Path(p).suffix.lower() in PICKLE_SUFFIXES]
            if pickles:
                raise CheckpointError(
                    f"{repo_id} offers {component} only as pickle weights ({', '.join(pickles)}), which are not "
                    "downloaded (pickle files can run arbitrary code); only .safetensors is accepted"
                )
            raise CheckpointError(f"{repo_id} has no {weights}")
        if config not in listing:
            raise CheckpointError(f"{repo_id} has no {config}")
        chosen += [listing[config], listing[weights]]
    return chosen + [listing[p] for p in EXTRA_FILES if p in listing]


def _reason(err: BaseException) -> str:
    return " ".join(str(err).split())[:200] or type(err).__name__


# --------------------------------------------------------------------------- files


class _Counter:
    """Bytes on disk across all files; drives a tqdm bar and the caller's hooks (which may cancel)."""

    def __init__(self, total: int, hooks: Hooks, show: bool, repo_id: str):
        from tqdm import tqdm

        self.progress = hooks.progress(total)
        self.bar = tqdm(
            total=total, unit="B", unit_scale=True, disable=not show, file=sys.stderr, desc=repo_id
        )
        self.cancelled: BaseException | None = None

    def add(self, amount: int) -> None:
        self.bar.update(amount)
        try:
            self.progress.advance(amount)
        except BaseException as err:  # the caller's cancel: passed through untouched
            self.cancelled = err
            raise

    def close(self) -> None:
        self.bar.close()


class _CountingFile:
    """The file ``http_get`` writes to, reporting every write (and truncation) to a :class:`_Counter`."""

    def __init__(self, handle, counter: _Counter):
        self._handle, self._counter = handle, counter

    def write(self, data: bytes) -> int:
        written = self._handle.write(data)
        self._counter.add(len(data))
        return written

    def tell(self) -> int:
        return self._handle.tell()

    def seek(self, offset: int, whence: int = 0) -> int:
        return self._handle.seek(offset, whence)

    def truncate(self, size: int | None = None) -> int:
        end = os.fstat(self._handle.fileno()).st_size
        size = self._handle.tell() if size is None else size
        result = self._handle.truncate(size)
        self._counter.add(size - end)
        return result


class _NoBar:
    """Silences huggingface_hub's per-file bar (the :class:`_Counter` draws one for the whole model)."""

    def __init__(self, *args, **kwargs):
        pass

    def __enter__(self):
        return self

    def __exit__(self, *exc) -> None:
        pass

    def update(self, n=1) -> None:
        pass


def _fetch(hub, url: str, folder: Path, file: HubFile, counter: _Counter, repo_id: str) -> None:
    """Download one file into ``folder``, resuming its ``.incomplete`` bytes; verified before it is named."""
    dest = folder / file.path
    if dest.is_file() and (file.size is None or dest.stat().st_size == file.size):
        counter.add(dest.stat().st_size)  # verified when it was completed
        return
    dest.parent.mkdir(parents=True, exist_ok=True)
    part = dest.with_name(dest.name + ".incomplete")
    if part.exists() and file.size is not None and part.stat().st_size > file.size:
        part.unlink()
    extra = {"tqdm_class": _NoBar} if "tqdm_class" in inspect.signature(hub.http_get).parameters else {}
    with open(part, "ab") as handle:
        resume = handle.tell()
        if resume:
            logger.info("resuming %s at byte %d of %s", file.path, resume, file.size)
        counter.add(resume)
        try:
            hub.http_get(
                url,
                _CountingFile(handle, counter),
                resume_size=resume,
                headers=hub.build_hf_headers(),
                expected_size=file.size,
                displayed_filename=file.path,
                **extra,
            )
        except BaseException as err:
            if err is counter.cancelled or not isinstance(err, Exception):
                raise  # Cancel / Ctrl-C: the bytes on disk are kept for the next call
            handle.close()
            raise _failed(err, part, file, repo_id) from None
    _check_file(part, file, repo_id)
    os.replace(part, dest)


def _failed(err: Exception, part: Path, file: HubFile, repo_id: str) -> DownloadError:
    have = part.stat().st_size if part.exists() else 0
    refused = getattr(getattr(err, "response", None), "status_code", None) == 416  # a Range past its end
    if refused or (isinstance(err, OSError) and err.errno is None and "onsistency check" in str(err)):
        part.unlink(missing_ok=True)  # the hub sent a different size than it listed: nothing to resume
        return DownloadError(
            f"{repo_id}: {file.path} came with a different size than the hub lists ({file.size} bytes): "
            "the file was removed; run the download again"
        )
    return DownloadError(
        f"downloading {file.path} of {repo_id} stopped at {have} of {file.size} bytes ({_reason(err)}); "
        "run the download again to resume, or " + HUB_HINT
    )


def _check_file(path: Path, file: HubFile, repo_id: str) -> None:
    """Size and sha256 (LFS) or git blob hash (small files) as the hub lists them; a mismatch is removed."""
    size = path.stat().st_size
    problem = None
    if file.size is not None and size != file.size:
        problem = f"has {size} bytes, the hub lists {file.size}"
    elif file.sha256:
        digest = _hash_file(path, hashlib.sha256())
        if digest != file.sha256.lower():
            problem = f"sha256 {digest[:16]}... differs from the hub's {file.sha256[:16]}..."
    elif file.blob_id:
        digest = _hash_file(path, hashlib.sha1(f"blob {size}\0".encode()))
        if digest != file.blob_id.lower():
            problem = f"git blob id {digest[:16]}... differs from the hub's {file.blob_id[:16]}..."
    if problem:
        path.unlink()
        raise DownloadError(
            f"{repo_id}: downloaded {file.path} {problem} (corrupt in transit?); it was removed, "
            "run the download again"
        )


def _hash_file(path: Path, digest) -> str:
    with open(path, "rb") as f:
        while block := f.read(1 << 23):
            digest.update(block)
    return digest.hexdigest()


def verify_folder(folder: Path, files: list[HubFile]) -> None:
    """Every listed file present with its size, every safetensors header readable, the layout loadable."""
    from safetensors import safe_open

    for file in files:
        path = folder / file.path
        if not path.is_file() or (file.size is not None and path.stat().st_size != file.size):
            raise DownloadError(f"{path} is missing or has the wrong size after the download; run it again")
        if path.suffix == ".safetensors":
            try:
                with safe_open(str(path), framework="pt") as f:
                    f.keys()
            except Exception as err:
                path.unlink()
                raise DownloadError(
                    f"{path} is not a readable safetensors file ({_reason(err)}); it was removed, run the download again"
                ) from None
    if not is_model_folder(folder):
        raise CheckpointError(f"the downloaded files in {folder} do not form a Depth Any Video folder")


def _start(partial: Path, identity: dict) -> None:
    """Keep the files of an earlier attempt at the same commit; clear anything else."""
    marker = partial / MARKER
    try:
        previous = json.loads(marker.read_text())
    except (OSError, ValueError):
        previous = None
    if previous is not None and previous.get("commit") == identity["commit"]:
        return
    if any(p.name != LOCK_NAME for p in partial.iterdir()):
        logger.info("%s holds an earlier attempt at another revision: starting again", partial)
        for child in partial.iterdir():
            if child.name == LOCK_NAME:
                continue
            shutil.rmtree(child) if child.is_dir() else child.unlink()
    marker.write_text(json.dumps(identity))


def _check_space(partial: Path, files: list[HubFile]) -> None:
    needed = 0
    for file in files:
        done = max(
            (
                p.stat().st_size
                for p in (partial / file.path, partial / (file.path + ".incomplete"))
                if p.is_file()
            ),
            default=0,
        )
        needed += max(0, (file.size or 0) - done)
    free = shutil.disk_usage(partial).free
    if needed > free:
        raise DownloadError(
            f"not enough disk space in {partial.parent}: the download needs {needed / 2**30:.2f} GiB more, "
            f"{free / 2**30:.2f} GiB are free"
        )


def _write_marker(
    folder: Path, repo_id: str, revision: str | None, commit: str, files: list[HubFile]
) -> None:
    record = {
        "repo_id": repo_id,
        "revision": revision,
        "commit": commit,
        "files": {f.path: {"size": f.size, "sha256": f.sha256, "blob_id": f.blob_id} for f in files},
    }
    (folder / MARKER).write_text(json.dumps(record, indent=1))


def _existing(target: Path, repo_id: str, revision: str | None) -> Path:
    """An existing folder under the final name: returned when it is a model of that repo (and revision)."""
    if not is_model_folder(target):
        raise FileExistsError(
            f"{target} exists but is not a complete Depth Any Video folder (unet/ and vae/ with config.json "
            "and .safetensors weights); move it away or choose another folder"
        )
    try:
        record = json.loads((target / MARKER).read_text())
    except (OSError, ValueError):
        record = None  # put there by hand
    if record is not None:
        if record.get("repo_id") != repo_id:
            raise FileExistsError(
                f"{target} holds {record.get('repo_id')}, not {repo_id}; choose another folder"
            )
        commit = str(record.get("commit"))
        same = revision in (record.get("revision") or "main", commit) or (
            len(revision or "") >= 7 and commit.startswith(revision)
        )
        if revision is not None and not same:
            raise FileExistsError(
                f"{target} holds {repo_id} at commit {commit[:12]}, not revision {revision!r}; "
                "choose another folder or move it away"
            )
    logger.info("%s is already downloaded: %s", repo_id, target)
    return target
