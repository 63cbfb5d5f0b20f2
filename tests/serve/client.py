"""client.py: raw-socket HTTP clients for the server's black-box tests
(stdlib only; 127.0.0.1 only). Each subcommand prints what it saw as JSON
or exits non-zero with a message. Usage: client.py COMMAND PORT [ARGS]"""
import json
import os
import resource
import select
import socket
import sys
import time


def connect(port, source=None, timeout=10.0):
    s = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    s.settimeout(timeout)
    if source:
        s.bind((source, 0))
    s.connect(("127.0.0.1", port))
    return s


def read_response(f, head=False):
    """One response from a buffered socket file: (status, headers, body);
    head: the request was HEAD (no body follows the headers)."""
    line = f.readline()
    if not line:
        return None
    parts = line.decode("latin-1").rstrip("\r\n").split(" ", 2)
    status = int(parts[1])
    headers = {}
    while True:
        h = f.readline().decode("latin-1").rstrip("\r\n")
        if not h:
            break
        k, v = h.split(":", 1)
        headers[k.strip().lower()] = v.strip()
    n = int(headers.get("content-length", "0"))
    body = f.read(n) if n and not head and status >= 200 else b""
    return status, headers, body


def raw(port, data, n_expected=1, shutdown=False, timeout=10.0, source=None, head=False):
    """Send bytes at once, read n responses (stopping at EOF)."""
    s = connect(port, source, timeout)
    s.sendall(data)
    if shutdown:
        s.shutdown(socket.SHUT_WR)
    f = s.makefile("rb")
    out = []
    for _ in range(n_expected):
        try:
            r = read_response(f, head)
        except (socket.timeout, ConnectionResetError):
            break
        if r is None:
            break
        out.append(r)
    s.close()
    return out


def show(responses):
    res = []
    for status, headers, body in responses:
        try:
            b = json.loads(body) if body else None
        except ValueError:
            b = {"_text": body.decode("latin-1")[:200]}
        res.append({"status": status, "headers": headers, "body": b})
    print(json.dumps(res))


def req(method, path, body=b"", extra=""):
    head = "%s %s HTTP/1.1\r\nHost: t\r\n%s" % (method, path, extra)
    if body or method == "POST":
        head += "Content-Length: %d\r\n" % len(body)
    return head.encode() + b"\r\n" + body


def main():
    cmd, port = sys.argv[1], int(sys.argv[2])
    args = sys.argv[3:]
    if cmd == "raw":  # raw PORT N_EXPECTED: bytes from stdin (escapes \r\n allowed)
        data = sys.stdin.buffer.read()
        show(raw(port, data, int(args[0]), shutdown=len(args) > 1))
    elif cmd == "pipeline":  # pipeline PORT METHOD PATH N: N requests in one write
        method, path, n = args[0], args[1], int(args[2])
        show(raw(port, b"".join(req(method, path) for _ in range(n)), n, head=method == "HEAD"))
    elif cmd == "pipeline-bodies":  # bodies (one per stdin line) pipelined on one connection
        bodies = [l.rstrip(b"\n") for l in sys.stdin.buffer if l.strip()]
        data = b"".join(req("POST", "/recommend", b) for b in bodies)
        for status, _, body in raw(port, data, len(bodies), timeout=30):
            print(status, body.decode())
    elif cmd == "two-pipelines":  # two-pipelines PORT N: N POSTs on each of two connections
        # (ids a-i and c-i), both written before any answer is read
        n = int(args[0])
        conns = [connect(port, timeout=60) for _ in range(2)]
        for tag, s in zip("ac", conns):
            s.sendall(b"".join(req("POST", "/recommend", b"{}", "X-Request-Id: %s-%d\r\n" % (tag, i))
                               for i in range(n)))
        got = {}
        for tag, s in zip("ac", conns):
            f = s.makefile("rb")
            got[tag] = sum(1 for _ in range(n) if read_response(f)[0] == 200)
        print(json.dumps(got))
    elif cmd == "sequential-bodies":  # bodies one at a time on one keep-alive connection
        s = connect(port, timeout=30)
        f = s.makefile("rb")
        for line in sys.stdin.buffer:
            if not line.strip():
                continue
            s.sendall(req("POST", "/recommend", line.rstrip(b"\n")))
            status, _, body = read_response(f)
            print(status, body.decode())
    elif cmd == "slow":  # slow PORT SECONDS: one byte a second of a valid request
        data = req("GET", "/healthz")
        s = connect(port, timeout=float(args[0]) + 5)
        start = time.time()
        try:
            for b in data:
                s.sendall(bytes([b]))
                # a second between bytes, unless the server answers first
                readable, _, _ = select.select([s], [], [], 1.0)
                if readable or time.time() - start > float(args[0]):
                    break
        except (BrokenPipeError, ConnectionResetError):
            pass
        f = s.makefile("rb")
        try:
            r = read_response(f)
        except (ConnectionResetError, socket.timeout):
            r = None
        print(json.dumps({"seconds": round(time.time() - start, 2),
                          "status": r[0] if r else None,
                          "body": json.loads(r[2]) if r and r[2] else None}))
    elif cmd == "flood":  # flood PORT N SOURCE HOLD: N idle connections from SOURCE, held HOLD s
        n, source, hold = int(args[0]), args[1], float(args[2])
        soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
        resource.setrlimit(resource.RLIMIT_NOFILE, (min(hard, n + 256), hard))
        socks, refused = [], 0
        for _ in range(n):
            try:
                socks.append(connect(port, source, 5))
            except OSError:
                refused += 1
        # the server answers the connections over its cap with 503 and closes them
        time.sleep(0.5)
        rejected = 0
        for s in socks:
            s.setblocking(False)
            try:
                d = s.recv(4096)
                if d.startswith(b"HTTP/1.1 503"):
                    rejected += 1
            except BlockingIOError:
                pass
            except OSError:
                pass
        print(json.dumps({"opened": len(socks), "refused": refused, "rejected_503": rejected}),
              flush=True)
        time.sleep(hold)
        for s in socks:
            s.close()
    elif cmd == "idle":  # idle PORT MAX: connect, send nothing, time until the server closes
        s = connect(port, timeout=float(args[0]))
        start = time.time()
        try:
            d = s.recv(100)
        except socket.timeout:
            d = b"timeout"
        except ConnectionResetError:
            d = b""
        print(json.dumps({"seconds": round(time.time() - start, 2), "closed": d == b""}))
    elif cmd == "partial":  # partial PORT [readyz]: half a request now, the rest on a stdin line
        if args and args[0] == "readyz":
            first, rest = b"GET /readyz HTTP/1.1\r\nHost: t\r\n", b"\r\n"
        else:
            first = b"POST /recommend HTTP/1.1\r\nHost: t\r\nContent-Length: 2\r\n\r\n"
            rest = b"{}"
        s = connect(port, timeout=30)
        s.sendall(first)
        print("sent", flush=True)
        sys.stdin.readline()  # wait for the go
        try:
            s.sendall(rest)
            r = read_response(s.makefile("rb"))
        except OSError:
            r = None
        print(json.dumps({"status": r[0] if r else None,
                          "connection": r[1].get("connection") if r else None,
                          "body": json.loads(r[2]) if r and r[2] else None}))
    elif cmd == "many":  # many PORT N: N connections each send a full request, then wait
        n = int(args[0])
        body = sys.stdin.buffer.read().strip()
        socks = []
        for _ in range(n):
            s = connect(port, timeout=30)
            s.sendall(req("POST", "/recommend", body))
            socks.append(s)
        print("sent", flush=True)
        ok = 0
        statuses = {}
        for s in socks:
            try:
                r = read_response(s.makefile("rb"))
            except OSError:
                r = None
            st = r[0] if r else None
            statuses[str(st)] = statuses.get(str(st), 0) + 1
        print(json.dumps(statuses))
    else:
        sys.exit("unknown command " + cmd)


if __name__ == "__main__":
    main()
