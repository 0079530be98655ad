import hashlib
import shutil
import socket
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest

from gankit.data import download as download_module
from gankit.data import load_dataset
from gankit.data import mnist as mnist_module
from gankit.data.download import download
from gankit.errors import DataError


class RangeHandler(BaseHTTPRequestHandler):
    """Serves files under server.root, honouring Range unless server.honor_range is False."""

    def do_GET(self):
        self.server.requests.append((self.path, dict(self.headers)))
        file = self.server.root / self.path.lstrip("/")
        if not file.is_file():
            self.send_error(404)
            return
        data = file.read_bytes()
        start = 0
        wanted = self.headers.get("Range")
        if wanted and self.server.honor_range:
            start = int(wanted.removeprefix("bytes=").rstrip("-"))
            if start >= len(data):
                self.send_error(416)
                return
            self.send_response(206)
            self.send_header("Content-Range", f"bytes {start}-{len(data) - 1}/{len(data)}")
        else:
            self.send_response(200)
        self.send_header("Content-Length", str(len(data) - start))
        self.end_headers()
        self.wfile.write(data[start:])

    def log_message(self, *args):
        pass


@pytest.fixture
def server(tmp_path, monkeypatch):
    """A local HTTP server on a free port serving tmp_path/served; stopped at teardown."""
    monkeypatch.setenv("no_proxy", "127.0.0.1,localhost")
    monkeypatch.setattr(download_module, "TIMEOUT_S", 5)
    httpd = ThreadingHTTPServer(("127.0.0.1", 0), RangeHandler)
    httpd.root = tmp_path / "served"
    httpd.root.mkdir()
    httpd.requests, httpd.honor_range = [], True
    httpd.url = f"http://127.0.0.1:{httpd.server_address[1]}/"
    thread = threading.Thread(target=httpd.serve_forever, args=(0.05,), daemon=True)
    thread.start()
    yield httpd
    httpd.shutdown()
    httpd.server_close()
    thread.join(timeout=5)


def serve(server, name: str, size: int = 300_000) -> tuple[bytes, str]:
    data = bytes(range(256)) * (size // 256) + b"tail"
    (server.root / name).write_bytes(data)
    return data, hashlib.md5(data).hexdigest()


def closed_port_url() -> str:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    return f"http://127.0.0.1:{port}/"


def test_download_verifies_and_renames(server, tmp_path):
    data, md5 = serve(server, "blob.bin")
    dest = tmp_path / "out" / "blob.bin"
    assert download([server.url + "blob.bin"], dest, md5, progress=False) == dest
    assert dest.read_bytes() == data and not dest.with_name("blob.bin.part").exists()


def test_download_resumes_a_partial_file_with_range(server, tmp_path):
    data, md5 = serve(server, "blob.bin")
    dest = tmp_path / "blob.bin"
    dest.with_name("blob.bin.part").write_bytes(data[:100_000])
    download([server.url + "blob.bin"], dest, md5, progress=False)
    assert dest.read_bytes() == data
    assert server.requests[-1][1].get("Range") == "bytes=100000-"


def test_download_starts_over_when_range_is_ignored(server, tmp_path):
    data, md5 = serve(server, "blob.bin")
    server.honor_range = False
    dest = tmp_path / "blob.bin"
    dest.with_name("blob.bin.part").write_bytes(b"stale bytes from elsewhere")
    download([server.url + "blob.bin"], dest, md5, progress=False)
    assert dest.read_bytes() == data


def test_a_complete_part_file_is_accepted_on_416(server, tmp_path):
    data, md5 = serve(server, "blob.bin")
    dest = tmp_path / "blob.bin"
    dest.with_name("blob.bin.part").write_bytes(data)
    download([server.url + "blob.bin"], dest, md5, progress=False)
    assert dest.read_bytes() == data


def test_second_mirror_is_used_when_first_404s(server, tmp_path):
    _, md5 = serve(server, "blob.bin")
    urls = [server.url + "missing/blob.bin", server.url + "blob.bin"]
    download(urls, tmp_path / "blob.bin", md5, progress=False)
    assert [path for path, _ in server.requests] == ["/missing/blob.bin", "/blob.bin"]


def test_md5_mismatch_deletes_everything(server, tmp_path):
    serve(server, "blob.bin")
    dest = tmp_path / "blob.bin"
    with pytest.raises(DataError, match=r"blob\.bin from .* has md5 .*expected 0{32}"):
        download([server.url + "blob.bin"], dest, "0" * 32, progress=False)
    assert not dest.exists() and not dest.with_name("blob.bin.part").exists()


def test_unreachable_mirrors_give_one_line(tmp_path, monkeypatch):
    monkeypatch.setenv("no_proxy", "127.0.0.1,localhost")
    urls = [closed_port_url() + "a.gz", closed_port_url() + "a.gz"]
    with pytest.raises(DataError) as caught:
        download(urls, tmp_path / "a.gz", "0" * 32, progress=False, hint="put a.gz in /x")
    message = str(caught.value)
    assert "\n" not in message
    assert message.startswith("could not download a.gz (127.0.0.1:")
    assert message.endswith("you seem to be offline: put a.gz in /x")


def test_all_404_is_not_called_offline(server, tmp_path):
    with pytest.raises(DataError, match=r"HTTP 404") as caught:
        download([server.url + "nope.gz"], tmp_path / "nope.gz", "0" * 32, progress=False)
    assert "offline" not in str(caught.value)


def test_mnist_test_split_downloads_only_the_t10k_pair(server, tmp_path, shared_data, monkeypatch):
    names = ("t10k-images-idx3-ubyte.gz", "t10k-labels-idx1-ubyte.gz")
    (server.root / "mirror").mkdir()
    for name in names:
        shutil.copy(shared_data / "mnist" / name, server.root / "mirror" / name)
    monkeypatch.setitem(mnist_module.MIRRORS, "mnist", [server.url + "gone/", server.url + "mirror/"])
    data_dir = tmp_path / "data"
    ds = load_dataset("mnist", data_dir=data_dir, split="test")
    assert ds.x.shape == (10000, 1, 28, 28) and ds.y.max() == 9
    assert sorted(p.name for p in (data_dir / "mnist").iterdir()) == sorted(names)
    assert {path.rsplit("/", 1)[1] for path, _ in server.requests} == set(names)


def test_a_corrupted_local_file_is_downloaded_again(server, tmp_path, shared_data, monkeypatch):
    names = ("t10k-images-idx3-ubyte.gz", "t10k-labels-idx1-ubyte.gz")
    folder = tmp_path / "data" / "mnist"
    folder.mkdir(parents=True)
    for name in names:
        shutil.copy(shared_data / "mnist" / name, folder / name)
        shutil.copy(shared_data / "mnist" / name, server.root / name)
    (folder / names[1]).write_bytes(b"damaged")
    monkeypatch.setitem(mnist_module.MIRRORS, "mnist", [server.url])
    ds = load_dataset("mnist", data_dir=tmp_path / "data", split="test")
    assert len(ds) == 10000 and [path for path, _ in server.requests] == ["/" + names[1]]
