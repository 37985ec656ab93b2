"""One reply, from the user's Enter to the model's last token: runs on the engine thread, drawn here.

Events arrive in order through the client; tokens go to the live bubble, function calls and
memory events to its steps panel, the context report to the bar, and the end to the status bar.
"""

from __future__ import annotations

from PySide6.QtCore import QObject, Signal

from desktop.message_widgets import STEP_LABELS


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
        self.memory_changed = False
        self.running = False

    def send(self, text: str, agent: str) -> bool:
        from engine.api import CancelFlag

        if self.running:
            return False
        self.running, self.memory_changed, self.done = True, False, None
        self.cancel = cancel = CancelFlag()
        bubble = self.chat.begin_turn(text)
        if not self.client.model_name:
            bubble.set_placeholder("Waiting for the model to load…")
        self.started.emit()

        def run(engine, emit):
            for event in engine.send(text, agent=agent, cancel=cancel):
                emit(event)

        self.client.stream(run, self._on_event, self._on_done, self._on_failed)
        return True

    def stop(self) -> None:
        if self.cancel is not None:
            self.cancel.set()

    def _on_event(self, event) -> None:
        from engine.events import ContextEvent, DoneEvent, FunctionCallEvent, FunctionResultEvent, MemoryEvent, TokenEvent

        bubble = self.chat.live
        if bubble is None:
            return
        if isinstance(event, TokenEvent):
            bubble.append_text(event.text)
        elif isinstance(event, FunctionCallEvent) and event.name != "send_message":
            bubble.steps.add_call(event.name, event.arguments)
            bubble.set_placeholder(f"{STEP_LABELS.get(event.name, event.name)}…")
        elif isinstance(event, FunctionResultEvent):
            bubble.steps.add_result(event.ok, event.result)
            self.memory_changed = True
        elif isinstance(event, MemoryEvent):
            self._on_memory(bubble, event)
        elif isinstance(event, ContextEvent):
            self.context.emit(event)
            if not bubble.text:
                bubble.set_placeholder("Thinking…")
        elif isinstance(event, DoneEvent):
            self._finish(bubble, event)

    def _on_memory(self, bubble, event) -> None:
        if event.kind == "message_stored" and "message_id" in event.payload:
            user = self.chat.bubbles[-2] if len(self.chat.bubbles) >= 2 else None
            if user is not None and user.role == "user":
                user.message_ids.add(event.payload["message_id"])
        elif event.kind == "page_in" and event.payload.get("hits"):
            bubble.steps.add_note("page_in", f"{len(event.payload['hits'])} found")
        elif event.kind == "evicted":
            bubble.steps.add_note("evicted", f"{len(event.payload.get('message_ids', []))} messages")
        elif event.kind == "summarised":
            bubble.steps.add_note("summarised")
        self.memory_changed = True

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
        from engine.api import Changes

        self.running = False
        self.chat.end_turn()
        self.finished.emit(self.done)
        self.client.changed.emit(Changes(messages=True, timeline=True, core=self.memory_changed,
                                         archival=self.memory_changed))

    def _on_failed(self, message: str) -> None:
        bubble = self.chat.live
        if bubble is not None:
            bubble.flush()
            bubble.set_text(f"**Error:** {message}")
        self.running = False
        self.chat.end_turn()
        self.failed.emit(message)
        self.finished.emit(None)
