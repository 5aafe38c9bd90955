"""The SMSATRUN digest codec (lib/modemkit/smsdigest.py, T-RUN §2.3) and the board-config loader
(lib/modemkit/board.py) on any input: the decoders raise ValueError (DigestError is one) and
nothing else, and what the encoders build decodes back to itself; a board file is a config or
a BoardError."""

import json

from hypothesis import given, strategies as st

from fuzzing import examples, run_property, tried
from modemkit import board, smsdigest as sd

PASSWORDS = ['1234567890123456', 'abcdefghijklmnop']
hexchars = st.text('0123456789abcdefABCDEF', max_size=120)
numbers = st.from_regex(r'\A\+?[0-9]{1,15}\Z', fullmatch=True)


def real_pdus():
    """Valid PDUs, then cut, extended or with one hex digit changed."""
    submit = st.builds(sd.submit_pdu, numbers, numbers, st.binary(max_size=140))
    deliver = st.builds(sd.deliver_pdu, numbers, numbers,
                        st.tuples(st.integers(0, 99), st.integers(1, 12), st.integers(1, 31),
                                  st.integers(0, 23), st.integers(0, 59), st.integers(0, 59),
                                  st.integers(-48, 48)),
                        st.binary(max_size=140))
    return st.tuples(st.one_of(submit, deliver), st.integers(0, 400), st.integers(0, 2),
                     st.sampled_from('0123456789ABCDEFXZ ')).map(
        lambda v: [v[0], v[0][:v[1]], v[0] + 'F0' * v[2],
                   v[0][:v[1]] + v[3] + v[0][v[1] + 1:]][v[2] + 1 if v[2] < 2 else 3])


@examples(1000)
@given(user_data=st.one_of(
           st.binary(max_size=160),
           st.tuples(st.sampled_from([sd.REQUEST_CODE, sd.RESPONSE_CODE]),
                     st.binary(max_size=150)).map(lambda t: t[0] + t[1])),
       pdu=st.one_of(hexchars, st.text(max_size=60), real_pdus()),
       text=st.text(max_size=200), dcs=st.integers(0, 255))
def _decoders(user_data, pdu, text, dcs):
    tried('smsdigest')
    for fn in (sd.parse_request, sd.parse_response):
        try:
            fn(user_data, PASSWORDS)
        except ValueError:
            pass
    for fn in (sd.parse_submit_pdu, sd.parse_deliver_pdu, sd.tpdu_length):
        try:
            fn(pdu)
        except ValueError:
            pass
    try:
        sd.dcs_alphabet(dcs)
    except ValueError:
        pass
    sd.run_text(text)
    sd.valid_phone_entry(text)
    sd.number_matches(text, '+393468686711')
    for alphabet in ('gsm7', '8bit'):
        assert len(sd.split_simple_response(text, alphabet)) <= sd.MAX_SEGMENTS


@examples(600)
@given(text=st.binary(max_size=sd.SEGMENT_TEXT), pwd=st.sampled_from(PASSWORDS),
       transaction=st.integers(0, 255), session=st.integers(0, 255),
       long_text=st.binary(max_size=3000), smsc=numbers, peer=numbers)
def _round_trips(text, pwd, transaction, session, long_text, smsc, peer):
    tried('smsdigest-roundtrip')
    sms = sd.parse_request(sd.build_request(pwd, text, transaction, session), PASSWORDS)
    assert (sms.text, sms.password.decode(), sms.transaction, sms.session) == (
        text, pwd, transaction, session)
    parts = sd.build_response(pwd, long_text, transaction, session)
    assert len(parts) <= sd.MAX_SEGMENTS
    got = [sd.parse_response(p, [pwd]) for p in parts]
    assert b''.join(s.text for s in got) == long_text[:sd.MAX_SEGMENTS * sd.SEGMENT_TEXT]
    pdu = sd.parse_submit_pdu(sd.submit_pdu(smsc, peer, text))
    assert (pdu.destination, pdu.user_data) == (peer, text)


json_values = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False) | st.text(max_size=8),
    lambda inner: st.lists(inner, max_size=4) | st.dictionaries(st.text(max_size=8), inner,
                                                                max_size=4),
    max_leaves=12)
board_like = st.fixed_dictionaries(
    {'dialect': st.one_of(st.sampled_from(['telit', 'quectel', 'wavecom', 'Telit', '']),
                          json_values)},
    optional={'serial': json_values, 'apn': json_values, 'mqtt': json_values})


@examples(400)
@given(content=st.one_of(
    st.binary(max_size=200),
    json_values.map(lambda v: json.dumps(v).encode()),
    board_like.map(lambda v: json.dumps(v).encode()),
    board_like.map(lambda v: json.dumps(v).encode()[:-1])))
def _board_files(tmp_path_factory, content):
    tried('board')
    path = tmp_path_factory.mktemp('board') / 'board.json'
    path.write_bytes(content)
    try:
        cfg = board.load(str(path))
    except board.BoardError as e:
        assert str(path) in str(e)
        return
    assert isinstance(cfg, dict) and cfg['dialect'] in board.DIALECTS


def test_smsdigest_decoders_raise_only_value_error():
    run_property(_decoders)


def test_smsdigest_encoders_round_trip():
    run_property(_round_trips)


def test_board_loader_raises_only_board_error(tmp_path_factory):
    run_property(lambda: _board_files(tmp_path_factory))
