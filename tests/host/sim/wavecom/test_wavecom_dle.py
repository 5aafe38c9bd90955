"""The DLE/ETX codec of the Wavecom data mode (digest C.3; GP §7.4.7 worked examples)."""

import random

from mktools.sim.wavecom.dle import DleDecoder, dle_encode

D, E = b'\x10', b'\x03'

# GP §7.4.7 "Transmission example" / "Reception example" (verbatim, placeholders replaced)
HOST_FILE = b'0123456' + D + D + b'654321' + D + E + b'123456' + E
SERVER_FILE = b'0123456' + D + b'654321' + E + b'123456'


def test_gp_7_4_7_reception_example():
    # "File received with AT#FTPGET : 0123456<DLE><DLE>654321<DLE><ETX>123456<ETX>"
    assert dle_encode(SERVER_FILE) + E == HOST_FILE


def test_gp_7_4_7_transmission_example():
    # "Remote file stored on server: 0123456<DLE>654321<ETX>123456"
    payload, ended, rest = DleDecoder().feed(HOST_FILE)
    assert (payload, ended, rest) == (SERVER_FILE, True, b'')


def test_gp_7_4_7_file_ending_in_etx_and_containing_dle_etx():
    # "the serial port will output the file terminated with <DLE><ETX> then <ETX>"
    assert dle_encode(b'data' + E) + E == b'data' + D + E + E
    # "if the file contains the sequence <DLE><ETX>, then it will be transformed to
    # <DLE><DLE><DLE><ETX>"
    assert dle_encode(D + E) == D + D + D + E


def test_decoder_keeps_a_dle_split_across_chunks_and_returns_the_rest():
    decoder = DleDecoder()
    assert decoder.feed(b'ab' + D) == (b'ab', False, b'')
    assert decoder.feed(E + b'c' + E + b'AT\r') == (E + b'c', True, b'AT\r')


def test_dle_before_another_byte_yields_that_byte():
    assert DleDecoder().feed(D + b'x' + E) == (b'x', True, b'')


def test_round_trip_of_random_bytes_rich_in_dle_and_etx():
    rng = random.Random(7)
    data = bytes(rng.choice((0x03, 0x10, rng.randrange(256))) for _ in range(20000))
    encoded = dle_encode(data) + E
    decoder, out = DleDecoder(), bytearray()
    for i in range(0, len(encoded), 97):
        payload, ended, rest = decoder.feed(encoded[i:i + 97])
        out += payload
        if ended:
            assert rest == b''
            break
    assert bytes(out) == data
