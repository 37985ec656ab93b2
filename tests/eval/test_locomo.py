"""LoCoMo evaluation end to end on a tiny conversation in LoCoMo's format (real model, memory)."""

from __future__ import annotations

import json
import subprocess
import sys
from datetime import datetime

from engine.eval.answer_scores import AnswerTally, declines, exact_match, locomo_f1, plain_f1
from engine.eval.locomo import evidence_ids, parse_session_date, sessions

TINY = [{
    "sample_id": "tiny-1",
    "conversation": {
        "speaker_a": "Ana", "speaker_b": "Ben",
        "session_1_date_time": "1:56 pm on 8 May, 2023",
        "session_1": [
            {"speaker": "Ana", "dia_id": "D1:1", "text": "Hi Ben! I adopted a grey cat named Pixel last week."},
            {"speaker": "Ben", "dia_id": "D1:2", "text": "Congratulations! I am training for the Berlin marathon."},
            {"speaker": "Ana", "dia_id": "D1:3", "text": "Good luck with the running."},
        ],
        "session_2_date_time": "10:00 am on 20 June, 2023",
        "session_2": [
            {"speaker": "Ben", "dia_id": "D2:1", "text": "I finished the marathon in four hours."},
            {"speaker": "Ana", "dia_id": "D2:2", "text": "Amazing. I started pottery classes on Tuesdays."},
        ],
    },
    "qa": [
        {"question": "What is the name of Ana's cat?", "answer": "Pixel", "evidence": ["D1:1"], "category": 4},
        {"question": "Which marathon did Ben train for?", "answer": "Berlin", "evidence": ["D1:2"], "category": 4},
        {"question": "What hobbies does Ana have?", "answer": "pottery", "evidence": ["D2:2; D1:1"], "category": 1},
        {"question": "Is this adversarial?", "adversarial_answer": "x", "evidence": ["D1:3"], "category": 5},
    ],
}]


def test_answer_metrics_normalise_case_punctuation_and_articles():
    assert exact_match("The Pixel.", "pixel") == 1.0
    assert exact_match("Pixel the cat", "Pixel") == 0.0
    assert plain_f1("a grey cat named Pixel", "Pixel") == 2 * (1 / 4) * 1 / (1 / 4 + 1)
    assert plain_f1("", "Pixel") == 0.0


def test_locomo_f1_stems_splits_multi_hop_answers_and_keeps_the_first_open_domain_part():
    assert plain_f1("she paints sunsets", "painting sunset") == 0.0
    assert locomo_f1("she paints sunsets", "painting sunset", "4") == 2 * (2 / 3) * 1 / (2 / 3 + 1)
    # multi-hop: each gold part takes its best predicted part; one of two parts found scores 0.5
    assert locomo_f1("pottery, camping", "camping, swimming", "1") == 0.5
    assert locomo_f1("pottery, camping, hiking", "camping, swimming", "1") == 0.5
    assert locomo_f1("pottery, camping, hiking", "camping, swimming", "4") == 0.4
    assert locomo_f1("likely yes", "Likely yes; she enjoys art", "3") == 1.0


def test_adversarial_questions_score_the_share_declined_with_times():
    tally = AnswerTally()
    tally.add("5", "q1", "Not mentioned.", "x", 1.0, 100)
    tally.add("5", "q2", "In Berlin", "x", 3.0, 120)
    assert declines("The memories don’t say; not mentioned") and not declines("Berlin")
    assert tally.declined_report() == {"declined": 0.5, "n": 2, "median_s": 2.0}
    report = AnswerTally()
    for seconds in (1.0, 2.0, 3.0, 10.0):
        report.add("4", "q", "Pixel", "Pixel", seconds, 200)
    assert report.report() == {"f1": 1.0, "f1_plain": 1.0, "exact_match": 1.0, "n": 4, "median_s": 2.5,
                                 "p95_s": 10.0, "median_prompt_tokens": 200}


def test_evidence_ids_split_joined_and_odd_ids():
    assert evidence_ids(["D1:3", "D2:1; D2:4", "D:10:2"]) == {"D1:3", "D2:1", "D2:4", "D10:2"}
    assert evidence_ids(["D03:07"]) == {"D3:7"}


def test_session_times_tolerate_variants_and_a_missing_time_follows_the_session_before():
    assert parse_session_date("1:56 pm on 8 May, 2023") == datetime(2023, 5, 8, 13, 56)
    assert parse_session_date("10:37 am on 27 Jun 2023") == datetime(2023, 6, 27, 10, 37)
    assert parse_session_date("someday") is None
    conversation = {"session_2_date_time": "", "session_2": [{"text": "b"}],
                    "session_1_date_time": "1:56 pm on 8 May, 2023", "session_1": [{"text": "a"}]}
    times = [when for when, _ in sessions(conversation)]
    assert times == [datetime(2023, 5, 8, 13, 56), datetime(2023, 5, 9, 13, 56)]


def test_eval_cli_reports_recall_by_category_and_answers(tmp_path):
    data = tmp_path / "tiny.json"
    data.write_text(json.dumps(TINY))
    result = subprocess.run(
        [sys.executable, "-m", "engine.cli", "eval", "locomo", "--data", str(data), "--k", "1,5",
         "--answer", "--memories", "2", "--json", "--n-ctx", "1024", "--data-dir", str(tmp_path / "data")],
        capture_output=True, text=True, timeout=600)
    assert result.returncode == 0, result.stderr
    report = json.loads(result.stdout.strip().splitlines()[-1])
    assert report["overall"]["n"] == 3  # category 5 is not scored
    assert set(report["by_category"]) == {"1", "2", "3", "4"}
    assert report["by_category"]["4"]["n"] == 2
    assert report["by_category"]["4"]["recall@5"] == 1.0  # five turns: every one is in the top 5
    assert report["conversations"]["tiny-1"]["n"] == 3
    answers = report["answers"]
    assert answers["overall"]["n"] == 3 and answers["memories_per_question"] == 2
    assert set(answers["overall"]) == {"f1", "f1_plain", "exact_match", "n", "median_s", "p95_s",
                                       "median_prompt_tokens"}
    assert 0.0 <= answers["overall"]["f1"] <= 1.0
    assert answers["overall"]["median_prompt_tokens"] > 0 and answers["overall"]["p95_s"] >= answers["overall"]["median_s"]
    assert answers["adversarial"]["n"] == 1 and "Porter" in answers["scoring"]
    for check in ("declined_as_told_by_someone_else", "declined_as_drawn_from_someone_else"):
        assert set(answers[check]) == {"questions", "adversarial"}
    assert all(isinstance(e["prediction"], str) for e in answers["examples"])


def test_answering_from_no_memories_is_refused_before_anything_loads(tmp_path):
    result = subprocess.run([sys.executable, "-m", "engine.cli", "eval", "locomo", "--data", str(tmp_path / "x.json"),
                             "--answer", "--memories", "0"], capture_output=True, text=True, timeout=120)
    assert result.returncode == 2 and "--memories: must be 1 or more" in result.stderr


def test_limit_answers_only_the_first_questions_of_each_conversation(tmp_path):
    data = tmp_path / "tiny.json"
    data.write_text(json.dumps(TINY))
    result = subprocess.run(
        [sys.executable, "-m", "engine.cli", "eval", "locomo", "--data", str(data), "--k", "1,5", "--limit", "1",
         "--json", "--n-ctx", "1024", "--data-dir", str(tmp_path / "data")],
        capture_output=True, text=True, timeout=600)
    assert result.returncode == 0, result.stderr
    report = json.loads(result.stdout.strip().splitlines()[-1])
    assert report["overall"]["n"] == 1 and report["by_category"]["4"]["n"] == 1


def test_a_memory_shows_who_said_it_and_one_date_its_resolved_phrase_or_its_day():
    from engine.eval.answers import answer_shape, render_memory
    from engine.memory.types import Hit

    def memory(text: str) -> str:
        return render_memory(Hit(tier="recall", id=1, text=text, score=1.0,
                                 created_at=datetime(2023, 5, 8, 13, 56), role="user", name="Melanie"))

    assert memory("I painted that lake sunrise last year!") == "- Melanie: I painted that lake sunrise last year (2022)!"
    assert memory("I painted that lake sunrise.") == "- Melanie: I painted that lake sunrise. (said on 8 May 2023)"
    assert answer_shape("When did Melanie paint a sunrise?").startswith("Give only the time")
    assert "guess" in answer_shape("Would Caroline likely enjoy hiking?")
    assert "Likely yes" not in answer_shape("What job might Maria pursue in the future?")
    assert "guess" in answer_shape("What job might Maria pursue in the future?")
    assert answer_shape("What is Caroline's identity?") == ""


def test_a_question_with_a_modal_verb_asks_for_a_guess_and_a_yes_no_guess_is_started_for_the_model():
    from engine.eval.answers import GUESS_OPENING, answer_opening, asks_for_guess

    assert asks_for_guess("What job might Maria pursue in the future?")
    assert asks_for_guess("Would Melanie be considered an ally to the transgender community?")
    assert not asks_for_guess("What did Caroline research?")
    assert answer_opening("Would Melanie be considered an ally to the transgender community?") == GUESS_OPENING
    assert answer_opening("Is it likely that Nate has friends besides Joanna?") == GUESS_OPENING
    assert answer_opening("What job might Maria pursue in the future?") == ""
    assert answer_opening("Would Melanie prefer a national park or a theme park?") == ""
    assert answer_opening("Did Caroline go to the parade?") == ""


def test_a_reply_copying_a_time_phrase_keeps_its_resolution_alone():
    from engine.eval.answers import resolved_time

    assert resolved_time("Friday (the Friday before 23 January 2022)") == "the Friday before 23 January 2022"
    assert resolved_time("Paris (France)") == "Paris (France)"
    assert resolved_time("21 January 2022") == "21 January 2022"
