"""The Telit golden transcripts of the seed digest (A.6, GT-1..GT-25) replayed line by line
against the emulator, with local servers standing in for the manual's hosts.

Placeholders of the seed (`address`, `server`, `echo_port`, `xxxx`...) become 127.0.0.1 names and
ephemeral ports; each deviation from the printed text is commented where it occurs.  GT-15/GT-17
(HTTP, SMTP) use commands this emulator does not implement and are not replayed."""

import socket

from test_telit_support import (Port, broker, escape, free_port, ftp_server,  # noqa: F401
                                http_server, make_harness, replay)

from mktools.sim.telit.modem import TelitModem


def test_gt01_max_active_contexts_he910():
    """T-IPE §4.2.1: the HE910 activates at most three PDP contexts."""
    ips = ['2.192.12.25', '2.192.17.170', '2.192.20.171']
    with make_harness(config={'ip_pool': ips}, define=()) as h:
        for cid in range(1, 6):
            assert h.cmd(f'AT+CGDCONT={cid},"IP"," Access_Point_Name ",""') == ['OK']
        for conn_id, cid in zip(range(1, 7), (5, 5, 4, 3, 2, 1)):
            assert h.cmd(f'AT#SCFG={conn_id},{cid},300,90,600,50') == ['OK']
        replay(h, '''
AT+CGMM
HE910
OK
AT+CMEE=2
OK
AT+CGDCONT?
+CGDCONT: 1,"IP"," Access_Point_Name ","",0,0
+CGDCONT: 2,"IP"," Access_Point_Name ","",0,0
+CGDCONT: 3,"IP"," Access_Point_Name ","",0,0
+CGDCONT: 4,"IP"," Access_Point_Name ","",0,0
+CGDCONT: 5,"IP"," Access_Point_Name ","",0,0
OK
AT#SCFG?
#SCFG: 1,5,300,90,600,50
#SCFG: 2,5,300,90,600,50
#SCFG: 3,4,300,90,600,50
#SCFG: 4,3,300,90,600,50
#SCFG: 5,2,300,90,600,50
#SCFG: 6,1,300,90,600,50
OK
AT#SGACT?
#SGACT: 1,0
#SGACT: 2,0
#SGACT: 3,0
#SGACT: 4,0
#SGACT: 5,0
OK
AT#SGACT=1,1
#SGACT: 2.192.12.25
OK
AT#SGACT=2,1
#SGACT: 2.192.17.170
OK
AT#SGACT=3,1
#SGACT: 2.192.20.171
OK
AT#SGACT?
#SGACT: 1,1
#SGACT: 2,1
#SGACT: 3,1
#SGACT: 4,0
#SGACT: 5,0
OK
AT#SGACT=4,1
+CME ERROR: activation failed
AT#SGACT=5,1
+CME ERROR: activation failed
''')


def test_gt02_cgact_context_not_opened():
    """§4.3: +CGACT activates the context but #SD then fails.  The seed's `#SGACT: 0,0` lines
    (the GSM context, §15) are not emulated and left out."""
    with make_harness(define=(1, 2), config={'hosts': {'server_address': '127.0.0.1'}}) as h:
        for conn_id in range(2, 7):
            assert h.cmd(f'AT#SCFG={conn_id},2,300,90,600,50') == ['OK']
        replay(h, '''
AT+CMEE=2
OK
AT#SGACT?
#SGACT: 1,0
#SGACT: 2,0
OK
AT+CGACT=1,1
OK
AT#SGACT?
#SGACT: 1,1
#SGACT: 2,0
OK
AT#SD=1,0,20510,"server_address",0,0,1
+CME ERROR: context not opened
''')


def test_gt03_bind_then_activate():
    """§4.2.5.1: bind sockets to cids 3 and 4, then activate them (spaces tolerated)."""
    with make_harness(define=(), config={'ip_pool': ['31.157.55.95', '31.159.34.186']}) as h:
        assert h.cmd('AT+CGDCONT=3,"IP","Access_Point_Name","0.0.0.0",0,0') == ['OK']
        assert h.cmd('AT+CGDCONT=4,"IP","Access_Point_Name","0.0.0.0",0,0') == ['OK']
        replay(h, '''
AT#SCFG = 1, 3, 300, 90, 600, 50
OK
AT#SCFG = 5, 4, 300, 90, 600, 50
OK
AT#SCFG?
#SCFG: 1,3,300,90,600,50
#SCFG: 2,1,300,90,600,50
#SCFG: 3,1,300,90,600,50
#SCFG: 4,2,300,90,600,50
#SCFG: 5,4,300,90,600,50
#SCFG: 6,2,300,90,600,50
OK
AT+CGATT?
+CGATT: 1 ← the module is attached.
OK
AT#SGACT = 3,1 ← activate the PDP context 3
#SGACT: 31.157.55.95
OK
AT#SGACT = 4,1 ← activate the PDP context 4
#SGACT: 31.159.34.186
OK
''')


def test_gt04_resume_suspended_socket(tcp_echo_server):
    """§6.4.  The pending data is the echo of the `+++`, which the module also sends to the
    peer (GT-8); for the same reason a last `SRING: 2` follows the final suspension."""
    with make_harness(activate=(1, 2), config={'hosts': {'Host_Name': '127.0.0.1'}}) as h:
        assert h.cmd('AT#SCFG=2,2,300,90,600,5') == ['OK']     # <txTo> 0.5 s: a faster test
        replay(h, '''
AT#SD = 2,0,{port},"Host_Name"
CONNECT ← the connection is open.
<type:data exchange>
data exchange
+++ ← suspend the connection.
OK ← the module is in COMMAND mode.
SRING: 2
AT#SO = 2
CONNECT
<line:+++> ← [the pending data: the echoed escape]
+++ ← suspend the connection.
OK
SRING: 2
''', port=tcp_echo_server.port)


def test_gt05_close_with_sh(tcp_echo_server):
    """§6.5 (the `SRING: 2` is the echo of the `+++`, as in GT-4)."""
    with make_harness(activate=(1, 2), config={'hosts': {'Host_Name': '127.0.0.1'}}) as h:
        assert h.cmd('AT#SCFG=2,2,300,90,600,5') == ['OK']     # <txTo> 0.5 s: a faster test
        replay(h, '''
AT#SD = 2,0,{port},"Host_Name"
CONNECT ← the connection is open
<type:data exchange>
data exchange
+++ ← suspend the connection.
OK ← the module is in COMMAND mode
SRING: 2
AT#SH = 2
OK
''', port=tcp_echo_server.port)
        assert h.cmd('AT#SS=2') == ['#SS: 2,0', 'OK']


def test_gt06_server_and_client_modules():
    """§7.5.1: two emulated modules on one loop.  The client dials 127.0.0.1 where the seed
    dials the server's network address (only loopback is ever dialled).  The firewall rule with
    mask 0.0.0.0 accepts every address (digest A.6 note), so the client gets in."""
    with make_harness(config={'ip_pool': ['2.192.9.179']}) as h:
        client_modem = TelitModem(h.loop, h.net, {'variant': 'he910', 'activation_s': 0.5,
                                                  'ip_pool': ['37.176.239.214']})
        client = Port(h, client_modem)
        assert client.cmd('AT+CGDCONT=1,"IP","Access_Point_Name"')[-1] == 'OK'
        assert client.cmd('AT#SGACT=1,1') == ['#SGACT: 37.176.239.214', 'OK']
        listen_port = free_port()
        assert h.cmd('AT#SCFG=1,1,300,90,600,5') == ['OK']     # <txTo> 0.5 s: a faster test

        def client_dials():
            assert client.cmd(f'AT#SD=1,0,{listen_port}," 127.0.0.1"') == ['CONNECT']

        def client_closes():
            assert client.lines(1.0) == ['hello client']
            escape(h, client)
            assert client.lines() == ['OK']
            assert client.cmd('AT#SH=1') == ['OK']

        replay(h, '''
AT#SGACT=1,1
#SGACT: 2.192.9.179
OK
AT#FRWL=1,"37.176.239.214","0.0.0.0"
OK
AT#SL=1,1,{lport}
OK
<client_dials>
SRING: 1
AT#SA=1
CONNECT
<type:hello client>
<client_closes>
<line:+++> ← [the client's escape reaches the server too, as in GT-8]
NO CARRIER ← on the client side has been entered #SH command, the connection is closed.
''', actions={'client_dials': client_dials, 'client_closes': client_closes},
               lport=listen_port)


def test_gt07_srecv_after_data_amount_sring(tcp_echo_server):
    """§8.5."""
    with make_harness(activate=(1,)) as h:
        assert h.cmd('AT#SCFGEXT=1,1,0,0') == ['OK']
        assert h.cmd(f'AT#SD=1,0,{tcp_echo_server.port},"address",0,0,1') == ['OK']
        replay(h, '''
AT#SSEND=1
> hello<Ctrl-Z>
OK
SRING: 1,5
AT#SRECV=1,5
#SRECV: 1,5
hello
OK
''')


def test_gt08_command_to_online_and_back(tcp_echo_server):
    """§8.7.1 verbatim (`AT#SEND` is the seed body's name for `#SSEND`, digest A.3.4)."""
    with make_harness(activate=(1,)) as h:
        assert h.cmd('AT#SCFGEXT=1,1,0,0') == ['OK']
        replay(h, '''
AT#SD=1,0,{port},"address",0,0,1
OK ← the socket connection is open; the module is in COMMAND mode.
AT#SEND=1
> hello<Ctrl-Z> ← type in the first message.
OK
SRING: 1,5 ← SRING in Data amount mode, 1 is the connection Id, 5 is the amount of the echoed data (hello).
AT#SO = 1 ← resume the suspended connection.
CONNECT
hello ← echoed data pending on the socket are sent to the terminal emulator.
+++ ← suspend the connection. The escape sequence is not displayed on the terminal emulator.
OK ← the module is in COMMAND mode.
SRING: 1,3 ← SRING in Data amount mode, 1 is the connection Id, 3 is the amount of echoed data (+++).
AT#SH=1
OK
''', port=tcp_echo_server.port)
        assert tcp_echo_server.received == b'hello+++'


def test_gt09_accept_in_command_mode():
    """§8.7.2; a real loopback client connects where the seed waits for a remote host."""
    with make_harness(activate=(1,), config={'ip_pool': ['10.1.2.3']}) as h:
        lport = free_port()
        clients = []

        def connect():
            clients.append(socket.create_connection(('127.0.0.1', lport)))

        replay(h, '''
AT#SL = 1,1,{lport}
OK
<connect>
SRING: 1
AT#SA = 1,1
OK
AT#SS
#SS: 1,2,10.1.2.3,{lport},127.0.0.1,<any> ← <connId>=1 is open in suspended state.
#SS: 2,0
#SS: 3,0
#SS: 4,0
#SS: 5,0
#SS: 6,0
OK
''', actions={'connect': connect}, lport=lport)
        clients[0].close()


def test_gt10_sring_normal_mode(tcp_echo_server):
    """§8.7.3: one SRING only, however much more data comes."""
    with make_harness(activate=(1,)) as h:
        replay(h, '''
AT#SD=2,0,{port},"address",0,0,1
OK ← the socket connection is open; the module is in COMMAND mode.
AT#SEND=2
> hello<Ctrl-Z> ← type in the first message.
OK
SRING: 2 ← SRING in Normal mode, 2 is the socket connection Id.
AT#SEND=2
> hello<Ctrl-Z> ← type the second message.
OK
AT#SH=2
OK
''', port=tcp_echo_server.port)


def test_gt11_sring_data_amount_and_si(tcp_echo_server):
    """§8.7.4."""
    with make_harness(activate=(1,)) as h:
        assert h.cmd('AT#SCFGEXT=2,1,0,0') == ['OK']
        replay(h, '''
AT#SD=2,0,{port},"address",0,0,1
OK ← socket connection is open in COMMAND mode.
AT#SEND=2 ← send data.
> hello<Ctrl-Z>
OK
SRING: 2,5 ← SRING in Data amount mode, 2 is the connection Id, 5 is the amount of the echoed data.
AT#SEND=2
> hello<Ctrl-Z>
OK
SRING: 2,10 ← SRING in Data amount mode, unsolicited indication is updated every time new data arrives on the socket.
AT#SI=2 ← get socket info.
#SI: 2,10,0,10,0 ← ten bytes sent, and ten pending on the socket.
OK
AT#SO = 2 ← resume the suspended socket connection.
CONNECT
hellohello ← data pending on the socket are sent to the terminal emulator.
+++ ← suspend the connection. The escape sequence is not displayed on the terminal emulator.
OK ← the module is in COMMAND mode.
SRING: 2,3 ← SRING in Data amount mode, 2 is the connection Id, 3 is the amount of echoed data (+++).
AT#SH=2
OK
''', port=tcp_echo_server.port)


def test_gt12_sring_data_view_udp(udp_echo_server):
    """§8.7.6.  Seed defect (digest E #7): the first 68-byte SRING prints 70 characters though
    it declares 64; the emulator carries exactly 64 bytes (16 x 'test')."""
    with make_harness(activate=(1,)) as h:
        replay(h, '''
AT#SCFGEXT = 1,3,0,0
OK
AT#SCFGEXT = 2,3,1,0
OK
AT#SD=1,1,{port},"address",0,0,1
OK ← the socket connection is open; the module is in COMMAND mode.
AT#SD=2,1,{port},"address",0,0,1
OK ← the socket connection is open; the module is in COMMAND mode.
AT#SEND=1
> hello<Ctrl-Z>
OK
SRING: "127.0.0.1",{port},1,5,0,hello
AT#SEND=2
> hello<Ctrl-Z>
OK
SRING: "127.0.0.1",{port},2,5,0,68656C6C6F
AT#SEND=1
> {payload}<Ctrl-Z>
OK
SRING: "127.0.0.1",{port},1,64,4,{first}
SRING: "127.0.0.1",{port},1,4,0,test
''', port=udp_echo_server.port, payload='test' * 17, first='test' * 16)


def test_gt13_scfgext_test_set_read():
    """§8.3.1 verbatim."""
    with make_harness() as h:
        replay(h, '''
AT#SCFGEXT=?
#SCFGEXT: (1-6),(0-3),(0,1),(0-240),(0,1),(0,1)
OK
AT#SCFGEXT?
#SCFGEXT: 1,0,0,0,0,0
#SCFGEXT: 2,0,0,0,0,0
#SCFGEXT: 3,0,0,0,0,0
#SCFGEXT: 4,0,0,0,0,0
#SCFGEXT: 5,0,0,0,0,0
#SCFGEXT: 6,0,0,0,0,0
OK
AT#SCFGEXT = 1,1,0,0
OK
AT#SCFGEXT = 2,2,1,0,0,1
OK
AT#SCFGEXT = 6,3,1,0
OK
AT#SCFGEXT?
#SCFGEXT: 1,1,0,0,0,0
#SCFGEXT: 2,2,1,0,0,1
#SCFGEXT: 3,0,0,0,0,0
#SCFGEXT: 4,0,0,0,0,0
#SCFGEXT: 5,0,0,0,0,0
#SCFGEXT: 6,3,1,0,0,0
OK
''')


def test_gt14_ss_of_all_sockets(tcp_echo_server):
    """§7.2: the five states of GT-14 built for real - listening (4), suspended (2), suspended
    with pending data (3), and online (1) on a second AT instance (`spawn_instance`)."""
    with make_harness(activate=(1,), config={'ip_pool': ['217.201.131.110']}) as h:
        for conn_id in range(1, 7):
            assert h.cmd(f'AT#SCFG={conn_id},1,300,90,600,50') == ['OK']
        lport = free_port()
        echo = tcp_echo_server.port
        assert h.cmd(f'AT#SL=1,1,{lport}') == ['OK']
        assert h.cmd(f'AT#SD=2,0,{echo},"address",0,0,1') == ['OK']
        assert h.cmd(f'AT#SD=3,0,{echo},"address",0,0,1') == ['OK']
        assert h.cmd('AT#SSEND=3')[-1] == '>'
        h.write(b'pending\x1a')
        h.expect_urc('SRING: 3')
        other = Port(h, h.modem.spawn_instance())
        assert other.cmd(f'AT#SD=4,0,{echo},"address"') == ['CONNECT']
        replay(h, '''
AT#SS
#SS: 1,4,217.201.131.110,{lport}
#SS: 2,2,217.201.131.110,<any>,127.0.0.1,{echo}
#SS: 3,3,217.201.131.110,<any>,127.0.0.1,{echo}
#SS: 4,1,217.201.131.110,<any>,127.0.0.1,{echo}
#SS: 5,0
#SS: 6,0
OK
''', lport=lport, echo=echo)


def test_gt16_http_over_socket_remote_close(http_server):
    """§10.4.4: the server closes after its answer -> NO CARRIER, cause 1."""
    with make_harness(activate=(1,), config={'hosts': {'server_address': '127.0.0.1'}}) as h:
        request = 'GET / HTTP/1.1\r\nHost: www.telit.com\r\nConnection: keep-alive\r\n\r\n'
        assert h.cmd('AT#SCFG=1,1,300,90,600,5') == ['OK']     # <txTo> 0.5 s: a faster test
        replay(h, '''
AT#SD=1,0,{port},"server_address",0,0
CONNECT ← the connection is open. The module is in ONLINE mode.
<request>
HTTP/1.1 200 OK
Content-Type: text/html
Content-Length: 15
Connection: close
<html></html>
NO CARRIER ← HTTP connection is closed.
AT#SLASTCLOSURE=1
#SLASTCLOSURE: 1,1 ← HTTP connection closed by remote host.
OK
''', actions={'request': lambda: h.write(request)}, port=http_server.port)
        assert http_server.request == request.encode()


def test_gt18_six_sockets_and_ftp(tcp_echo_server, ftp_server):
    """§12.3.1.  "server" stands for the local FTP server's 127.0.0.1:<port>."""
    with make_harness(define=(1, 2), config={
            'ip_pool': ['37.176.124.199', '31.157.11.11'],
            'hosts': {'remote_IP_address': '127.0.0.1', 'server': '127.0.0.1'}}) as h:
        sds = '\n'.join(f'AT#SD={i},0,{{echo}}," remote_IP_address ",0,0,1\nOK'
                        for i in range(1, 7))
        replay(h, '''
AT#SGACT=1,1
#SGACT: 37.176.124.199
OK
AT#SGACT=2,1
#SGACT: 31.157.11.11
OK
''' + sds + '''
AT#FTPOPEN="server:{ftp}","username","password"
OK ← FTP connection open, and in active mode.
AT#SS
#SS: 1,2,37.176.124.199,<any>,127.0.0.1,{echo}
#SS: 2,2,37.176.124.199,<any>,127.0.0.1,{echo}
#SS: 3,2,37.176.124.199,<any>,127.0.0.1,{echo}
#SS: 4,2,31.157.11.11,<any>,127.0.0.1,{echo}
#SS: 5,2,31.157.11.11,<any>,127.0.0.1,{echo}
#SS: 6,2,31.157.11.11,<any>,127.0.0.1,{echo}
OK
AT#FTPOPEN="server:{ftp}","username","password"
+CME ERROR: Already connected
''', echo=tcp_echo_server.port, ftp=ftp_server.port)


FTP_HOSTS = {'hosts': {'server': '127.0.0.1'}, 'ip_pool': ['193.199.234.255']}


def test_gt19_ftp_upload_online(ftp_server):
    """§12.8.1.  Seed defect (digest E #3): `NOCARRIER` is `NO CARRIER`."""
    with make_harness(config=FTP_HOSTS) as h:
        replay(h, '''
AT#SGACT=1,1
#SGACT: 193.199.234.255
OK
AT#FTPTO=1000
OK
AT#FTPOPEN="server:{ftp}","username","password"
OK ← FTP connection open and in active mode.
AT#FTPTYPE=1
OK
AT#FTPPUT="filename.txt",0
CONNECT ← data connection is open.
<type:data for the file>
+++ ← close the FTP data connection.
NO CARRIER
AT#FTPCLOSE
OK
AT#SGACT=1,0
OK
''', ftp=ftp_server.port)
        with open(ftp_server.path('filename.txt'), 'rb') as f:
            assert f.read() == b'data for the file'


def test_gt20_ftp_upload_command_mode(ftp_server):
    """§12.8.2 (bytestosend = 10, then a last chunk of 5 with <eof>=1)."""
    with make_harness(activate=(1,), config=FTP_HOSTS) as h:
        replay(h, '''
AT#FTPOPEN="server:{ftp}","username","password",1
OK
AT#FTPPUT="filename.txt",1
OK
AT#FTPAPPEXT=10
> 0123456789
#FTPAPPEXT: 10
OK
AT#FTPAPPEXT=5,1
> abcde
#FTPAPPEXT: 5
OK
''', ftp=ftp_server.port)
        with open(ftp_server.path('filename.txt'), 'rb') as f:
            assert f.read() == b'0123456789abcde'


def test_gt21_ftp_download_online(ftp_server):
    """§12.11.1."""
    with open(ftp_server.path('filename.txt'), 'wb') as f:
        f.write(b'first line\r\nsecond line\r\n')
    with make_harness(config=FTP_HOSTS) as h:
        replay(h, '''
AT#SGACT=1,1
#SGACT: 193.199.234.255
OK
AT#FTPTO=1000
OK
AT#FTPOPEN="server:{ftp}","username","password"
OK ← FTP control connection open, and in active mode.
AT#FTPTYPE=0
OK
AT#FTPPWD
#FTPPWD: 257 "/"
OK
AT#FTPGET="filename.txt"
CONNECT ← data connection is open.
first line
second line
NO CARRIER ← data connection is closed automatically when the downloading is terminated.
AT#FTPCLOSE
OK ← FTP control connection is closed.
AT#SGACT=1,0
OK
''', ftp=ftp_server.port)


def gt22_file():
    """600 bytes in the seed's pattern.  The seed's rows are not byte-consistent with its own
    counts (OCR); the byte split at 400/200 is what the test checks."""
    rows = [f'Text row number {n} * {str(n) * 36 if n < 10 else "ABC"[n - 10] * 34} *\r\n'
            for n in range(1, 13)]
    return ''.join(rows).encode()[:600]


def test_gt22_ftp_download_command_mode(ftp_server):
    """§12.11.2: #FTPRECV cuts by bytes; the filename in #FTPGETPKT? is unquoted."""
    content = gt22_file()
    with open(ftp_server.path('filename.txt'), 'wb') as f:
        f.write(content)
    first = '\n'.join(content[:400].decode().split('\r\n'))
    second = '\n'.join(content[400:].decode().split('\r\n'))
    with make_harness(activate=(1,), config=FTP_HOSTS) as h:
        assert h.cmd(f'AT#FTPOPEN="server:{ftp_server.port}","username","password"') == ['OK']
        h.advance(0.5)
        replay(h, '''
AT#FTPGETPKT="filename.txt"
OK ← data connection is open.
<advance:0.5>
AT#FTPRECV?
#FTPRECV: 600
OK
AT#FTPRECV=400
#FTPRECV: 400
{first}
OK
AT#FTPRECV =200
#FTPRECV: 200
{second}
OK
AT#FTPGETPKT?
#FTPGETPKT: filename.txt,0,1
OK
'''.replace('{first}', first).replace('{second}', second))
        # the last read after EOF closed the data port: a new download may start
        assert h.cmd('AT#FTPGETPKT?') == ['#FTPGETPKT: ,0,0', 'OK']


def test_gt23_ftp_on_4g_moved_to_cid2(ftp_server):
    """§12.11.3 on the LE910C1: the attach APN of cid 1 carries no data (config
    'blocked_cids'), so FTP moves to cid 2 with #PROTOCOLCFG."""
    with make_harness('le910c1', define=(), config={
            'hosts': {'server': '127.0.0.1'}, 'blocked_cids': [1],
            'ip_pool': ['10.178.0.31', '2.192.17.237']}) as h:
        replay(h, '''
AT#PROTOCOLCFG?
#PROTOCOLCFG: "FTP",1,0,0,0
#PROTOCOLCFG: "SMTP",1,0,0,0
#PROTOCOLCFG: "PING",1,0,0,0
#PROTOCOLCFG: "SSL",1,0,0,0
OK
AT#SGACT?
#SGACT: 1,0
OK
AT#FTPOPEN="server:{ftp}","username","password"
+CME ERROR: Cannot resolve name
AT#SGACT=1,1
#SGACT: 10.178.0.31
OK
AT#FTPOPEN="server:{ftp}","username","password"
+CME ERROR: Cannot connect control socket
AT#PROTOCOLCFG="FTP",2
OK
AT+CGDCONT=2,"IP","Access_Point_Name","0.0.0.0"
OK
AT#SGACT=2,1
#SGACT: 2.192.17.237
OK
AT#SGACT?
#SGACT: 1,1
#SGACT: 2,1
OK
AT#FTPOPEN="server:{ftp}","username","password"
OK ← FTP control connection open in active mode.
''', ftp=ftp_server.port)


def test_gt24_mqtt_connect_pub_sub(broker):
    """§13.4.1 + §13.7.1 on the ME910C1 against mosquitto; paho publishes the messages the seed
    receives from elsewhere.  `#MQCONN?` also lists instance 2 (as in the §13.3.1 read
    example; the transcript shows only instance 1)."""
    with make_harness('me910c1', define=(), config={
            'hosts': {'mqtt_broker_address': '127.0.0.1'}, 'ip_pool': ['37.176.124.199']}) as h:
        actions = {
            'light': lambda: broker.publish('test/light', 'OFF'),
            'fans': lambda: (broker.publish(' test/fan/floor1', 'OFF'),
                             broker.publish(' test/fan/floor4', 'ON')),
        }
        replay(h, '''
AT#SGACT=1,1
#SGACT: 37.176.124.199
OK
AT#MQEN=1,1
OK
AT#MQEN?
#MQEN: 1,1
#MQEN: 2,0
OK
AT#MQCFG=1,"mqtt_broker_address",{port},1
OK
AT#MQCFG2=1,60,1
OK
AT#MQTCFG=1,30
OK
AT#MQWCFG=1,1,1,1,"will_topic","will_message"
OK
AT#MQCONN=1,"client_id","username","password"
OK
AT#MQCONN?
#MQCONN: 1,1
#MQCONN: 2,0
OK
AT#MQSUB=1,"test"
OK
AT#MQPUBS=1,"test",0,1,"message"
OK
#MQRING: 1,1,test,7 ← #MQRING URC received for client instance 1, topic "test".
AT#MQREAD=1,1
#MQREAD: 1,test,7
<<<
message
OK
AT#MQUNS=1,test
OK
AT#MQSUB=1,"test/light"
OK
<light>
#MQRING: 1,1,test/light,3
AT#MQREAD=1,1
#MQREAD: 1,test/light,3
<<<
OFF
OK
AT#MQSUB=1," test/fan/#"
OK
<fans>
#MQRING: 1,1, test/fan/floor1,3
#MQRING: 1,2, test/fan/floor4,2
AT#MQREAD=1,1
#MQREAD: 1, test/fan/floor1,3
<<<
OFF
OK
AT#MQREAD=1,2
#MQREAD: 1, test/fan/floor4,2
<<<
ON
OK
AT#MQDISC=1
OK
AT#MQCONN?
#MQCONN: 1,0
#MQCONN: 2,0
OK
AT#MQEN=1,0
OK
''', actions=actions, port=broker.port)


def test_gt25_ping():
    """§14.1; the replies are configured (no ICMP leaves the emulator)."""
    replies = [(600, 255), (5, 55), (5, 55), (3, 55)]
    with make_harness(define=(), config={'ping_replies': {'8.8.8.8': replies},
                                         'ip_pool': ['10.160.118.113']}) as h:
        replay(h, '''
AT#ICMP?
#ICMP: 0 ← support disabled (default)
OK
AT+CGDCONT=1,"IP","Access_Point_Name"
OK
AT#SGACT=1,1
#SGACT: 10.160.118.113
OK
AT#PING="8.8.8.8"
#PING: 01,"8.8.8.8",600,255
#PING: 02,"8.8.8.8",5,55
#PING: 03,"8.8.8.8",5,55
#PING: 04,"8.8.8.8",3,55
OK
''')
