"""THINGS (Hebart et al.): concept ids, the 27 categories, the 49-d SPoSE embedding and the ratings.

A compact copy ships with the package (`resources/things.npz`, rebuilt by
`python -m w2vcore.resources.build_things <folder>`), so every THINGS feature works with no
data folder. A user's folder holding the original files (`unique_id.txt`,
`spose_embedding_49d_sorted.txt`, `Categories_final_20200131.tsv`, `animacy.csv`), given as
`data_dir` or `data_dir/things`, overrides the packaged copy.

`load(data_dir)` returns a `Things`; results are cached per source (a folder is re-read when
one of its files changes), and the arrays are read-only because the cache shares them.
"""
from __future__ import annotations

import csv
import functools
import io
import re
from dataclasses import dataclass
from pathlib import Path
from types import MappingProxyType
from typing import Mapping

import numpy as np

from .errors import W2VError

IDS_FILE = "unique_id.txt"
EMBEDDING_FILE = "spose_embedding_49d_sorted.txt"
CATEGORIES_FILE = "Categories_final_20200131.tsv"
RATINGS_FILE = "animacy.csv"
N_CATEGORIES = 27  # the original THINGS categories: the first 27 category columns (animal ... weapon)
RATINGS = ("manmade", "precious", "lives", "heavy", "natural", "moves", "grasp", "hold", "be.moved",
           "pleasant", "arousing")  # animacy.csv's <name>_mean / <name>_sd columns, 1..7 scales
RATING_SCALE = 10_000  # the packaged ratings are int32 value * 1e4: animacy.csv prints 4 decimals
RESOURCE = Path(__file__).resolve().parent / "resources" / "things.npz"
PACKAGED = "packaged"

ATTRIBUTION = (
    "THINGS data (packaged in w2vcore/resources/things.npz, see NOTICE):\n"
    "- Concept ids and the 49-d SPoSE embedding (CC BY 4.0): Hebart, M. N., Dickter, A. H., Kidder, A., "
    "Kwok, W. Y., Corriveau, A., Van Wicklin, C., & Baker, C. I. (2019). THINGS: A database of 1,854 object "
    "concepts and more than 26,000 naturalistic object images. PLOS ONE 14(10): e0223792; and Hebart, M. N., "
    "Zheng, C. Y., Pereira, F., & Baker, C. I. (2020). Revealing the multidimensional mental representations "
    "of natural objects underlying human similarity judgements. Nature Human Behaviour 4, 1173-1185.\n"
    "- Category labels and animacy ratings (CC0 1.0): Hebart, M. N., Contier, O., Teichmann, L., Rockter, "
    "A. H., Zheng, C. Y., Kidder, A., Corriveau, A., Vaziri-Pashkam, M., & Baker, C. I. (2023). THINGS-data, "
    "a multimodal collection of large-scale datasets for investigating object representations in human "
    "brain and behavior. eLife 12: e82580.\n"
    "Derived file: a compressed re-encoding of the original files (float32 embedding values and 4-decimal "
    "ratings stored exactly); no values were changed."
)


@dataclass(frozen=True)
class Categories:
    concepts: tuple[str, ...]  # (n,) THINGS ids, in `Things.ids` order
    names: tuple[str, ...]  # (27,) category names, animal ... weapon
    labels: np.ndarray  # (n, 27) bool; a concept may have 0, 1 or several categories


@dataclass(frozen=True)
class Things:
    """One THINGS source. `categories` is None and `ratings` empty when a user's folder lacks their file."""

    ids: tuple[str, ...]  # (n,) concept ids in unique_id.txt order (aardvark ... zucchini)
    spose: np.ndarray  # (n, 49) float64 non-negative SPoSE embedding, rows in `ids` order
    category_names: tuple[str, ...]  # (27,) animal ... weapon
    categories: np.ndarray | None  # (n, 27) bool
    ratings: Mapping[str, np.ndarray]  # rating -> (r,) float64 mean, rows in the ratings file's order
    rating_sds: Mapping[str, np.ndarray]  # rating -> (r,) float64 standard deviation across raters
    rating_concepts: np.ndarray  # (r,) int64 index into `ids` of each ratings row
    source: str  # "packaged" or the folder the files came from

    def __len__(self) -> int:
        return len(self.ids)

    @property
    def packaged(self) -> bool:
        return self.source == PACKAGED

    def describe(self) -> str:
        where = "packaged THINGS" if self.packaged else f"THINGS in {self.source}"
        return f"{where} ({len(self):,} concepts)"

    def labels(self, n_categories: int = N_CATEGORIES) -> Categories:
        """The first `n_categories` category columns as `Categories`."""
        if self.categories is None:
            raise W2VError(f"no {CATEGORIES_FILE} in {self.source}: the THINGS categories are read from it")
        if not 0 < n_categories <= self.categories.shape[1]:
            raise W2VError(f"{self.describe()} has {self.categories.shape[1]} categories, not {n_categories}")
        return Categories(self.ids, self.category_names[:n_categories], self.categories[:, :n_categories])

    def rating(self, name: str) -> list[tuple[str, float]]:
        """(concept id, mean rating) per row of the ratings file, in its order."""
        if name not in self.ratings:
            known = ", ".join(self.ratings) or f"none: no {RATINGS_FILE} in {self.source}"
            raise W2VError(f"unknown THINGS rating {name!r}; choose from {known}")
        return [(self.ids[c], float(v)) for c, v in zip(self.rating_concepts, self.ratings[name])]

    def phrases(self) -> tuple[str, ...]:
        """Multi-word concept names ("air conditioner", "first aid kit") for `TokenizerConfig.phrases`."""
        return tuple(sorted({" ".join(p) for p in map(concept_parts, self.ids) if len(p) > 1}))


def concept_parts(name: str) -> list[str]:
    """Normalised words of a concept name: lower case, homonym digits dropped, split at non-letters.

    "bat1" -> ["bat"], "air_conditioner" -> ["air", "conditioner"], "T-shirt" -> ["t", "shirt"].
    """
    return re.sub(r"[^a-z]+", " ", re.sub(r"\d+$", "", name.strip().lower())).split()


# ------------------------------------------------------------------ finding
def find(data_dir: str | Path | None) -> Path | None:
    """The user's THINGS folder: `data_dir/things`, or `data_dir` itself if it holds unique_id.txt; else None."""
    if data_dir is None or not str(data_dir).strip():
        return None
    root = Path(str(data_dir).strip()).expanduser()  # a typed folder name may carry stray spaces
    for folder in (root / "things", root):
        if (folder / IDS_FILE).is_file():
            return folder
    return None


def available(data_dir: str | Path | None = None) -> bool:
    """True when THINGS can be loaded: the packaged copy is present, or `data_dir` holds the files."""
    return RESOURCE.is_file() or find(data_dir) is not None


def describe(data_dir: str | Path | None = None) -> str:
    """Where THINGS comes from, for display: "packaged THINGS (1,854 concepts)" or the user's folder."""
    return load(data_dir).describe()


def load(data_dir: str | Path | None = None) -> Things:
    """THINGS from the user's folder in `data_dir` when it has one, else the packaged copy."""
    folder = find(data_dir)
    if folder is None:
        if not RESOURCE.is_file():
            raise W2VError(f"the packaged THINGS file {RESOURCE} is missing and no THINGS folder was given; "
                           f"reinstall, or set the data folder to one holding things/{IDS_FILE}")
        return _load_packaged(str(RESOURCE), RESOURCE.stat().st_mtime_ns)
    stamps = tuple((folder / f).stat().st_mtime_ns if (folder / f).is_file() else None
                   for f in (IDS_FILE, EMBEDDING_FILE, CATEGORIES_FILE, RATINGS_FILE))
    return _load_folder(str(folder.resolve()), stamps)


# ----------------------------------------------------------- the packaged copy
@functools.lru_cache(maxsize=2)
def load_categories(data_dir: str | Path | None = None, n_categories: int = N_CATEGORIES) -> Categories:
    """The THINGS category labels: the first `n_categories` category columns (see `read_categories`).

    More than the 27 original categories can only be read from a user's folder (the packaged copy has 27).
    """
    folder = find(data_dir)
    if n_categories > N_CATEGORIES and folder is not None:
        ids = load(folder).ids
        names, labels = read_categories(folder / CATEGORIES_FILE, list(ids), n_categories)
        return Categories(ids, names, labels)
    return load(data_dir).labels(n_categories)


def _load_packaged(path: str, _mtime: int) -> Things:
    try:
        with np.load(path, allow_pickle=False) as z:
            data = {k: z[k] for k in z.files}
    except (OSError, ValueError, KeyError) as e:
        raise W2VError(f"the packaged THINGS file {path} is unreadable ({e}); rebuild it with "
                       "python -m w2vcore.resources.build_things <THINGS folder>") from None
    missing = {"ids", "spose", "category_names", "categories", "rating_names", "rating_concepts", "rating_means",
               "rating_sds"} - set(data)
    if missing:
        raise W2VError(f"the packaged THINGS file {path} lacks {', '.join(sorted(missing))}; rebuild it with "
                       "python -m w2vcore.resources.build_things <THINGS folder>")
    names = [str(n) for n in data["rating_names"]]
    means = data["rating_means"].astype(np.float64) / RATING_SCALE  # exact: the file's 4-decimal values
    sds = data["rating_sds"].astype(np.float64) / RATING_SCALE
    return _frozen(Things(
        ids=tuple(str(i) for i in data["ids"]), spose=data["spose"].astype(np.float64),
        category_names=tuple(str(n) for n in data["category_names"]), categories=data["categories"].astype(bool),
        ratings={n: means[:, k] for k, n in enumerate(names)}, rating_sds={n: sds[:, k] for k, n in enumerate(names)},
        rating_concepts=data["rating_concepts"].astype(np.int64), source=PACKAGED))


def to_arrays(things: Things) -> dict[str, np.ndarray]:
    """The packaged file's arrays for `things` (no pickles: strings as fixed-width unicode).

    Refuses values the compact encoding would change: SPoSE values that are not float32 and
    ratings with more than 4 decimals.
    """
    spose = things.spose.astype(np.float32)
    if not np.array_equal(spose.astype(np.float64), things.spose):
        raise W2VError(f"{things.source}: the SPoSE values are not float32 values; they cannot be stored exactly")
    names = list(things.ratings)
    arrays = {"ids": np.array(things.ids, dtype=str), "spose": spose,
              "category_names": np.array(things.category_names, dtype=str),
              "categories": np.asarray(things.categories, dtype=bool), "rating_names": np.array(names, dtype=str),
              "rating_concepts": things.rating_concepts.astype(np.int16)}
    for key, table in (("rating_means", things.ratings), ("rating_sds", things.rating_sds)):
        values = np.stack([table[n] for n in names], axis=1)  # (r, ratings)
        scaled = np.round(values * RATING_SCALE).astype(np.int32)
        if not np.array_equal(scaled / RATING_SCALE, values):
            raise W2VError(f"{things.source}: {key} have more than 4 decimals; they cannot be stored exactly")
        arrays[key] = scaled
    return arrays


def _frozen(things: Things) -> Things:
    """`things` with read-only arrays and mappings: the cache hands the same object to every caller."""
    arrays = [things.spose, things.rating_concepts, *things.ratings.values(), *things.rating_sds.values()]
    for a in arrays + ([things.categories] if things.categories is not None else []):
        a.flags.writeable = False
    object.__setattr__(things, "ratings", MappingProxyType(dict(things.ratings)))
    object.__setattr__(things, "rating_sds", MappingProxyType(dict(things.rating_sds)))
    return things


# ------------------------------------------------------------- a user's folder
@functools.lru_cache(maxsize=4)
def _load_folder(folder: str, _stamps: tuple) -> Things:
    return _frozen(read_folder(Path(folder)))


def read_folder(folder: str | Path) -> Things:
    """THINGS from the original files in `folder` (ids and embedding required; categories, ratings optional)."""
    folder = Path(folder)
    ids = read_ids(folder / IDS_FILE)
    spose = read_spose(folder / EMBEDDING_FILE, len(ids))
    names, labels = (read_categories(folder / CATEGORIES_FILE, ids) if (folder / CATEGORIES_FILE).is_file()
                     else ((), None))
    rows, means, sds = (read_ratings(folder / RATINGS_FILE, ids) if (folder / RATINGS_FILE).is_file()
                        else (np.zeros(0, dtype=np.int64), {}, {}))
    return Things(tuple(ids), spose, names, labels, means, sds, rows, str(folder))


def read_ids(path: Path) -> list[str]:
    """The concept ids of unique_id.txt, one per line, in the file's (canonical) order."""
    ids = [line.strip() for line in _read_text(path).splitlines() if line.strip()]
    if not ids:
        raise W2VError(f"{path} is empty")
    if len(set(ids)) != len(ids):
        raise W2VError(f"{path} lists a concept id twice")
    return ids


def read_spose(path: Path, n: int) -> np.ndarray:
    """(n, d) float64 SPoSE embedding: whitespace-separated numbers, one row per concept id."""
    if not path.is_file():
        raise W2VError(f"{path} is missing: the THINGS similarity matrix is computed from it")
    try:
        x = np.loadtxt(io.StringIO(_read_text(path)), dtype=np.float64, ndmin=2)
    except ValueError as e:
        raise W2VError(f"{path} is not a whitespace-separated numeric matrix: {e}") from None
    if x.shape[0] != n or not np.isfinite(x).all():
        raise W2VError(f"{path} must hold {n} finite rows (one per concept id), got shape {x.shape}")
    return x


def read_categories(path: Path, ids: list[str], n_categories: int = N_CATEGORIES
                    ) -> tuple[tuple[str, ...], np.ndarray]:
    """(names, (n, n_categories) bool labels): the first `n_categories` category columns of the TSV.

    Columns are Word, Definition, then the categories. The file's last row holds the column
    totals (no concept name) and is left out; its concept names match the ids without
    homonym digits, row by row, which is checked.
    """
    rows = list(csv.reader(_read_text(path).splitlines(), delimiter="\t"))
    if len(rows) < 2 or len(rows[0]) < 2 + n_categories:
        raise W2VError(f"{path}: expected a header with Word, Definition and {n_categories} category columns")
    header, body = rows[0], [r for r in rows[1:] if r and r[0].strip()]  # the totals row has no name
    if len(body) != len(ids):
        raise W2VError(f"{path} has {len(body)} concept rows but {IDS_FILE} has {len(ids)} ids")
    for no, (row, cid) in enumerate(zip(body, ids), 2):
        if concept_parts(row[0]) != concept_parts(cid):
            raise W2VError(f"{path}, row {no}: {row[0]!r} does not match concept id {cid!r}")
    cols = range(2, 2 + n_categories)
    labels = np.array([[row[c].strip() not in ("", "0") if c < len(row) else False for c in cols] for row in body],
                      dtype=bool).reshape(len(body), n_categories)
    return tuple(header[c].strip() for c in cols), labels


def read_ratings(path: Path, ids: list[str]) -> tuple[np.ndarray, dict[str, np.ndarray], dict[str, np.ndarray]]:
    """(rows' concept indices, {rating: means}, {rating: sds}) of animacy.csv, rows in the file's order.

    Every `<rating>_mean` column of `RATINGS` the header has is read (its `_sd` column too,
    NaN when absent); each row names a concept id of unique_id.txt in its `uniqueID` column.
    """
    rows = [r for r in csv.reader(_read_text(path).splitlines()) if r]
    header = rows[0] if rows else []
    names = [n for n in RATINGS if f"{n}_mean" in header]
    if "uniqueID" not in header or not names:
        raise W2VError(f"{path}: expected a header with uniqueID and <rating>_mean columns ({', '.join(RATINGS)})")
    index = {cid: i for i, cid in enumerate(ids)}
    id_col = header.index("uniqueID")
    cols = {n: (header.index(f"{n}_mean"), header.index(f"{n}_sd") if f"{n}_sd" in header else None) for n in names}
    concepts, means, sds = [], {n: [] for n in names}, {n: [] for n in names}
    for no, row in enumerate(rows[1:], 2):
        cid = row[id_col].strip() if id_col < len(row) else ""
        if cid not in index:
            raise W2VError(f"{path}, line {no}: {cid!r} is not a concept id of {IDS_FILE}")
        concepts.append(index[cid])
        for n, (mean_col, sd_col) in cols.items():
            means[n].append(_number(row, mean_col, path, no, f"{n}_mean"))
            sds[n].append(np.nan if sd_col is None else _number(row, sd_col, path, no, f"{n}_sd"))
    return (np.array(concepts, dtype=np.int64), {n: np.array(v) for n, v in means.items()},
            {n: np.array(v) for n, v in sds.items()})


def _number(row: list[str], col: int, path: Path, no: int, name: str) -> float:
    try:
        value = float(row[col])
    except (IndexError, ValueError):
        value = float("nan")
    if not np.isfinite(value):
        raise W2VError(f"{path}, line {no}: no numeric {name} value")
    return value


def _read_text(path: Path) -> str:
    try:
        return Path(path).read_text(encoding="utf-8-sig")
    except OSError as e:
        raise W2VError(f"cannot read {path}: {e.strerror}") from None
    except UnicodeDecodeError:
        raise W2VError(f"{path} is not UTF-8 text") from None
