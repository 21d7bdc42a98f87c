"""MLLP framing (0x0B message 0x1C 0x0D): frame a message, and split a byte stream into messages.

The decoder keeps partial reads, yields every complete frame of a packet, tolerates CR/LF between
frames, and raises FramingError on bytes before a start block, a frame over the size limit, or a
broken end block; after a FramingError the connection cannot be resynchronised and is closed.
"""

from __future__ import annotations

SB, EB, CR = b"\x0b", b"\x1c", b"\x0d"
MAX_FRAME = 1 << 20  # 1 MiB: far above any order message, small enough to refuse a flood


class FramingError(Exception):
    """The byte stream is not valid MLLP; `code` is stable, the message is for the ACK text."""

    def __init__(self, message: str, code: str) -> None:
        super().__init__(message)
        self.message = message
        self.code = code


def frame(payload: bytes) -> bytes:
    """Wrap one message in an MLLP block."""
    return SB + payload + EB + CR


class FrameDecoder:
    """Incremental MLLP decoder: `feed(data)` returns the complete messages found so far."""

    def __init__(self, max_size: int = MAX_FRAME) -> None:
        self.max_size = max_size
        self._buf = bytearray()

    @property
    def pending(self) -> int:
        return len(self._buf)

    def feed(self, data: bytes) -> list[bytes]:
        self._buf += data
        out: list[bytes] = []
        while True:
            start = self._skip_between_frames()
            if start is None:
                return out
            end = self._buf.find(EB, 1)
            if end < 0:
                if len(self._buf) - 1 > self.max_size:
                    raise FramingError(f"消息超过 {self.max_size // 1024} KiB 上限", "frame_too_large")
                return out
            if end - 1 > self.max_size:
                raise FramingError(f"消息超过 {self.max_size // 1024} KiB 上限", "frame_too_large")
            if end + 1 >= len(self._buf):
                return out  # the CR after the end block has not arrived yet
            if self._buf[end + 1:end + 2] != CR:
                raise FramingError("MLLP 结束符错误：0x1C 之后应为 0x0D", "bad_end_block")
            body = bytes(self._buf[1:end])
            del self._buf[:end + 2]
            if SB in body:
                raise FramingError("MLLP 帧格式错误：上一条消息未结束又出现起始符 0x0B", "nested_start_block")
            out.append(body)

    def _skip_between_frames(self) -> int | None:
        """Drop CR/LF/space between frames; anything else before a start block is garbage."""
        i = 0
        while i < len(self._buf) and self._buf[i] in b"\r\n \t":
            i += 1
        del self._buf[:i]
        if not self._buf:
            return None
        if self._buf[0:1] != SB:
            raise FramingError("MLLP 帧格式错误：起始符 0x0B 之前有多余数据", "garbage_before_start")
        return 0
