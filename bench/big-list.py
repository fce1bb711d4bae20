#!/usr/bin/env python3
"""One MLSD of a huge folder per server: wall time, bytes, the server's peak
RSS growth (VmRSS of the server and its children, sampled every 5 ms) and
how long a NOOP on a second session takes meanwhile (sent every 20 ms, from
a process of its own: in this one, the thread reading the listing would
hold the GIL for up to its 5 ms switch interval and the NOOP times would
show that, not the server).

    bench/big-list.py ENTRIES NAME=COMMAND... [pure-ftpd]

COMMAND as for bench/ab-list.py ({port}, {root}, {users}); `pure-ftpd`
starts Pure-FTPd with `-L ENTRIES*2:5` so that it does not cap the listing.
The folder is /dev/shm/abl-big/root/many (empty files, made once; remove
/dev/shm/abl-big when done)."""
import ftplib, os, socket, statistics, subprocess, sys, threading, time

entries = int(sys.argv[1])
base = "/dev/shm/abl-big"
root, many = base + "/root", base + "/root/many"
if not os.path.isdir(many) or len(os.listdir(many)) != entries:
    subprocess.run(["rm", "-rf", base], check=True)
    os.makedirs(many)
    for i in range(entries):
        open(f"{many}/entry-{i:07}.txt", "wb").close()
users = base + "/users.txt"
if not os.path.exists(users):
    subprocess.run(["/work/target-helpers/release/ferryd", "user", "add", "u", "--password-stdin", "--users", users],
                   input=b"pw\n", capture_output=True, check=True)


def free():
    s = socket.socket(); s.bind(("127.0.0.1", 0)); p = s.getsockname()[1]; s.close(); return p


def tree(pid):
    pids, i = [pid], 0
    while i < len(pids):
        pids += [int(x) for x in subprocess.run(["pgrep", "-P", str(pids[i])], capture_output=True, text=True).stdout.split()]
        i += 1
    return pids


def rss_kib(pids):
    t = 0
    for p in pids:
        try:
            for line in open(f"/proc/{p}/status"):
                if line.startswith("VmRSS:"):
                    t += int(line.split()[1])
        except OSError:
            pass
    return t


def pure_ftpd(port):
    pdir = base + "/pure"
    os.makedirs(pdir, exist_ok=True)
    os.chown(root, 65534, 65534)
    h = subprocess.run(["python3", "-W", "ignore", "-c", "import crypt; print(crypt.crypt('pw', '$6$rounds=1000$ferrybench$'))"],
                       capture_output=True, text=True).stdout.strip()
    open(pdir + "/passwd", "w").write(f"u:{h}:65534:65534::{root}/./::::::::::::\n")
    subprocess.run(["/opt/ferry-bench/pure-ftpd/usr/bin/pure-pw", "mkdb", pdir + "/pdb", "-f", pdir + "/passwd"], check=True)
    return ["/opt/ferry-bench/pure-ftpd/usr/sbin/pure-ftpd", "-S", f"127.0.0.1,{port}", "-l", f"puredb:{pdir}/pdb",
            "-E", "-A", "-u", "1", "-H", "-c", "200", "-C", "200", "-L", f"{entries * 2}:5", "-P", "127.0.0.1"]


# The pinger: logs in, says "ready", and from "go" to "stop" on stdin sends
# a NOOP every 20 ms; prints each one's milliseconds.
PINGER = """
import ftplib, sys, threading, time
ftp = ftplib.FTP(); ftp.connect("127.0.0.1", int(sys.argv[1])); ftp.login("u", "pw")
print("ready", flush=True)
sys.stdin.readline()
stop, times = threading.Event(), []
threading.Thread(target=lambda: (sys.stdin.readline(), stop.set()), daemon=True).start()
while not stop.is_set():
    t = time.perf_counter(); ftp.voidcmd("NOOP"); times.append((time.perf_counter() - t) * 1e3)
    time.sleep(0.02)
ftp.quit()
print(" ".join(f"{x:.3f}" for x in times))
"""


def session(port):
    ftp = ftplib.FTP()
    ftp.connect("127.0.0.1", port)
    ftp.login("u", "pw")
    return ftp


for a in sys.argv[2:]:
    port = free()
    if a == "pure-ftpd":
        name = a
        proc = subprocess.Popen(pure_ftpd(port), stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    else:
        name, cmd = a.split("=", 1)
        proc = subprocess.Popen("exec " + cmd.format(port=port, root=root, users=users), shell=True,
                                stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    for _ in range(100):
        try:
            socket.create_connection(("127.0.0.1", port), 0.2).close(); break
        except OSError:
            time.sleep(0.05)
    lister = session(port)
    lister.voidcmd("TYPE A")
    pinger = subprocess.Popen([sys.executable, "-c", PINGER, str(port)], stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True)
    assert pinger.stdout.readline().strip() == "ready"
    time.sleep(0.3)
    pids = tree(proc.pid)
    before = rss_kib(pids)
    peak, stop = [before], threading.Event()

    def sample():
        while not stop.is_set():
            peak[0] = max(peak[0], rss_kib(pids))
            time.sleep(0.005)

    sampler = threading.Thread(target=sample)
    sampler.start()
    pinger.stdin.write("go\n"); pinger.stdin.flush()
    t0 = time.perf_counter()
    conn = lister.transfercmd("MLSD many")
    n = 0
    while True:
        b = conn.recv(1 << 20)
        if not b:
            break
        n += len(b)
    conn.close()
    lister.voidresp()
    dt = time.perf_counter() - t0
    stop.set()
    sampler.join()
    noops = [float(x) for x in pinger.communicate("stop\n")[0].split()]
    lister.quit()
    proc.terminate(); proc.wait()
    print(f"{name:12} MLSD of {entries} entries: {dt:.2f} s, {n / 1e6:.1f} MB; RSS {before / 1024:.1f} MiB before, "
          f"peak +{(peak[0] - before) / 1024:.1f} MiB; NOOP meanwhile ({len(noops)}): median {statistics.median(noops):.2f} ms, "
          f"max {max(noops):.2f} ms; slowest {' '.join(f'{x:.1f}' for x in sorted(noops)[-5:])}")
