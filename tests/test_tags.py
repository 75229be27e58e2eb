"""The tagger: which countries, regions and organisations a post is about, and tag filters."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from briefings.tags import TagError, describe, matches, parse_tag, tag_post, vocabulary


def countries(title: str, text: str) -> list[str]:
    return [t for t in tag_post(title, text) if t.startswith("country:")]


def test_names_demonyms_capitals_and_metonyms_all_count_for_one_country() -> None:
    text = (
        "The Kremlin said on Tuesday that talks could resume. Russian officials in Moscow gave no "
        "date. Analysts in Kyiv were doubtful."
    )
    tags = tag_post("Ceasefire talks stall", text)
    assert "country:ru" in tags
    assert "region:eastern-europe" in tags
    assert "country:ua" not in tags  # one mention in the body is not enough


def test_a_country_named_in_the_title_is_tagged_even_without_body_mentions() -> None:
    assert countries("Ukraine's grain exports rise", "Shipments rose in March.") == ["country:ua"]


def test_lowercased_text_is_read_like_cased_text() -> None:
    text = "the kremlin said talks could resume . russian officials in moscow gave no date ."
    assert countries("", text) == ["country:ru"]


def test_georgia_the_us_state_is_not_the_country() -> None:
    text = (
        "A teacher in Georgia turned herself in on Tuesday. The sheriff in Valdosta, Georgia, "
        "said charges followed."
    )
    assert countries("", text) == ["country:us"]


def test_georgia_the_country_needs_a_caucasus_cue() -> None:
    text = "Protesters filled Tbilisi again. Georgia's government said the Georgian parliament would sit."
    assert countries("", text) == ["country:ge"]


def test_jordan_turkey_and_chad_as_names_or_food_are_not_countries() -> None:
    text = (
        "Michael Jordan and Chad Smith carved the turkey. Jordan laughed; Chad said the Turkey "
        "was dry. Jordan left early and Chad stayed."
    )
    assert countries("Thanksgiving with Jordan and Chad", text) == []


def test_turkey_and_jordan_the_countries_are_tagged_with_cues() -> None:
    text = (
        "Turkey and Jordan signed a water deal in Ankara. Jordanian officials said Amman would "
        "pipe water from Turkey to Jordan."
    )
    assert set(countries("", text)) == {"country:tr", "country:jo"}


def test_new_mexico_is_not_mexico_and_papua_new_guinea_is_not_guinea() -> None:
    text = (
        "Drought hit New Mexico and New Mexico farmers. Papua New Guinea held an election; "
        "Papua New Guinea voters queued for hours."
    )
    assert set(countries("", text)) == {"country:us", "country:pg"}


def test_us_as_a_pronoun_is_not_the_united_states() -> None:
    assert countries("", "Let us go. They told us twice. Give us a call.") == []
    assert countries("", "US forces left. The US said so.") == ["country:us"]


def test_a_side_mention_of_a_nationality_does_not_tag_its_country() -> None:
    text = (
        "Chelsea beat Arsenal in London. The Premier League leaders played well in London, "
        "and the Brazilian midfielder scored. England's title race is close; London celebrated."
    )
    assert countries("", text) == ["country:gb"]


def test_organisations_and_feed_categories_are_tagged() -> None:
    text = "NATO ministers met. The alliance said NATO would grow. The European Union agreed."
    tags = tag_post("Alliance meets", text, categories=["International News & Diplomacy"])
    assert "org:nato" in tags
    assert "org:eu" not in tags  # once only
    assert "category:international-news-diplomacy" in tags


def test_the_seed_post_is_about_russia_ukraine_and_the_us(seed_parts) -> None:  # type: ignore[no-untyped-def]
    tags = tag_post(seed_parts.title, seed_parts.body)
    assert set(t for t in tags if t.startswith("country:")) == {
        "country:ru",
        "country:ua",
        "country:us",
    }
    assert "region:eastern-europe" in tags and "region:northern-america" in tags
    assert "org:nato" in tags


@pytest.fixture
def seed_parts():  # type: ignore[no-untyped-def]
    from briefings.text import split_post
    from tests.fixtures.posts import SEED_DIR

    return split_post((SEED_DIR / "irinfive-post-putin-ceasefire.txt").read_text())


def test_region_filters_match_their_sub_regions() -> None:
    post = ("country:ua", "region:eastern-europe")
    assert matches(post, ["region:europe"])
    assert matches(post, ["region:eastern-europe"])
    assert not matches(post, ["region:western-europe"])
    assert not matches(post, ["region:asia"])
    assert matches(("country:ml", "region:western-africa"), ["region:sub-saharan-africa"])
    assert matches(("country:ml", "region:western-africa"), ["region:africa"])


def test_a_post_matches_when_it_has_any_filter_and_no_filters_match_all() -> None:
    post = ("country:ua", "region:eastern-europe", "org:nato")
    assert matches(post, [])
    assert matches(post, ["country:de", "org:nato"])
    assert not matches(post, ["country:de", "category:economy"])
    assert not matches((), ["country:ua"])


def test_tags_as_typed_are_normalised() -> None:
    assert parse_tag("country:UA") == "country:ua"
    assert parse_tag("country:Ukraine") == "country:ua"
    assert parse_tag("Region:Eastern Europe") == "region:eastern-europe"
    assert parse_tag("org:NATO") == "org:nato"
    assert parse_tag("category:Analysis & Opinion") == "category:analysis-opinion"


@pytest.mark.parametrize(
    ("raw", "says"),
    [
        ("ukraine", "country:ua"),
        ("country:xx", "country:ua"),
        ("region:middle-earth", "region:middle-east"),
        ("org:hogwarts", "nato"),
        ("colour:red", "region:eastern-europe"),
        ("country:", "country:ua"),
    ],
)
def test_bad_tags_get_an_error_with_examples(raw: str, says: str) -> None:
    with pytest.raises(TagError) as caught:
        parse_tag(raw)
    message = str(caught.value)
    assert says in message and "\n" not in message


def test_tags_are_shown_to_readers_by_name() -> None:
    shown = describe(("country:ru", "country:ua", "region:eastern-europe", "org:nato"))
    assert shown == "Russia, Ukraine · Eastern Europe"


@given(st.text(max_size=400), st.text(max_size=80))
def test_any_text_gives_well_formed_tags_with_regions_of_its_countries(
    text: str, title: str
) -> None:
    tags = tag_post(title, text)
    assert len(tags) == len(set(tags))
    assert all(t.split(":", 1)[0] in {"country", "region", "org", "category"} for t in tags)
    for tag in tags:
        assert parse_tag(tag) == tag
    regions = vocabulary().country_region
    for tag in tags:
        if tag.startswith("country:") and tag[8:] in regions:
            assert f"region:{regions[tag[8:]]}" in tags


@given(st.sampled_from(["Ukraine", "Russia", "Japan", "Brazil", "Kenya", "Germany"]), st.text())
def test_a_country_named_in_the_title_is_always_tagged(name: str, text: str) -> None:
    code = parse_tag(f"country:{name}")
    assert code in tag_post(f"News from {name}", text)


def test_a_players_or_actors_nationality_is_not_where_the_story_is() -> None:
    text = (
        "The Spain international scored twice in London. Brazilian star Oscar also scored in "
        "London, and the Spain international was substituted late. London cheered."
    )
    assert countries("", text) == ["country:gb"]


def test_a_club_named_after_a_place_is_not_that_country_in_another_countrys_story() -> None:
    text = (
        "Chelsea beat Arsenal in London. The Premier League leaders were sharp in London, and "
        "Hazard, once wanted by Real Madrid, scored. Real Madrid had scouts in London."
    )
    assert countries("", text) == ["country:gb"]
    # The same club in its own league's story still says where the story is.
    text = "Real Madrid beat Malaga. Real Madrid coach Carlo Ancelotti praised Ronaldo."
    assert countries("", text) == ["country:es"]


def test_a_country_name_used_as_a_first_name_is_not_the_country() -> None:
    text = (
        "Their daughter India started school in Los Angeles. The couple, who live in Los "
        "Angeles, said daughter India loves it; Los Angeles schools are good."
    )
    assert countries("", text) == ["country:us"]


def test_a_nationality_one_word_before_the_person_word_is_still_a_nationality() -> None:
    text = (
        "The South Africa test captain joins Derbyshire in England next month. England suits "
        "him, says the South Africa test captain, who will play in England until June."
    )
    assert countries("", text) == ["country:gb"]


def test_a_sporting_legends_nationality_is_not_where_the_story_is() -> None:
    text = (
        "Argentina legend Diego Maradona scored in Bogota at a match for peace in Colombia. "
        "The Argentina legend said Colombia wants peace, and Bogota cheered."
    )
    assert countries("", text) == ["country:co"]


def test_a_noun_for_one_person_of_a_nationality_does_not_count() -> None:
    text = (
        "The Spaniard scored twice in London. London's crowd loved the Spaniard, and the "
        "Spaniard thanked London. Chelsea's Spaniard also thanked his team in London."
    )
    assert countries("", text) == ["country:gb"]


def test_a_second_country_first_named_late_in_the_story_is_an_aside() -> None:
    text = (
        "Denmark has passed a law banning bestiality. The Danish parliament voted on Tuesday, "
        "and Denmark's agriculture minister said the old law was hard to enforce because harm "
        "to an animal was difficult to prove. Farmers in Denmark welcomed the change, and vets "
        "said reports of abuse had grown. The law takes effect in July across Denmark, with "
        "fines for anyone who breaks it and a ban on keeping animals for repeat offenders. "
        "In the United States, laws vary from state to state: Vermont and Ohio have none."
    )
    assert countries("", text) == ["country:dk"]
    assert "country:us" in countries("Denmark and the United States", text)


def test_a_round_up_of_places_is_about_none_of_them() -> None:
    filler = (
        "Check your bags through to the final stop, keep your passport at hand, and allow an "
        "hour to get back through security before the next flight boards. Queues at peak hours "
        "can be long, so leave early and keep the boarding pass on your phone. "
    ) * 2
    text = (
        "Long layovers need not be dull: here are the best things to do between flights. "
        + filler
        + "In Doha, Qatar, tours take travellers dune bashing in the desert of southern Qatar. "
        + filler
        + "Singapore airport offers a free city tour; Singapore's fountain is the world's largest. "
        + filler
        + "Iceland's Blue Lagoon is twenty minutes from Reykjavik's airport, a swim-up bar in Iceland. "
        + filler
    )
    assert countries("", text) == []
    assert countries("A layover in Iceland", text) == ["country:is"]
    # A short post naming its places close together is no round-up.
    short = "Ministers of Latvia met in Riga. Poland's envoy flew from Warsaw to join them."
    assert set(countries("", short)) == {"country:lv", "country:pl"}
