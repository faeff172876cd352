"""Pretrained embeddings (GloVe, word2vec, fastText, gensim KeyedVectors) as read-only entries of the run store.

base.py          `Embedding` (words + float32 matrix), the formats and encodings accepted
read.py          `read_embedding`, `detect_format`: text and binary readers, streamed, bad lines named
keyedvectors.py  gensim `KeyedVectors.save` pickles (gensim imported only there)
store.py         `import_embedding`: a file -> an entry beside the trained runs
See docs/IMPORT.md.
"""
from .base import ENCODINGS, FORMATS, Embedding
from .read import detect_format, read_embedding
from .store import import_embedding

__all__ = ["ENCODINGS", "FORMATS", "Embedding", "detect_format", "import_embedding", "read_embedding"]
