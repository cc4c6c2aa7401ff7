"""Artist names as csv files, folders and file names spell them."""
from __future__ import annotations

import re
import unicodedata
from pathlib import Path


def normalise_name(name: str) -> str:
    """Key that joins csv names, folder names and file-name prefixes of one artist.

    "Albrecht Dürer", "Albrecht_Durer", "Albrecht_Dürer" (NFC or NFD) and the
    mis-encoded "Albrecht_Du╠êrer" of the real download all give "albrecht durer".
    """
    try:  # UTF-8 bytes that were decoded as code page 437 (zip archives made on Windows)
        name = name.encode("cp437").decode("utf-8")
    except (UnicodeEncodeError, UnicodeDecodeError):
        pass
    decomposed = unicodedata.normalize("NFKD", name)
    stripped = "".join(c for c in decomposed if not unicodedata.combining(c))
    return re.sub(r"[\s_]+", " ", stripped).strip().casefold()


def label_from_filename(path: str | Path) -> str:
    """The original project's ``get_label``: "Claude_Monet_12.jpg" -> "Claude_Monet"."""
    return "_".join(Path(path).stem.split("_")[:-1])


def died(years: str) -> int | None:
    """The year of death in an artists.csv ``years`` cell such as "1840 - 1926"."""
    found = re.findall(r"\d{3,4}", str(years))
    return int(found[-1]) if len(found) >= 2 else None
