//! The loopback's own limits, beside the servers' rows: what the kernel
//! moves over one loopback TCP connection with no FTP server involved.

use std::path::Path;
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use anyhow::{Context, bail};

/// The loopback limit: one file copied into a TCP socket by the kernel
/// (std's copy uses sendfile for file to socket), MB/s. The receiver reads
/// with a 1 MiB buffer, as curl and the servers do: small reads would
/// measure the reader, not the loopback.
pub(crate) fn loopback_limit(file: &Path, size: u64) -> anyhow::Result<f64> {
    use std::io::Read;
    let listener = std::net::TcpListener::bind("127.0.0.1:0")?;
    let addr = listener.local_addr()?;
    let sink = std::thread::spawn(move || -> std::io::Result<u64> {
        let (mut s, _) = listener.accept()?;
        let mut buf = vec![0u8; 1 << 20];
        let mut total = 0u64;
        loop {
            match s.read(&mut buf)? {
                0 => return Ok(total),
                n => total += n as u64,
            }
        }
    });
    let start = Instant::now();
    let mut f = std::fs::File::open(file)?;
    let mut sock = std::net::TcpStream::connect(addr)?;
    std::io::copy(&mut f, &mut sock)?;
    drop(sock);
    let got = sink.join().map_err(|_| anyhow::anyhow!("sink panicked"))??;
    if got != size {
        bail!("loopback copy moved {got} of {size} bytes");
    }
    Ok(size as f64 / start.elapsed().as_secs_f64() / 1e6)
}

/// The loopback limit as iperf3 measures it: one TCP stream moving `size`
/// bytes from memory to memory, receiver's MB/s.
pub(crate) fn iperf3(size: u64) -> anyhow::Result<f64> {
    let port = std::net::TcpListener::bind("127.0.0.1:0")?.local_addr()?.port().to_string();
    let mut server = Command::new("iperf3")
        .args(["-s", "-1", "-B", "127.0.0.1", "-p", &port])
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .context("iperf3 not installed (bench/setup installs it)")?;
    // No probe connection: `-1` makes the server quit after its first
    // client, whoever that is. Retry the client until the server listens.
    let mut out = None;
    for _ in 0..50 {
        let o = Command::new("iperf3").args(["-c", "127.0.0.1", "-p", &port, "-n", &size.to_string(), "-f", "m"]).output();
        match o {
            Ok(o) if !o.status.success() && String::from_utf8_lossy(&o.stderr).contains("unable to connect") => {
                std::thread::sleep(Duration::from_millis(50));
            }
            other => {
                out = Some(other);
                break;
            }
        }
    }
    let _ = server.kill();
    let _ = server.wait();
    let out = out.context("iperf3 server did not start")?.context("running iperf3 -c")?;
    let text = String::from_utf8_lossy(&out.stdout);
    // "[  5]   0.00-0.35  sec  1.00 GBytes  24563 Mbits/sec    receiver"
    let mbits = text
        .lines()
        .find(|l| l.trim_end().ends_with("receiver"))
        .and_then(|l| l.split_whitespace().collect::<Vec<_>>().windows(2).find(|w| w[1] == "Mbits/sec").map(|w| w[0].to_owned()))
        .and_then(|v| v.parse::<f64>().ok())
        .with_context(|| format!("no receiver line in iperf3's output: {text}"))?;
    Ok(mbits / 8.0)
}

/// The receiving side's limit, for the STOR rows: a sender writes `size`
/// bytes from memory into a loopback TCP socket, and the receiver moves
/// them socket → pipe → a file in `dir` (tmpfs) with splice(2), never
/// copying them to user space; MB/s from the first byte sent to the last
/// one in the file. The pipe is 1 MiB, so each splice moves up to that.
pub(crate) fn splice_limit(dir: &Path, size: u64) -> anyhow::Result<f64> {
    use rustix::pipe::{SpliceFlags, fcntl_setpipe_size, pipe, splice};
    use std::io::Write;
    const CHUNK: usize = 1 << 20;
    let listener = std::net::TcpListener::bind("127.0.0.1:0")?;
    let addr = listener.local_addr()?;
    let path = dir.join("splice.bin");
    let file = std::fs::File::create(&path)?;
    let (pipe_r, pipe_w) = pipe()?;
    // Above the 64 KiB default; a failure leaves the default, still right.
    let _ = fcntl_setpipe_size(&pipe_w, CHUNK);
    let start = Instant::now();
    let sender = std::thread::spawn(move || -> std::io::Result<()> {
        let block = vec![0x5au8; CHUNK];
        let mut sock = std::net::TcpStream::connect(addr)?;
        let mut left = size;
        while left > 0 {
            let n = left.min(CHUNK as u64) as usize;
            sock.write_all(&block[..n])?;
            left -= n as u64;
        }
        Ok(())
    });
    let (sock, _) = listener.accept()?;
    let flags = SpliceFlags::MOVE | SpliceFlags::MORE;
    let mut total = 0u64;
    loop {
        let got = splice(&sock, None, &pipe_w, None, CHUNK, flags)?;
        if got == 0 {
            break;
        }
        let mut left = got;
        while left > 0 {
            left -= splice(&pipe_r, None, &file, None, left, SpliceFlags::MOVE)?;
        }
        total += got as u64;
    }
    let secs = start.elapsed().as_secs_f64();
    sender.join().map_err(|_| anyhow::anyhow!("sender panicked"))??;
    drop(file);
    let _ = std::fs::remove_file(&path);
    if total != size {
        bail!("splice moved {total} of {size} bytes");
    }
    Ok(size as f64 / secs / 1e6)
}
