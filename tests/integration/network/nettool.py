"""Tiny traffic tool run inside namespaces by the network tests (stdlib only).

  nettool.py serve PORT...          TCP and UDP echo on every PORT until killed
  nettool.py tcp IP PORT [SRC]      exit 0 if a TCP echo round trip works (2 s)
  nettool.py udp IP PORT [SRC]      exit 0 if a UDP echo round trip works (2 s)
  nettool.py hold IP PORT           keep one TCP connection; echo each stdin line through it
  nettool.py send6 DEV KIND         send 3 IPv6 packets to ff02::1 out of DEV, KIND one of
                                    ra (router advertisement), echo (ICMPv6 echo request),
                                    dhcp6-reply (UDP 547 -> 546), udp-other (UDP 5547 -> 546)
"""

import socket
import sys
import threading

TIMEOUT = 2.0


def serve(ports):
    def tcp_conn(conn):
        with conn:
            while True:
                data = conn.recv(4096)
                if not data:
                    return
                conn.sendall(data)

    def dual(kind):  # one IPv6 socket that takes IPv4 too
        s = socket.socket(socket.AF_INET6, kind)
        s.setsockopt(socket.IPPROTO_IPV6, socket.IPV6_V6ONLY, 0)
        s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        return s

    def tcp(port):
        s = dual(socket.SOCK_STREAM)
        s.bind(("::", port))
        s.listen(16)
        while True:
            conn, _ = s.accept()
            threading.Thread(target=tcp_conn, args=(conn,), daemon=True).start()

    def udp(port):
        s = dual(socket.SOCK_DGRAM)
        s.bind(("::", port))
        while True:
            data, peer = s.recvfrom(4096)
            s.sendto(data, peer)

    for p in ports:
        threading.Thread(target=tcp, args=(p,), daemon=True).start()
        threading.Thread(target=udp, args=(p,), daemon=True).start()
    print("ready", flush=True)
    threading.Event().wait()


def roundtrip(kind, ip, port, src=None):
    stype = socket.SOCK_STREAM if kind == "tcp" else socket.SOCK_DGRAM
    family = socket.AF_INET6 if ":" in ip else socket.AF_INET
    s = socket.socket(family, stype)
    s.settimeout(TIMEOUT)
    if src:  # a source address of the caller's namespace
        s.bind((src, 0))
    try:
        s.connect((ip, port))
        s.sendall(b"ping") if kind == "tcp" else s.send(b"ping")
        return s.recv(16) == b"ping"
    except OSError:
        return False
    finally:
        s.close()


def hold(ip, port):
    s = socket.create_connection((ip, port), timeout=TIMEOUT)
    print("connected", flush=True)
    for line in sys.stdin:
        try:
            s.sendall(line.encode())
            print("echo " + s.recv(4096).decode().strip(), flush=True)
        except OSError as exc:
            print(f"error {exc}", flush=True)


def send6(dev, kind):
    index = socket.if_nametoindex(dev)
    if kind in ("ra", "echo"):  # the kernel fills in the ICMPv6 checksum
        s = socket.socket(socket.AF_INET6, socket.SOCK_RAW, socket.IPPROTO_ICMPV6)
        s.setsockopt(socket.IPPROTO_IPV6, socket.IPV6_MULTICAST_HOPS, 255)
        # RA: hop limit 64, router lifetime 1800 s; echo: id 1, seq 1
        msg = bytes([134, 0, 0, 0, 64, 0, 7, 8]) + bytes(8) if kind == "ra" else \
            bytes([128, 0, 0, 0, 0, 1, 0, 1])
        port = 0
    else:
        s = socket.socket(socket.AF_INET6, socket.SOCK_DGRAM)
        s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        s.bind(("::", 547 if kind == "dhcp6-reply" else 5547))
        msg, port = bytes([7, 0, 0, 1]), 546  # DHCPv6 Reply, transaction 1
    s.setsockopt(socket.IPPROTO_IPV6, socket.IPV6_MULTICAST_IF, index)
    for _ in range(3):
        s.sendto(msg, ("ff02::1", port, 0, index))
    s.close()


if __name__ == "__main__":
    cmd, args = sys.argv[1], sys.argv[2:]
    if cmd == "serve":
        serve([int(p) for p in args])
    elif cmd in ("tcp", "udp"):
        sys.exit(0 if roundtrip(cmd, args[0], int(args[1]), *args[2:]) else 1)
    elif cmd == "hold":
        hold(args[0], int(args[1]))
    elif cmd == "send6":
        send6(args[0], args[1])
