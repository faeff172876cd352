"""gensim's own files (`KeyedVectors.save`, and a full `Word2Vec`/`FastText` model's word vectors).

These are pickles, read with gensim (imported here only: it takes a second or two). Unpickling
runs code from the file, so only open files you trust, as with any gensim model. Large arrays
saved beside the pickle (`NAME.vectors.npy`) are memory-mapped, so only the kept rows are copied.
"""
from __future__ import annotations

import pickle
from pathlib import Path

import numpy as np

from ..errors import NotInstalled, W2VError
from .base import Embedding, Progress, first_nonfinite_row


def read_keyedvectors(path: Path, limit: int | None, progress: Progress) -> Embedding:
    try:
        from gensim.models import KeyedVectors
        from gensim.utils import SaveLoad
    except ImportError:
        raise NotInstalled("gensim", "reading gensim KeyedVectors files") from None
    try:
        obj = SaveLoad.load(str(path), mmap="r")
    except FileNotFoundError as e:
        raise W2VError(f"{path} needs the file {Path(e.filename or '').name or 'saved beside it'}, which gensim "
                       "wrote next to it (large arrays are saved separately); put it in the same folder") from None
    except (pickle.UnpicklingError, EOFError, AttributeError, ImportError, ValueError, TypeError) as e:
        raise W2VError(f"{path} is not a gensim KeyedVectors file that this gensim can read "
                       f"({type(e).__name__}: {str(e)[:120]})") from None
    notes = []
    if not isinstance(obj, KeyedVectors):
        if not isinstance(getattr(obj, "wv", None), KeyedVectors):
            raise W2VError(f"{path} holds a gensim {type(obj).__name__}, not word vectors; save its vectors with "
                           "model.wv.save(...) or model.wv.save_word2vec_format(...) and import that")
        notes.append(f"{path.name} is a full gensim {type(obj).__name__} model; its word vectors (.wv) were imported")
        obj = obj.wv
    n = min(len(obj.index_to_key), limit or len(obj.index_to_key))
    if n == 0 or obj.vectors.ndim != 2:
        raise W2VError(f"{path} holds no word vectors")
    words = [str(w) for w in obj.index_to_key[:n]]
    vectors = np.array(obj.vectors[:n], dtype=np.float32)
    i = first_nonfinite_row(vectors)
    if i is not None:
        raise W2VError(f"{path}: the vector of {words[i]!r} (word {i + 1:,}) holds NaN or infinite values")
    progress(1.0)
    return Embedding(words, vectors, "keyedvectors", "utf-8", len(obj.index_to_key), notes)
