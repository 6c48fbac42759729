"""The entry menu: numbers, ids, labels with typos, back, re-prompts, and channel shapes."""

from __future__ import annotations

from pathlib import Path

import pytest
from conftest import valid_stack

from supportctl.config.plugin_spec import MenuLimits
from supportctl.plugins.channel import MenuShape as Shape
from supportctl.runtime.menu_engine import MenuEngine, MenuState, Step

WHATSAPP = MenuLimits(max_buttons=3, button_title=20, max_list_rows=10, row_title=24,
                      row_description=72)
TEXT_ONLY = MenuLimits()


@pytest.fixture(scope="module")
def engine(fixtures: Path) -> MenuEngine:
    return MenuEngine(valid_stack(fixtures / "stacks" / "menus.yaml"))


@pytest.fixture(scope="module")
def fixtures() -> Path:
    return Path(__file__).parent.parent / "fixtures"


MAIN = MenuState(("main",))


@pytest.mark.parametrize("typed", ["1", " 1 ", "track my order", "TRACK MY ORDER",
                                   "Trak my order", "bestellung verfolgen", "main.1"])
def test_ways_to_choose_the_first_option(engine: MenuEngine, typed: str) -> None:
    outcome = engine.answer(MAIN, typed, "en")
    assert (outcome.step, outcome.text, outcome.state) == (Step.ANSWER, "See your email.", MAIN)


def test_answers_come_in_the_contact_language(engine: MenuEngine) -> None:
    assert engine.answer(MAIN, "1", "de").text == "Siehe E-Mail."
    assert engine.answer(MAIN, "1", "fr").text == "See your email."  # the default language


def test_submenus_templates_back_and_handoff(engine: MenuEngine) -> None:
    shipping = engine.answer(MAIN, "shipping", "en")  # the option's own id
    assert (shipping.step, shipping.state) == (Step.SHOW, MenuState(("main", "shipping")))
    assert shipping.state is not None
    deeper = engine.answer(shipping.state, "Rücksendungen", "de")
    assert deeper.state == MenuState(("main", "shipping", "returns"))
    times = engine.answer(shipping.state, "1", "en")
    assert (times.step, times.template) == (Step.TEMPLATE, "shipping_times")
    back = engine.answer(shipping.state, "0", "en")
    assert (back.step, back.state) == (Step.SHOW, MAIN)
    assert engine.answer(MAIN, "0", "en").state == MAIN  # the entry menu has nothing above
    person = engine.answer(MAIN, "talk to a person", "en")
    assert (person.step, person.state) == (Step.HANDOFF, None)


def test_unknown_input_reprompts_then_hands_off(engine: MenuEngine) -> None:
    first = engine.answer(MAIN, "what about my invoice?", "en")
    assert (first.step, first.reprompt, first.state) == (Step.SHOW, True,
                                                        MenuState(("main",), 1))
    assert first.state is not None
    assert engine.answer(first.state, "still the invoice", "en").step is Step.HANDOFF
    assert engine.answer(first.state, "2", "en").state == MenuState(("main", "shipping"))
    assert engine.answer(MAIN, "9", "en").reprompt  # no option 9


def test_a_typo_that_fits_two_labels_matches_neither(engine: MenuEngine) -> None:
    assert engine.match("main", engine.stack.menus["main"], "tracx") is None


def test_shapes_follow_the_channel_limits(engine: MenuEngine) -> None:
    main = engine.render(MAIN, "en", WHATSAPP)
    assert main.shape is Shape.BUTTONS
    assert [c.id for c in main.choices] == ["main.1", "shipping", "main.3"]
    assert main.text == "1. Track my order\n2. Shipping\n3. Talk to a person"
    german = engine.render(MAIN, "de", WHATSAPP)
    assert german.shape is Shape.TEXT  # "Mit einem Menschen sprechen" fits no button or row
    shipping = engine.render(MenuState(("main", "shipping")), "en", WHATSAPP)
    assert shipping.shape is Shape.LIST  # a description needs list rows
    assert shipping.text == "1. Delivery times\n2. Returns\n0. Back"
    assert engine.render(MAIN, "en", TEXT_ONLY).shape is Shape.TEXT
