"""The embedded file-system broker: a consumer never takes a message that is still being written.

kombu created the file under its final name before writing it, so a consumer polling at that moment read an
empty message and the worker stopped ("Unrecoverable error: JSONDecodeError", seen in a demo run)."""

from __future__ import annotations

import threading
from pathlib import Path
from typing import Any

import pytest
from kombu import Connection
from kombu.transport import filesystem

import workers.app  # noqa: F401 - installs the whole-message publish when the broker is the file system

pytestmark = pytest.mark.integration


def test_a_message_half_written_is_not_taken_and_arrives_whole_once_written(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from workers.filebroker import install

    install()
    options = {"data_folder_in": str(tmp_path), "data_folder_out": str(tmp_path), "store_processed": False}
    serialising, go_on = threading.Event(), threading.Event()
    real_dumps = filesystem.dumps

    def slow_dumps(payload: Any) -> str:  # the publisher is held while the message is being serialised
        serialising.set()
        go_on.wait(10)
        return str(real_dumps(payload))

    monkeypatch.setattr(filesystem, "dumps", slow_dumps)
    with (
        Connection("filesystem://", transport_options=options) as producer,
        Connection("filesystem://", transport_options=options) as consumer,
    ):
        publish = threading.Thread(target=producer.channel()._put, args=("connector", {"body": "x" * 5000}))
        publish.start()
        assert serialising.wait(10)
        reader = consumer.channel()
        with pytest.raises(filesystem.Empty):  # nothing to take yet (kombu's own publish gave an empty message)
            reader._get("connector")
        go_on.set()
        publish.join(10)

        assert reader._get("connector") == {"body": "x" * 5000}
