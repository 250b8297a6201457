"""The generator's records: one seed's lookup tables, and chunks of whole orders as bytes.

`_Catalog` draws the products, customers and amounts of one seed from the facts in
`synthetic_facts` and pre-formats every field as UTF-8 bytes; `_make_chunk` draws a chunk
of whole orders and joins its lines from those tables (C loops over lists of bytes, never
one formatted line at a time), which is what lets 100M rows be written in bounded memory.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import date, timedelta

import numpy as np

from include.sales_analyzer.extract.synthetic_facts import (
    CATEGORY_CODES,
    COMMA_SUFFIXES,
    COUNTRY,
    CUSTOMERS_PER_ROW,
    DATE_FORMAT,
    DISCOUNT_P,
    DISCOUNT_PCT,
    FIRST_NAMES,
    FIXED_PRODUCTS,
    INCH_SIZES,
    LAST_NAMES,
    LOCATIONS,
    MAX_LINES_PER_ORDER,
    MAX_QUANTITY,
    MAX_SHIP_DAYS,
    MONTH_WEIGHTS,
    NBSP,
    ODD_CASE_CUSTOMERS,
    ODD_CASE_ROWS,
    ORDER_PREFIX_P,
    ORDER_PREFIXES,
    PRODUCTS,
    ROWS_WITH_NBSP,
    SEGMENT_P,
    SEGMENTS,
    SHIP_DELAYS,
    SHIP_MODE_P,
    SHIP_MODES,
    STATE_REGIONS,
    SUB_CATEGORIES,
    YEARLY_GROWTH,
)

# Order numbers are a bijection of a per (prefix, year) counter: unique up to 900,000 orders
# per prefix and year, yet not sequential-looking.
ORDER_NUMBER_MULTIPLIER = 104_729
# Every thousandth order repeats its first line: lines identical but for Row ID.
DUPLICATE_EVERY = 1000
DUPLICATE_AT = 7


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
