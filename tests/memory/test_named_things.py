"""Questions that ask for a name, and turns that name something."""

from engine.memory.named_things import asks_for_a_name, names_something


def test_a_question_for_a_city_a_book_or_a_pets_name_asks_for_a_name():
    assert asks_for_a_name("Which cities has Jon visited?")
    assert asks_for_a_name("What books has Tim read?")
    assert asks_for_a_name("What are Maria's dogs' names?")
    assert not asks_for_a_name("What did Jon do last weekend?")
    assert not asks_for_a_name("When did Tim read the book?")


def test_a_capitalised_word_inside_a_sentence_or_after_a_quote_names_something():
    assert names_something("Took a short trip last week to Rome to clear my mind.", {"Jon"})
    assert names_something('I loved reading "Charlotte\'s Web" as a kid.', {"Melanie"})
    assert names_something("That was for my daughter Sara's birthday.", {"John"})


def test_speakers_the_first_person_dates_and_first_words_name_nothing():
    assert not names_something("Thanks, Maria! I'm so glad, I went there in May.", {"Maria"})
    assert not names_something("Wow, Maria's idea was great. Honestly it was.", {"Maria"})
    assert not names_something("Since Tuesday I've been busy. OK, more soon.", set())
