"""One reply, from the user's Enter to the model's last token: runs on the engine thread, drawn here.

Events arrive in order through the client; tokens go to the live bubble, function calls and
memory events to its steps panel, the context report to the bar, and the end to the status bar.
"""

from __future__ import annotations

from PySide6.QtCore import QObject, Signal

from engine.api import CancelFlag
from engine.events import (Changes, ContextEvent, DoneEvent, FunctionCallEvent, FunctionResultEvent, MemoryEvent, MemoryKind,
                           TokenEvent, label)


class TurnController(QObject):
    """Starts turns and stops them (Esc / Stop); at most one at a time."""

    started = Signal()
    context = Signal(object)   # ContextEvent
    finished = Signal(object)  # DoneEvent (None when the turn failed), once the engine is free again
    failed = Signal(str)

    def __init__(self, client, chat, parent: QObject | None = None) -> None:
        super().__init__(parent)
        self.client, self.chat = client, chat
        self.cancel = None
        self.done = None
        self.running = False

    def send(self, text: str, agent: str) -> bool:
        return self._start(lambda engine, cancel: engine.send(text, agent=agent, cancel=cancel), text)

    def retry(self, agent: str) -> bool:
        """Answer the newest stored message again (after a turn that failed): a new reply bubble
        under it, and nothing stored twice."""
        return self._start(lambda engine, cancel: engine.retry(agent, cancel), None)

    def _start(self, events, text: str | None) -> bool:
        if self.running:
            return False
        self.running, self.done = True, None
        self.cancel = cancel = CancelFlag()
        bubble = self.chat.begin_turn(text) if text is not None else self.chat.begin_reply()
        if not self.client.model_name:
            bubble.set_placeholder("Waiting for the model to load…")
        self.started.emit()

        def run(engine, emit):
            for event in events(engine, cancel):
                emit(event)

        self.client.stream(run, self._on_event, self._on_done, self._on_failed)
        return True

    def stop(self) -> None:
        if self.cancel is not None:
            self.cancel.set()

    def _on_event(self, event) -> None:
        bubble = self.chat.live
        if bubble is None:
            return
        if isinstance(event, TokenEvent):
            bubble.append_text(event.text)
        elif isinstance(event, FunctionCallEvent) and event.name != "send_message":
            bubble.steps.add_call(event.name, event.arguments)
            bubble.set_placeholder(f"{label(event.name, doing=True)}…")
        elif isinstance(event, FunctionResultEvent):
            bubble.steps.add_result(event.ok, event.result)
        elif isinstance(event, MemoryEvent):
            self._on_memory(bubble, event)
        elif isinstance(event, ContextEvent):
            self.context.emit(event)
            if not bubble.text:
                bubble.set_placeholder("Thinking…")
        elif isinstance(event, DoneEvent):
            self._finish(bubble, event)

    def _on_memory(self, bubble, event) -> None:
        if event.kind == MemoryKind.MESSAGE_STORED and "message_id" in event.payload:
            user = self.chat.bubbles[-2] if len(self.chat.bubbles) >= 2 else None
            if user is not None and user.role == "user":
                user.message_ids.add(event.payload["message_id"])
        elif event.kind == MemoryKind.PAGE_IN and event.payload.get("hits"):
            bubble.steps.add_note(event.kind, f"{len(event.payload['hits'])} found")
        elif event.kind == MemoryKind.EVICTED:
            bubble.steps.add_note(event.kind, f"{len(event.payload.get('message_ids', []))} messages")
        elif event.kind == MemoryKind.SUMMARISED:
            bubble.steps.add_note(event.kind)

    def _finish(self, bubble, done) -> None:
        bubble.flush()
        bubble.steps.finish()
        if done.stop_reason == "cancelled":
            bubble.set_text((bubble.text + " *(stopped)*") if bubble.text else "*(stopped)*")
        elif done.reply:
            bubble.set_text(done.reply)  # the reply that stood: an edit that failed streamed one that did not
        elif not bubble.text:
            bubble.set_text("*(no reply)*")
        self.done = done

    def _on_done(self, _result) -> None:
        self.running = False
        self.chat.end_turn()
        self.finished.emit(self.done)
        # The engine says what the turn changed: a plain reply redraws neither core nor archival views.
        self.client.changed.emit(self.done.changes if self.done is not None else Changes(messages=True, timeline=True))

    def _on_failed(self, message: str) -> None:
        bubble = self.chat.live
        if bubble is not None:
            bubble.flush()
            bubble.set_text(f"**Error:** {message}")
        self.running = False
        self.chat.end_turn()
        self.failed.emit(message)
        self.finished.emit(None)
