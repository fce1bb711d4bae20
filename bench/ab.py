"""A/B of one big transfer with curl: wall MB/s and the server's CPU ms per
GiB (its utime+stime, children included), servers interleaved round by
round. A quick tool for one row while profiling; bench/run is the full
benchmark.

    bench/ab.py MODE SIZE_MB ROUNDS NAME=COMMAND...

MODE is retr, stor, ftps-retr or ftps-stor (explicit FTPS, curl --ssl-reqd).

Each COMMAND is a shell command line with {port}, {root} and {users}
filled in, e.g. "old=/tmp/ferryd-old --port {port} --no-tls --root {root} --users {users}".
The file is /dev/shm/ab/root/big.bin; user `u`, password `pw`."""
import os, socket, subprocess, sys, time, statistics, shutil
mode, size_mb, rounds = sys.argv[1], int(sys.argv[2]), int(sys.argv[3])
assert mode in ("retr", "stor", "ftps-retr", "ftps-stor"), mode
servers = [a.split("=", 1) for a in sys.argv[4:]]
base = "/dev/shm/ab"
shutil.rmtree(base, ignore_errors=True); os.makedirs(base + "/root")
with open(base + "/root/big.bin", "wb") as f:
    chunk = os.urandom(1 << 20)
    for _ in range(size_mb): f.write(chunk)
os.chmod(base + "/root", 0o777)
ferryd = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "target", "release", "ferryd")
subprocess.run([ferryd, "user", "add", "u", "--password-stdin", "--users", base + "/users.txt"], input=b"pw\n", capture_output=True, check=True)
def free():
    s = socket.socket(); s.bind(("127.0.0.1", 0)); p = s.getsockname()[1]; s.close(); return p
def cpu(pid):
    t = 0
    for p in [pid] + [int(x) for x in subprocess.run(["pgrep", "-P", str(pid)], capture_output=True, text=True).stdout.split()]:
        try:
            f = open(f"/proc/{p}/stat").read().rsplit(")", 1)[1].split()
            t += int(f[11]) + int(f[12]) + int(f[13]) + int(f[14])
        except OSError: pass
    return t * 1000 / os.sysconf("SC_CLK_TCK")
res = {n: [] for n, _ in servers}
for r in range(rounds):
    for name, cmd in servers:
        port = free()
        proc = subprocess.Popen("exec " + cmd.format(port=port, root=base + "/root", users=base + "/users.txt"), shell=True, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        for _ in range(100):
            try: socket.create_connection(("127.0.0.1", port), 0.2).close(); break
            except OSError: time.sleep(0.05)
        time.sleep(0.3)
        c0 = cpu(proc.pid); t0 = time.perf_counter()
        tls = ["--ssl-reqd", "-k"] if mode.startswith("ftps") else []
        if mode.endswith("retr"):
            cmd = ["curl", "-s", "-o", "/dev/null", "-u", "u:pw", *tls, f"ftp://127.0.0.1:{port}/big.bin"]
        else:
            cmd = ["curl", "-s", "-T", base + "/root/big.bin", "-u", "u:pw", *tls, f"ftp://127.0.0.1:{port}/up.bin"]
        subprocess.run(cmd, check=True)
        dt = time.perf_counter() - t0; c1 = cpu(proc.pid)
        res[name].append((size_mb * 1.048576 / dt, (c1 - c0) / (size_mb / 1024)))
        proc.terminate(); proc.wait()
        try: os.unlink(base + "/root/up.bin")
        except OSError: pass
for name, v in res.items():
    print(f"{name:14} MB/s median {statistics.median(x[0] for x in v):7.0f}  (all {' '.join(f'{x[0]:.0f}' for x in v)})   CPU ms/GiB median {statistics.median(x[1] for x in v):6.0f} (all {' '.join(f'{x[1]:.0f}' for x in v)})")
