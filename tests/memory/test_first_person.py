""""I" written as the speaker's name, for views that join two speakers' turns."""

from engine.memory.first_person import named_first_person


def test_each_first_person_form_becomes_the_speakers_name():
    assert (named_first_person("I'm off swimming with my kids, join me!", "Melanie")
            == "Melanie is off swimming with Melanie's kids, join Melanie!")
    assert (named_first_person("I've got mine; I'd say I'll go myself. My turn.", "Jon")
            == "Jon has got Jon's; Jon would say Jon will go Jon. Jon's turn.")


def test_words_that_merely_start_alike_and_nameless_speakers_stay_as_they_are():
    text = "Imagine meeting Mei at the museum in time for the Mystery tour, Ida!"
    assert named_first_person(text, "Jon") == text
    assert named_first_person("I went", None) == "I went"
