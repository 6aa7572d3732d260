"""Logging for operators: plain text or one JSON object per line (HRBOT_LOG_FORMAT=json), and never a secret.
Tokens and keys are masked in every line, whatever logged them."""
from __future__ import annotations

import json
import logging
import re

SECRET = re.compile(r"\b(xox[abposr]-[A-Za-z0-9-]{6,}|xapp-[A-Za-z0-9-]{6,}|sk-[A-Za-z0-9_-]{12,}|"
                    r"Bearer\s+[A-Za-z0-9._~+/-]{8,}=*)")


def mask(text: str) -> str:
    return SECRET.sub(lambda m: m.group(0)[:5] + "…(masked)", text)


class MaskSecrets(logging.Filter):
    def filter(self, record: logging.LogRecord) -> bool:
        message = record.getMessage()
        masked = mask(message)
        if masked != message:
            record.msg, record.args = masked, None
        if record.exc_info and record.exc_info[1] is not None:  # tracebacks carry arguments too
            record.exc_text = mask(logging.Formatter().formatException(record.exc_info))
            record.exc_info = None
        return True


class JsonFormatter(logging.Formatter):
    def format(self, record: logging.LogRecord) -> str:
        entry = {"at": self.formatTime(record, "%Y-%m-%dT%H:%M:%S%z"), "level": record.levelname,
                 "logger": record.name, "message": record.getMessage()}
        if record.exc_info:
            entry["error"] = self.formatException(record.exc_info)
        elif record.exc_text:
            entry["error"] = record.exc_text
        return json.dumps(entry, ensure_ascii=False)


def configure(level: str, fmt: str = "text") -> None:
    """Like logging.basicConfig: a process whose logging is already set up (an embedding program, pytest) keeps
    its handlers, which only gain the masking filter."""
    root = logging.getLogger()
    if root.handlers:
        for existing in root.handlers:
            if not any(isinstance(f, MaskSecrets) for f in existing.filters):
                existing.addFilter(MaskSecrets())
        return
    handler = logging.StreamHandler()
    handler.addFilter(MaskSecrets())
    handler.setFormatter(JsonFormatter() if fmt == "json" else
                         logging.Formatter("%(asctime)s %(levelname)s %(name)s: %(message)s"))
    root.addHandler(handler)
    root.setLevel(level.upper())
