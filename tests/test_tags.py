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


# Cases reported from posts outside the bench (issue #15).


def test_georgians_and_georgia_beside_atlanta_and_a_governor_are_the_us_state() -> None:
    text = (
        "Georgians went to the polls on Tuesday. In Atlanta, Gov. Brian Kemp said Georgia would "
        "count every vote, and Georgia's Fulton County reported first."
    )
    assert countries("", text) == ["country:us"]
    # The Caucasus country, with its own cues, is still found.
    text = "Georgians rallied in Tbilisi. Georgia's parliament in Tbilisi passed the bill."
    assert countries("", text) == ["country:ge"]


def test_niger_chad_and_guinea_are_found_from_demonyms_and_capitals_alone() -> None:
    niger = "Troops seized the palace in Niamey. Nigerien officers said Niamey was calm."
    assert countries("", niger) == ["country:ne"]
    chad = "Rebels neared N'Djamena. Chadian soldiers held N'Djamena overnight."
    assert countries("", chad) == ["country:td"]
    guinea = "Protesters marched in Conakry. Guinean police fired tear gas in Conakry."
    assert countries("", guinea) == ["country:gn"]
    # Nigeria is not Niger, and Guinea's neighbours are not Guinea.
    nigeria = "Nigerian troops left Lagos. Abuja said Nigerians would vote in Lagos."
    assert countries("", nigeria) == ["country:ng"]
    bissau = "Bissau-Guinean officials met in Bissau. Guinea-Bissau's president flew to Bissau."
    assert countries("", bissau) == ["country:gw"]
    # A guinea pig is not Guinea, even in a post that says Conakry once.
    pig = "A lab in Conakry bred a guinea pig. The guinea pig and other guinea pigs thrived."
    assert countries("", pig) == []


@pytest.mark.parametrize(
    ("text", "code"),
    [
        ("Ivory Coast voted. Ivorian voters in Abidjan queued; Abidjan was calm.", "ci"),
        ("Cote d'Ivoire voted on Sunday. Cote d'Ivoire's poll was calm.", "ci"),
        ("Turkiye raised rates. Turkiye's central bank said inflation had peaked.", "tr"),
        ("Macedonia changed its name. Skopje said Macedonia would join NATO.", "mk"),
        ("East Timor voted. East Timor's capital Dili was calm.", "tl"),
        ("Cape Verde beat Portugal 2-0. Cape Verde fans celebrated all night.", "cv"),
        ("Swaziland renamed itself Eswatini. Swazi officials in Mbabane agreed.", "sz"),
        ("Holland won the match. Holland fans danced in Amsterdam.", "nl"),
    ],
)
def test_other_common_names_of_countries_are_found(text: str, code: str) -> None:
    assert countries("", text)[0] == f"country:{code}"


def test_kosovo_is_tagged_with_its_code_region_and_name() -> None:
    text = "Kosovo's parliament met in Pristina. Kosovars marked independence in Pristina."
    tags = tag_post("", text)
    assert tags[:2] == ("country:xk", "region:southern-europe")
    assert parse_tag("country:Kosovo") == parse_tag("country:XK") == "country:xk"
    assert describe(tags) == "Kosovo · Southern Europe"


def test_korea_alone_follows_the_north_or_south_the_post_names() -> None:
    south = "South Korea's exports rose. Korea's chipmakers gained; Korea now leads in memory."
    assert countries("", south) == ["country:kr"]
    north = "North Korea fired a missile. Korea's north has tested five; Korea denied it."
    assert countries("", north) == ["country:kp"]
    # Both named as often, "Korea" alone could be either: it counts for neither.
    both = "Korea talks resumed. Korea's future was discussed by South Korea and North Korea."
    assert countries("", both) == []
    with pytest.raises(TagError):
        parse_tag("country:Korea")  # a filter must say which
    assert parse_tag("country:South Korea") == "country:kr"


@pytest.mark.parametrize(
    ("text", "code"),
    [
        (
            "The court in The Hague ruled on Monday. Judges in The Hague said the war crimes "
            "case would go on.",
            "nl",
        ),
        ("The Paris Agreement turns ten. Signatories of the Paris Agreement met in Bonn.", "fr"),
        ("The Vienna talks resumed. Iran said the Vienna talks were useful.", "at"),
        ("The Vienna Convention protects envoys. Both sides cited the Vienna Convention.", "at"),
        (
            "Both sides broke the Geneva Conventions. The Geneva Convention protects prisoners.",
            "ch",
        ),
        ("George Kent testified on Capitol Hill. George Kent said he was worried.", "gb"),
        (
            "Roast the turkey slowly for Thanksgiving. Serve the turkey with Turkish coffee; "
            "Turkey is the star of Thanksgiving.",
            "tr",
        ),
        (
            "She set out the china plates. The china was her grandmother's, and China cabinets "
            "are back; fine china sells.",
            "cn",
        ),
    ],
)
def test_places_in_names_of_things_and_people_are_no_country_mention(text: str, code: str) -> None:
    assert f"country:{code}" not in countries("", text)


def test_a_country_name_before_a_surname_is_a_persons_first_name() -> None:
    text = (
        "Jordan Peters, a nurse from Ohio, flew to Amman. Jordan Peters said the clinic needs help."
    )
    assert "country:jo" not in countries("", text)
    text = "Boko Haram attacked a village. Chad Smith, an analyst, said Chad Smith's count was low."
    assert "country:td" not in countries("", text)
    # A headline capitalises every word: there the name is still the country.
    assert countries("Jordan Signs Gas Deal", "Officials in Amman signed it.") == ["country:jo"]
    assert "country:td" in countries(
        "", "Rebels entered Chad. Chad Government troops fled N'Djamena."
    )


def test_an_all_capitals_title_says_who_not_the_world_health_organization() -> None:
    assert tag_post("WHO KNEW? LET US COUNT THE CATS", "Cats sleep a lot.") == ()
    assert "org:who" in tag_post("WHO warns on measles", "Cases rose.")


def test_international_courts_are_tagged_as_organisations() -> None:
    text = (
        "The ICJ ruled on Monday that the International Court of Justice could hear the case. "
        "The ICC prosecutor said the ICC would open an inquiry."
    )
    tags = tag_post("", text)
    assert "org:icj" in tags and "org:icc" in tags
    # The cricket ICC is not the court.
    cricket = "The ICC World Cup starts in March. The ICC Cricket World Cup final is in Melbourne."
    assert "org:icc" not in tag_post("", cricket)


_WORDS = [
    "US",
    "us",
    "WHO",
    "who",
    "UN",
    "Georgia",
    "Atlanta",
    "Tbilisi",
    "Korea",
    "South",
    "North",
    "China",
    "china",
    "Turkey",
    "turkey",
    "Chad",
    "Smith",
    "Jordan",
    "Amman",
    "said",
    "in",
    "the",
    "Hague",
    "Niger",
    "Niamey",
    "Guinea",
    "pig",
    ".",
    ",",
]


@given(st.lists(st.sampled_from(_WORDS), max_size=40))
def test_a_text_in_capitals_is_read_like_the_same_text_in_lower_case(words: list[str]) -> None:
    # A shouted headline has no case to go by, any more than a lower-cased corpus does.
    text = " ".join(words)
    assert tag_post(text.upper(), text.upper()) == tag_post(text.lower(), text.lower())


def test_mentions_all_in_one_sentence_of_a_longer_post_are_one_remark() -> None:
    office = (
        "Staff at a small design studio have been trading notes for weeks. It began with a row "
        "over the office fridge, which nobody cleans, and grew into a quiet war over mugs, milk "
        "and the last biscuit. The studio manager says she has tried a rota, a whiteboard and a "
        "jar of coins for fines, and that none of them lasted more than a week. "
    )
    note = (
        "Nobody has owned up to the latest note, though the spelling of 'color' and a date "
        "written the U.S. way, month first, point to a writer raised in the United States. "
    )
    end = (
        "The note, pinned at eye level, asks whoever took a yoghurt to replace it by Friday. Its "
        "writer signs off with a smiley face, which colleagues read as a threat. The manager has "
        "now bought a second fridge and labelled every shelf with a name, and she hopes that "
        "the notes will stop. Others in the studio have started a sweepstake on how long the "
        "peace will hold, with most of the money on a fortnight."
    )
    assert countries("", office + note + end) == []
    # The same two mentions in two sentences are two pieces of evidence.
    two = note.replace("way, month first, point to a writer", "way. The writer was probably")
    assert countries("", office + two + end) == ["country:us"]


def test_a_university_or_event_named_after_a_place_is_not_that_country() -> None:
    # A professor's university says who he is; the story is in Kenya.
    text = (
        "Professor Alan Reid of the University of Oxford says the skull found in Kenya is two "
        "million years old. Reid, who has dug in Kenya for years, says the find rewrites the "
        "story of our ancestors. Kenya's museum will show it, and Reid of the University of "
        "Oxford will return to Kenya next year to dig again near the lake."
    )
    assert countries("", text) == ["country:ke"]
    # A golf tournament named after a European city, played in Florida.
    text = (
        "Rain stopped play at the Oslo Invitational in Florida on Friday. Tom Hale leads the "
        "Oslo Invitational by two shots after a 66, and the Florida course dries out overnight. "
        "Hale, a Texas native, won his only title in Florida six years ago."
    )
    assert countries("", text) == ["country:us"]


def test_in_a_longer_post_a_country_someone_comes_from_counts_like_a_demonym() -> None:
    middle = (
        "Delegates from some forty clubs will vote by secret ballot after a morning of speeches. "
        "The federation has lost members for a decade, and many blame the cost of travelling to "
        "tournaments and congresses. Its accounts show a deficit for the third year running. "
    )
    text = (
        "The chess federation elects its president on Friday. The favourite is Piet Janssen, a "
        "former grandmaster from Holland who promises to move the yearly congress online. "
        + middle
        + "Rivals say his plan is too costly and that members want to meet in person. "
        + middle
        + "Janssen, who comes from the Netherlands, says the savings on travel will pay for it "
        "within two years. The result is due in the evening."
    )
    assert countries("", text) == []
    # Named as the place where things happen, the country counts in full.
    text = text.replace("from Holland", "in Holland").replace("comes from", "lives in")
    assert countries("", text) == ["country:nl"]
    # A brief of a few sentences is all subject: its "from" counts in full.
    brief = "Ministers from Estonia and Latvia met in Riga. Estonia offered to host the next talks."
    assert set(countries("", brief)) == {"country:ee", "country:lv"}


def test_a_country_tied_with_the_main_one_but_only_named_late_is_not_main() -> None:
    fill = (
        "The owner started the scheme after her nephew struggled to find work. She says her "
        "decorators are precise and calm, and that orders have doubled since the spring. Staff "
        "are trained for six weeks, paired with a mentor and paid the same as everyone else. "
    )
    text = (
        "A bakery in Chicago has begun hiring people with autism to decorate its cakes. "
        + fill
        + "Word spread quickly on local radio. "
        + fill
        + "Customers now drive in from Boston for the wedding cakes, the owner says. "
        + fill
        + "The idea came from a cafe in Copenhagen that she visited on holiday. Similar schemes "
        "now run across Denmark with help from local councils, she adds."
    )
    assert countries("", text) == ["country:us"]


def test_a_second_country_first_named_after_the_opening_30_percent_is_an_aside() -> None:
    tail = (
        "He trained with the first team all week and looked sharp in a friendly on Saturday. "
        "The coach says he will start on the bench but could play a part before the winter. "
    )
    # Peru is first named 31% of the way in: why the boy has his name, not where he plays.
    text = (
        "A teenage winger has signed for a club in Glasgow, and fans queued outside the ground "
        "to meet him. He joins from a youth side in Edinburgh, where he scored twenty goals "
        "last season. The club beat several rivals to his signature and hopes to keep him for "
        "years. His mother says he was named after a goal she watched Peru score as a girl. "
        + tail
        + "The family also follow Peru at every World Cup, she adds. "
        + tail
        + tail
        + "Fans in Aberdeen and Dundee will see him first when the reserves tour Scotland next "
        "month."
    )
    assert countries("", text) == ["country:gb"]


def test_a_long_feed_category_becomes_a_tag_a_channel_can_follow() -> None:
    [category] = [
        t for t in tag_post("A title", "Some text.", ["Very long " * 12]) if "category" in t
    ]
    assert parse_tag(category) == category  # within the filter length, so `subscribe` takes it
    assert category.startswith("category:very-long-very-long")
