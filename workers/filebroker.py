"""Celery's file-system broker (the embedded default), made safe to read while a message is being written.

kombu's `filesystem` transport creates a message file under its final name and only then writes into it, while
a consumer takes any file with that name at once (a rename, which ignores the writer's lock) and reads it. A
consumer that comes between the two reads an empty message, and the worker stops with "Unrecoverable error:
JSONDecodeError". It happened to a demo when the worker's own dispatcher published while its consumer polled.
Here a message is written under a name no consumer takes (`….msg.part`) and renamed into place when complete:
a rename is atomic, so a consumer sees a whole message or none.
"""

from __future__ import annotations

import os
import uuid
from time import monotonic
from typing import Any

from kombu.exceptions import ChannelError
from kombu.transport import filesystem
from kombu.utils.encoding import str_to_bytes


def _put(self: filesystem.Channel, queue: str, payload: Any, **kwargs: Any) -> None:
    """Put `payload` onto `queue`, visible to consumers only once it is whole."""
    data = str_to_bytes(filesystem.dumps(payload))
    final = os.path.join(self.data_folder_out, f"{int(round(monotonic() * 1000))}_{uuid.uuid4()}.{queue}.msg")
    partial = f"{final}.part"  # consumers take only names ending in ".<queue>.msg"
    try:
        with open(partial, "wb") as out:
            out.write(data)
        os.replace(partial, final)
    except OSError as exc:
        raise ChannelError(f"Cannot add file {final!r} to directory") from exc


def install() -> None:
    """Use the whole-message publish in this process (every process that publishes imports workers.app)."""
    filesystem.Channel._put = _put  # type: ignore[method-assign]
