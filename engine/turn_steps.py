"""A turn's model steps as records, each call paired with what it returned.

The CLI's ``--json`` report and the server's ``llmos`` extension both list them. Calls and
results are matched by step number, so a step whose output was no call at all (garbled, cut off)
is a record of its own, with ``function`` None and its error as the result, and never overwrites
the record of the step before it.
"""

from __future__ import annotations

import json

from engine.agent.functions import SEND_MESSAGE
from engine.events import FunctionCallEvent, FunctionResultEvent, TurnEvent


class TurnSteps:
    """Gathers a turn's steps from its events; replies (``send_message``) only when asked."""

    def __init__(self, with_replies: bool = True) -> None:
        self.with_replies = with_replies
        self.records: list[dict] = []
        self._by_step: dict[int, dict] = {}

    def take(self, event: TurnEvent) -> dict | None:
        """Count ``event`` in; the step's record is returned once its result has arrived."""
        if isinstance(event, FunctionCallEvent):
            if event.name == SEND_MESSAGE and not self.with_replies:
                return None
            record = {"step": event.step, "function": event.name, "arguments": event.arguments}
            self._by_step[event.step] = record
            self.records.append(record)
        elif isinstance(event, FunctionResultEvent) and event.name != SEND_MESSAGE:
            record = self._by_step.get(event.step)
            if record is None:  # no call came out of this step: the model's output did not parse
                record = {"step": event.step, "function": None, "arguments": None}
                self._by_step[event.step] = record
                self.records.append(record)
            record.update(ok=event.ok, result=decoded(event.result))
            return record
        return None


def decoded(result: str):
    """A function result as the JSON it holds, or the text itself when it holds none."""
    try:
        return json.loads(result)
    except ValueError:
        return result
