"""Questions whose asked-for fact the post states in a form the earlier rules missed (issue #14,
fourth round): an age as "she was 91", the thing counted before "on trains", a British spelling of
an American word, a speaker's topic in other words, "which horse", "what year", a place or a name
in text without capitals, the name beside the deed asked about; and a question about another
city's event declined. Each post is written for the test; each question fails on the code before
this round."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime
from functools import partial

import pytest

from briefings.ask import NOT_COVERED, PassageIndex
from tests.fixtures.answer_index import parts, post_index, said

_parts = partial(parts, category="News")


FOUNDER = _parts(
    "Weight Watchers Founder Dies",
    "Jean Nidetch, who founded Weight Watchers, died on Wednesday at her home in Florida.",
    "She was 91.",
    "She started the group with friends in her living room when she was 38 years old.",
)
TRAINS = _parts(
    "Football Disorder Worries Rail Police",
    "Groups of football fans cause trouble every week, a senior transport police officer said.",
    "Transport police have logged 630 football-related incidents this season.",
    "Most of them happened on trains to away games.",
)
SURGERY = _parts(
    "Former Mayor Faces Surgery",
    "Rob Ford will have surgery on May 11 to remove a tumor from his abdomen, his doctors said.",
    "The operation could last ten hours.",
)
MAYOR = _parts(
    "Grandson Of Crime Boss Elected Mayor",
    "Philip Gigante was elected mayor of Ramapo Ridge on Tuesday.",
    "His grandfather led one of New York's crime families for decades.",
    "Residents knew before the vote.",
    "Thomas Gulla, 54, said: 'He has the interests of the village at heart.'",
    "Gulla said Gigante's background is no reflection on him.",
)
DERBY = _parts(
    "Derby Regular Invited As Guest",
    "John Sutton has been to every Derby since his first in 1940.",
    "His blacksmith father took John Sutton to that first Derby when he was eight.",
    "Now 84, Sutton will be a guest of Churchill Downs at this year's Derby.",
    "That first year father and son backed Gallahadion, an outsider, and won.",
    "Sutton keeps the programme of every Derby in a binder.",
)
CAMP = _parts(
    "A Town's Dark Past",
    "Camp Siegfried at Yaphank was a Nazi summer camp on Long Island.",
    "The Nazi camp at Yaphank drew families from the city on summer weekends.",
    "Today Yaphank is a quiet town, and the old camp is a private park.",
    "Its streets were once named after Nazi leaders.",
    "The league that ran it was set up in 1935.",
)
SOLAR = _parts(
    "A Battery For Solar Homes",
    "The Sonnenspeicher home battery from ASD stores energy from solar panels.",
    "ASD says the Sonnenspeicher solar battery lasts for decades in a home.",
    "Buyers in Germany pay 8,000 euros for the Sonnenspeicher home battery.",
    "Its designer is Wolfram Walter.",
    "The Sonnenspeicher solar battery went on sale in Berlin in May.",
    "The design of the Sonnenspeicher solar battery for the home won a prize in Munich.",
    "Owners of the Sonnenspeicher home solar battery in Austria save money.",
)
SUBSTITUTE = _parts(
    "City Lose The Derby",
    "James Milner came off injured in the Manchester derby.",
    "Milner was replaced by Samir Nasri ten minutes before the break.",
    "Milner came back from injury in the Sheffield cup game last month.",
)
# Text without capitals, as some feeds deliver it.
DECKCHAIR = _parts(
    "deckchair from the titanic to be sold",
    "a deckchair from the titanic is expected to fetch £80,000 at the auction.",
    "the titanic deckchair was picked up by the mackay-bennett.",
    "the titanic deckchair was owned by captain lemarteleur.",
    "the titanic deckchair is a rare piece, said craig sopin.",
    "it goes under the hammer in devizes on april 18.",
)
SUSPECT = _parts(
    "deputies filmed beating a suspect",
    "the fbi will investigate the beating of a suspect by deputies in san bernardino.",
    "deputies in san bernardino kicked and punched the suspect on friday.",
    "the man, identified by authorities as francis pusok, was taken to hospital.",
    "ten deputies identified as being involved were put on leave.",
    "the san bernardino sheriff said the deputies' actions would be investigated.",
)
CHAIR = _parts(
    "Lusitania Chair For Sale",
    "A chair recovered from the Lusitania is expected to fetch £40,000 at auction in Bath.",
)
AMTRAK = _parts(
    "Couple Killed By Amtrak Train",
    "An Amtrak train derailed near Durham, North Carolina, on Sunday, killing a married couple.",
    "Police said the couple were on the tracks.",
)
# Other posts name Philadelphia, so the city is a word the posts know.
PHILADELPHIA = _parts(
    "Philadelphia Zoo Welcomes Twins",
    "Philadelphia zoo keepers welcomed twin lion cubs on Monday.",
)

# Posts on other things, so that the words of the posts above are as rare as names are in a large
# store, and the common words are common.
FILLER_WORDS = (
    "the council said the crew of the ship will hold an auction at the port on friday after the "
    "storm, and officers said the town would reopen the road to the city next week; the fbi and "
    "the sheriff will investigate the actions of ten officers involved, who were put on leave, and "
    "authorities said a man was taken to hospital after a beating"
)

NOW = datetime(2026, 11, 21, 15, 0, tzinfo=UTC)
POSTS = [
    ("founder", FOUNDER),
    ("trains", TRAINS),
    ("surgery", SURGERY),
    ("mayor", MAYOR),
    ("derby", DERBY),
    ("camp", CAMP),
    ("solar", SOLAR),
    ("substitute", SUBSTITUTE),
    ("deckchair", DECKCHAIR),
    ("suspect", SUSPECT),
    ("chair", CHAIR),
    ("amtrak", AMTRAK),
    ("philadelphia", PHILADELPHIA),
    *((f"filler-{k}", _parts(f"Notice {k}", f"Notice {k}: {FILLER_WORDS}.")) for k in range(150)),
]


@pytest.fixture(scope="module")
def index(tmp_path_factory: pytest.TempPathFactory) -> Iterator[PassageIndex]:
    posts = [(slug, NOW, post) for slug, post in POSTS]
    with post_index(tmp_path_factory.mktemp("kinds"), posts, NOW, source="news") as built:
        yield built


def answers(index: PassageIndex, question: str, fact: str) -> None:
    answer = index.ask(question)
    assert answer.grounded, question
    assert fact in said(answer), said(answer)


def test_an_age_given_as_she_was_n_answers_how_old(index: PassageIndex) -> None:
    answers(index, "How old was the woman who founded Weight Watchers when she died?", "91")


def test_the_thing_counted_ends_before_a_preposition(index: PassageIndex) -> None:
    # "incidents on trains": incidents are counted, not trains.
    answers(
        index,
        "How many football-related incidents on trains have transport police logged?",
        "630",
    )


def test_a_british_spelling_meets_the_american_one(index: PassageIndex) -> None:
    answers(index, "When will Ford's tumour be removed?", "May 11")


def test_salvaged_meets_recovered(index: PassageIndex) -> None:
    answers(
        index, "What price is the chair salvaged from the Lusitania expected to fetch?", "40,000"
    )


def test_what_a_speaker_said_is_found_when_the_question_words_it_otherwise(
    index: PassageIndex,
) -> None:
    # "mob" is no word of the post: what Gulla said stands among the words of it the post has.
    answers(
        index,
        "What did Thomas Gulla say about Philip Gigante's mob family background?",
        "interests of the village",
    )


def test_which_horse_asks_for_a_name(index: PassageIndex) -> None:
    answers(
        index,
        "Which horse did John Sutton and his blacksmith father back at his first Derby?",
        "Gallahadion",
    )


def test_what_year_is_answered_with_a_year_not_today(index: PassageIndex) -> None:
    answers(index, "In what year was the Nazi summer camp at Yaphank set up?", "1935")


def test_who_designed_quotes_the_name_beside_the_deed(index: PassageIndex) -> None:
    answers(index, "Who designed the Sonnenspeicher home solar battery?", "Wolfram Walter")


def test_a_light_verb_does_not_pick_the_sentence(index: PassageIndex) -> None:
    # "came on": the sentences with "came" are not the answer; the name that replaced him is.
    answers(index, "Who came on for James Milner in the Manchester derby?", "Nasri")


def test_a_place_in_text_without_capitals_follows_a_preposition(index: PassageIndex) -> None:
    answers(index, "In which town is the Titanic deckchair going under the hammer?", "devizes")


def test_a_name_asked_for_in_text_without_capitals_is_a_rare_word(index: PassageIndex) -> None:
    answers(
        index,
        "What is the name of the suspect who was kicked and punched by San Bernardino deputies?",
        "pusok",
    )


def test_an_event_in_another_city_is_declined(index: PassageIndex) -> None:
    # The Amtrak post is about North Carolina; other posts know Philadelphia.
    answer = index.ask("What happened when the Amtrak train derailed in Philadelphia?")
    assert not answer.grounded
    assert NOT_COVERED in answer.text
    answers(index, "What happened when the Amtrak train derailed in North Carolina?", "Durham")
