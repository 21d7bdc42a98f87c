"""Upload to the loopback S3-protocol server (moto's server mode, its own process): RadOps' S3ObjectStore against
a plain boto3 `upload_file` of the same bytes, for a large file (multipart) and a series of small files.

    .venv/bin/python bench/bench_s3_upload.py [--large-mib 64] [--small-count 200] [--small-kib 512] [--rounds 3]

The target (issue 13): RadOps' throughput at least 0.8 x the plain upload's. Each line gives both.
"""

from __future__ import annotations

import argparse
import os
import socket
import subprocess
import sys
import tempfile
import time
import uuid
from pathlib import Path
from typing import Any

from _common import emit


def _files(tmp: Path, count: int, size: int, tag: str) -> list[Path]:
    out = []
    for n in range(count):
        path = tmp / f"{tag}-{n}.dcm"
        path.write_bytes(os.urandom(size))
        out.append(path)
    return out


def _compare(name: str, client: Any, bucket: str, files: list[Path], rounds: int) -> None:
    """Plain and RadOps uploads of each file one after the other, the times added up per side.

    Interleaved file by file, so that the other work of a shared machine falls on both sides alike.
    """
    from integrations.object_storage.s3 import S3ObjectStore

    store = S3ObjectStore(client, bucket=bucket)
    total = sum(p.stat().st_size for p in files) * rounds
    ours = plain = 0.0
    for r in range(rounds):
        tag = uuid.uuid4().hex[:8]
        for path in files:
            first_plain = (r + files.index(path)) % 2 == 0
            for side in ("plain", "ours") if first_plain else ("ours", "plain"):
                t0 = time.perf_counter()
                if side == "plain":
                    client.upload_file(str(path), bucket, f"plain/{tag}/{path.name}")
                    plain += time.perf_counter() - t0
                else:
                    store.put_file(key=f"radops/{tag}/{path.name}", path=path)
                    ours += time.perf_counter() - t0
    emit(f"s3_upload_{name}", files=len(files), mib=round(total / rounds / 2**20, 1), rounds=rounds,
         radops_mib_s=round(total / 2**20 / ours, 1), boto3_upload_file_mib_s=round(total / 2**20 / plain, 1),
         ratio=round(plain / ours, 2), target_ratio=0.8)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__)
    ap.add_argument("--large-mib", type=int, default=64)
    ap.add_argument("--small-count", type=int, default=200)
    ap.add_argument("--small-kib", type=int, default=512)
    ap.add_argument("--rounds", type=int, default=3)
    ns = ap.parse_args()

    from integrations.object_storage.s3 import make_client

    # The server runs in its own process, as object storage does: in this process it would share the
    # interpreter lock with the client and charge its own work (checking Content-MD5) to the upload.
    url, server = _server()
    try:
        client = make_client(endpoint_url=url, access_key="bench", secret_key="bench-secret")
        bucket = f"bench-{uuid.uuid4().hex[:8]}"
        client.create_bucket(Bucket=bucket, CreateBucketConfiguration={"LocationConstraint": "cn-hangzhou"})
        with tempfile.TemporaryDirectory() as tmp:
            large = _files(Path(tmp), 1, ns.large_mib * 2**20, "large")
            _compare("large_file", client, bucket, large, ns.rounds)
            small = _files(Path(tmp), ns.small_count, ns.small_kib * 1024, "small")
            _compare("small_files", client, bucket, small, ns.rounds)
    finally:
        server.terminate()
        server.wait(timeout=10)


def _server() -> tuple[str, subprocess.Popen[bytes]]:
    """moto's S3 server on a free loopback port, in a child process; waits until it answers."""
    import httpx

    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    proc = subprocess.Popen([sys.executable, "-m", "moto.server", "-H", "127.0.0.1", "-p", str(port)],
                            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    url = f"http://127.0.0.1:{port}"
    for _ in range(200):
        try:
            httpx.get(url + "/moto-api/", timeout=1)
            return url, proc
        except httpx.TransportError:
            time.sleep(0.1)
    proc.terminate()
    raise SystemExit("moto server did not start")


if __name__ == "__main__":
    main()
