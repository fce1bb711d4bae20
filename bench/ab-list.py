#!/usr/bin/env python3
"""A/B of folder listings (MLSD and LIST of many empty files on tmpfs):
wall milliseconds per listing and the server's CPU milliseconds per
listing, servers interleaved round by round. A quick tool for the
listing rows while profiling; bench/run is the full benchmark.

    bench/ab-list.py ENTRIES ROUNDS NAME=COMMAND... [pure-ftpd]

Each COMMAND is a shell command line with {port}, {root} and {users}
filled in, e.g. "new=/work/target-helpers/release/ferryd --port {port}
--no-tls --root {root} --users {users}". The word `pure-ftpd` adds
Pure-FTPd (unpacked by bench/setup) with a puredb user, started as
ferry-bench starts it. The folder is /dev/shm/abl/root/many, made once
(entry-NNNNN.txt, as ferry-bench names them); user `u`, password `pw`.

Each round and server: one session, the listing REPEAT times per
command (each timed from PASV to the 226, as the client library does),
CPU from /proc/PID/stat utime+stime of the server and its children
(Pure-FTPd forks a process per session), divided by REPEAT."""
import ftplib, os, shutil, socket, statistics, subprocess, sys, time

REPEAT = int(os.environ.get("REPEAT", "5"))
entries, rounds = int(sys.argv[1]), int(sys.argv[2])
args = sys.argv[3:]
base = "/dev/shm/abl"
root = base + "/root"
many = root + "/many"
if not os.path.isdir(many) or len(os.listdir(many)) != entries:
    shutil.rmtree(base, ignore_errors=True)
    os.makedirs(many)
    for i in range(entries):
        open(f"{many}/entry-{i:05}.txt", "wb").close()
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


def cpu(pid):
    t = 0
    for p in tree(pid):
        try:
            f = open(f"/proc/{p}/stat").read().rsplit(")", 1)[1].split()
            t += int(f[11]) + int(f[12]) + int(f[13]) + int(f[14])
        except OSError:
            pass
    return t * 1000 / os.sysconf("SC_CLK_TCK")


def pure_ftpd(port):
    pdir = base + "/pure"
    os.makedirs(pdir, exist_ok=True)
    os.chown(root, 65534, 65534)
    h = subprocess.run(["python3", "-W", "ignore", "-c", "import crypt; print(crypt.crypt('pw', '$6$rounds=1000$ferrybench$'))"],
                       capture_output=True, text=True).stdout.strip()
    open(pdir + "/passwd", "w").write(f"u:{h}:65534:65534::{root}/./::::::::::::\n")
    subprocess.run(["/opt/ferry-bench/pure-ftpd/usr/bin/pure-pw", "mkdb", pdir + "/pdb", "-f", pdir + "/passwd"], check=True)
    return ["/opt/ferry-bench/pure-ftpd/usr/sbin/pure-ftpd", "-S", f"127.0.0.1,{port}", "-l", f"puredb:{pdir}/pdb",
            "-E", "-A", "-u", "1", "-H", "-c", "200", "-C", "200", "-L", f"{max(entries * 2, 100000)}:5", "-P", "127.0.0.1"]


servers = []
for a in args:
    port = free()
    if a == "pure-ftpd":
        name, argv = a, pure_ftpd(port)
        proc = subprocess.Popen(argv, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    else:
        name, cmd = a.split("=", 1)
        proc = subprocess.Popen("exec " + cmd.format(port=port, root=root, users=users), shell=True,
                                stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    servers.append((name, port, proc))
for _, port, _ in servers:
    for _ in range(100):
        try:
            socket.create_connection(("127.0.0.1", port), 0.2).close(); break
        except OSError:
            time.sleep(0.05)


def listing(ftp, cmd):
    t0 = time.perf_counter()
    conn = ftp.transfercmd(cmd)
    n = 0
    while True:
        b = conn.recv(1 << 20)
        if not b:
            break
        n += len(b)
    conn.close()
    ftp.voidresp()
    return (time.perf_counter() - t0) * 1e3, n


res = {(n, c): [] for n, _, _ in servers for c in ("MLSD", "LIST")}
cpus = {(n, c): [] for n, _, _ in servers for c in ("MLSD", "LIST")}
try:
    for r in range(rounds):
        for name, port, proc in servers:
            ftp = ftplib.FTP()
            ftp.connect("127.0.0.1", port)
            ftp.login("u", "pw")
            ftp.voidcmd("TYPE A")
            for cmd in ("MLSD", "LIST"):
                listing(ftp, f"{cmd} many")  # warm
                c0 = cpu(proc.pid)
                for _ in range(REPEAT):
                    ms, n = listing(ftp, f"{cmd} many")
                    assert n > entries * 20, (name, cmd, n)
                    res[(name, cmd)].append(ms)
                cpus[(name, cmd)].append((cpu(proc.pid) - c0) / REPEAT)
            ftp.quit()
finally:
    for _, _, proc in servers:
        proc.terminate(); proc.wait()
for (name, cmd), v in res.items():
    print(f"{name:12} {cmd}  ms median {statistics.median(v):6.2f} (min {min(v):6.2f} max {max(v):6.2f})"
          f"   CPU ms/listing median {statistics.median(cpus[(name, cmd)]):6.1f}")
    if os.environ.get("ALL"): print("   ", " ".join(f"{x:.1f}" for x in v))
