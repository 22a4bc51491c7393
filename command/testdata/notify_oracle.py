# Records command/testdata/notify.golden from a real redis-server 7.0:
#   redis-server --port PORT --save '' --appendonly no --enable-debug-command yes &
#   python3 notify_oracle.py PORT < notify.golden > new.golden
# Input: one command a line (or a golden file: replies and events are
# ignored); "&cmd" sends cmd on a new connection without reading (a
# blocking command); "sleep MS" waits. Output: each command with its reply,
# then its keyevent notifications ("event key db"), notify-keyspace-events
# EAmn, active expiry off.
import socket, sys, shlex, time
blockers = []
cur_db = [0]
port = int(sys.argv[1])
def enc(args):
    args = [a.encode('latin-1').decode('unicode_escape').encode('latin-1') if isinstance(a, str) and '\\' in a else a for a in args]
    out = b"*%d\r\n" % len(args)
    for a in args:
        a = a.encode() if isinstance(a, str) else a
        out += b"$%d\r\n%s\r\n" % (len(a), a)
    return out
class Conn:
    def __init__(s):
        s.s = socket.create_connection(("127.0.0.1", port)); s.f = s.s.makefile("rb")
    def send(s, args): s.s.sendall(enc(args))
    def read(s):
        l = s.f.readline()[:-2]; t = l[:1]; r = l[1:]
        if t in (b"+", b"-", b":"): return l.decode()
        if t == b"$":
            n = int(r)
            if n < 0: return None
            d = s.f.read(n + 2)[:-2]; return d.decode(errors="replace")
        if t == b"*":
            n = int(r)
            if n < 0: return None
            return [s.read() for _ in range(n)]
        return l.decode()
    def do(s, args): s.send(args); return s.read()
c = Conn(); sub = Conn()
c.do(["debug", "set-active-expire", "0"]); c.do(["flushall"]); c.do(["config", "set", "notify-keyspace-events", sys.argv[2] if len(sys.argv) > 2 else "EAmn"])
sub.do(["psubscribe", "__keyevent@*__:*"]); sub.do(["subscribe", "zzmarker"])
for line in sys.stdin:
    if line.startswith(" "):
        continue  # an event line of a golden file given as input
    line = line.split(" -> ")[0].strip()
    if not line or line.startswith("#"): continue
    if line.startswith("sleep "):
        time.sleep(int(line.split()[1]) / 1000.0)
        print("%s -> None" % line)
        continue
    if line.startswith("&"):
        b = Conn(); blockers.append(b)
        if cur_db[0]: b.do(["select", str(cur_db[0])])
        b.send(shlex.split(line[1:])); time.sleep(0.05)
        r = None
    else:
        args = shlex.split(line)
        r = c.do(args)
        if args[0].lower() == "select" and r == "+OK": cur_db[0] = int(args[1])
    c.do(["publish", "zzmarker", "x"])
    evs = []
    while True:
        m = sub.read()
        if m[0] == "message": break
        ch = m[2]; db = ch[len("__keyevent@"):ch.index("__:")]
        evs.append("%s %s %s" % (ch[ch.index("__:")+3:], m[3], db))
    print("%s -> %r" % (line, r))
    for e in evs: print("   ", e)
