"""Integer constants and record dtypes shared by the matching kernels and their callers.

Prices are integer ticks (>= ``MIN_PRICE``), quantities integer shares. Every constant here is a
module-level int, so njit code can read it as a compile-time constant.
"""

from __future__ import annotations

import numpy as np

# Book sides (index of the side axis of the level arrays) and taker directions (a fill's
# ``side``), defined in lobsim._constants.
from lobsim._constants import ASK as ASK
from lobsim._constants import BID as BID
from lobsim._constants import BUY as BUY
from lobsim._constants import SELL as SELL

# maker_id of bulk-loaded (anonymous) depth. Own order ids are >= 0.
BULK_ID = -1

# Smallest valid price in ticks; NO_PRICE is what ``best_price`` returns for an empty side.
MIN_PRICE = 1
NO_PRICE = 0

# Largest quantity a single order or level may carry, so that sums never overflow int64.
MAX_QTY = 10**15

# Slot sentinel of the intrusive order lists and of the order-id hash table.
NO_SLOT = -1
EMPTY_KEY = -1

# Field indices along the last axis of the four state arrays (see batch.BookState).
LV_PRICE = 0  # levels[b, side, i, .]: price in ticks
LV_QTY = 1  # total resting shares
LV_HEAD = 2  # first order slot of the FIFO queue
LV_TAIL = 3  # last order slot
LV_FIELDS = 4
OR_ID = 0  # orders[b, slot, .]: order id (BULK_ID for bulk depth)
OR_PRICE = 1
OR_QTY = 2  # remaining shares; 0 for a free slot
OR_SIDE = 3
OR_NEXT = 4  # next slot in the level queue, or in the free list
OR_PREV = 5
OR_FIELDS = 6
BK_LEVELS = 0  # books[b, BK_LEVELS + side]: number of levels of the side
BK_OWN = 2  # books[b, BK_OWN + side]: number of own (not bulk) orders resting on the side
BK_FREE = 4  # first free slot
BK_NFREE = 5  # number of free slots
BK_STATUS = 6  # last refusal, OK if none
BK_FIELDS = 7
# Row length of ``books``: 16 int64 = 128 bytes, so the headers of books driven by different
# threads never share a cache line (two adjacent 56-byte rows did, slowing both threads).
BK_STRIDE = 16
HT_KEY = 0  # table[b, pos, .]: order id, EMPTY_KEY if free
HT_SLOT = 1
HT_FIELDS = 2

# Event kinds of an order stream (``kernels.apply_stream``).
EV_LIMIT = 0
EV_MARKET = 1
EV_CANCEL = 2

# Status codes. Kernels that refuse or truncate an operation on book b store the code in
# ``state.books[b, BK_STATUS]`` (sticky until the caller clears it) and, where their signature
# allows, return it. A refused operation changes nothing; only ERR_FILLS_FULL cuts a match short.
OK = 0
ERR_BAD_ARGUMENT = 1
ERR_BAD_DEPTH = 2
ERR_CROSSED = 3
ERR_DUPLICATE_ID = 4
ERR_LEVELS_FULL = 5
ERR_ORDERS_FULL = 6
ERR_FILLS_FULL = 7

STATUS_MESSAGES: dict[int, str] = {
    OK: "ok",
    ERR_BAD_ARGUMENT: "bad argument: side not BID/ASK, direction not BUY/SELL, qty <= 0 or > "
    "MAX_QTY, price < MIN_PRICE, order_id < 0, or n outside the arrays",
    ERR_BAD_DEPTH: "bulk depth is invalid: prices not strictly monotone best-first (bids "
    "falling, asks rising), a price < MIN_PRICE, or a quantity < 0 or > MAX_QTY",
    ERR_CROSSED: "bulk depth would cross the opposite side of the book",
    ERR_DUPLICATE_ID: "order_id is already resting in this book",
    ERR_LEVELS_FULL: "more price levels than max_levels",
    ERR_ORDERS_FULL: "more resting orders (bulk levels included) than max_orders",
    ERR_FILLS_FULL: "the fills array is full; matching stopped early",
}

# One execution, as the kernels write it (prices in ticks).
FILL_DTYPE = np.dtype(
    [
        ("taker_id", np.int64),
        ("maker_id", np.int64),
        ("price", np.int64),
        ("qty", np.int64),
        ("side", np.int8),
    ],
    align=True,
)

# One execution, as the Python facades return it: price in currency, ticks kept alongside.
BOOK_FILL_DTYPE = np.dtype(
    [
        ("taker_id", np.int64),
        ("maker_id", np.int64),
        ("price", np.float64),
        ("ticks", np.int64),
        ("qty", np.int64),
        ("side", np.int8),
    ],
    align=True,
)
