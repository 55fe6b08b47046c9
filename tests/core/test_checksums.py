"""Book checksums against the exchanges' published examples and the real Bitfinex capture."""

import json
import unittest
import zlib
from decimal import Decimal
from pathlib import Path
from unittest import mock

from exchange_wrapper.core import checksums
from exchange_wrapper.core.book import BookSide, OrderBook
from exchange_wrapper.core.checksums import bitfinex_checksum, js_number, kraken_checksum, okx_checksum
from exchange_wrapper.replay.capture import WsReceived, read_capture

CAPTURES = Path(__file__).resolve().parents[1] / "captures"
D = Decimal


def levels(pairs):
    return [(D(price), D(size)) for price, size in pairs]


def book_of(bids, asks):
    book = OrderBook("test", "TEST")
    book.apply_snapshot(bids, asks, at=1.0)
    return book


class KrakenTest(unittest.TestCase):
    # docs.kraken.com "Spot Websockets (v1) Book Checksum": the published book and its "c" value
    ASKS = levels((f"0.0{price}", "0.00000500") for price in range(5005, 5051, 5))
    BIDS = levels(
        (price, "0.00000500")
        for price in (
            "0.05000",
            "0.04995",
            "0.04990",
            "0.04980",
            "0.04975",
            "0.04970",
            "0.04965",
            "0.04960",
            "0.04955",
            "0.04950",
        )
    )

    def test_published_example(self):
        self.assertEqual(self.ASKS[0], (D("0.05005"), D("0.00000500")))
        self.assertEqual(self.ASKS[-1][0], D("0.05050"))
        self.assertEqual(kraken_checksum(self.BIDS, self.ASKS, price_decimals=5, size_decimals=8), 974947235)

    def test_published_example_from_a_book_rendered_with_the_pair_decimals(self):
        # the book holds the values, whatever their spelling; the pair's decimals give Kraken's text
        book = book_of(
            [(price.normalize(), size.normalize()) for price, size in self.BIDS],
            [(price.normalize(), size.normalize()) for price, size in self.ASKS]
            + levels([("0.05100", "1"), ("0.06", "2")]),
        )  # deeper than the top 10: ignored
        self.assertEqual(kraken_checksum(book.bids, book.asks, price_decimals=5, size_decimals=8), 974947235)

    def test_a_level_whose_size_changes_is_written_anew(self):
        # the published book, then its best ask's volume changed and changed back; the level texts
        # written out from the published numbers: price and volume without the '.' and leading zeros
        book = book_of(self.BIDS, self.ASKS)
        asks = [f"{price}500" for price in range(5005, 5051, 5)]
        bids = [f"{price}500" for price in (5000, 4995, 4990, 4980, 4975, 4970, 4965, 4960, 4955, 4950)]
        self.assertEqual(kraken_checksum(book.bids, book.asks, price_decimals=5, size_decimals=8), 974947235)
        self.assertEqual(zlib.crc32("".join(asks + bids).encode()), 974947235)
        book.apply_delta(BookSide.ASK, D("0.05005"), D("0.00000304"), 2.0)
        book.apply_delta(BookSide.BID, D("0.04950"), D("12.5"), 2.0)
        changed = ["5005304"] + asks[1:] + bids[:-1] + ["49501250000000"]
        self.assertEqual(
            kraken_checksum(book.bids, book.asks, price_decimals=5, size_decimals=8),
            zlib.crc32("".join(changed).encode()),
        )
        book.apply_delta(BookSide.ASK, D("0.05005"), D("0.00000500"), 3.0)
        book.apply_delta(BookSide.BID, D("0.0495"), D("0.000005"), 3.0)  # another spelling of each
        self.assertEqual(kraken_checksum(book.bids, book.asks, price_decimals=5, size_decimals=8), 974947235)

    def test_documented_level_formatting(self):
        # the guide: price "0.05000" with volume "0.00000304" formats as "5000304"
        asks = levels([("0.05000", "0.00000304")])
        self.assertEqual(kraken_checksum([], asks, price_decimals=5, size_decimals=8), zlib.crc32(b"5000304"))

    def test_recorded_checksums(self):
        # Books with the checksum Kraken sent for them, recorded by the cryptofeed author
        # (bmoscon/orderbook tests/test_checksums.py): fewer than 10 levels, 6 and 9 price decimals,
        # a volume small enough to print in scientific notation if formatted carelessly.
        cases = [
            (
                6,
                [("0.620000", "40.00000000"), ("0.830000", "380.86649128"), ("1.500000", "333.33333333")],
                [
                    ("0.520300", "3943.09454867"),
                    ("0.403200", "454.31671175"),
                    ("0.403100", "1522.68122054"),
                    ("0.403000", "43.31058726"),
                    ("0.353200", "49.38467346"),
                    ("0.261600", "66.67686034"),
                    ("0.111000", "99.09909910"),
                    ("0.110000", "909.09090909"),
                    ("0.000600", "3333.33333333"),
                    ("0.000400", "5000.00000000"),
                    ("0.000100", "1000000.00000000"),
                ],
                577149452,
            ),
            (
                6,
                [
                    ("0.814900", "297.71298000"),
                    ("0.815000", "500.00000000"),
                    ("0.815100", "500.00399385"),
                    ("0.815200", "42.03000000"),
                    ("0.815300", "21.50000000"),
                    ("0.815400", "10.75000000"),
                    ("0.829900", "1442.34063708"),
                    ("0.830000", "380.86649128"),
                    ("1.500000", "333.33333333"),
                ],
                [
                    ("0.473400", "1284.67569684"),
                    ("0.441000", "40.00415721"),
                    ("0.342200", "51.43191116"),
                    ("0.261600", "66.92596839"),
                    ("0.111000", "99.09909910"),
                    ("0.110000", "909.09090909"),
                    ("0.000600", "3333.33333333"),
                    ("0.000400", "5000.00000000"),
                    ("0.000100", "1000000.00000000"),
                ],
                2369158246,
            ),
            (
                9,
                [
                    ("0.000017680", "38663.54992198"),
                    ("0.000017690", "20623.74841086"),
                    ("0.000017700", "103797.62636430"),
                    ("0.000017710", "40745.97057228"),
                    ("0.000017720", "13296.04740856"),
                    ("0.000017730", "42078.86085768"),
                    ("0.000017740", "64.38065876"),
                    ("0.000017760", "1131.70427847"),
                    ("0.000017780", "43891.46024565"),
                    ("0.000017790", "43908.00000000"),
                    ("0.000017810", "0.00005437"),
                ],
                [
                    ("0.000017670", "0.00000048"),
                    ("0.000017660", "50.29884341"),
                    ("0.000017650", "16958.37856622"),
                    ("0.000017640", "16735.08043085"),
                    ("0.000017630", "61895.21671233"),
                    ("0.000017620", "86958.66158205"),
                    ("0.000017610", "8564.64738216"),
                    ("0.000017600", "59539.93801826"),
                    ("0.000017580", "52578.63046424"),
                    ("0.000017570", "46812.60266777"),
                    ("0.000017560", "640.09877588"),
                ],
                1611253991,
            ),
        ]
        for price_decimals, asks, bids, expected in cases:
            with self.subTest(expected=expected):
                book = book_of(levels(bids), levels(asks))
                self.assertEqual(
                    kraken_checksum(book.bids, book.asks, price_decimals=price_decimals, size_decimals=8), expected
                )


class OkxTest(unittest.TestCase):
    # OKX's documented examples (as kept in its v3 docs' "checksum" section)
    def test_sides_of_equal_length(self):
        bids = levels([("3366.1", "7"), ("3366", "6")])
        asks = levels([("3366.8", "9"), ("3368", "8")])
        self.assertEqual(okx_checksum(bids, asks), -1881014294)
        self.assertEqual(okx_checksum(bids, asks), zlib.crc32(b"3366.1:7:3366.8:9:3366:6:3368:8") - 2**32)

    def test_longer_side_continues_alone(self):
        bids = levels([("3366.1", "7")])
        asks = levels([("3366.8", "9"), ("3368", "8"), ("3372", "8")])
        self.assertEqual(okx_checksum(bids, asks), 831078360)
        book = book_of(bids, asks)
        self.assertEqual(okx_checksum(book.bids, book.asks), 831078360)

    def test_only_the_top_25_count(self):
        bids = levels((f"{3000 - i}.5", "1") for i in range(30))
        asks = levels((f"{3001 + i}.5", "2") for i in range(30))
        self.assertEqual(okx_checksum(bids, asks), okx_checksum(bids[:25], asks[:25]))
        self.assertNotEqual(okx_checksum(bids, asks), okx_checksum(bids[:24], asks[:25]))


class BitfinexTest(unittest.TestCase):
    """The capture has no "cs" messages, so the checksum is built from the docs' steps on the raw
    text of a real snapshot: the 25 highest bids and lowest asks interleaved as
    price:amount (ask amounts negative, as sent) joined by ':', CRC32 as a signed integer."""

    @classmethod
    def setUpClass(cls):
        cls.raw_snapshots = {}  # chanId -> rows with every number as the text Bitfinex sent
        cls.messages = []
        for record in read_capture(CAPTURES / "BITFINEX.ws.11.0"):
            if isinstance(record, WsReceived):
                cls.messages.append(record.message)
                message = json.loads(record.message, parse_float=str, parse_int=str)
                if (
                    isinstance(message, list)
                    and isinstance(message[1], list)
                    and message[1]
                    and isinstance(message[1][0], list)
                    and len(message[1][0]) == 3
                ):
                    cls.raw_snapshots[message[0]] = message[1]

    def test_numbers_print_back_as_bitfinex_sent_them(self):
        numbers = set()

        def keep(text):
            numbers.add(text)
            return D(text)

        for message in self.messages:
            json.loads(message, parse_float=keep, parse_int=keep)
        self.assertGreater(len(numbers), 5000)
        self.assertIn("1.1e-7", numbers)
        self.assertIn("2e-8", numbers)
        for text in numbers:
            self.assertEqual(js_number(D(text)), text)

    def test_javascript_number_forms(self):
        self.assertEqual(js_number(D("0.000001")), "0.000001")
        self.assertEqual(js_number(D("0.0000001")), "1e-7")
        self.assertEqual(js_number(D("-1.5E-7")), "-1.5e-7")
        self.assertEqual(js_number(D("60400.00")), "60400")
        self.assertEqual(js_number(D("1E+21")), "1e+21")
        self.assertEqual(js_number(D("123456789012345680000")), "123456789012345680000")
        self.assertEqual(js_number(D("0")), "0")

    def test_checksum_of_real_snapshots_built_step_by_step(self):
        self.assertEqual(len(self.raw_snapshots), 7)
        for channel, rows in self.raw_snapshots.items():
            bids = sorted((r for r in rows if not r[2].startswith("-")), key=lambda r: D(r[0]), reverse=True)
            asks = sorted((r for r in rows if r[2].startswith("-")), key=lambda r: D(r[0]))
            parts = []
            for i in range(25):
                if i < len(bids):
                    parts += [bids[i][0], bids[i][2]]
                if i < len(asks):
                    parts += [asks[i][0], asks[i][2]]
            crc = zlib.crc32(":".join(parts).encode())
            expected = crc - 2**32 if crc >= 2**31 else crc
            book = book_of([(D(p), D(a)) for p, _, a in bids], [(D(p), -D(a)) for p, _, a in asks])
            with self.subTest(channel=channel):
                self.assertEqual(bitfinex_checksum(book.bids, book.asks), expected)

    def test_checksums_of_books_kept_through_the_updates(self):
        # every book of the capture fed its updates; at every 20th update of a book and at the end,
        # the checksum is rebuilt from the raw text of the levels it holds (as Bitfinex sent them)
        raw, books, checked = {}, {}, 0
        for record in read_capture(CAPTURES / "BITFINEX.ws.11.0"):
            if not isinstance(record, WsReceived):
                continue
            message = json.loads(record.message, parse_float=str, parse_int=str)
            if not isinstance(message, list) or message[0] not in self.raw_snapshots or message[1] == "hb":
                continue
            channel, payload = message[0], message[1]
            if isinstance(payload[0], list):
                raw[channel] = {price: amount for price, _, amount in payload}
                books[channel] = OrderBook("bitfinex", str(channel))
                books[channel].apply_snapshot(
                    [(D(p), D(a)) for p, a in raw[channel].items() if a[0] != "-"],
                    [(D(p), -D(a)) for p, a in raw[channel].items() if a[0] == "-"],
                    1.0,
                )
                continue
            price, count, amount = payload
            side = BookSide.ASK if amount[0] == "-" else BookSide.BID
            if count == "0":
                raw[channel].pop(price, None)
            else:
                raw[channel][price] = amount
            books[channel].apply_delta(side, D(price), D(0) if count == "0" else abs(D(amount)), 2.0)
            if len(raw[channel]) % 20 == 0:
                with self.subTest(channel=channel, update=payload):
                    self.assertEqual(
                        bitfinex_checksum(books[channel].bids, books[channel].asks), self.raw_checksum(raw[channel])
                    )
                checked += 1
        for channel, book in books.items():
            self.assertEqual(bitfinex_checksum(book.bids, book.asks), self.raw_checksum(raw[channel]))
        self.assertGreater(checked, 50)

    @staticmethod
    def raw_checksum(levels):
        """The documented steps on {price text: amount text}."""
        bids = sorted((p for p, a in levels.items() if a[0] != "-"), key=D, reverse=True)
        asks = sorted((p for p, a in levels.items() if a[0] == "-"), key=D)
        parts = []
        for i in range(25):
            if i < len(bids):
                parts += [bids[i], levels[bids[i]]]
            if i < len(asks):
                parts += [asks[i], levels[asks[i]]]
        crc = zlib.crc32(":".join(parts).encode())
        return crc - 2**32 if crc >= 2**31 else crc

    def test_the_texts_remembered_are_bounded(self):
        book = book_of(levels([("0.00002505", "1")]), levels([("0.00002532", "2")]))
        with mock.patch.object(checksums._LevelTexts, "LIMIT", 100):
            for size in range(1, 400):
                book.apply_delta(BookSide.BID, D("0.00002505"), D(size), 2.0)
                self.assertEqual(
                    bitfinex_checksum(book.bids, book.asks) & 0xFFFFFFFF,
                    zlib.crc32(f"0.00002505:{size}:0.00002532:-2".encode()),
                )
                self.assertLessEqual(len(checksums._BITFINEX_BIDS.known), 101)

    def test_small_amounts_use_exponent_form(self):
        bids = levels([("0.00002505", "0.0000001")])
        asks = levels([("0.00002532", "0.00000002")])
        self.assertEqual(bitfinex_checksum(bids, asks) & 0xFFFFFFFF, zlib.crc32(b"0.00002505:1e-7:0.00002532:-2e-8"))


if __name__ == "__main__":
    unittest.main()
