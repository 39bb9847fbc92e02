"""Log lines written during a step carry its names; outside a step they say '-'."""

from __future__ import annotations

import io
import logging

from connector.logcontext import install, log_context


def _logger() -> tuple[logging.Logger, io.StringIO]:
    out = io.StringIO()
    logger = logging.getLogger("test.logcontext")
    logger.handlers = [logging.StreamHandler(out)]
    logger.propagate = False
    logger.setLevel(logging.INFO)
    install(logger, "[%(context)s] %(message)s")
    return logger, out


def test_lines_inside_a_step_carry_tenant_record_and_step_and_lines_after_it_do_not() -> None:
    logger, out = _logger()

    with log_context(tenant=3, record=42):
        with log_context(step="write"):
            logger.info("posting")
        logger.info("between steps")
    logger.info("idle")

    assert out.getvalue().splitlines() == [
        "[tenant=3 record=42 step=write] posting",
        "[tenant=3 record=42] between steps",
        "[-] idle",
    ]
