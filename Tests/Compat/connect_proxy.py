#!/usr/bin/env python3
"""A minimal HTTP CONNECT proxy on loopback that records each tunnel it opens.

usage: connect_proxy.py LOGFILE
Prints "listening on http://127.0.0.1:PORT"; appends "CONNECT host:port" to LOGFILE per tunnel.
Only loopback targets are allowed (tests never leave the machine); names under .keyward.test are
this test's own hosts and are tunnelled to 127.0.0.1 (keyward never proxies a loopback address, so
a proxied request must name another host).
"""
import select, socket, sys, threading

log = sys.argv[1]


def pipe(a, b):
    try:
        while True:
            r, _, _ = select.select([a, b], [], [], 30)
            if not r:
                return
            for s in r:
                data = s.recv(65536)
                if not data:
                    return
                (b if s is a else a).sendall(data)
    finally:
        a.close(); b.close()


def handle(client):
    head = b""
    while b"\r\n\r\n" not in head:
        chunk = client.recv(4096)
        if not chunk:
            client.close(); return
        head += chunk
    line = head.split(b"\r\n", 1)[0].decode()
    method, target, _ = line.split(" ", 2)
    host, port = target.rsplit(":", 1)
    if method != "CONNECT" or not (host in ("127.0.0.1", "localhost") or host.endswith(".keyward.test")):
        client.sendall(b"HTTP/1.1 403 Forbidden\r\nContent-Length: 0\r\n\r\n"); client.close(); return
    with open(log, "a") as f:
        f.write(f"CONNECT {target}\n")
    upstream = socket.create_connection(("127.0.0.1", int(port)))
    client.sendall(b"HTTP/1.1 200 Connection established\r\n\r\n")
    pipe(client, upstream)


server = socket.socket()
server.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
server.bind(("127.0.0.1", 0))
server.listen(16)
print(f"listening on http://127.0.0.1:{server.getsockname()[1]}", flush=True)
while True:
    conn, _ = server.accept()
    threading.Thread(target=handle, args=(conn,), daemon=True).start()
