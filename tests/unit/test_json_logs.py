"""CONNECTOR_LOG_FORMAT=json: one JSON object a line, with tenant, record and step wherever they are known."""

from __future__ import annotations

import io
import json
import logging

from connector.logcontext import install, log_context, wants_json


def _logger(name: str) -> tuple[logging.Logger, io.StringIO]:
    out = io.StringIO()
    logger = logging.getLogger(name)
    logger.handlers = [logging.StreamHandler(out)]
    logger.propagate = False
    logger.setLevel(logging.INFO)
    install(logger, json_lines=True)
    return logger, out


def _lines(out: io.StringIO) -> list[dict[str, object]]:
    return [json.loads(line) for line in out.getvalue().splitlines()]


def test_each_line_is_one_object_with_the_names_of_the_step() -> None:
    logger, out = _logger("test.json.context")

    with log_context(tenant=3, record=42, step="write"):
        logger.info("posting %s", "entry\nwith a newline")
    logger.warning("idle")

    step, idle = _lines(out)
    assert (step["tenant"], step["record"], step["step"]) == ("3", "42", "write")
    assert step["message"] == "posting entry\nwith a newline" and step["level"] == "INFO"
    assert {"time", "logger", "process", "pid"} <= set(step)
    assert not {"tenant", "record", "step"} & set(idle) and idle["level"] == "WARNING"
    assert len(out.getvalue().splitlines()) == 2  # the newline stayed inside its line


def test_names_written_in_the_message_or_passed_as_extra_are_fields_too() -> None:
    logger, out = _logger("test.json.message")

    logger.warning("tenant=acme step=receive rejected: bad signature")
    logger.info("audit line", extra={"tenant": 7, "record": None, "step": "replay"})
    logger.info("record=None step=? nothing known")

    from_message, from_extra, unknown = _lines(out)
    assert (from_message["tenant"], from_message["step"]) == ("acme", "receive")
    assert (from_extra["tenant"], from_extra["step"]) == ("7", "replay") and "record" not in from_extra
    assert "record" not in unknown and "step" not in unknown


def test_an_exception_travels_inside_its_line() -> None:
    logger, out = _logger("test.json.exception")

    try:
        raise ValueError("boom")
    except ValueError:
        logger.exception("step failed")

    [line] = _lines(out)
    assert "ValueError: boom" in str(line["exception"])


def test_the_format_is_asked_for_by_the_environment() -> None:
    assert wants_json({"CONNECTOR_LOG_FORMAT": "JSON"})
    assert not wants_json({"CONNECTOR_LOG_FORMAT": "text"}) and not wants_json({})


def test_an_unknown_format_stops_the_process_at_start() -> None:
    import pytest

    from connector.config import load_settings
    from connector.errors import ConfigurationError

    assert load_settings({"CONNECTOR_LOG_FORMAT": "json"}).log_format == "json"
    with pytest.raises(ConfigurationError, match="CONNECTOR_LOG_FORMAT"):
        load_settings({"CONNECTOR_LOG_FORMAT": "xml"})
