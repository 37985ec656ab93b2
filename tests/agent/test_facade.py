"""Facade calls the desktop relies on: reloading with new settings, reading history both ways, stats."""

from engine.runtime.settings import RuntimeSettings


def test_reconfigure_reloads_the_model_with_new_settings_and_keeps_the_memory(make_engine):
    engine = make_engine()
    list(engine.send("Hello there, I am Ana."))
    assert engine.runtime.n_ctx == 1024
    engine.reconfigure(RuntimeSettings(n_ctx=2048, seed=3, paging_mode="exact"))
    assert not engine.model_loaded
    assert engine.runtime.n_ctx == 2048 and engine.loop.pager.mode == "exact"
    assert engine.context_report().n_ctx == 2048
    assert engine.history()[0].content == "Hello there, I am Ana."


def test_history_reads_onwards_from_a_message_and_stats_count_what_is_stored(make_engine):
    engine = make_engine()
    agent_id = engine.agent().id
    ids = [engine.store.recall.append(agent_id, "user", f"message {i}").id for i in range(6)]
    engine.insert_passage("The spare key is under the blue pot.")
    assert [m.id for m in engine.history(after_id=ids[1], limit=2)] == ids[2:4]
    assert [m.id for m in engine.history(before_id=ids[4], limit=2)] == ids[2:4]
    assert [m.id for m in engine.history(limit=2)] == ids[4:]
    assert engine.message(ids[3]).content == "message 3"
    stats = engine.stats()
    assert (stats.messages, stats.passages) == (6, 1)


def test_available_models_start_with_the_embedded_default(make_engine, tmp_path):
    engine = make_engine()
    (tmp_path / "models").mkdir()
    (tmp_path / "models" / "broken.gguf").write_bytes(b"not a gguf")
    models = engine.available_models(tmp_path / "models")
    embedded = [m for m in models if m.embedded]
    assert models[: len(embedded)] == embedded and sum(m.default for m in embedded) == 1
    assert models[-1].path.name == "broken.gguf" and models[-1].problem


def test_read_call_decodes_stored_steps_and_ignores_other_messages(make_engine):
    from engine.api import read_call

    engine = make_engine()
    agent_id = engine.agent().id
    call = engine.store.recall.append(agent_id, "assistant", '{"function": "send_message", "arguments": {"message": "Hi"}}', name="call")
    garbage = engine.store.recall.append(agent_id, "assistant", '{"funct', name="call")
    user = engine.store.recall.append(agent_id, "user", '{"function": "x"}')
    assert read_call(call) == ("send_message", {"message": "Hi"})
    assert read_call(garbage) is None and read_call(user) is None


def test_the_reply_is_read_from_send_message_or_from_the_edit_that_carried_it(make_engine):
    from engine.api import reply_in

    engine = make_engine()
    agent_id = engine.agent().id
    append = engine.store.recall
    plain = append.append(agent_id, "assistant", '{"function": "send_message", "arguments": {"message": "Hi"}}', name="call")
    edit = append.append(agent_id, "assistant", '{"thought": "t", "function": "core_memory_append", "arguments": '
                         '{"label": "human", "content": "Likes tea."}, "reply": "Noted: tea."}', name="call")
    search = append.append(agent_id, "assistant", '{"function": "conversation_search", "arguments": {"query": "tea"}}', name="call")
    assert [reply_in(m) for m in (plain, edit, search)] == ["Hi", "Noted: tea.", None]


def test_a_stored_call_reads_as_its_reply_or_its_function(make_engine):
    from engine.api import readable

    engine = make_engine()
    agent_id = engine.agent().id
    recall = engine.store.recall
    edit = recall.append(agent_id, "assistant", '{"thought": "t", "function": "core_memory_append", "arguments": '
                         '{"label": "human", "content": "Likes tea."}, "reply": "Noted: tea."}', name="call")
    search = recall.append(agent_id, "assistant", '{"function": "conversation_search", "arguments": {"query": "tea"}}', name="call")
    user = recall.append(agent_id, "user", '{"function": "send_message"}')
    assert readable(edit) == "Noted: tea."
    assert readable(search) == 'conversation_search(query="tea")'
    assert readable(user) == '{"function": "send_message"}'
    hit = engine.search("tea", tier="recall", agent=engine.agent().name).items
    assert "Noted: tea." in [readable(h) for h in hit]


def test_warm_up_loads_the_embedding_model_before_it_is_needed(tmp_path):
    from engine.api import Engine

    engine = Engine(tmp_path / "data", cache_dir=tmp_path / "cache")
    try:
        assert engine.store._embedder is None
        engine.warm_up()
        assert engine.store._embedder is not None
    finally:
        engine.close()
