"""A real S3-protocol server on loopback (moto's server mode): the embedded run's object storage and the tests'."""

from __future__ import annotations

from typing import Any


class LoopbackS3:
    """moto's threaded server on `host:port` (port 0: a free one); `url` is the endpoint for boto3."""

    def __init__(self, host: str = "127.0.0.1", port: int = 0) -> None:
        from moto.server import ThreadedMotoServer

        self._server: Any = ThreadedMotoServer(ip_address=host, port=port, verbose=False)

    @property
    def url(self) -> str:
        host, port = self._server.get_host_and_port()
        return f"http://{host}:{port}"

    def start(self) -> LoopbackS3:
        self._server.start()
        return self

    def stop(self) -> None:
        self._server.stop()
