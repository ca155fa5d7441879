import pytest

from o3video.grammar import (
    Claim,
    map_boxes,
    parse,
    parse_answer_box,
    parse_option_letter,
    parse_span,
    parse_temporal_truth,
    render_claim,
    render_completion,
    render_span,
    split_temporal_mcq,
    tags_balanced,
)

CANONICAL = (
    "<think>The <obj>red car</obj><box>[120,44,210,130]</box>at<t>12.5</t>s stops at the light.</think>"
    "<answer>It turns left.</answer>"
)


def test_parses_the_canonical_completion():
    c = parse(CANONICAL)
    assert c.well_formed and c.tags_balanced and c.problems == []
    assert c.answer == "It turns left."
    assert c.claims == [Claim("red car", ((120, 44, 210, 130),), 12.5)]
    assert c.times == [12.5]
    assert c.boxes == [(120, 44, 210, 130)]


@pytest.mark.parametrize(
    "mention",
    [
        "<obj> red car </obj><box>[ 120 , 44 , 210 , 130 ]</box> at <t>12.5</t> s",
        "<OBJ>red car</OBJ> <box>[120.0,44.0,210.0,130.0]</box>at<t> 12.50 </t>s",
        "< obj >red car</ obj ><box>(120, 44, 210, 130)</box>at < t >12.5</ t >s",
        "<obj>red   car</obj>\n<box>[120,44,210,130]</box>\nat <t>12.5s</t>",
    ],
)
def test_accepts_the_variants_real_models_emit(mention):
    c = parse(f"<think>See {mention} there.</think>\n<answer>left</answer>")
    assert c.claims == [Claim("red car", ((120, 44, 210, 130),), 12.5)]
    assert c.well_formed


def test_several_boxes_per_object_and_integer_times():
    c = parse("<think><obj>people</obj><box>[1,2,3,4]</box><box>[5,6,7,8]</box>at<t>12</t>s</think><answer>2</answer>")
    assert c.claims == [Claim("people", ((1, 2, 3, 4), (5, 6, 7, 8)), 12.0)]


def test_claim_without_time_is_partial_and_reported():
    c = parse("<think><obj>cup</obj><box>[1,2,3,4]</box> is here</think><answer>a</answer>")
    assert c.claims == [Claim("cup", ((1, 2, 3, 4),), None)]
    assert c.complete_claims == []
    assert any("no time" in p for p in c.problems)


def test_bad_box_and_bad_time_are_reported_not_raised():
    c = parse("<think><obj>cup</obj><box>[1,2,3]</box>at<t>soon</t>s and <t>nan</t>s</think><answer>a</answer>")
    assert c.claims == [Claim("cup", (), None)]
    assert c.times == []
    assert sum("unreadable box" in p for p in c.problems) == 1
    assert sum("unreadable time" in p for p in c.problems) == 2


@pytest.mark.parametrize(
    "text, reason",
    [
        ("", "no <think>"),
        ("<think>a</think>", "no <answer>"),
        ("<answer>a</answer><think>b</think>", "out of order"),
        ("<think>a</think><think>b</think><answer>c</answer>", "one <think>"),
        ("Sure! <think>a</think><answer>b</answer>", "outside"),
        ("<think>a<answer>b</answer>", "one <think>"),
    ],
)
def test_malformed_structure(text, reason):
    c = parse(text)
    assert not c.well_formed
    assert any(reason in p for p in c.problems), c.problems


def test_tags_balanced():
    assert tags_balanced("<obj>a</obj><box>[1,2,3,4]</box>at<t>1</t>s")
    assert not tags_balanced("<obj>a<box>[1,2,3,4]</box></obj>")  # nested
    assert not tags_balanced("<obj>a</obj><box>[1,2,3,4]")  # never closed
    assert not tags_balanced("<t>1</obj>")  # closed by the wrong tag
    assert not tags_balanced("</t>")


def test_non_string_input_never_raises():
    assert parse(None).problems and parse(None).answer is None
    assert parse(12345).think is None


def test_render_round_trips_through_parse():
    claim = Claim("blue circle", ((10.4, 20.6, 30.0, 40.0), (1, 2, 3, 4)), 3.0)
    text = render_claim(claim)
    assert text == "<obj>blue circle</obj><box>[10,21,30,40]</box><box>[1,2,3,4]</box>at<t>3.0</t>s"
    parsed = parse(render_completion(f"I see the {text}.", "yes"))
    assert parsed.claims == [Claim("blue circle", ((10, 21, 30, 40), (1, 2, 3, 4)), 3.0)]
    assert render_claim(Claim("x", ((0.25, 0.5, 0.75, 1.0),), 2.25), decimals=2, time_decimals=2) == (
        "<obj>x</obj><box>[0.25,0.50,0.75,1.00]</box>at<t>2.25</t>s"
    )


def test_render_span_matches_temporal_answer_form():
    assert render_span(3.5, 7) == "From <t>3.5</t>s to <t>7.0</t>s"
    assert parse(f"<think>a</think><answer>{render_span(3.5, 7)}</answer>").answer_times == [3.5, 7.0]


def test_map_boxes_converts_readable_boxes_only():
    text = "a <box>[0.1, 0.2, 0.3, 0.4]</box> b <box>[oops]</box>"
    assert map_boxes(text, lambda b: [v * 100 for v in b]) == "a <box>[10,20,30,40]</box> b <box>[oops]</box>"


def test_ground_truth_forms():
    assert parse_span("[3.5, 7.0]") == (3.5, 7.0)
    assert parse_span([1, 2]) == (1.0, 2.0)
    assert parse_span("[1, 2, 3]") is None and parse_span("[a, 2]") is None and parse_span(None) is None
    for form in ("B", " B. ", "(B)", "[B]", "b"):
        assert parse_option_letter(form) == "B"
    for bad in ("B) two", "BB", "", None, "(B"):
        assert parse_option_letter(bad) is None
    assert parse_temporal_truth("C\n[1, 4]", with_option=True) == ("C", (1.0, 4.0))
    assert parse_temporal_truth("[1, 4]", with_option=False) == (None, (1.0, 4.0))
    assert split_temporal_mcq("From <t>1</t>s to <t>2</t>s.\nCorrect Option: (C)")[0] == "C"
    assert split_temporal_mcq("From <t>1</t>s to <t>2</t>s.")[0] is None
    assert parse_answer_box("<obj>cup</obj><box>[1,2,3,4]</box>") == (1, 2, 3, 4)
    assert parse_answer_box("[1, 2, 3, 4]") == (1, 2, 3, 4)
    assert parse_answer_box("the cup") is None


def test_grammar_is_the_only_writer_of_grounded_text():
    """No other module builds `<obj>`/`<box>`/`<t>` text by hand: it calls grammar's render functions."""
    import re
    from pathlib import Path

    import o3video

    package = Path(o3video.__file__).parent
    pattern = re.compile(r"""f["'][^"'\n]*(<obj>\{|</obj>\{|<box>\[\{|<t>\{)""")
    writers = [str(p.relative_to(package)) for p in package.rglob("*.py")
               if p.name != "grammar.py" and pattern.search(p.read_text())]
    assert writers == []


def test_every_writer_of_a_span_writes_the_same_text():
    """SFT targets, the tokenizer corpus, synthetic ground truth and practice records spell times alike."""
    from o3video.grammar import format_time, render_span, render_span_truth
    from o3video.train.targets import target_answer

    assert [format_time(t) for t in (3, 3.25, 0.125, 7.5, 1 / 3)] == ["3.0", "3.25", "0.125", "7.5", "0.333"]
    temporal = {"task": "temporal QA", "answer": render_span_truth(2.25, 4.0)}
    assert temporal["answer"] == "[2.25, 4.0]"
    assert target_answer(temporal, (112, 84)) == render_span(2.25, 4.0) == "From <t>2.25</t>s to <t>4.0</t>s"


def test_ungrounded_text_drops_boxes_and_cited_times_and_keeps_the_words():
    from o3video.grammar import parse, ungrounded

    text = ("The <obj>red car</obj><box>[120,44,210,130]</box>at<t>12.5</t>s stops, then "
            "<obj>the ball</obj><box>[1,2,3,4]</box><box>[1,2,3,5]</box> at <t>3</t> s . It starts at <t>3.0</t>s and "
            "<obj>stays</obj><box>[1,2,3,4]</box> at <t>4</t> still.")
    plain = ungrounded(text)
    assert plain == "The red car stops, then the ball. It starts and stays still."
    completion = parse(f"<think>{plain}</think><answer>A</answer>")
    assert not completion.claims and not completion.times and not completion.boxes
