"""Rebuild `things.npz` from the original THINGS files: `python -m w2vcore.resources.build_things <folder>`.

`<folder>` holds unique_id.txt, spose_embedding_49d_sorted.txt, Categories_final_20200131.tsv
and animacy.csv (or has them in a things/ subfolder). The output is byte-for-byte
deterministic: the zip entries carry a fixed date, so the same inputs give the same file.
"""
from __future__ import annotations

import argparse
import sys
import zipfile
from pathlib import Path

import numpy as np

from .. import things
from ..errors import W2VError

FIXED_DATE = (1980, 1, 1, 0, 0, 0)  # the earliest a zip entry can carry


def build(folder: str | Path, out: str | Path = things.RESOURCE) -> Path:
    """Read the THINGS files in `folder`, check they are complete, write the compact copy to `out`."""
    found = things.find(folder)
    if found is None:
        raise W2VError(f"no THINGS files in {folder}: expected {things.IDS_FILE} there or in its things/ subfolder")
    data = things.read_folder(found)
    if data.categories is None or not data.ratings:
        raise W2VError(f"{found} needs {things.CATEGORIES_FILE} and {things.RATINGS_FILE} too")
    out = Path(out)
    write_npz(out, things.to_arrays(data))
    return out


def write_npz(path: Path, arrays: dict[str, np.ndarray]) -> None:
    """What `np.savez_compressed` writes, with fixed entry dates and order: reproducible bytes."""
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(f".{path.name}.tmp")
    with zipfile.ZipFile(tmp, "w") as zf:
        for name in sorted(arrays):
            info = zipfile.ZipInfo(f"{name}.npy", date_time=FIXED_DATE)
            info.compress_type = zipfile.ZIP_DEFLATED
            with zf.open(info, "w") as f:
                np.lib.format.write_array(f, np.ascontiguousarray(arrays[name]), allow_pickle=False)
    tmp.replace(path)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m w2vcore.resources.build_things", description=__doc__.split("\n")[0])
    parser.add_argument("folder", help="the folder with the original THINGS files (or a things/ subfolder)")
    parser.add_argument("--out", default=str(things.RESOURCE), help="where to write (default: the packaged file)")
    args = parser.parse_args(argv)
    try:
        out = build(args.folder, args.out)
    except W2VError as e:
        print(f"error: {e}", file=sys.stderr)
        return 2
    print(f"wrote {out} ({out.stat().st_size:,} bytes)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
