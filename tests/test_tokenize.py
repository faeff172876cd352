"""Tokenizer: the RSR notebook's normalisation, sentence modes and multi-word expressions."""
from __future__ import annotations

import pytest

from w2vcore.config import TokenizerConfig
from w2vcore.tokenize import Tokenizer


def sentences(text: str, **cfg) -> list[list[str]]:
    return Tokenizer(TokenizerConfig(**cfg)).sentences(text)


def test_default_normalisation_keeps_only_lowercase_ascii_letters():
    assert sentences("Hello, World! 42 café") == [["hello", "world", "caf"]]


def test_keep_digits_and_case():
    assert sentences("Hello, World! 42 café", keep_digits=True) == [["hello", "world", "42", "caf"]]
    assert sentences("Hello, World! 42", lowercase=False) == [["Hello", "World"]]


def test_min_token_len_drops_short_tokens():
    assert sentences("a bb ccc", min_token_len=2) == [["bb", "ccc"]]


def test_line_mode_gives_one_sentence_per_non_empty_line():
    text = "First line. Still first!\n\n  \n--- 123 ---\nsecond line\r\nthird"
    assert sentences(text) == [["first", "line", "still", "first"], ["second", "line"], ["third"]]


def test_punct_mode_splits_at_sentence_ends():
    text = "One fish. Two fish! Red fish?? Blue fish\nnew line"
    assert sentences(text, sentences="punct") == [
        ["one", "fish"], ["two", "fish"], ["red", "fish"], ["blue", "fish"], ["new", "line"]]


def test_punct_mode_keeps_decimal_numbers_together():
    assert sentences("Pi is 3.14. Yes.", sentences="punct", keep_digits=True) == [["pi", "is", "3", "14"], ["yes"]]


def test_phrases_are_joined_with_longest_match_first():
    phrases = ("new york", "New York City", "ice cream")
    text = "I left New York City for new york and ice cream"
    assert sentences(text, phrases=phrases) == [
        ["i", "left", "new_york_city", "for", "new_york", "and", "ice_cream"]]


def test_phrase_at_sentence_end_and_normalised_phrase_text():
    phrases = ("Air-Conditioner", "hot dog")
    assert sentences("buy a hot dog\nfix the AIR CONDITIONER", phrases=phrases) == [
        ["buy", "a", "hot_dog"], ["fix", "the", "air_conditioner"]]


def test_phrases_never_cross_sentences():
    phrases = ("new york",)
    assert sentences("I love new\nyork", phrases=phrases) == [["i", "love", "new"], ["york"]]
    assert sentences("I love new. York is far", phrases=phrases, sentences="punct") == [
        ["i", "love", "new"], ["york", "is", "far"]]


def test_single_word_phrases_are_ignored_and_raw_underscores_are_stripped():
    assert sentences("hot snake_case", phrases=("hot", "  ")) == [["hot", "snake", "case"]]


def test_partial_phrase_is_left_alone():
    assert sentences("new yorker", phrases=("new york",)) == [["new", "yorker"]]


@pytest.mark.parametrize("mode", ["line", "punct"])
def test_empty_and_punctuation_only_text_gives_no_sentences(mode):
    assert sentences("", sentences=mode) == []
    assert sentences("... !!! 123\n\n", sentences=mode) == []


def test_words_flattens_sentences():
    assert Tokenizer(TokenizerConfig(phrases=("ice cream",))).words("Ice cream.\nYes") == ["ice_cream", "yes"]


@pytest.mark.parametrize("text, expected", [
    ("Un café naïve", ["un", "café", "naïve"]),
    ("cafe\u0301 CAFE\u0301", ["café", "café"]),  # decomposed é: NFC gives the one code point
    ("Ελληνικά, γλώσσα!", ["ελληνικά", "γλώσσα"]),
    ("русский_язык", ["русский", "язык"]),
    ("日本 語。", ["日本", "語"]),
    ("हिन्दी भाषा", ["हिन्दी", "भाषा"]),  # vowel signs and virama are combining marks, kept
], ids=["french", "decomposed", "greek", "russian", "japanese", "devanagari"])
def test_unicode_letters_keep_every_script(text, expected):
    assert Tokenizer(TokenizerConfig(letters="unicode")).words(text) == expected


def test_unicode_letters_are_nfc_and_follow_keep_digits():
    words = Tokenizer(TokenizerConfig(letters="unicode")).words("cafe\u0301 42 ٣ x")
    assert words == ["café", "x"] and words[0] == "caf\u00e9"
    assert Tokenizer(TokenizerConfig(letters="unicode", keep_digits=True)).words("42 ٣ B2") == ["42", "٣", "b2"]
    assert Tokenizer(TokenizerConfig(letters="unicode", lowercase=False)).words("Café") == ["Café"]


def test_unicode_punct_mode_splits_at_cjk_full_stops():
    cfg = TokenizerConfig(letters="unicode", sentences="punct")
    assert Tokenizer(cfg).sentences("日本です。次！ Un café. Deux") == [["日本です"], ["次"], ["un", "café"], ["deux"]]


def test_ascii_letters_stay_the_default():
    assert TokenizerConfig().letters == "ascii"
    assert sentences("Un café Ελληνικά") == [["un", "caf"]]
    with pytest.raises(Exception, match="letters must be one of"):
        TokenizerConfig(letters="latin")
