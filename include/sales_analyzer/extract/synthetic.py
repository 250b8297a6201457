"""Seeded synthetic copy of Kaggle's Superstore train.csv (rohitsahoo/sales-forecasting), quirks included.

Quirks in the real file's proportions: ZIP codes that start with 0 written without it (4
digits, six states), Burlington VT without one, three customers in 793 with a lower-case id
letter; with `damaged`, the broken lines of copies found online, each listed in the result.
The file is written in chunks of whole orders with numpy, so 100M rows take bounded memory.
Run `python -m include.sales_analyzer.extract.synthetic OUT.csv --rows N --seed S [--damaged]`.
"""

from __future__ import annotations

import argparse
import sys
import time
from collections.abc import Iterable, Sequence
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass, field
from datetime import date, timedelta
from pathlib import Path
from typing import BinaryIO, Self

import numpy as np

HEADER = (
    "Row ID",
    "Order ID",
    "Order Date",
    "Ship Date",
    "Ship Mode",
    "Customer ID",
    "Customer Name",
    "Segment",
    "Country",
    "City",
    "State",
    "Postal Code",
    "Region",
    "Product ID",
    "Category",
    "Sub-Category",
    "Product Name",
    "Sales",
)
DEFAULT_ROWS = 9800
DEFAULT_SEED = 42
DEFAULT_START = date(2015, 1, 3)
DEFAULT_END = date(2018, 12, 30)
DATE_FORMAT = "%d/%m/%Y"
# A damaged file (saved from a spreadsheet) carries three empty columns after Sales.
TRAILING_EMPTY_COLUMNS = 3
MIN_DAMAGED_ROWS = 100
# Lines per chunk, a power of ten so the Row IDs of a chunk share their leading digits.
CHUNK_ROWS = 100_000
MAX_LINES_PER_ORDER = 14
MAX_QUANTITY = 14
# Ship Date is 0..7 days after Order Date.
MAX_SHIP_DAYS = 8

COUNTRY = "United States"
CATEGORY_CODES = {"Furniture": "FUR", "Office Supplies": "OFF", "Technology": "TEC"}
SHIP_MODES = ("Standard Class", "Second Class", "First Class", "Same Day")
SHIP_MODE_P = (0.597, 0.195, 0.153, 0.055)
# Days from order to shipment per ship mode: (fewest days, number of possible values).
SHIP_DELAYS = ((4, 4), (2, 4), (1, 3), (0, 1))
SEGMENTS = ("Consumer", "Corporate", "Home Office")
SEGMENT_P = (0.52, 0.30, 0.18)
# Orders per day by month: slow January/February, busy September and a Nov/Dec peak.
MONTH_WEIGHTS = (0.45, 0.35, 0.85, 0.75, 0.85, 0.80, 0.75, 0.80, 1.55, 0.90, 1.70, 1.60)
YEARLY_GROWTH = 1.2
DISCOUNT_PCT = (0, 10, 15, 20, 30, 40, 45, 50, 60, 70, 80)
DISCOUNT_P = (0.48, 0.02, 0.01, 0.37, 0.03, 0.03, 0.01, 0.01, 0.01, 0.02, 0.01)
CUSTOMERS_PER_ROW = 793 / 9800
# Three customers of 793 have an id with a lower-case second letter (`Dp-13240`, name
# `Dean percer`); their orders hold 43 rows of 9,800.
ODD_CASE_CUSTOMERS = 3 / 793
ODD_CASE_ROWS = 43 / 9800
PRODUCTS = 1861
ROWS_WITH_NBSP = 220 / 9800
NBSP = "\u00a0"
# Order numbers are a bijection of a per (prefix, year) counter: unique up to 900,000 orders
# per prefix and year, yet not sequential-looking.
ORDER_NUMBER_MULTIPLIER = 104_729
ORDER_PREFIXES = ("CA", "US")
ORDER_PREFIX_P = (0.8, 0.2)
# Every thousandth order repeats its first line: lines identical but for Row ID.
DUPLICATE_EVERY = 1000
DUPLICATE_AT = 7

# (category, sub-category, code, rows in the real file, price range in $, brands, items)
SubCategory = tuple[str, str, str, int, float, float, tuple[str, ...], tuple[str, ...]]
SUB_CATEGORIES: tuple[SubCategory, ...] = (
    ("Furniture", "Bookcases", "BO", 226, 40, 1100,
     ("Bush", "Sauder", "O'Sullivan", "Atlantic", "Hon", "Safco"),
     ("Somerset Collection Bookcase", "Classic Cherry Bookcase", "5-Shelf Bookcase",
      "Stackable Bookrack", "Library with Doors", "Heavy-Duty Steel Bookcase")),
    ("Furniture", "Chairs", "CH", 607, 40, 1200,
     ("Hon", "Global", "Office Star", "Novimex", "Harbour Creations", "SAFCO", "Bevis"),
     ("Deluxe Fabric Upholstered Stacking Chairs", "Executive Leather Armchair",
      "Ergonomic Mesh Task Chair", "Bentwood Guest Chair", "Big & Tall Swivel Chair")),
    ("Furniture", "Furnishings", "FU", 931, 2, 300,
     ("Eldon", "Howard Miller", "Tenex", "Advantus", "Deflect-o", "Seth Thomas", "DAX"),
     ("Wall Clock", "Chairmat for Carpets", "Picture Frame", "Desk Accessories",
      "Document Frame", "Cubicle Wall Art")),
    ("Furniture", "Tables", "TA", 314, 60, 1300,
     ("Bretford", "Chromcraft", "Hon", "Barricks", "Bevis", "KI", "Lesro"),
     ("Rectangular Conference Table", "Round Table", "Training Table", "Utility Table",
      "Computer Desk", "Folding Table")),
    ("Office Supplies", "Appliances", "AP", 459, 8, 900,
     ("Holmes", "Hoover", "Fellowes", "Kensington", "Belkin", "Honeywell", "Eureka"),
     ("Surge Protector", "HEPA Air Cleaner", "Upright Vacuum", "Space Heater",
      "Microwave Oven", "Refrigerator", "Power Strip")),
    ("Office Supplies", "Art", "AR", 785, 1, 60,
     ("Newell", "Sanford", "BIC", "Dixon", "Prismacolor", "Staedtler", "Boston"),
     ("Highlighters", "Colored Pencils", "Pencil Sharpener", "Markers", "Fine Point Pens")),
    ("Office Supplies", "Binders", "BI", 1492, 1, 250,
     ("Avery", "Wilson Jones", "Cardinal", "GBC", "Acco", "Ibico", "Fellowes"),
     ("Durable Slant Ring Binders", "Binding Covers", "Presentation Binder",
      "Round Ring Binders", "Comb Binding Machine", "Clear View Binder")),
    ("Office Supplies", "Envelopes", "EN", 248, 3, 60,
     ("Ames", "Quality Park", "Tyvek", "Globe-Weis", "Jiffy"),
     ("Security-Tint Envelopes", "Catalog Envelopes", "Clasp Envelopes",
      "Peel & Seel Envelopes", "Padded Mailers")),
    ("Office Supplies", "Fasteners", "FA", 214, 1, 25,
     ("Acco", "Advantus", "Alliance", "OIC", "Staples"),
     ("Push Pins", "Binder Clips", "Rubber Bands", "Paper Clips", "Thumb Tacks")),
    ("Office Supplies", "Labels", "LA", 357, 2, 40,
     ("Avery", "Smead", "Dymo", "Brother"),
     ("Address Labels", "File Folder Labels", "Round Labels", "Removable Labels",
      "Shipping Labels")),
    ("Office Supplies", "Paper", "PA", 1338, 3, 40,
     ("Xerox", "Hammermill", "Southworth", "Easy-staple", "Ampad", "Great White", "TOPS"),
     ("Copy Paper", "Message Book", "Recycled Paper", "Laser Paper", "Memo Pads", "Cardstock")),
    ("Office Supplies", "Storage", "ST", 832, 5, 500,
     ("Fellowes", "Eldon", "Tennsco", "Sterilite", "Safco", "Iris", "Rogers"),
     ("Bankers Box Storage", "Stackable Trays", "File Cart", "Steel Shelving",
      "Storage Crate", "Hanging File Box")),
    ("Office Supplies", "Supplies", "SU", 184, 2, 200,
     ("Acme", "Fiskars", "Martin-Yale", "Premier"),
     ("Scissors", "Paper Trimmer", "Letter Opener", "Stapler", "Ruler", "Box Cutter")),
    ("Technology", "Accessories", "AC", 756, 5, 400,
     ("Logitech", "Kingston", "Memorex", "Plantronics", "Microsoft", "SanDisk", "Imation"),
     ("Wireless Mouse", "USB Flash Drive", "Keyboard", "Headset", "Webcam", "Speakers",
      "Color Monitor")),
    ("Technology", "Copiers", "CO", 66, 300, 3500,
     ("Canon", "Hewlett Packard", "Sharp", "Brother"),
     ("Imageclass Copier", "Laser Copier", "Wireless Color Copier", "Digital Copier")),
    ("Technology", "Machines", "MA", 115, 60, 3500,
     ("Okidata", "Zebra", "Cubify", "Lexmark", "StarTech", "Epson", "Cisco"),
     ("Dot Matrix Printer", "Label Printer", "3D Printer", "Inkjet Printer",
      "Receipt Printer", "Network Switch")),
    ("Technology", "Phones", "PH", 876, 10, 1000,
     ("Apple", "Samsung", "Motorola", "Nokia", "Polycom", "Cisco", "Panasonic", "AT&T"),
     ("Smart Phone", "Cordless Phone", "Conference Phone", "IP Phone", "Phone Charger")),
)  # fmt: skip
COMMA_SUFFIXES = (
    ", Black", ", Assorted Colors", ", Rounded Back", ", Letter Size", ", 8 1/2 x 11",
    ", Pack of 12", ", Walnut Finish", ", Gray", ", 2/Pack", ", Recycled",
)  # fmt: skip
INCH_SIZES = ('11"', '13-3/4"', '17"', '24"', '36"', '48"', '60"')
# Two real names, so every catalog holds a quoted comma and a doubled quote.
FIXED_PRODUCTS = {
    "Chairs": "Hon Deluxe Fabric Upholstered Stacking Chairs, Rounded Back",
    "Furnishings": 'Howard Miller 13-3/4" Diameter Brushed Chrome Round Wall Clock',
}

FIRST_NAMES = (
    "Aaron", "Adam", "Alan", "Alice", "Andrew", "Anna", "Barry", "Beth", "Brian", "Carl",
    "Chris", "Claire", "Dan", "Darren", "Dean", "Denise", "Eric", "Erin", "Frank", "Fred",
    "Gary", "Greg", "Hannah", "Harry", "Helen", "Irene", "Jack", "Jane", "Jason", "Joel",
    "Karen", "Ken", "Laura", "Lena", "Linda", "Mark", "Maria", "Matt", "Nancy", "Neil",
    "Olivia", "Pauline", "Pete", "Quincy", "Rachel", "Rick", "Sally", "Sam", "Sean",
    "Steve", "Tamara", "Tom", "Tracy", "Valerie", "Victor", "Wendy", "Xylona", "Yana",
    "Zuschuss",
)  # fmt: skip
LAST_NAMES = (
    "Allen", "Baker", "Bell", "Brooks", "Campbell", "Carter", "Collins", "Cook", "Davis",
    "Dunn", "Edwards", "Evans", "Fisher", "Foster", "Garcia", "Gibson", "Gray", "Hall",
    "Harris", "Hayes", "Hughes", "Jensen", "Johnson", "Kelly", "King", "Knight", "Lee",
    "Lewis", "Martin", "Miller", "Moore", "Murphy", "Nelson", "O'Brien", "O'Neal", "Owens",
    "Parker", "Perry", "Price", "Quinn", "Reed", "Roberts", "Ross", "Sanders", "Scott",
    "Shaw", "Smith", "Stewart", "Taylor", "Turner", "Underwood", "Vance", "Walker",
    "Ward", "Watson", "White", "Young", "Zandusky",
)  # fmt: skip

STATE_REGIONS = {
    **dict.fromkeys(
        ("California", "Washington", "Oregon", "Arizona", "Colorado", "Nevada", "Utah",
         "New Mexico", "Idaho", "Montana", "Wyoming"), "West"),
    **dict.fromkeys(
        ("New York", "Pennsylvania", "Ohio", "New Jersey", "Massachusetts", "Connecticut",
         "Rhode Island", "New Hampshire", "Vermont", "Maine", "Delaware", "Maryland",
         "District of Columbia", "West Virginia"), "East"),
    **dict.fromkeys(
        ("Texas", "Illinois", "Michigan", "Indiana", "Wisconsin", "Minnesota", "Missouri",
         "Iowa", "Nebraska", "Kansas", "Oklahoma", "South Dakota", "North Dakota"), "Central"),
    **dict.fromkeys(
        ("Florida", "North Carolina", "Virginia", "Georgia", "Tennessee", "Kentucky",
         "Alabama", "South Carolina", "Arkansas", "Louisiana", "Mississippi"), "South"),
}  # fmt: skip
# (city, state, postal code, rows per 9,800): real US places, the ZIP codes as they really are.
LOCATIONS = (
    ("New York City", "New York", "10024", 429), ("New York City", "New York", "10035", 358),
    ("New York City", "New York", "10011", 286), ("New York City", "New York", "10009", 200),
    ("Los Angeles", "California", "90036", 358), ("Los Angeles", "California", "90049", 286),
    ("Los Angeles", "California", "90032", 215), ("Los Angeles", "California", "90045", 183),
    ("Philadelphia", "Pennsylvania", "19140", 315), ("Philadelphia", "Pennsylvania", "19143", 258),
    ("Philadelphia", "Pennsylvania", "19134", 189), ("San Francisco", "California", "94110", 286),
    ("San Francisco", "California", "94122", 243), ("San Francisco", "California", "94109", 186),
    ("Seattle", "Washington", "98105", 229), ("Seattle", "Washington", "98103", 215),
    ("Seattle", "Washington", "98115", 166), ("Houston", "Texas", "77095", 186),
    ("Houston", "Texas", "77041", 143), ("Houston", "Texas", "77036", 114),
    ("Houston", "Texas", "77070", 92), ("Chicago", "Illinois", "60623", 172),
    ("Chicago", "Illinois", "60653", 143), ("Chicago", "Illinois", "60610", 126),
    ("Columbus", "Ohio", "43229", 229), ("Columbus", "Georgia", "31907", 86),
    ("San Diego", "California", "92105", 129), ("San Diego", "California", "92037", 114),
    ("Springfield", "Virginia", "22153", 86), ("Springfield", "Missouri", "65807", 73),
    ("Dallas", "Texas", "75220", 129), ("Dallas", "Texas", "75217", 94),
    ("Jacksonville", "Florida", "32216", 179), ("Detroit", "Michigan", "48205", 86),
    ("Detroit", "Michigan", "48227", 79), ("Newark", "Delaware", "19711", 66),
    ("Newark", "Ohio", "43055", 66), ("Jackson", "Mississippi", "39212", 64),
    ("Jackson", "Michigan", "49201", 53), ("Columbia", "South Carolina", "29203", 116),
    ("Richmond", "Virginia", "23223", 116), ("Aurora", "Colorado", "80013", 57),
    ("Aurora", "Illinois", "60505", 40), ("Phoenix", "Arizona", "85023", 90),
    ("Long Beach", "California", "90805", 64), ("Long Beach", "New York", "11561", 23),
    ("Arlington", "Texas", "76017", 50), ("Arlington", "Virginia", "22204", 36),
    ("San Antonio", "Texas", "78207", 84), ("Miami", "Florida", "33142", 80),
    ("Louisville", "Kentucky", "40214", 77), ("Rochester", "New York", "14609", 76),
    ("Charlotte", "North Carolina", "28205", 73), ("Henderson", "Kentucky", "42420", 43),
    ("Henderson", "Nevada", "89015", 30), ("Lakewood", "Ohio", "44107", 34),
    ("Fairfield", "California", "94533", 29), ("Milwaukee", "Wisconsin", "53209", 64),
    ("Fort Lauderdale", "Florida", "33311", 43), ("Concord", "North Carolina", "28027", 29),
    ("Fort Worth", "Texas", "76106", 56), ("Madison", "Wisconsin", "53711", 50),
    ("West Jordan", "Utah", "84084", 17), ("Orem", "Utah", "84057", 21),
    ("Naperville", "Illinois", "60540", 26), ("Eagan", "Minnesota", "55122", 11),
    ("Dover", "Delaware", "19901", 29), ("Troy", "New York", "12180", 36),
    ("Gilbert", "Arizona", "85234", 29), ("Memphis", "Tennessee", "38109", 57),
    ("Decatur", "Alabama", "35601", 29), ("Durham", "North Carolina", "27707", 29),
    ("Minneapolis", "Minnesota", "55407", 43), ("Portland", "Oregon", "97206", 57),
    ("Denver", "Colorado", "80219", 57), ("Atlanta", "Georgia", "30318", 56),
    ("Tampa", "Florida", "33614", 43), ("Las Vegas", "Nevada", "89115", 43),
    ("Tucson", "Arizona", "85705", 43), ("Austin", "Texas", "78745", 43),
    ("New Orleans", "Louisiana", "70119", 43), ("Burlington", "North Carolina", "27217", 21),
    ("Burlington", "Iowa", "52601", 11), ("Wilmington", "Delaware", "19805", 43),
    ("Baltimore", "Maryland", "21215", 29), ("Washington", "District of Columbia", "20016", 14),
    ("Omaha", "Nebraska", "68104", 21), ("Wichita", "Kansas", "67212", 21),
    ("Oklahoma City", "Oklahoma", "73120", 29), ("Sioux Falls", "South Dakota", "57103", 14),
    ("Fargo", "North Dakota", "58103", 11), ("Des Moines", "Iowa", "50315", 14),
    ("Indianapolis", "Indiana", "46203", 29), ("Little Rock", "Arkansas", "72209", 21),
    ("Birmingham", "Alabama", "35244", 14), ("Nashville", "Tennessee", "37211", 29),
    ("Boise", "Idaho", "83704", 11), ("Helena", "Montana", "59601", 7),
    ("Cheyenne", "Wyoming", "82001", 4), ("Albuquerque", "New Mexico", "87105", 14),
    ("Charleston", "West Virginia", "25314", 6), ("Salt Lake City", "Utah", "84106", 14),
    # Every ZIP code of these six states starts with 0, which the real file lost (4-digit
    # codes): Massachusetts 135, New Jersey 122, Connecticut 82, Rhode Island 55, New
    # Hampshire 27 and Maine 8 rows of 9,800.
    ("Springfield", "Massachusetts", "01109", 50), ("Lawrence", "Massachusetts", "01841", 25),
    ("Lowell", "Massachusetts", "01852", 20), ("Cambridge", "Massachusetts", "02138", 20),
    ("Quincy", "Massachusetts", "02169", 20), ("Lakewood", "New Jersey", "08701", 40),
    ("Morristown", "New Jersey", "07960", 25), ("Paterson", "New Jersey", "07501", 22),
    ("Hackensack", "New Jersey", "07601", 20), ("Jersey City", "New Jersey", "07305", 15),
    ("Fairfield", "Connecticut", "06824", 30), ("Bristol", "Connecticut", "06010", 20),
    ("Hamden", "Connecticut", "06518", 17), ("Middletown", "Connecticut", "06457", 15),
    ("Providence", "Rhode Island", "02908", 40), ("Warwick", "Rhode Island", "02886", 15),
    ("Manchester", "New Hampshire", "03103", 20), ("Dover", "New Hampshire", "03820", 7),
    ("Portland", "Maine", "04101", 8),
    # Burlington, Vermont: the real file's 11 rows without a postal code.
    ("Burlington", "Vermont", "", 11),
)  # fmt: skip


# What each injected kind is: blank lines (empty or commas only)
# are not records; a record whose 18 named fields are all there is a real sale however many
# empty fields trail it; every other injected line cannot be used and is quarantined.
NOT_RECORD_KINDS = frozenset({"blank_line"})
KEPT_RECORD_KINDS = frozenset({"fewer_trailing_fields"})


@dataclass(frozen=True)
class InjectedQuirk:
    """One damaged line: its 1-based physical line number (header = 1) and its kind."""

    line_number: int
    kind: str
    row_id: int | None
    text: str

    @property
    def is_blank(self) -> bool:
        """Not a record: an empty line or one of nothing but commas."""
        return self.kind in NOT_RECORD_KINDS

    @property
    def is_kept(self) -> bool:
        """A whole record despite the quirk: it belongs in silver."""
        return self.kind in KEPT_RECORD_KINDS

    @property
    def is_quarantined(self) -> bool:
        """A line a correct pipeline quarantines (a broken record, a junk line, a duplicate)."""
        return not (self.is_blank or self.is_kept)


@dataclass(frozen=True)
class GeneratedFile:
    """What generate_sales_csv wrote.

    `data_rows` counts the lines that hold a record, usable or not: every Row ID 1..rows
    once, plus the damaged file's duplicate Row ID line. `injected` lists every line of a
    damaged file that is not a plain record; the other lines are the header and records.
    """

    path: Path
    data_rows: int
    total_lines: int
    size_bytes: int
    seed: int
    damaged: bool
    trailing_empty_columns: int
    injected: list[InjectedQuirk] = field(default_factory=list)

    def lines_of_kind(self, kind: str) -> list[int]:
        """Physical line numbers of the injected quirks of one kind."""
        return [q.line_number for q in self.injected if q.kind == kind]

    @property
    def blank_lines(self) -> list[int]:
        """Line numbers of the lines that are not records (empty or commas only)."""
        return [q.line_number for q in self.injected if q.is_blank]

    @property
    def quarantined(self) -> list[InjectedQuirk]:
        """The injected lines a correct pipeline quarantines."""
        return [q for q in self.injected if q.is_quarantined]

    @property
    def silver_rows(self) -> int:
        """Records a correct pipeline keeps: all lines but the header, blanks and quarantine."""
        return self.total_lines - 1 - len(self.blank_lines) - len(self.quarantined)


def quote_field(value: str) -> str:
    """A CSV field: quoted, with quotes doubled, only when it holds a comma or a quote."""
    if "," in value or '"' in value or "\n" in value or "\r" in value:
        return '"' + value.replace('"', '""') + '"'
    return value


def csv_line(fields: Sequence[str]) -> str:
    """One CSV line (no line end) from raw field values."""
    return ",".join(quote_field(f) for f in fields)


class _Catalog:
    """Every lookup table of one seed: products, customers, places, dates, amounts, as bytes."""

    def __init__(self, rows: int, seed: int, start: date, end: date, line_end: str) -> None:
        rng = np.random.default_rng([seed, 0])
        self.line_end = line_end
        self._products(rng)
        self._customers(rng, rows)
        self._locations()
        self._calendar(rng, start, end)
        self._amounts(rows)

    def _products(self, rng: np.random.Generator) -> None:
        total_rows = sum(s[3] for s in SUB_CATEGORIES)
        fields: list[tuple[str, str, str, str]] = []
        prices: list[int] = []
        for category, sub, code, real_rows, low, high, brands, items in SUB_CATEGORIES:
            count = max(2, round(PRODUCTS * real_rows / total_rows))
            numbers = 10_000_000 + rng.choice(5_000, size=count, replace=False)
            cents = np.exp(rng.uniform(np.log(low * 100), np.log(high * 100), size=count))
            prices.extend(int(c) for c in np.maximum(cents, 99))
            for k, number in enumerate(numbers.tolist()):
                name = FIXED_PRODUCTS.get(sub) if k == 0 else None
                if name is None:
                    name = self._product_name(rng, brands, items)
                product_id = f"{CATEGORY_CODES[category]}-{code}-{number}"
                fields.append((product_id, category, sub, name))
        nbsp = rng.random(len(fields)) < ROWS_WITH_NBSP
        nbsp[rng.integers(len(fields))] = True
        self.product_fields = [
            (pid, cat, sub, name.replace(" ", NBSP, 1) if has_nbsp else name)
            for (pid, cat, sub, name), has_nbsp in zip(fields, nbsp.tolist(), strict=True)
        ]
        self.product_piece = _bytes_table(f",{csv_line(p)}," for p in self.product_fields)
        self.price_cents = np.array(prices, dtype=np.int64)
        # Names that only a comma makes special: the damaged file drops their quotes.
        self.comma_products = [
            i for i, f in enumerate(self.product_fields) if "," in f[3] and '"' not in f[3]
        ]
        self.plain_products = [
            i for i, f in enumerate(self.product_fields) if "," not in f[3] and '"' not in f[3]
        ]

    @staticmethod
    def _product_name(rng: np.random.Generator, brands: Sequence[str], items: Sequence[str]) -> str:
        brand = brands[rng.integers(len(brands))]
        item = items[rng.integers(len(items))]
        shape = rng.random()
        if shape < 0.04:
            name = f"{brand} {INCH_SIZES[rng.integers(len(INCH_SIZES))]} {item}"
        elif shape < 0.55:
            letters = "".join(chr(65 + c) for c in rng.integers(0, 26, size=rng.integers(1, 4)))
            name = f"{brand} {letters}{rng.integers(10, 9999)} {item}"
        else:
            name = f"{brand} {item}"
        if rng.random() < 0.12:
            name += COMMA_SUFFIXES[rng.integers(len(COMMA_SUFFIXES))]
        return name

    def _customers(self, rng: np.random.Generator, rows: int) -> None:
        count = int(min(max(793, rows * CUSTOMERS_PER_ROW), 89_000))
        space = 20_000 if count <= 10_000 else 90_000
        numbers = 10_000 + rng.choice(space, size=count, replace=False)
        firsts = rng.integers(len(FIRST_NAMES), size=count).tolist()
        lasts = rng.integers(len(LAST_NAMES), size=count).tolist()
        segments = rng.choice(len(SEGMENTS), size=count, p=SEGMENT_P).tolist()
        # A block of neighbours (the allocation keeps a block's share whole) is written odd.
        odd_count = max(1, round(count * ODD_CASE_CUSTOMERS))
        odd_first = int(rng.integers(count - odd_count + 1))
        self.odd_case = range(odd_first, odd_first + odd_count)
        self.customer_fields = []
        for k, (number, f, last, s) in enumerate(zip(numbers.tolist(), firsts, lasts, segments, strict=True)):
            first, family = FIRST_NAMES[f], LAST_NAMES[last]
            if k in self.odd_case:
                family = family[0].lower() + family[1:]
            customer_id = f"{first[0]}{family[0]}-{number}"
            self.customer_fields.append((customer_id, f"{first} {family}", SEGMENTS[s]))
        # Names and ids never need quoting.
        self.customer_text = _bytes_table(f"{i},{n},{s},{COUNTRY}," for i, n, s in self.customer_fields)
        # Some customers order far more often than others; the odd-case ones share their
        # rows evenly, so none of them is left without an order.
        weights = rng.gamma(1.5, size=count)
        others = weights.sum() - weights[self.odd_case].sum()
        weights[self.odd_case] = others * ODD_CASE_ROWS / (1 - ODD_CASE_ROWS) / odd_count
        self.customer_cdf = np.cumsum(weights) / weights.sum()

    def _locations(self) -> None:
        # By state, so the allocation gives each state its share of rows whole.
        places = sorted(LOCATIONS, key=lambda loc: loc[1])
        # The ZIP code as a spreadsheet that read it as a number wrote it back: 06824 -> 6824.
        self.location_fields = [
            (city, state, str(int(postal)) if postal else "", STATE_REGIONS[state])
            for city, state, postal, _ in places
        ]
        self.location_text = _bytes_table(csv_line(loc) + "\n" for loc in self.location_fields)
        weights = np.array([w for *_, w in places], dtype=np.float64)
        self.location_cdf = np.cumsum(weights) / weights.sum()
        self.mode_text = _bytes_table(m + "," for m in SHIP_MODES)

    def _calendar(self, rng: np.random.Generator, start: date, end: date) -> None:
        self.order_days = (end - start).days + 1
        days = [start + timedelta(days=i) for i in range(self.order_days + MAX_SHIP_DAYS)]
        self.date_text = [d.strftime(DATE_FORMAT) for d in days]
        self.day_year_index = np.array([d.year - start.year for d in days], dtype=np.int64)
        # ",<order date>,<ship date>," for every order day and delay in days.
        self.date_pair_text = _bytes_table(
            f",{self.date_text[d]},{self.date_text[d + s]},"
            for d in range(self.order_days)
            for s in range(MAX_SHIP_DAYS)
        )
        weights = np.array(
            [
                MONTH_WEIGHTS[d.month - 1] * YEARLY_GROWTH ** (d.year - start.year)
                for d in days[: self.order_days]
            ]
        )
        self.day_cdf = np.cumsum(weights) / weights.sum()
        years = end.year - start.year + 1
        self.order_id_prefixes = [f"{p}-{start.year + y}-" for p in ORDER_PREFIXES for y in range(years)]
        # ",CA-2017-152" for every prefix, year and first three digits; then "156".
        self.order_id_head_text = _bytes_table(
            f",{p}{hi}" for p in self.order_id_prefixes for hi in range(100, 1000)
        )
        self.three_digits = _bytes_table(f"{lo:03d}" for lo in range(1000))
        self.order_number_offsets = rng.integers(0, 900_000, size=len(self.order_id_prefixes))
        self.orders_per_bucket = np.zeros(len(self.order_id_prefixes), dtype=np.int64)

    def _amounts(self, rows: int) -> None:
        # Sales in 1/10,000 dollars: price in cents x quantity x (100 - discount %), exact.
        quantity = np.arange(1, MAX_QUANTITY + 1)
        keep = 100 - np.array(DISCOUNT_PCT)
        grid = self.price_cents[:, None, None] * quantity[None, :, None] * keep[None, None, :]
        self.amount_cents4 = grid.ravel()
        self.amounts_per_product = len(quantity) * len(keep)
        # Big files format every amount once; small ones only the amounts they use.
        self.tail_table = (
            self.tail_text(np.arange(len(self.amount_cents4)))
            if rows > len(self.amount_cents4) // 2
            else None
        )

    def sales_text(self, amount: int) -> str:
        """The Sales field of one amount index."""
        # repr of a float is its shortest round-trip text: 957.5775, 22.368, 48.86 (< 2**53).
        return repr(int(self.amount_cents4[amount]) / 10_000)

    def tail_text(self, amounts: np.ndarray) -> np.ndarray:
        """Line ends: ,<Product ID>,<Category>,<Sub-Category>,<Product Name>,<Sales><EOL>."""
        sales = "\n".join(map(repr, (self.amount_cents4[amounts] / 10_000).tolist()))
        pieces = [(self.line_end + "\0").encode()] * (3 * len(amounts))
        pieces[0::3] = self.product_piece[amounts // self.amounts_per_product].tolist()
        pieces[1::3] = sales.encode().split(b"\n")
        return np.array(b"".join(pieces).split(b"\0")[:-1], dtype=object)

    def tails(self, amounts: np.ndarray) -> list[bytes]:
        """Line tails for a chunk's amount indices."""
        if self.tail_table is not None:
            return self.tail_table[amounts].tolist()
        unique, inverse = np.unique(amounts, return_inverse=True)
        return self.tail_text(unique)[inverse].tolist()


def _bytes_table(texts: Iterable[str]) -> np.ndarray:
    """An object array of UTF-8 encoded texts, for fast take()."""
    return np.array([t.encode() for t in texts] or [b""], dtype=object)


def _pick(cdf: np.ndarray, rng: np.random.Generator, size: int) -> np.ndarray:
    """Indices drawn with the probabilities whose cumulative sum is `cdf`."""
    return np.minimum(np.searchsorted(cdf, rng.random(size), side="right"), len(cdf) - 1)


def _allocate(cdf: np.ndarray, rng: np.random.Generator, counts: np.ndarray) -> np.ndarray:
    """One index per order, so each index's lines are its share (`cdf`) of all the lines.

    Systematic sampling over a random order of the orders: an order takes the index whose
    share of the line axis holds the middle of its lines. A run of indices then gets its
    share to within the orders cut at its two ends, where drawing each order at random
    would miss a share of 135 rows by about 20 (orders have 1 to 14 lines).
    """
    shuffled = rng.permutation(len(counts))
    middles = np.cumsum(counts[shuffled]) - counts[shuffled] / 2
    picked = np.empty(len(counts), dtype=np.int64)
    picked[shuffled] = np.searchsorted(cdf, middles / counts.sum(), side="right")
    return np.minimum(picked, len(cdf) - 1)


class _RowIds:
    """Row ID texts: a chunk of CHUNK_ROWS ids shares its leading digits, the rest is a table."""

    def __init__(self, rows: int) -> None:
        self.first_chunk = [b"%d" % i for i in range(1, min(rows, CHUNK_ROWS - 1) + 1)]
        width = len(str(CHUNK_ROWS - 1))
        self.padded = [b"%0*d" % (width, i) for i in range(CHUNK_ROWS)] if rows >= CHUNK_ROWS else []

    def chunk(self, chunk_no: int, lines: int) -> tuple[bytes, list[bytes]]:
        """(leading digits, rest) of the Row IDs of chunk `chunk_no`."""
        if chunk_no == 0:
            return b"", self.first_chunk[:lines]
        return str(chunk_no).encode(), self.padded[:lines]


@dataclass
class _Chunk:
    """One chunk of whole orders: its arrays and its text as PIECES pieces per line."""

    first_row_id: int
    line_order: np.ndarray
    bucket: np.ndarray
    number: np.ndarray
    day: np.ndarray
    delay: np.ndarray
    mode: np.ndarray
    customer: np.ndarray
    location: np.ndarray
    product: np.ndarray
    amount: np.ndarray
    pieces: list[bytes]

    @property
    def lines(self) -> int:
        """Number of record lines."""
        return len(self.product)


# Per line: Row ID's leading digits, the rest of the Row ID, ",<Order ID>...<Region>" and
# ",<Product ID>...<Sales><line end>".
PIECES = 4


def _make_chunk(
    cat: _Catalog,
    rng: np.random.Generator,
    first_order: int,
    first_row_id: int,
    row_ids: tuple[bytes, list[bytes]],
) -> _Chunk:
    """The lines of whole orders (the last may be cut short) carrying `row_ids`."""
    lines = len(row_ids[1])
    counts = np.minimum(rng.geometric(0.5, size=lines), MAX_LINES_PER_ORDER)
    global_order = first_order + np.arange(lines)
    repeats = global_order % DUPLICATE_EVERY == DUPLICATE_AT
    counts[repeats] = np.maximum(counts[repeats], 2)
    cumulative = np.cumsum(counts)
    orders = int(np.searchsorted(cumulative, lines)) + 1
    counts = counts[:orders]
    counts[-1] -= int(cumulative[orders - 1]) - lines
    global_order, repeats = global_order[:orders], repeats[:orders]

    day = _pick(cat.day_cdf, rng, orders)
    # Pin the first two orders to the first and last day so a file spans the whole range.
    day[global_order == 0] = 0
    day[global_order == 1] = cat.order_days - 1
    mode = rng.choice(len(SHIP_MODES), size=orders, p=SHIP_MODE_P)
    low, width = np.array(SHIP_DELAYS).T
    delay = low[mode] + (rng.random(orders) * width[mode]).astype(np.int64)
    customer = _allocate(cat.customer_cdf, rng, counts)
    location = _allocate(cat.location_cdf, rng, counts)
    years = len(cat.order_id_prefixes) // len(ORDER_PREFIXES)
    prefix = (rng.random(orders) >= ORDER_PREFIX_P[0]).astype(np.int64)
    bucket = prefix * years + cat.day_year_index[day]
    number = _order_numbers(cat, bucket)

    line_order = np.repeat(np.arange(orders), counts)
    product = rng.integers(len(cat.product_fields), size=lines)
    quantity = np.minimum(rng.geometric(0.28, size=lines), MAX_QUANTITY)
    discount = rng.choice(len(DISCOUNT_PCT), size=lines, p=DISCOUNT_P)
    first_lines = (np.cumsum(counts) - counts)[repeats & (counts >= 2)]
    for arr in (product, quantity, discount):
        arr[first_lines + 1] = arr[first_lines]
    amount = product * cat.amounts_per_product + (quantity - 1) * len(DISCOUNT_PCT) + discount

    # Text is built by joining lists of bytes (C loops), never by formatting line by line.
    head = [b""] * (6 * orders)
    head[0::6] = cat.order_id_head_text[bucket * 900 + number // 1000 - 100].tolist()
    head[1::6] = cat.three_digits[number % 1000].tolist()
    head[2::6] = cat.date_pair_text[day * MAX_SHIP_DAYS + delay].tolist()
    head[3::6] = cat.mode_text[mode].tolist()
    head[4::6] = cat.customer_text[customer].tolist()
    head[5::6] = cat.location_text[location].tolist()
    heads = np.array(b"".join(head).split(b"\n")[:-1], dtype=object)
    pieces = [row_ids[0]] * (PIECES * lines)
    pieces[1::PIECES] = row_ids[1]
    pieces[2::PIECES] = heads[line_order].tolist()
    pieces[3::PIECES] = cat.tails(amount)
    return _Chunk(first_row_id, line_order, bucket, number, day, delay, mode, customer,
                  location, product, amount, pieces)  # fmt: skip


def _order_numbers(cat: _Catalog, bucket: np.ndarray) -> np.ndarray:
    """Six-digit order numbers, distinct within each (prefix, year) for 900,000 orders."""
    counts = np.bincount(bucket, minlength=len(cat.orders_per_bucket))
    by_bucket = np.argsort(bucket, kind="stable")
    rank = np.empty(len(bucket), dtype=np.int64)
    rank[by_bucket] = np.arange(len(bucket)) - (np.cumsum(counts) - counts)[bucket[by_bucket]]
    serial = cat.orders_per_bucket[bucket] + rank + cat.order_number_offsets[bucket]
    cat.orders_per_bucket += counts
    return 100_000 + (ORDER_NUMBER_MULTIPLIER * serial) % 900_000


def _record_fields(cat: _Catalog, chunk: _Chunk, i: int) -> list[str]:
    """The 18 raw field values of line `i` of a chunk."""
    o = int(chunk.line_order[i])
    d, s = int(chunk.day[o]), int(chunk.delay[o])
    return [
        str(chunk.first_row_id + i),
        f"{cat.order_id_prefixes[chunk.bucket[o]]}{chunk.number[o]}",
        cat.date_text[d],
        cat.date_text[d + s],
        SHIP_MODES[chunk.mode[o]],
        *cat.customer_fields[chunk.customer[o]],
        COUNTRY,
        *cat.location_fields[chunk.location[o]],
        *cat.product_fields[chunk.product[i]],
        cat.sales_text(chunk.amount[i]),
    ]


# Damage done to one record line each, in the order they are dealt to the sampled records.
RECORD_QUIRKS = (
    ("too_many_fields", "Product Name with a comma and no quotes"),
    ("too_few_fields", "Postal Code field left out, trailing empty fields too"),
    ("unbalanced_quote", "Product Name opens a quote that never closes"),
    ("invalid_date", "Order Date 31/02/yyyy"),
    ("invalid_date", "Ship Date yyyy-13-45"),
    ("month_first_date", "both dates mm/dd/yyyy with a day > 12"),
    ("negative_sales", "Sales below zero"),
    ("non_numeric_sales", "Sales abc"),
    ("missing_customer_id", "Customer ID empty"),
    ("missing_order_id", "Order ID empty"),
    ("ship_before_order", "Ship Date 1-5 days before Order Date"),
)
MIDDLE_BLANK_LINES = 2
END_BLANK_LINES = 1
# An Excel export's empty rows: nothing but the commas of the header's width. Blank lines.
MIDDLE_COMMA_LINES = 2
END_COMMA_LINES = 1
# Whole records with one trailing empty field fewer than the header, as in a real damaged
# copy (21 fields in the header, 6 records with 20). Real sales: they belong in silver.
FEWER_TRAILING_RECORDS = 6
FEWER_TRAILING_KIND = "fewer_trailing_fields"


def _damage(variant: str, fields: list[str], cat: _Catalog, rng: np.random.Generator) -> str:
    """A record line (no line end, no trailing empty fields) broken as `variant` says."""
    ordered = date(int(fields[2][6:]), int(fields[2][3:5]), int(fields[2][:2]))
    if variant.startswith("Product Name with a comma"):
        product = cat.comma_products[rng.integers(len(cat.comma_products))]
        fields[13:17] = cat.product_fields[product]
        return ",".join(fields)
    if variant.startswith("Product Name opens"):
        product = cat.plain_products[rng.integers(len(cat.plain_products))]
        fields[13:17] = cat.product_fields[product]
        return ",".join([*map(quote_field, fields[:16]), '"' + fields[16], fields[17]])
    if variant.startswith("Postal Code"):
        # 17 fields: too few for the named columns, whatever the header's trailing ones.
        del fields[11]
        return csv_line(fields)
    elif variant.startswith("Order Date 31/02"):
        fields[2] = f"31/02/{ordered.year}"
    elif variant.startswith("Ship Date yyyy-13-45"):
        fields[3] = f"{ordered.year}-13-45"
    elif variant.startswith("both dates mm/dd"):
        ordered = ordered.replace(day=13 + int(rng.integers(10)))
        shipped = ordered + timedelta(days=int(rng.integers(4)))
        fields[2], fields[3] = ordered.strftime("%m/%d/%Y"), shipped.strftime("%m/%d/%Y")
    elif variant == "Sales below zero":
        fields[17] = "-" + fields[17]
    elif variant == "Sales abc":
        fields[17] = "abc"
    elif variant == "Customer ID empty":
        fields[5] = ""
    elif variant == "Order ID empty":
        fields[1] = ""
    elif variant.startswith("Ship Date 1-5 days before"):
        fields[3] = (ordered - timedelta(days=int(rng.integers(1, 6)))).strftime(DATE_FORMAT)
    return csv_line(fields)


@dataclass
class _DamagePlan:
    """Where the damaged-file quirks go, by 0-based record index."""

    replace: dict[int, tuple[str, str]]
    fewer_trailing: list[int]
    # Lines inserted before a record: "" (blank) or commas only.
    insert_before: dict[int, str]
    duplicate_source: int
    duplicate_after: int
    rng: np.random.Generator
    injected: dict[int, tuple[str, int | None, str]] = field(default_factory=dict)
    saved_source: list[str] | None = None

    @classmethod
    def sample(cls, rows: int, seed: int, comma_line: str) -> _DamagePlan:
        """Spread the quirks over distinct random records (never the first)."""
        rng = np.random.default_rng([seed, 2])
        sizes = (len(RECORD_QUIRKS), FEWER_TRAILING_RECORDS, MIDDLE_BLANK_LINES, MIDDLE_COMMA_LINES, 2)
        picks = (1 + rng.choice(rows - 1, size=sum(sizes), replace=False)).tolist()
        groups = [picks[a : a + n] for a, n in zip(np.cumsum((0, *sizes)).tolist(), sizes, strict=False)]
        replace = dict(zip(groups[0], RECORD_QUIRKS, strict=True))
        insert_before = {**dict.fromkeys(groups[2], ""), **dict.fromkeys(groups[3], comma_line)}
        source, after = sorted(groups[4])
        return cls(replace, sorted(groups[1]), dict(sorted(insert_before.items())), source, after, rng)

    def line_of(self, record: int) -> int:
        """Physical line number of a record (header = line 1; lines inserted before count)."""
        inserted = sum(b <= record for b in self.insert_before) + (self.duplicate_after < record)
        return record + 2 + inserted

    def apply(self, cat: _Catalog, chunk: _Chunk) -> None:
        """Break this chunk's share of the planned records, in place."""
        lo = chunk.first_row_id - 1
        hi = lo + chunk.lines
        tail = cat.line_end[:-1]
        for record in (r for r in sorted(self.replace) if lo <= r < hi):
            kind, variant = self.replace[record]
            text = _damage(variant, _record_fields(cat, chunk, record - lo), cat, self.rng)
            if kind != "too_few_fields":
                text += tail
            at = PIECES * (record - lo)
            chunk.pieces[at : at + PIECES] = [b"", b"", b"", (text + "\n").encode()]
            self.injected[self.line_of(record)] = (kind, record + 1, text)
        for record in (r for r in self.fewer_trailing if lo <= r < hi):
            at = PIECES * (record - lo)
            line = b"".join(chunk.pieces[at : at + PIECES])
            text = line.decode()[: -len(cat.line_end)] + tail[1:]
            chunk.pieces[at : at + PIECES] = [b"", b"", b"", (text + "\n").encode()]
            self.injected[self.line_of(record)] = (FEWER_TRAILING_KIND, record + 1, text)
        for record, text in self.insert_before.items():
            if lo <= record < hi:
                at = PIECES * (record - lo)
                chunk.pieces[at] = (text + "\n").encode() + chunk.pieces[at]
                self.injected[self.line_of(record) - 1] = ("blank_line", None, text)
        if lo <= self.duplicate_source < hi:
            self.saved_source = _record_fields(cat, chunk, self.duplicate_source - lo)
        if lo <= self.duplicate_after < hi and self.saved_source is not None:
            # The same Row ID again, with an amended amount.
            fields = list(self.saved_source)
            fields[17] = repr(round(float(fields[17]) + 10.0, 4))
            text = csv_line(fields) + tail
            at = PIECES * (self.duplicate_after - lo) + PIECES - 1
            chunk.pieces[at] += (text + "\n").encode()
            line = self.line_of(self.duplicate_after) + 1
            self.injected[line] = ("duplicate_row_id", int(fields[0]), text)


class _Writer:
    """Writes chunks on a background thread, so disk time overlaps generation."""

    def __init__(self, out: BinaryIO) -> None:
        self._out = out
        self._pool = ThreadPoolExecutor(max_workers=1, thread_name_prefix="synthetic-writer")
        self._pending: Future[int] | None = None

    def write(self, data: bytes) -> None:
        """Queue `data`; waits for the previous chunk so at most two are held in memory."""
        if self._pending is not None:
            self._pending.result()
        self._pending = self._pool.submit(self._out.write, data)

    def __enter__(self) -> Self:
        return self

    def __exit__(self, *exc: object) -> None:
        try:
            if self._pending is not None:
                self._pending.result()
        finally:
            self._pool.shutdown(wait=True)


def generate_sales_csv(
    path: Path,
    rows: int = DEFAULT_ROWS,
    seed: int = DEFAULT_SEED,
    start: date = DEFAULT_START,
    end: date = DEFAULT_END,
    damaged: bool = False,
) -> GeneratedFile:
    """Write a synthetic train.csv of `rows` order lines; same arguments, same bytes."""
    if rows < 1:
        raise ValueError(f"rows must be at least 1, got {rows}")
    if end < start:
        raise ValueError(f"end {end} is before start {start}")
    if damaged and rows < MIN_DAMAGED_ROWS:
        raise ValueError(f"a damaged file needs rows >= {MIN_DAMAGED_ROWS}, got {rows}")
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    line_end = "," * TRAILING_EMPTY_COLUMNS + "\n" if damaged else "\n"
    cat = _Catalog(rows, seed, start, end, line_end)
    width = len(HEADER) + TRAILING_EMPTY_COLUMNS
    comma_line = "," * (width - 1)
    plan = _DamagePlan.sample(rows, seed, comma_line) if damaged else None
    row_ids = _RowIds(rows)
    total_cents4 = 0
    with path.open("wb") as out, _Writer(out) as writer:
        writer.write((",".join(HEADER) + line_end).encode())
        row_id, order, chunk_no = 1, 0, 0
        while row_id <= rows:
            # Chunk n holds Row IDs n * CHUNK_ROWS .. (n + 1) * CHUNK_ROWS - 1 (chunk 0 from 1).
            take = min((chunk_no + 1) * CHUNK_ROWS, rows + 1) - row_id
            ids = row_ids.chunk(chunk_no, take)
            chunk = _make_chunk(cat, np.random.default_rng([seed, 1, chunk_no]), order, row_id, ids)
            if plan is not None:
                plan.apply(cat, chunk)
            writer.write(b"".join(chunk.pieces))
            total_cents4 += int(cat.amount_cents4[chunk.amount].sum())
            row_id += take
            order += int(chunk.line_order[-1]) + 1
            chunk_no += 1
        lines = 1 + rows
        injected: list[InjectedQuirk] = []
        if plan is not None:
            lines += len(plan.insert_before) + 1
            injected = [InjectedQuirk(n, k, r, t) for n, (k, r, t) in plan.injected.items()]
            # The end of the file: a blank line, a spreadsheet's totals under the data (one
            # number in the second unnamed column, padded to the header's width), then the
            # export's empty rows.
            extra = [("blank_line", "")] * END_BLANK_LINES
            for number in (f"{total_cents4 / 10_000:.2f}", str(rows)):
                junk = "," * (len(HEADER) + 1) + number + "," * (width - len(HEADER) - 2)
                extra.append(("junk_line", junk))
            extra += [("blank_line", comma_line)] * END_COMMA_LINES
            injected += [
                InjectedQuirk(lines + k, kind, None, text) for k, (kind, text) in enumerate(extra, 1)
            ]
            writer.write("".join(text + "\n" for _, text in extra).encode())
            lines += len(extra)
    return GeneratedFile(
        path=path,
        data_rows=rows + (1 if damaged else 0),
        total_lines=lines,
        size_bytes=path.stat().st_size,
        seed=seed,
        damaged=damaged,
        trailing_empty_columns=TRAILING_EMPTY_COLUMNS if damaged else 0,
        injected=sorted(injected, key=lambda q: q.line_number),
    )


def main(argv: Sequence[str] | None = None) -> int:
    """Command line: write one file and print what was written and how fast."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("out", type=Path, help="CSV file to write")
    parser.add_argument("--rows", type=int, default=DEFAULT_ROWS)
    parser.add_argument("--seed", type=int, default=DEFAULT_SEED)
    parser.add_argument("--start", type=date.fromisoformat, default=DEFAULT_START)
    parser.add_argument("--end", type=date.fromisoformat, default=DEFAULT_END)
    parser.add_argument("--damaged", action="store_true", help="inject the damaged-file quirks")
    args = parser.parse_args(argv)
    began = time.perf_counter()
    result = generate_sales_csv(args.out, args.rows, args.seed, args.start, args.end, args.damaged)
    seconds = time.perf_counter() - began
    print(
        f"wrote {result.path}: {result.data_rows:,} record lines, {result.total_lines:,} lines, "
        f"{result.size_bytes / 1e6:,.1f} MB in {seconds:.2f} s "
        f"({args.rows / seconds:,.0f} rows/s)"
    )
    for quirk in result.injected:
        print(f"  line {quirk.line_number}: {quirk.kind}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
