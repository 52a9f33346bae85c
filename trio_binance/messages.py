"""Typed shapes of the messages stream handles yield, for type checkers only.

Every class here is a :class:`~typing.TypedDict`: at run time a message is the plain
``dict`` decoded from Binance's JSON, never validated, copied or wrapped, so typing
costs nothing.  A type checker knows which keys a message has and what their values
are: ``msg["p"]`` of a :class:`Trade` is a ``str`` (Binance sends prices and
quantities as decimal strings; convert them yourself), ``msg["price"]`` is an error.

Each ``*_socket`` method of :class:`~trio_binance.BinanceSocketManager` returns a
:class:`~trio_binance.StreamHandle` of its stream's type: ``bsm.trade_socket(...)``
is a ``StreamHandle[Trade]``; with ``gap_notices=True`` it is a
``StreamHandle[Trade | Gap]``.  Multiplex handles yield :class:`Envelope` items
whose ``data`` is ``Any``, since their streams are named by strings.

Field names and types are those Binance documents (``binance-streams-facts.md`` in
the repository, and Binance's own API documentation); fields Binance sends only
sometimes (a COIN-M ``ps``, the conditional fields of an execution report) are
``NotRequired``: read them with ``.get()``.  User-data handles yield
:data:`UserEvent` (a ``dict[str, Any]``), since Binance adds event types over time:
check ``event["e"]``, then ``cast()`` to the class of that event, e.g.
``cast(OrderTradeUpdate, event)``.

Messages are shared between handles of the same stream: treat them as read-only.
"""

# No `from __future__ import annotations`: TypedDict reads NotRequired[...] at run
# time for __required_keys__ / __optional_keys__.
from typing import Any, Generic, Literal, TypeAlias, final

from typing_extensions import NotRequired, TypedDict, TypeVar

__all__ = [
    "AccountUpdate",
    "AccountUpdateData",
    "AggTrade",
    "AvgPrice",
    "BalanceUpdate",
    "BookTicker",
    "ContinuousKline",
    "ContinuousKlineData",
    "DepthUpdate",
    "Envelope",
    "ErrorMessage",
    "EventStreamTerminated",
    "ExecutionReport",
    "ExternalLockUpdate",
    "ForceOrder",
    "FuturesAggTrade",
    "FuturesBalance",
    "FuturesBookTicker",
    "FuturesDepthUpdate",
    "FuturesOrder",
    "FuturesPosition",
    "FuturesTicker",
    "IndexPrice",
    "Kline",
    "KlineData",
    "Level",
    "LiquidationOrder",
    "ListStatus",
    "ListStatusOrder",
    "ListenKeyExpired",
    "MarginCall",
    "MarginCallPosition",
    "MarkPrice",
    "MiniTicker",
    "OptionBookTicker",
    "OptionDepthUpdate",
    "OptionIndexPrice",
    "OptionMarkPrice",
    "OptionOpenInterest",
    "OptionSymbol",
    "OptionTicker",
    "OptionTrade",
    "OrderTradeUpdate",
    "OutboundAccountPosition",
    "PartialDepth",
    "SpotBalance",
    "Ticker",
    "Trade",
    "TradeLite",
    "UserEvent",
]

P_co = TypeVar("P_co", covariant=True, default=Any)

Level: TypeAlias = list[str]
"""One order-book level as Binance sends it: ``[price, quantity]``, decimal strings."""


@final  # only these keys: `"stream" in msg` tells it from an ErrorMessage
class Envelope(TypedDict, Generic[P_co]):
    """A message of a multiplex (combined) stream: which stream, and its payload.

    Multiplex handles yield ``Envelope`` (``data`` is ``Any``: the streams are named
    by strings); the threaded manager's futures sockets call back with
    ``Envelope[<payload>]``, as python-binance's do.
    """

    stream: str  #: The stream's name, e.g. ``"btcusdt@trade"``.
    data: P_co  #: That stream's payload.


# --------------------------------------------------------------------- spot


class Trade(TypedDict):
    """Spot ``<symbol>@trade``: one trade."""

    e: Literal["trade"]
    E: int  #: Event time (ms; µs with ``time_unit="MICROSECOND"``).
    s: str  #: Symbol.
    t: int  #: Trade id.
    p: str  #: Price.
    q: str  #: Quantity.
    T: int  #: Trade time.
    m: bool  #: Is the buyer the market maker?
    M: bool  #: Ignore.


class AggTrade(TypedDict):
    """Spot ``<symbol>@aggTrade``: trades of one taker order at one price."""

    e: Literal["aggTrade"]
    E: int
    s: str
    a: int  #: Aggregate trade id.
    p: str
    q: str
    f: int  #: First trade id.
    l: int  #: Last trade id.
    T: int
    m: bool
    M: bool  #: Ignore.


class KlineData(TypedDict):
    """The candle of a :class:`Kline` (``k``)."""

    t: int  #: Candle start time.
    T: int  #: Candle close time.
    s: str
    i: str  #: Interval, e.g. ``"1m"``.
    f: int  #: First trade id.
    L: int  #: Last trade id.
    o: str  #: Open price.
    c: str  #: Close (last) price.
    h: str  #: High price.
    l: str  #: Low price.
    v: str  #: Base asset volume (options: contracts).
    n: int  #: Number of trades.
    x: bool  #: Is this candle closed?
    q: str  #: Quote asset volume.
    V: str  #: Taker buy base asset volume.
    Q: str  #: Taker buy quote asset volume.
    B: NotRequired[str]  #: Ignore (not sent by options).


class Kline(TypedDict):
    """Candlesticks, ``<symbol>@kline_<interval>``: spot, futures and options."""

    e: Literal["kline"]
    E: int
    s: str
    k: KlineData


class MiniTicker(TypedDict):
    """24 h mini ticker, ``<symbol>@miniTicker`` and ``!miniTicker@arr`` (spot, futures)."""

    e: Literal["24hrMiniTicker"]
    E: int
    s: str
    c: str  #: Close (last) price.
    o: str  #: Open price.
    h: str
    l: str
    v: str  #: Base asset volume.
    q: str  #: Quote asset volume.
    ps: NotRequired[str]  #: Pair (futures, after the COIN-M merge).
    st: NotRequired[int]  #: Symbol type, 1 USD-M, 2 COIN-M (futures, after the merge).


class Ticker(TypedDict):
    """Spot 24 h ticker, ``<symbol>@ticker``."""

    e: Literal["24hrTicker"]
    E: int
    s: str
    p: str  #: Price change.
    P: str  #: Price change percent.
    w: str  #: Weighted average price.
    x: str  #: Last price of the previous 24 h window.
    c: str  #: Last price.
    Q: str  #: Last quantity.
    b: str  #: Best bid price.
    B: str  #: Best bid quantity.
    a: str  #: Best ask price.
    A: str  #: Best ask quantity.
    o: str
    h: str
    l: str
    v: str
    q: str
    O: int  #: Statistics open time.
    C: int  #: Statistics close time.
    F: int  #: First trade id.
    L: int  #: Last trade id.
    n: int  #: Number of trades.


class BookTicker(TypedDict):
    """Spot best bid and ask, ``<symbol>@bookTicker`` (no event type or time)."""

    u: int  #: Order book update id.
    s: str
    b: str
    B: str
    a: str
    A: str


class DepthUpdate(TypedDict):
    """Spot diff depth, ``<symbol>@depth[@100ms]``: changed levels, absolute quantities."""

    e: Literal["depthUpdate"]
    E: int
    s: str
    U: int  #: First update id in the event.
    u: int  #: Final update id in the event.
    b: list[Level]  #: Bids to update (a quantity of ``"0"`` removes the level).
    a: list[Level]  #: Asks to update.


class PartialDepth(TypedDict):
    """Spot partial book, ``<symbol>@depth<5|10|20>``: the top levels, no symbol."""

    lastUpdateId: int
    bids: list[Level]
    asks: list[Level]


class AvgPrice(TypedDict):
    """Spot average price, ``<symbol>@avgPrice``."""

    e: Literal["avgPrice"]
    E: int
    s: str
    i: str  #: Averaging window, e.g. ``"5m"``.
    w: str  #: Average price.
    T: int  #: Last trade time.


# ------------------------------------------------------------------ futures


class FuturesAggTrade(TypedDict):
    """USD-M and COIN-M ``<symbol>@aggTrade`` (no ``M``; USD-M adds ``nq``)."""

    e: Literal["aggTrade"]
    E: int
    s: str
    a: int
    p: str
    q: str
    nq: NotRequired[str]  #: Quantity without RPI orders (USD-M).
    f: int
    l: int
    T: int
    m: bool
    st: NotRequired[int]


class ContinuousKlineData(TypedDict):
    """The candle of a :class:`ContinuousKline` (``k``): a :class:`KlineData` without ``s``."""

    t: int
    T: int
    i: str
    f: int
    L: int
    o: str
    c: str
    h: str
    l: str
    v: str
    n: int
    x: bool
    q: str
    V: str
    Q: str
    B: str


class ContinuousKline(TypedDict):
    """Continuous-contract candlesticks, ``<pair>_<contract>@continuousKline_<interval>``."""

    e: Literal["continuous_kline"]
    E: int
    ps: str  #: Pair.
    ct: str  #: Contract type, e.g. ``"PERPETUAL"``.
    k: ContinuousKlineData


class FuturesTicker(TypedDict):
    """USD-M and COIN-M 24 h ticker, ``<symbol>@ticker`` and ``!ticker@arr``."""

    e: Literal["24hrTicker"]
    E: int
    s: str
    p: str
    P: str
    w: str
    c: str
    Q: str
    o: str
    h: str
    l: str
    v: str
    q: str
    O: int
    C: int
    F: int
    L: int
    n: int
    ps: NotRequired[str]
    st: NotRequired[int]


class FuturesBookTicker(TypedDict):
    """USD-M and COIN-M best bid and ask, ``<symbol>@bookTicker`` and ``!bookTicker``."""

    e: Literal["bookTicker"]
    u: int
    E: int
    T: int  #: Transaction time.
    s: str
    b: str
    B: str
    a: str
    A: str
    ps: NotRequired[str]  #: Pair (COIN-M).
    st: NotRequired[int]


class FuturesDepthUpdate(TypedDict):
    """USD-M and COIN-M depth: diff (``<symbol>@depth``), partial (``@depth<N>``), RPI.

    ``pu`` is the previous event's ``u``: when it is not, updates were missed.
    """

    e: Literal["depthUpdate"]
    E: int
    T: int
    s: str
    U: int
    u: int
    pu: int  #: Final update id of the previous event.
    b: list[Level]
    a: list[Level]
    ps: NotRequired[str]  #: Pair (COIN-M).
    st: NotRequired[int]


class IndexPrice(TypedDict):
    """COIN-M index price of a pair, ``<pair>@indexPrice[@1s]``."""

    e: Literal["indexPriceUpdate"]
    E: int
    i: str  #: Pair.
    p: str  #: Index price.


class MarkPrice(TypedDict):
    """Mark price and funding, ``<symbol>@markPrice[@1s]`` and ``!markPrice@arr``."""

    e: Literal["markPriceUpdate"]
    E: int
    s: str
    p: str  #: Mark price.
    ap: NotRequired[str]  #: Mark price moving average (USD-M, since 2026-03).
    i: str  #: Index price.
    P: str  #: Estimated settle price.
    r: str  #: Funding rate (``""`` for COIN-M delivery contracts).
    T: int  #: Next funding time (0 for COIN-M delivery contracts).
    st: NotRequired[int]


class LiquidationOrder(TypedDict):
    """The order of a :class:`ForceOrder` (``o``)."""

    s: str
    S: str  #: Side.
    o: str  #: Order type.
    f: str  #: Time in force.
    q: str  #: Original quantity.
    p: str  #: Price.
    ap: str  #: Average price.
    X: str  #: Order status.
    l: str  #: Last filled quantity.
    z: str  #: Accumulated filled quantity.
    T: int  #: Trade time.


class ForceOrder(TypedDict):
    """Liquidations, ``<symbol>@forceOrder`` and ``!forceOrder@arr``."""

    e: Literal["forceOrder"]
    E: int
    o: LiquidationOrder
    ps: NotRequired[str]
    st: NotRequired[int]


# ------------------------------------------------------------------ options


class OptionTrade(TypedDict):
    """Option trades, ``<symbol>@optionTrade``."""

    e: Literal["trade"]
    E: int
    T: int
    s: str
    t: int
    p: str
    q: str
    X: str  #: ``"MARKET"`` (order book) or ``"BLOCK"`` (block trade).
    S: str  #: Direction.
    m: bool


class OptionTicker(TypedDict):
    """Option 24 h ticker, ``<symbol>@optionTicker`` (and per expiry)."""

    e: Literal["24hrTicker"]
    E: int
    s: str
    p: str
    P: str
    w: str
    c: str
    Q: str
    o: str
    h: str
    l: str
    v: str  #: Volume in contracts.
    q: str
    O: int
    C: int
    F: int
    L: int
    n: int


class OptionBookTicker(TypedDict):
    """Option best bid and ask, ``<symbol>@bookTicker``."""

    e: Literal["bookTicker"]
    u: int
    s: str
    b: str
    B: str
    a: str
    A: str
    T: int
    E: int


class OptionDepthUpdate(TypedDict):
    """Option depth, ``<symbol>@depth[<N>]@<speed>``."""

    e: Literal["depthUpdate"]
    E: int
    T: int
    s: str
    U: int
    u: int
    pu: int
    b: list[Level]
    a: list[Level]


class OptionSymbol(TypedDict):
    """A newly listed option, ``!optionSymbol``."""

    e: Literal["optionSymbol"]
    E: int
    s: str
    ps: str  #: Underlying index.
    qa: str  #: Quote asset.
    d: str  #: ``"CALL"`` or ``"PUT"``.
    sp: str  #: Strike price.
    dt: int  #: Delivery time.
    u: int  #: Underlying quantity of one contract.
    ot: int  #: Listing time.
    cs: str  #: Contract status.


class OptionOpenInterest(TypedDict):
    """Open interest of one option (items of ``<underlying>@optionOpenInterest@<expiry>``)."""

    e: Literal["openInterest"]
    E: int
    s: str
    o: str  #: Open interest in contracts.
    h: str  #: Open interest in USDT.


class OptionMarkPrice(TypedDict):
    """Mark price and greeks of one option (items of ``<underlying>@optionMarkPrice``)."""

    e: Literal["markPrice"]
    E: int
    s: str
    mp: str  #: Mark price.
    i: str  #: Index price.
    P: str  #: Estimated settle price.
    bo: str  #: Best bid price.
    ao: str  #: Best ask price.
    bq: str  #: Best bid quantity.
    aq: str  #: Best ask quantity.
    b: str  #: Bid implied volatility.
    a: str  #: Ask implied volatility.
    hl: str  #: Highest buy price.
    ll: str  #: Lowest sell price.
    vo: str  #: Mark implied volatility.
    rf: str  #: Risk-free rate.
    d: str  #: Delta.
    t: str  #: Theta.
    g: str  #: Gamma.
    v: str  #: Vega.


class OptionIndexPrice(TypedDict):
    """Index price of one underlying (items of ``!index@arr``)."""

    e: Literal["indexPrice"]
    E: int
    s: str
    p: str


# ---------------------------------------------------------------- user data

UserEvent: TypeAlias = dict[str, Any]
"""What user-data handles yield: one event, ``event["e"]`` its type.

Binance adds event types over time, so this is an open ``dict``: check ``e``, then
``cast()`` to the class below that documents that event.
"""


class SpotBalance(TypedDict):
    """One asset of an :class:`OutboundAccountPosition` (``B``)."""

    a: str  #: Asset.
    f: str  #: Free.
    l: str  #: Locked.


class OutboundAccountPosition(TypedDict):
    """Spot and margin: balances that changed."""

    e: Literal["outboundAccountPosition"]
    E: int
    u: int  #: Time of the last account update.
    B: list[SpotBalance]


class BalanceUpdate(TypedDict):
    """Spot and margin: a deposit, withdrawal or transfer."""

    e: Literal["balanceUpdate"]
    E: int
    a: str  #: Asset.
    d: str  #: Balance delta.
    T: int  #: Clear time.


class ExternalLockUpdate(TypedDict):
    """Spot: a balance locked or unlocked by an external system."""

    e: Literal["externalLockUpdate"]
    E: int
    a: str
    d: str
    T: int


class EventStreamTerminated(TypedDict):
    """Spot and margin: the subscription ended (unsubscribed, or the token expired)."""

    e: Literal["eventStreamTerminated"]
    E: int


class ExecutionReport(TypedDict):
    """Spot and margin: an order changed.  The ``NotRequired`` fields are conditional."""

    e: Literal["executionReport"]
    E: int
    s: str
    c: str  #: Client order id.
    S: str  #: Side.
    o: str  #: Order type.
    f: str  #: Time in force.
    q: str  #: Order quantity.
    p: str  #: Order price.
    P: str  #: Stop price.
    F: str  #: Iceberg quantity.
    g: int  #: Order list id.
    C: str  #: Original client order id (of a cancelled order).
    x: str  #: Execution type.
    X: str  #: Order status.
    r: str  #: Reject reason.
    i: int  #: Order id.
    l: str  #: Last executed quantity.
    z: str  #: Cumulative filled quantity.
    L: str  #: Last executed price.
    n: str  #: Commission amount.
    N: str | None  #: Commission asset.
    T: int  #: Transaction time.
    t: int  #: Trade id.
    I: int  #: Execution id.
    w: bool  #: Is the order on the book?
    m: bool  #: Is this trade the maker side?
    M: bool  #: Ignore.
    O: int  #: Order creation time.
    Z: str  #: Cumulative quote quantity.
    Y: str  #: Last quote quantity.
    Q: str  #: Quote order quantity.
    W: NotRequired[int]  #: Working time.
    V: str  #: Self-trade prevention mode.
    d: NotRequired[int]  #: Trailing delta.
    D: NotRequired[int]  #: Trailing time.
    j: NotRequired[int]  #: Strategy id.
    J: NotRequired[int]  #: Strategy type.
    v: NotRequired[int]  #: Prevented match id.
    A: NotRequired[str]  #: Prevented quantity.
    B: NotRequired[str]  #: Last prevented quantity.
    u: NotRequired[int]  #: Trade group id.
    U: NotRequired[int]  #: Counter order id.
    Cs: NotRequired[str]  #: Counter symbol.
    pl: NotRequired[str]  #: Prevented execution quantity.
    pL: NotRequired[str]  #: Prevented execution price.
    pY: NotRequired[str]  #: Prevented execution quote quantity.
    b: NotRequired[str]  #: Match type.
    a: NotRequired[int]  #: Allocation id.
    k: NotRequired[str]  #: Working floor.
    uS: NotRequired[bool]  #: Used SOR.
    gP: NotRequired[str]  #: Pegged price type.
    gOT: NotRequired[str]  #: Pegged offset type.
    gOV: NotRequired[int]  #: Pegged offset value.
    gp: NotRequired[str]  #: Pegged price.
    eR: NotRequired[str]  #: Expiry reason (expired orders).


class ListStatusOrder(TypedDict):
    """One order of a :class:`ListStatus` (``O``)."""

    s: str
    i: int
    c: str


class ListStatus(TypedDict):
    """Spot and margin: an order list (OCO, OTO...) changed."""

    e: Literal["listStatus"]
    E: int
    s: str
    g: int  #: Order list id.
    c: str  #: Contingency type.
    l: str  #: List status type.
    L: str  #: List order status.
    r: str  #: List reject reason.
    C: str  #: List client order id.
    T: int
    O: list[ListStatusOrder]


class ListenKeyExpired(TypedDict):
    """Futures, portfolio margin, options: the listen key expired (``E`` may be a string)."""

    e: Literal["listenKeyExpired"]
    E: int | str
    listenKey: str


class FuturesOrder(TypedDict):
    """The order of an :class:`OrderTradeUpdate` (``o``), USD-M."""

    s: str
    c: str  #: Client order id (``autoclose-...``: a liquidation; ``adl_autoclose``: ADL).
    S: str
    o: str
    f: str
    q: str
    p: str
    ap: str  #: Average price.
    sp: str  #: Stop price.
    x: str  #: Execution type.
    X: str  #: Order status.
    i: int
    l: str
    z: str
    L: str
    N: NotRequired[str]  #: Commission asset (only with a commission).
    n: NotRequired[str]  #: Commission.
    T: int
    t: int
    b: str  #: Bids notional.
    a: str  #: Asks notional.
    m: bool
    R: bool  #: Reduce only.
    wt: str  #: Stop price working type.
    ot: str  #: Original order type.
    ps: str  #: Position side.
    cp: bool  #: Close-all (conditional orders).
    AP: NotRequired[str]  #: Activation price (trailing stops).
    cr: NotRequired[str]  #: Callback rate (trailing stops).
    pP: bool  #: Price protection.
    si: int
    ss: int
    rp: str  #: Realized profit.
    V: str  #: Self-trade prevention mode.
    pm: str  #: Price match mode.
    gtd: int  #: Good-till date.
    er: NotRequired[str]  #: Expiry reason code (``"0"``: none).


class OrderTradeUpdate(TypedDict):
    """USD-M (and COIN-M, portfolio margin) ``ORDER_TRADE_UPDATE``."""

    e: Literal["ORDER_TRADE_UPDATE"]
    E: int
    T: int
    o: FuturesOrder


class FuturesBalance(TypedDict):
    """A balance of an :class:`AccountUpdateData` (``B``)."""

    a: str  #: Asset.
    wb: str  #: Wallet balance.
    cw: str  #: Cross wallet balance.
    bc: str  #: Balance change except PnL and commission.


class FuturesPosition(TypedDict):
    """A position of an :class:`AccountUpdateData` (``P``)."""

    s: str
    pa: str  #: Position amount.
    ep: str  #: Entry price.
    bep: str  #: Breakeven price.
    cr: str  #: Accumulated realized.
    up: str  #: Unrealized PnL.
    mt: str  #: Margin type.
    iw: str  #: Isolated wallet.
    ps: str  #: Position side.


class AccountUpdateData(TypedDict):
    """The update of an :class:`AccountUpdate` (``a``)."""

    m: str  #: Reason: ``"ORDER"``, ``"FUNDING_FEE"``, ``"DEPOSIT"``...
    B: list[FuturesBalance]
    P: NotRequired[list[FuturesPosition]]  #: Only positions that changed; none on some.


class AccountUpdate(TypedDict):
    """USD-M ``ACCOUNT_UPDATE``: balances and positions changed."""

    e: Literal["ACCOUNT_UPDATE"]
    E: int
    T: int
    a: AccountUpdateData


class MarginCallPosition(TypedDict):
    """A position of a :class:`MarginCall` (``p``)."""

    s: str
    ps: str
    pa: str
    mt: str
    iw: str
    mp: str  #: Mark price.
    up: str
    mm: str  #: Maintenance margin required.


class MarginCall(TypedDict):
    """USD-M ``MARGIN_CALL``."""

    e: Literal["MARGIN_CALL"]
    E: int
    cw: NotRequired[str]  #: Cross wallet balance (cross positions only).
    p: list[MarginCallPosition]


class TradeLite(TypedDict):
    """USD-M ``TRADE_LITE``: a fill, sooner and smaller than ``ORDER_TRADE_UPDATE``."""

    e: Literal["TRADE_LITE"]
    E: int
    T: int
    s: str
    q: str  #: Original quantity.
    p: str  #: Original price.
    m: bool
    c: str
    S: str
    L: str  #: Last filled price.
    l: str  #: Last filled quantity.
    t: int
    i: int


# --------------------------------------------------------- threaded manager


@final  # only these keys, made by the threaded manager
class ErrorMessage(TypedDict):
    """What a threaded manager's callback gets, once, when its socket fails.

    python-binance's shape: ``type`` is the exception's class name (``"StreamRejected"``,
    ``"QueueOverflow"``...), ``m`` its message.  The Trio-native API raises the
    exception instead.
    """

    e: Literal["error"]
    type: str
    m: str
