#!/usr/bin/env python3
"""Drive ferryd with Python's ftplib and check every reply and byte.

Usage: ftplib_suite.py HOST PORT USER PASSWORD ROOT
ROOT is the server's folder on disk, used to compare bytes directly.
"""
import ftplib
import hashlib
import io
import os
import sys

host, port, user, password, root = sys.argv[1], int(sys.argv[2]), sys.argv[3], sys.argv[4], sys.argv[5]


def check(cond, what):
    if not cond:
        raise AssertionError(what)
    print("ok -", what)


def expect_error(code, fn, *args):
    try:
        fn(*args)
    except ftplib.all_errors as e:
        check(str(e).startswith(code), f"{fn.__name__}{args!r} fails with {code} ({e})")
        return
    raise AssertionError(f"{fn.__name__}{args!r} should have failed with {code}")


ftp = ftplib.FTP()
ftp.connect(host, port, timeout=30)
check(ftp.getwelcome().startswith("220"), "greeting is 220")
expect_error("530", ftp.login, user, "wrong password")
check(ftp.login(user, password).startswith("230"), "login")
check(ftp.sendcmd("SYST").startswith("215"), "SYST")
feat = ftp.sendcmd("FEAT")
check("MLST" in feat and "UTF8" in feat and "EPSV" in feat, "FEAT lists MLST, UTF8, EPSV")
check(ftp.sendcmd("OPTS UTF8 ON").startswith("200"), "OPTS UTF8 ON")
check(ftp.sendcmd("NOOP").startswith("200"), "NOOP")
check(ftp.sendcmd("HELP").startswith("214"), "HELP")
check(ftp.sendcmd("STAT").startswith("211"), "STAT")

# Folders
check(ftp.pwd() == "/", "PWD at root")
check(ftp.mkd("docs") == "/docs", "MKD returns the quoted path")
check(ftp.mkd('with "quotes"') == '/with "quotes"', "MKD with quotes round-trips")
ftp.cwd("docs")
check(ftp.pwd() == "/docs", "CWD then PWD")
ftp.cwd("..")
expect_error("550", ftp.cwd, "no-such-dir")
ftp.rmd('with "quotes"')

# Binary transfers, byte for byte
payload = os.urandom(1_500_000)
check(ftp.storbinary("STOR docs/blob.bin", io.BytesIO(payload)).startswith("226"), "STOR")
with open(os.path.join(root, "docs", "blob.bin"), "rb") as f:
    check(f.read() == payload, "stored bytes equal")
got = bytearray()
ftp.retrbinary("RETR docs/blob.bin", got.extend)
check(bytes(got) == payload, "RETR bytes equal")
check(ftp.size("docs/blob.bin") == len(payload), "SIZE")

# REST: resume a download
got = bytearray()
ftp.retrbinary("RETR docs/blob.bin", got.extend, rest=1_000_000)
check(bytes(got) == payload[1_000_000:], "RETR with REST")

# APPE
ftp.storbinary("APPE docs/blob.bin", io.BytesIO(b"tail"))
check(ftp.size("docs/blob.bin") == len(payload) + 4, "APPE appends")

# ASCII transfers
ftp.storlines("STOR docs/text.txt", io.BytesIO(b"alpha\nbeta\n"))
with open(os.path.join(root, "docs", "text.txt"), "rb") as f:
    check(f.read() == b"alpha\nbeta\n", "STOR in ASCII stores LF line ends")
lines = []
ftp.retrlines("RETR docs/text.txt", lines.append)
check(lines == ["alpha", "beta"], "RETR in ASCII")

# Listings
check(sorted(ftp.nlst("docs")) == ["blob.bin", "text.txt"], "NLST")
listing = []
ftp.dir("docs", listing.append)
check(len(listing) == 2 and listing[0].startswith("-rw"), "LIST")
facts = dict(ftp.mlsd("docs", facts=["type", "size", "modify", "perm"]))
check(facts["blob.bin"]["type"] == "file", "MLSD type")
check(int(facts["blob.bin"]["size"]) == len(payload) + 4, "MLSD size")
check(len(facts["blob.bin"]["modify"]) == 14, "MLSD modify")
mlst = ftp.sendcmd("MLST docs/text.txt")
check(mlst.startswith("250-") and "type=file;" in mlst and "/docs/text.txt" in mlst, "MLST")

# Times and hashes
check(ftp.sendcmd("MFMT 20210304050607 docs/text.txt").startswith("213"), "MFMT")
check(ftp.voidcmd("MDTM docs/text.txt") == "213 20210304050607", "MDTM")
sha = hashlib.sha256(payload + b"tail").hexdigest()
check(ftp.sendcmd("HASH docs/blob.bin") == f"213 SHA-256 0-{len(payload) + 3} {sha} docs/blob.bin", "HASH SHA-256")
check(ftp.sendcmd("XMD5 docs/text.txt") == "250 " + hashlib.md5(b"alpha\nbeta\n").hexdigest(), "XMD5")

# Rename and delete
ftp.rename("docs/text.txt", "docs/renamed.txt")
check(os.path.exists(os.path.join(root, "docs", "renamed.txt")), "RNFR/RNTO")
expect_error("550", ftp.rename, "docs/missing", "x")
ftp.delete("docs/renamed.txt")
expect_error("550", ftp.delete, "docs/renamed.txt")
expect_error("550", ftp.size, "nothing-here")
expect_error("550", ftp.retrbinary, "RETR nothing-here", lambda b: None)
expect_error("550", ftp.rmd, "docs")  # not empty

# Active mode (PORT)
ftp.set_pasv(False)
got = bytearray()
ftp.retrbinary("RETR docs/blob.bin", got.extend)
check(bytes(got) == payload + b"tail", "RETR over PORT")
ftp.set_pasv(True)

# EPSV explicitly
check(ftp.sendcmd("EPSV").startswith("229"), "EPSV")
ftp.sendcmd("ABOR")

# ABOR during a transfer leaves the session usable
big = os.urandom(1024 * 1024) * 32
with open(os.path.join(root, "big.bin"), "wb") as f:
    f.write(big)
ftp.voidcmd("TYPE I")
conn = ftp.transfercmd("RETR big.bin")
conn.recv(65536)
resp = ftp.abort()
check(resp.startswith("426"), f"ABOR during RETR answers 426 ({resp})")
check(ftp.voidresp().startswith("226"), "then 226")
conn.close()
check(ftp.sendcmd("NOOP").startswith("200"), "session usable after ABOR")

# Errors keep the session alive
expect_error("500", ftp.sendcmd, "X")
expect_error("502", ftp.sendcmd, "FROB")
expect_error("501", ftp.sendcmd, "REST notanumber")
check(ftp.sendcmd("NOOP").startswith("200"), "session usable after errors")

# The rest of the command set, one by one
check(ftp.sendcmd("XMKD xdir").startswith("257"), "XMKD")
check(ftp.sendcmd("XCWD xdir").startswith("250"), "XCWD")
check(ftp.sendcmd("XPWD") == '257 "/xdir" is the current directory.', "XPWD")
check(ftp.sendcmd("XCUP").startswith("250"), "XCUP")
ftp.cwd("xdir")
check(ftp.sendcmd("CDUP").startswith("250") and ftp.pwd() == "/", "CDUP")
check(ftp.sendcmd("XRMD xdir").startswith("250"), "XRMD")
check(ftp.sendcmd("MODE S").startswith("200"), "MODE S")
check(ftp.sendcmd("STRU F").startswith("200"), "STRU F")
check(ftp.sendcmd("ALLO 1024").startswith("202"), "ALLO")
check(ftp.sendcmd("ACCT none").startswith("202"), "ACCT")
check(ftp.sendcmd("OPTS MLST type;size;").startswith("200"), "OPTS MLST")
facts = dict(ftp.mlsd("docs"))
check(set(facts["blob.bin"]) == {"type", "size"}, "MLSD shows only the chosen facts")
ftp.sendcmd("OPTS MLST type;size;modify;perm;unique;")
check(ftp.sendcmd("OPTS HASH MD5") == "200 MD5", "OPTS HASH")
check(ftp.sendcmd("RANG 0 9").startswith("350"), "RANG")
check(ftp.sendcmd("HASH docs/blob.bin").split()[3] == hashlib.md5(payload[:10]).hexdigest(), "HASH over a RANG")
ftp.sendcmd("OPTS HASH SHA-256")
import zlib
check(ftp.sendcmd("XCRC docs/blob.bin") == "250 %08X" % zlib.crc32(payload + b"tail"), "XCRC")
check(ftp.sendcmd("XSHA1 docs/blob.bin") == "250 " + hashlib.sha1(payload + b"tail").hexdigest(), "XSHA1")
check(ftp.sendcmd("XSHA256 docs/blob.bin") == "250 " + hashlib.sha256(payload + b"tail").hexdigest(), "XSHA256")
check(ftp.sendcmd("SITE CHMOD 640 docs/blob.bin").startswith("200"), "SITE CHMOD")
check(oct(os.stat(os.path.join(root, "docs", "blob.bin")).st_mode & 0o777) == "0o640", "SITE CHMOD applied")
check(ftp.sendcmd("STAT docs").startswith("213"), "STAT path")
check(ftp.sendcmd("HELP RETR").startswith("214"), "HELP verb")
check(sorted(ftp.nlst("docs/*.bin")) == ["docs/blob.bin"], "NLST with a wildcard")
resp = ftp.storbinary("STOU", io.BytesIO(b"unique bytes"))
check(resp.startswith("226"), "STOU")
check(ftp.sendcmd("TYPE A").startswith("200") and ftp.sendcmd("TYPE I").startswith("200"), "TYPE A/I")
check(ftp.sendcmd("PASV").startswith("227"), "PASV")
# EPRT by hand (ftplib only uses it on IPv6)
import socket
listener = socket.create_server(("127.0.0.1", 0))
check(ftp.sendcmd("EPRT |1|127.0.0.1|%d|" % listener.getsockname()[1]).startswith("200"), "EPRT")
ftp.putcmd("RETR docs/blob.bin")
check(ftp.getresp().startswith("150"), "RETR over EPRT starts")
conn, _ = listener.accept()
got = bytearray()
while True:
    chunk = conn.recv(65536)
    if not chunk:
        break
    got.extend(chunk)
conn.close()
check(ftp.voidresp().startswith("226") and bytes(got) == payload + b"tail", "RETR over EPRT")
check(ftp.sendcmd("EPSV ALL").startswith("200"), "EPSV ALL")
expect_error("503", ftp.sendcmd, "PASV")
check(ftp.sendcmd("REIN").startswith("220"), "REIN")
expect_error("530", ftp.sendcmd, "PWD")

# HOST before login (RFC 7151), on a new connection
ftp2 = ftplib.FTP()
ftp2.connect(host, port, timeout=30)
check(ftp2.sendcmd("HOST localhost").startswith("220"), "HOST before login")
ftp2.login(user, password)
expect_error("503", ftp2.sendcmd, "HOST again")
ftp2.quit()

check(ftp.quit().startswith("221"), "QUIT")
print("ftplib suite: all checks passed")
