"""Downloading the published model, for real over HTTP, from a local server that speaks the hub's API.

The server (127.0.0.1, a free port, in a thread) answers what huggingface_hub 2.x calls for
``download_model``: ``GET /api/models/{repo}[/revision/{rev}]?blobs=true`` (commit and files with size,
blob id and LFS sha256) and ``GET|HEAD /{repo}/resolve/{rev}/{path}`` (small files directly; LFS files
redirect to ``/cdn-lfs/{sha256}`` with ``X-Repo-Commit``, ``X-Linked-Etag``, ``X-Linked-Size``), with
Range requests. It serves ``tiny_dav`` in the published layout plus a pickle ``unet/*.bin`` that must
never be requested, and can cut a response midway, fail with 503, or send corrupt bytes.
"""

from __future__ import annotations

import hashlib
import json
import shutil
import socket
import sys
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from urllib.parse import parse_qs, unquote, urlsplit

import pytest
import torch

from dav_core.hooks import Hooks
from dav_core.models.download import HUB_TIMEOUT, DownloadError, download_model
from dav_core.models.loading import CheckpointError, load_dav
from tests.helpers import load_pack

nodes = load_pack().nodes

REPO_ID = "hhyangcs/depth-any-video"
COMMIT = "3592f8c0a1b2c3d4e5f60718293a4b5c6d7e8f90"
UNET = "unet/diffusion_pytorch_model.safetensors"
UNET_INTERP = "unet_interp/diffusion_pytorch_model.safetensors"
VAE = "vae/diffusion_pytorch_model.safetensors"
PICKLE = "unet/diffusion_pytorch_model.bin"


def _git_blob_id(data: bytes) -> str:
    return hashlib.sha1(b"blob %d\0" % len(data) + data).hexdigest()


class FakeHub:
    """The files of one repo at one commit, a request log, and faults to inject."""

    def __init__(self, tiny_dav_dir: Path):
        self.files = {
            p.relative_to(tiny_dav_dir).as_posix(): p.read_bytes()
            for p in tiny_dav_dir.rglob("*")
            if p.is_file()
        }
        self.files[PICKLE] = b"\x80\x04 pretend pickle"
        self.files["README.md"] = b"# Depth Any Video\n"
        self.hidden: set[str] = set()  # left out of the listing
        self.cut: dict[str, int] = {}  # path -> bytes sent before the connection is closed (once)
        self.fail_after_cut = False  # then answer 503 for that file until cleared
        self.failing: set[str] = set()
        self.corrupt: dict[str, bytes] = {}  # path -> bytes sent instead of the listed content
        self.log: list[dict] = []

    def is_lfs(self, path: str) -> bool:
        return path.endswith((".safetensors", ".bin"))

    def sha256(self, path: str) -> str:
        return hashlib.sha256(self.files[path]).hexdigest()

    def listing(self, blobs: bool) -> dict:
        siblings = []
        for path, data in sorted(self.files.items()):
            if path in self.hidden:
                continue
            entry: dict = {"rfilename": path}
            if blobs:
                entry.update(size=len(data), blobId=_git_blob_id(data))
                if self.is_lfs(path):
                    pointer = f"version https://git-lfs.github.com/spec/v1\noid sha256:{self.sha256(path)}\nsize {len(data)}\n"
                    entry.update(
                        blobId=_git_blob_id(pointer.encode()),
                        lfs={"size": len(data), "sha256": self.sha256(path), "pointerSize": len(pointer)},
                    )
            siblings.append(entry)
        return {"id": REPO_ID, "modelId": REPO_ID, "sha": COMMIT, "private": False, "siblings": siblings}

    def requests_for(self, path: str, method: str = "GET") -> list[dict]:
        return [r for r in self.log if r["file"] == path and r["method"] == method]


class _Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    hub: FakeHub

    def log_message(self, *args) -> None:  # quiet
        pass

    def do_HEAD(self) -> None:
        self._route(body=False)

    def do_GET(self) -> None:
        self._route(body=True)

    def _route(self, body: bool) -> None:
        url = urlsplit(self.path)
        path = unquote(url.path)
        record = {
            "method": self.command,
            "path": path,
            "range": self.headers.get("Range"),
            "file": None,
            "sent": 0,
        }
        self.hub.log.append(record)
        api = f"/api/models/{REPO_ID}"
        if path.startswith("/api/models/"):
            if path != api and not path.startswith(api + "/revision/"):
                return self._error(401, "RepoNotFound")
            revision = path[len(api + "/revision/") :] if path != api else "main"
            if revision not in ("main", COMMIT):
                return self._error(404, "RevisionNotFound")
            blobs = parse_qs(url.query).get("blobs") == ["true"]
            return self._send(
                200, json.dumps(self.hub.listing(blobs)).encode(), {"Content-Type": "application/json"}, body
            )
        prefix = f"/{REPO_ID}/resolve/"
        if path.startswith(prefix):
            revision, _, file = path[len(prefix) :].partition("/")
            record["file"] = file
            if revision not in ("main", COMMIT):
                return self._error(404, "RevisionNotFound")
            if file not in self.hub.files or file in self.hub.hidden:
                return self._error(404, "EntryNotFound")
            data = self.hub.files[file]
            headers = {"X-Repo-Commit": COMMIT, "ETag": f'"{_git_blob_id(data)}"', "Accept-Ranges": "bytes"}
            if self.hub.is_lfs(file):  # as the hub: LFS files redirect to the CDN
                headers.update(
                    {
                        "Location": f"/cdn-lfs/{self.hub.sha256(file)}",
                        "X-Linked-Etag": f'"{self.hub.sha256(file)}"',
                        "X-Linked-Size": str(len(data)),
                    }
                )
                return self._send(302, b"", headers, body)
            return self._file(file, headers, body, record)
        if path.startswith("/cdn-lfs/"):
            sha = path.rsplit("/", 1)[-1]
            file = next((p for p in self.hub.files if self.hub.is_lfs(p) and self.hub.sha256(p) == sha), None)
            record["file"] = file
            if file is None:
                return self._error(404, "EntryNotFound")
            return self._file(file, {"ETag": f'"{sha}"', "Accept-Ranges": "bytes"}, body, record)
        return self._error(404, "NotFound")

    def _file(self, file: str, headers: dict, body: bool, record: dict) -> None:
        hub = self.hub
        if file in hub.failing:
            return self._error(503, "ServiceUnavailable")
        data = hub.corrupt.get(file, hub.files[file])
        start = 0
        if self.headers.get("Range"):
            start = int(self.headers["Range"].removeprefix("bytes=").split("-")[0])
            if start >= len(data):
                return self._error(416, "RangeNotSatisfiable")
            headers["Content-Range"] = f"bytes {start}-{len(data) - 1}/{len(data)}"
        status = 206 if start else 200
        if body and file in hub.cut:  # headers promise the whole rest, the connection dies midway
            limit = hub.cut.pop(file)
            if hub.fail_after_cut:
                hub.failing.add(file)
            self.send_response(status)
            for key, value in {**headers, "Content-Length": str(len(data) - start)}.items():
                self.send_header(key, value)
            self.end_headers()
            self.wfile.write(data[start : start + limit])
            self.wfile.flush()
            record["sent"] = limit
            self.close_connection = True
            self.connection.shutdown(socket.SHUT_RDWR)
            return
        record["sent"] = len(data) - start if body else 0
        self._send(status, data[start:], headers, body)

    def _error(self, status: int, code: str) -> None:
        self._send(
            status,
            json.dumps({"error": code}).encode(),
            {"X-Error-Code": code, "Content-Type": "application/json"},
            True,
        )

    def _send(self, status: int, payload: bytes, headers: dict, body: bool) -> None:
        self.send_response(status)
        for key, value in headers.items():
            self.send_header(key, value)
        self.send_header("Content-Length", str(len(payload)))
        self.end_headers()
        if body:
            self.wfile.write(payload)


@pytest.fixture
def hub(tiny_dav_dir, monkeypatch, tmp_path):
    """A fake hub on 127.0.0.1 with HF_ENDPOINT pointing at it and an isolated HF_HOME."""
    import huggingface_hub.constants

    fake = FakeHub(tiny_dav_dir)
    handler = type("Handler", (_Handler,), {"hub": fake})
    server = ThreadingHTTPServer(("127.0.0.1", 0), handler)
    server.daemon_threads = True
    thread = threading.Thread(target=server.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True)
    thread.start()
    fake.endpoint = f"http://127.0.0.1:{server.server_address[1]}"
    monkeypatch.setenv("HF_ENDPOINT", fake.endpoint)
    monkeypatch.setenv("HF_HOME", str(tmp_path / "hf_home"))
    monkeypatch.setenv("HF_HUB_DISABLE_XET", "1")
    monkeypatch.setenv("HF_HUB_DISABLE_TELEMETRY", "1")
    monkeypatch.setenv("NO_PROXY", "127.0.0.1,localhost")
    for name in ("HF_HUB_OFFLINE", "TRANSFORMERS_OFFLINE", "HF_TOKEN", "DAV_MODELS_DIR"):
        monkeypatch.delenv(name, raising=False)
    # huggingface_hub reads 10 MiB per chunk and drops a chunk cut short; 1 MiB chunks make these
    # 10 MB files behave like the real multi-GB ones (most of a cut-off file is on disk)
    monkeypatch.setattr(huggingface_hub.constants, "DOWNLOAD_CHUNK_SIZE", 1 << 20)
    yield fake
    server.shutdown()
    server.server_close()


def _assert_same_files(folder: Path, reference: Path) -> None:
    for path in reference.rglob("*"):
        if path.is_file():
            rel = path.relative_to(reference)
            assert (folder / rel).read_bytes() == path.read_bytes(), rel


def _listed(models: Path, monkeypatch) -> list[str]:
    monkeypatch.setenv("DAV_MODELS_DIR", str(models))
    return nodes.model.list_checkpoints()


def test_fresh_download_loads_like_the_reference(hub, tmp_path, tiny_dav_dir, tiny_model):
    calls = []
    folder = download_model(
        tmp_path / "models", REPO_ID, hooks=Hooks(on_progress=lambda d, t: calls.append((d, t)))
    )

    assert folder == tmp_path / "models" / "depth-any-video"
    _assert_same_files(folder, tiny_dav_dir)
    assert sorted(p.name for p in (tmp_path / "models").iterdir()) == ["depth-any-video"]  # no partial left
    assert not (folder / "README.md").exists() and not (folder / PICKLE).exists()
    assert not any(PICKLE in r["path"] or r["file"] == PICKLE for r in hub.log), "the pickle was requested"
    record = json.loads((folder / ".dav_download.json").read_text())
    assert record["commit"] == COMMIT and record["files"][UNET]["sha256"] == hub.sha256(UNET)
    total = sum(len(hub.files[p]) for p in record["files"])
    assert calls[-1] == (total, total) and all(d <= t for d, t in calls)

    model = load_dav(folder)
    for name in ("unet", "unet_interp", "vae"):
        expected, got = getattr(tiny_model, name).state_dict(), getattr(model, name).state_dict()
        assert expected.keys() == got.keys()
        assert all(torch.equal(expected[k], got[k]) for k in expected), name
    assert model.scheduler_config == tiny_model.scheduler_config

    requests = len(hub.log)
    assert download_model(tmp_path / "models", REPO_ID) == folder  # present: no network at all
    assert len(hub.log) == requests


def test_interrupted_download_resumes_with_a_range_request(hub, tmp_path, tiny_dav_dir, monkeypatch):
    models = tmp_path / "models"
    hub.cut[UNET], hub.fail_after_cut = 3_000_000, True  # connection dropped, then the file answers 503
    with pytest.raises(
        DownloadError,
        match=r"downloading unet/diffusion_pytorch_model\.safetensors .* stopped at \d+ of 10004696 bytes .*run the download again to resume",
    ):
        download_model(models, REPO_ID)

    partial = models / ".depth-any-video.partial"
    kept = (partial / (UNET + ".incomplete")).stat().st_size
    assert 0 < kept <= 3_000_000
    assert not (models / "depth-any-video").exists()
    assert not [
        n for n in _listed(models, monkeypatch) if "depth-any-video" in n and not n.startswith("download:")
    ]

    hub.failing.clear()
    first = len(hub.log)
    folder = download_model(models, REPO_ID)
    resumed = [r for r in hub.log[first:] if r["file"] == UNET and r["path"].startswith("/cdn-lfs/")]
    assert [r["range"] for r in resumed] == [f"bytes={kept}-"]
    assert resumed[0]["sent"] == len(hub.files[UNET]) - kept
    _assert_same_files(folder, tiny_dav_dir)
    assert not partial.exists()
    assert "depth-any-video" in _listed(models, monkeypatch)


@pytest.mark.parametrize("fault", ["bytes", "size", "resume"])
def test_corrupt_file_is_removed_and_nothing_looks_complete(hub, tmp_path, tiny_dav_dir, monkeypatch, fault):
    models = tmp_path / "models"
    good = hub.files[UNET_INTERP]
    if fault == "bytes":  # same size, one byte flipped: only the sha256 can tell
        hub.corrupt[UNET_INTERP] = good[:5000] + bytes([good[5000] ^ 0xFF]) + good[5001:]
        message = r"unet_interp/diffusion_pytorch_model\.safetensors sha256 \w+\.\.\. differs from the hub's"
    else:  # shorter than listed; "resume": past its end already (the server refuses the Range, 416)
        hub.corrupt[UNET_INTERP] = good[:-1000]
        if fault == "resume":
            partial = models / ".depth-any-video.partial"
            (partial / "unet_interp").mkdir(parents=True)
            (partial / ".dav_download.json").write_text(json.dumps({"commit": COMMIT}))
            (partial / (UNET_INTERP + ".incomplete")).write_bytes(good[:-500])
        message = (
            r"unet_interp/diffusion_pytorch_model\.safetensors came with a different size than the hub lists"
        )
    with pytest.raises(DownloadError, match=message):
        download_model(models, REPO_ID)

    if fault == "resume":
        assert f"bytes={len(good) - 500}-" in [r["range"] for r in hub.requests_for(UNET_INTERP)]
    partial = models / ".depth-any-video.partial"
    assert not (models / "depth-any-video").exists()
    assert not list((partial / "unet_interp").glob("*.safetensors*"))  # the bad bytes are gone
    assert (partial / UNET).is_file()  # the good files before it are kept
    assert "depth-any-video" not in _listed(models, monkeypatch)

    hub.corrupt.clear()
    first = len(hub.log)
    folder = download_model(models, REPO_ID)
    assert not [r for r in hub.log[first:] if r["file"] == UNET]  # not fetched again
    _assert_same_files(folder, tiny_dav_dir)


def test_a_component_offered_only_as_pickle_is_refused(hub, tmp_path):
    hub.hidden.add(UNET)
    with pytest.raises(
        CheckpointError, match=r"offers unet only as pickle weights \(unet/diffusion_pytorch_model\.bin\)"
    ):
        download_model(tmp_path / "models", REPO_ID)
    assert not [r for r in hub.log if r["file"]]  # nothing downloaded, the pickle least of all
    assert not (tmp_path / "models").exists()


def test_unknown_repo_and_revision_name_the_parameter(hub, tmp_path):
    with pytest.raises(ValueError, match="revision 'v9' does not exist"):
        download_model(tmp_path / "models", REPO_ID, revision="v9")
    with pytest.raises(ValueError, match="repo 'someone/nothing' is not a model"):
        download_model(tmp_path / "models", "someone/nothing")
    with pytest.raises(ValueError, match="repo must be a hub id"):
        download_model(tmp_path / "models", "not a repo")
    folder = download_model(tmp_path / "models", REPO_ID)
    requests = len(hub.log)
    for same in ("main", COMMIT, COMMIT[:7]):  # what is there is checked against the record, offline
        assert download_model(tmp_path / "models", REPO_ID, revision=same) == folder
    assert len(hub.log) == requests
    with pytest.raises(FileExistsError, match="not revision 'v2'"):
        download_model(tmp_path / "models", REPO_ID, revision="v2")


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def test_offline_or_unreachable_hub_fails_fast_saying_where_to_put_the_folder(hub, tmp_path, monkeypatch):
    assert HUB_TIMEOUT < 10
    where = r"put its folder \(unet/, unet_interp/, vae/, scheduler/\) in ComfyUI/models/depth_any_video/"
    models = tmp_path / "models"

    monkeypatch.setenv("HF_HUB_OFFLINE", "1")
    start = time.monotonic()
    with pytest.raises(DownloadError, match=rf"HF_HUB_OFFLINE is set.*{where}"):
        download_model(models, REPO_ID)
    assert time.monotonic() - start < 10 and not hub.log
    monkeypatch.delenv("HF_HUB_OFFLINE")

    monkeypatch.setenv("HF_ENDPOINT", f"http://127.0.0.1:{_free_port()}")  # nothing listens there
    start = time.monotonic()
    with pytest.raises(DownloadError, match=where):
        download_model(models, REPO_ID)
    assert time.monotonic() - start < 10

    with socket.socket() as silent:  # accepts connections, never answers
        silent.bind(("127.0.0.1", 0))
        silent.listen(8)
        monkeypatch.setenv("HF_ENDPOINT", f"http://127.0.0.1:{silent.getsockname()[1]}")
        start = time.monotonic()
        with pytest.raises(DownloadError, match=where):
            download_model(models, REPO_ID, timeout=1.0)
        assert time.monotonic() - start < 10
    assert not models.exists()  # nothing created that could look like a model


def test_cli_download(hub, tmp_path, tiny_dav_dir, capsys, monkeypatch):
    from dav_core.cli import main

    out = tmp_path / "models" / "dav"
    assert main(["download", "--output", str(out), "--no-progress"]) == 0
    err = capsys.readouterr().err
    assert f"{REPO_ID} downloaded in {out}" in err and f"dav depth clip.mp4 --output out --model {out}" in err
    _assert_same_files(out, tiny_dav_dir)

    assert main(["download", "--output", str(out), "--no-progress"]) == 0
    assert "was already in" in capsys.readouterr().err

    monkeypatch.chdir(
        tmp_path
    )  # the default output: models/depth_any_video/<repo name> under the current folder
    monkeypatch.setenv("HF_HUB_OFFLINE", "1")
    assert main(["download", "--no-progress"]) == 1
    err = capsys.readouterr().err.splitlines()
    assert (
        err[0].startswith("error: cannot download hhyangcs/depth-any-video")
        and "models/depth_any_video" in err[0]
    )
    assert len(err) == 2 and err[1].startswith("hint:")
    assert main(["download", "--repo", "no-slash"]) == 2
    assert "repo must be a hub id" in capsys.readouterr().err

    monkeypatch.delenv("HF_HUB_OFFLINE")
    assert main(["download", "--no-progress"]) == 0
    assert (tmp_path / "models" / "depth_any_video" / "depth-any-video" / "vae" / "config.json").is_file()


def test_node_download_choice_with_cancel_and_resume(hub, comfy, tiny_model, monkeypatch):
    LoadDAVModel, DOWNLOAD_CHOICE = nodes.model.LoadDAVModel, nodes.model.DOWNLOAD_CHOICE
    names = LoadDAVModel.INPUT_TYPES()["required"]["checkpoint"][0]
    assert names[-1] == DOWNLOAD_CHOICE == f"download: {REPO_ID}"
    assert LoadDAVModel.VALIDATE_INPUTS(DOWNLOAD_CHOICE) is True

    mm = sys.modules["comfy.model_management"]
    cancel = {"on": True}

    def throw():  # the user presses Cancel once the bar has moved
        if cancel["on"] and comfy.bars and comfy.bars[-1].current > 0:
            raise comfy.Interrupted("Processing interrupted")

    monkeypatch.setattr(mm, "throw_exception_if_processing_interrupted", throw)
    with pytest.raises(comfy.Interrupted):
        LoadDAVModel().load(DOWNLOAD_CHOICE, "fp32")
    target = comfy.extra / "depth-any-video"  # the first registered depth_any_video folder
    kept = (comfy.extra / ".depth-any-video.partial" / (UNET + ".incomplete")).stat().st_size
    assert kept > 0 and not target.exists()
    assert DOWNLOAD_CHOICE in LoadDAVModel.INPUT_TYPES()["required"]["checkpoint"][0]

    cancel["on"] = False
    first = len(hub.log)
    (handle,) = LoadDAVModel().load(DOWNLOAD_CHOICE, "fp32")
    assert [
        r["range"] for r in hub.log[first:] if r["file"] == UNET and r["path"].startswith("/cdn-lfs/")
    ] == [f"bytes={kept}-"]
    assert comfy.bars[-1].current == comfy.bars[-1].total == 1000
    assert target.is_dir() and handle.model.unet_interp is not None
    got, expected = handle.model.unet.state_dict(), tiny_model.unet.state_dict()
    assert all(torch.equal(got[k], expected[k]) for k in expected)

    names = LoadDAVModel.INPUT_TYPES()["required"]["checkpoint"][0]
    assert "depth-any-video" in names and DOWNLOAD_CHOICE not in names
    requests = len(hub.log)
    LoadDAVModel().load(DOWNLOAD_CHOICE, "fp32")  # a saved workflow with the choice still runs, offline
    assert len(hub.log) == requests
    shutil.rmtree(target)
