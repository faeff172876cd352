"""THINGS ships with the package: the packaged copy, its builder, and a user's folder overriding it."""
from __future__ import annotations

import os
import zipfile

import numpy as np
import pytest

from w2vcore import things
from w2vcore.losses.rsr import human
from w2vcore.losses.valuevec import values
from w2vcore.errors import W2VError
from w2vcore.resources import build_things


@pytest.fixture
def no_shared_data(monkeypatch):
    """Tests see no ../shared/data: a folder that holds the THINGS files is never found."""
    real = things.find
    monkeypatch.setattr(things, "find", lambda d: None if d is None or "shared" in str(d) else real(d))


def _write_tiny(folder, ids=("cat", "dog1", "air_pump"), spose=None):
    """A THINGS-format folder with three concepts, two categories and two ratings."""
    folder.mkdir(parents=True, exist_ok=True)
    (folder / things.IDS_FILE).write_text("\n".join(ids) + "\n")
    spose = np.array([[0.5, 0.0], [0.25, 1.0], [0.0, 2.0]]) if spose is None else spose
    np.savetxt(folder / things.EMBEDDING_FILE, spose, fmt="%.22f")
    header = ["Word", "Definition"] + [f"c{k}" for k in range(27)]
    rows = [["cat", "a pet", "1"] + [""] * 26, ["dog", "a pet", "1"] + [""] * 25 + ["1"],
            ["air pump", "a tool"] + [""] * 27, ["", ""] + ["2"] + [""] * 25 + ["1"]]
    (folder / things.CATEGORIES_FILE).write_text("\r\n".join("\t".join(r) for r in [header] + rows) + "\r\n")
    (folder / things.RATINGS_FILE).write_text(
        '"uniqueID","pleasant_mean","pleasant_sd","moves_mean","moves_sd","n"\n'
        '"dog1","6.5000","0.5000","7.0000","0.1000",3\n"cat","6.2500","1.0000","6.0000","0.2000",4\n'
        '"air_pump","3.1234","1.5000","1.5000","0.3000",5\n')
    return folder


# --------------------------------------------------------------- the packaged copy
def test_packaged_copy_equals_the_original_files(shared_data):
    """The packaged arrays are what the loaders read from ../shared/data/things, value for value."""
    if things.find(shared_data) is None:
        pytest.skip("../shared/data/things is not present: nothing to compare the packaged copy with")
    packaged, original = things.load(None), things.load(shared_data)
    assert packaged.packaged and not original.packaged
    assert packaged.ids == original.ids and len(packaged) == 1854
    assert packaged.spose.dtype == np.float64
    np.testing.assert_array_equal(packaged.spose, np.loadtxt(shared_data / "things" / things.EMBEDDING_FILE))
    assert packaged.category_names == original.category_names and len(packaged.category_names) == 27
    np.testing.assert_array_equal(packaged.categories, original.categories)
    assert list(packaged.ratings) == list(original.ratings) == list(things.RATINGS)
    np.testing.assert_array_equal(packaged.rating_concepts, original.rating_concepts)
    for name in things.RATINGS:
        np.testing.assert_array_equal(packaged.ratings[name], original.ratings[name])
        np.testing.assert_array_equal(packaged.rating_sds[name], original.rating_sds[name])
    for name in ("pleasant", "moves"):  # same words, values and order (the held-out split depends on it)
        assert list(values.load_things_ratings(None, name).items()) == \
            list(values.load_things_ratings(shared_data, name).items())


def test_rebuilding_the_resource_is_deterministic(shared_data, tmp_path):
    if things.find(shared_data) is None:
        pytest.skip("../shared/data/things is not present: the resource cannot be rebuilt here")
    first = build_things.build(shared_data, tmp_path / "a.npz")
    assert build_things.main([str(shared_data / "things"), "--out", str(tmp_path / "b.npz")]) == 0
    assert first.read_bytes() == (tmp_path / "b.npz").read_bytes() == things.RESOURCE.read_bytes()


def test_resource_is_small_and_needs_no_pickle():
    assert things.RESOURCE.stat().st_size < 1_000_000
    with np.load(things.RESOURCE, allow_pickle=False) as z:
        arrays = {k: z[k] for k in z.files}
    assert all(a.dtype != object for a in arrays.values())
    assert arrays["ids"].dtype.kind == "U" and arrays["spose"].dtype == np.float32
    assert arrays["spose"].shape == (1854, 49) and arrays["categories"].shape == (1854, 27)
    with zipfile.ZipFile(things.RESOURCE) as zf:
        assert {i.date_time for i in zf.infolist()} == {build_things.FIXED_DATE}


def test_everything_works_with_no_data_folder(no_shared_data):
    assert things.find(None) is None and human.find_things(None) is None
    assert things.available(None) and things.describe(None) == "packaged THINGS (1,854 concepts)"
    t = things.load()
    assert t.ids[0] == "aardvark" and t.ids[-1] == "zucchini" and t.spose.shape == (1854, 49)
    assert not t.spose.flags.writeable, "the cached arrays are shared, so read-only"
    cats = things.load_categories(None)
    assert cats.names[0] == "animal" and cats.names[-1] == "weapon" and cats.labels[0, 0]  # an aardvark is an animal
    assert things.load_categories(None, 3).labels.shape == (1854, 3)
    with pytest.raises(W2VError, match="27 categories, not 30"):
        things.load_categories(None, 30)
    assert {"air conditioner", "first aid kit"} <= set(human.thing_phrases())
    assert human.load_things_ids() == list(t.ids)
    pleasant = values.load_values("things:pleasant")
    assert pleasant["aardvark"] == pytest.approx(4.3947) and "bat" not in pleasant
    assert values.load_values("things") == pleasant
    with pytest.raises(W2VError, match="unknown THINGS rating"):
        values.load_things_ratings(None, "tasty")


def test_things_target_without_a_data_folder_is_the_packaged_matrix(no_shared_data, tmp_path, monkeypatch):
    """'auto' and 'things' need no folder; the similarity cache is keyed by the embedding, not the path."""
    computed = []
    monkeypatch.setattr(human, "spose_similarity", lambda x: computed.append(1) or np.eye(len(x), dtype=np.float32))
    auto = human.load_target("auto", None, tmp_path)
    assert auto.kind == "matrix" and len(auto) == 1854 and auto.source == "THINGS (SPoSE 49-d, packaged)"
    assert human.load_target("things", None, tmp_path).words == auto.words and computed == [1]  # the cache hit
    assert human.load_target("auto", tmp_path / "no-things-here", tmp_path).kind == "matrix"
    assert len(list(tmp_path.glob("spose_similarity-*.npy"))) == 1


# --------------------------------------------------------------- a user's folder
def test_a_user_folder_overrides_the_packaged_copy(tmp_path):
    folder = _write_tiny(tmp_path / "data" / "things")
    for data_dir in (tmp_path / "data", folder):
        t = things.load(data_dir)
        assert t.ids == ("cat", "dog1", "air_pump") and t.source == str(folder.resolve())
    assert things.describe(tmp_path / "data") == f"THINGS in {folder.resolve()} (3 concepts)"
    np.testing.assert_array_equal(t.spose, [[0.5, 0.0], [0.25, 1.0], [0.0, 2.0]])
    np.testing.assert_array_equal(t.categories[:, [0, 26]], [[True, False], [True, True], [False, False]])
    assert things.load_categories(tmp_path / "data").concepts == t.ids
    assert human.thing_phrases(tmp_path / "data") == ("air pump",)
    assert values.load_things_ratings(tmp_path / "data", "pleasant") == {"dog": 6.5, "cat": 6.25, "air_pump": 3.1234}
    assert list(values.load_values("things:moves", tmp_path / "data")) == ["dog", "cat", "air_pump"]  # file order
    with pytest.raises(W2VError, match="choose from moves, pleasant"):
        t.rating("lives")
    target = human.load_target("things", tmp_path / "data")
    assert target.words == t.ids and target.source == f"THINGS (SPoSE 49-d, {folder.resolve()})"


def test_a_typed_data_folder_may_carry_spaces(tmp_path):
    folder = _write_tiny(tmp_path / "data" / "things")
    assert things.find(f"  {tmp_path / 'data'} ") == folder and things.available(f" {folder}\n")
    assert things.find("   ") is None and things.find(None) is None


def test_a_changed_user_folder_is_read_again(tmp_path):
    folder = _write_tiny(tmp_path / "things")
    assert things.load(tmp_path).spose[0, 0] == 0.5
    np.savetxt(folder / things.EMBEDDING_FILE, np.full((3, 2), 0.75))
    os.utime(folder / things.EMBEDDING_FILE, ns=(1, 1))  # a different stamp even within the clock's resolution
    assert things.load(tmp_path).spose[0, 0] == 0.75


def test_user_folder_without_categories_or_ratings_says_which_file_is_missing(tmp_path):
    folder = _write_tiny(tmp_path / "things")
    (folder / things.CATEGORIES_FILE).unlink()
    (folder / things.RATINGS_FILE).unlink()
    t = things.load(tmp_path)
    with pytest.raises(W2VError, match=f"no {things.CATEGORIES_FILE} in"):
        t.labels()
    with pytest.raises(W2VError, match=f"no {things.RATINGS_FILE} in"):
        values.load_things_ratings(tmp_path, "pleasant")
    with pytest.raises(W2VError, match="needs Categories_final_20200131.tsv and animacy.csv too"):
        build_things.build(tmp_path, tmp_path / "out.npz")


@pytest.mark.parametrize("damage, message", [
    (lambda f: (f / things.EMBEDDING_FILE).write_text("0.1 0.2\n0.3 0.4\n"), "must hold 3 finite rows"),
    (lambda f: (f / things.EMBEDDING_FILE).unlink(), "is missing"),
    (lambda f: (f / things.IDS_FILE).write_text("cat\ncat\ndog\n"), "lists a concept id twice"),
    (lambda f: (f / things.RATINGS_FILE).write_text('"uniqueID","pleasant_mean"\n"cow","1.0"\n'),
     "'cow' is not a concept id"),
    (lambda f: (f / things.RATINGS_FILE).write_text('"uniqueID","pleasant_mean"\n"cat","high"\n'),
     "no numeric pleasant_mean"),
    (lambda f: (f / things.CATEGORIES_FILE).write_text("Word\tDefinition\n"), "expected a header"),
])
def test_broken_user_files_are_refused_with_a_message(tmp_path, damage, message):
    folder = _write_tiny(tmp_path / "things")
    damage(folder)
    with pytest.raises(W2VError, match=message):
        things.load(tmp_path)


def test_builder_refuses_values_it_cannot_store_exactly(tmp_path):
    _write_tiny(tmp_path / "things", spose=np.array([[0.1, 0.0], [0.25, 1.0], [0.0, 2.0]]))  # 0.1 is no float32
    with pytest.raises(W2VError, match="not float32"):
        build_things.build(tmp_path, tmp_path / "out.npz")
    assert build_things.main([str(tmp_path / "nowhere")]) == 2


def test_a_rebuilt_tiny_resource_round_trips(tmp_path, monkeypatch):
    _write_tiny(tmp_path / "things")
    out = build_things.build(tmp_path, tmp_path / "tiny.npz")
    monkeypatch.setattr(things, "RESOURCE", out)
    packaged, original = things.load(None), things.load(tmp_path)
    assert packaged.packaged and packaged.ids == original.ids
    np.testing.assert_array_equal(packaged.spose, original.spose)
    assert packaged.ratings["pleasant"].tolist() == [6.5, 6.25, 3.1234]


def test_missing_resource_and_no_folder_says_what_to_do(tmp_path, monkeypatch, no_shared_data):
    monkeypatch.setattr(things, "RESOURCE", tmp_path / "gone.npz")
    assert not things.available(None)
    with pytest.raises(W2VError, match="packaged THINGS file .* is missing"):
        things.load(None)
    assert human.load_target("auto").kind == "pairs"  # the offline word-pair default


def test_attribution_names_the_sources_and_licences():
    for needed in ("CC BY 4.0", "CC0 1.0", "PLOS ONE", "Nature Human Behaviour", "eLife", "Hebart"):
        assert needed in things.ATTRIBUTION
