"""The matching engine: Numba kernels over arrays of books, a Python facade for one book, and
a pure-Python reference book with the same facade.

Low-level use (from njit code): build a :class:`BookBatch`, pass ``batch.state`` to the kernels
:func:`load_side`, :func:`submit_market`, :func:`submit_limit`, :func:`cancel`,
:func:`market_batch`. High-level use: ``OrderBook(tick_size=0.01)``.
"""

from lobsim.engine.batch import BookBatch, BookState, CapacityError
from lobsim.engine.book import OrderBook
from lobsim.engine.facade import BookFacade
from lobsim.engine.kernels import (
    apply_stream,
    best_price,
    book_status,
    cancel,
    clear_status,
    load_side,
    market_batch,
    reduce_order,
    refill_side,
    reset_book,
    reset_books,
    submit_limit,
    submit_market,
)
from lobsim.engine.records import (
    ASK,
    BID,
    BOOK_FILL_DTYPE,
    BULK_ID,
    BUY,
    EV_CANCEL,
    EV_LIMIT,
    EV_MARKET,
    FILL_DTYPE,
    MAX_QTY,
    MIN_PRICE,
    NO_PRICE,
    OK,
    SELL,
    STATUS_MESSAGES,
)
from lobsim.engine.reference import ReferenceBook

__all__ = [
    "ASK",
    "BID",
    "BOOK_FILL_DTYPE",
    "BULK_ID",
    "BUY",
    "EV_CANCEL",
    "EV_LIMIT",
    "EV_MARKET",
    "FILL_DTYPE",
    "MAX_QTY",
    "MIN_PRICE",
    "NO_PRICE",
    "OK",
    "SELL",
    "STATUS_MESSAGES",
    "BookBatch",
    "BookFacade",
    "BookState",
    "CapacityError",
    "OrderBook",
    "ReferenceBook",
    "apply_stream",
    "best_price",
    "book_status",
    "cancel",
    "clear_status",
    "load_side",
    "market_batch",
    "reduce_order",
    "refill_side",
    "reset_book",
    "reset_books",
    "submit_limit",
    "submit_market",
]
