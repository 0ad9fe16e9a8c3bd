//! A loopback HTTP/1.1 server for attacks wiremock cannot stage: a body that never ends and a
//! list whose every page links to a new one. One request per connection (`Connection: close`);
//! the thread answers until the test process ends.

use std::io::{BufRead, BufReader, Read, Write};
use std::net::{TcpListener, TcpStream};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;

/// How the server answers one request.
pub enum Answer {
    /// A whole JSON body with this status.
    Json(u16, String),
    /// 200, chunked, a JSON list that never ends: chunks until the client hangs up.
    Endless,
}

/// A running hostile server.
pub struct RawServer {
    pub base: String,
    requests: Arc<AtomicUsize>,
}

impl RawServer {
    /// Serve every request with `answer(method, path_and_query, base)`.
    pub fn start(answer: fn(&str, &str, &str) -> Answer) -> RawServer {
        let listener = TcpListener::bind("127.0.0.1:0").unwrap();
        let base = format!("http://{}", listener.local_addr().unwrap());
        let requests = Arc::new(AtomicUsize::new(0));
        let (b, n) = (base.clone(), requests.clone());
        std::thread::spawn(move || {
            for stream in listener.incoming().flatten() {
                let (b, n) = (b.clone(), n.clone());
                std::thread::spawn(move || serve(stream, answer, &b, &n));
            }
        });
        RawServer { base, requests }
    }

    /// Requests answered so far.
    pub fn requests(&self) -> usize {
        self.requests.load(Ordering::SeqCst)
    }
}

fn serve(stream: TcpStream, answer: fn(&str, &str, &str) -> Answer, base: &str, n: &AtomicUsize) {
    let mut reader = BufReader::new(stream.try_clone().unwrap());
    let mut line = String::new();
    if reader.read_line(&mut line).is_err() {
        return;
    }
    let mut parts = line.split_whitespace();
    let (method, target) = (
        parts.next().unwrap_or("").to_string(),
        parts.next().unwrap_or("").to_string(),
    );
    let mut length = 0usize;
    loop {
        let mut h = String::new();
        if reader.read_line(&mut h).is_err() || h == "\r\n" || h.is_empty() {
            break;
        }
        if let Some((k, v)) = h.split_once(':') {
            if k.eq_ignore_ascii_case("content-length") {
                length = v.trim().parse().unwrap_or(0);
            }
        }
    }
    let mut body = vec![0; length];
    let _ = reader.read_exact(&mut body);
    n.fetch_add(1, Ordering::SeqCst);
    let mut out = stream;
    match answer(&method, &target, base) {
        Answer::Json(status, text) => {
            let _ = write!(
                out,
                "HTTP/1.1 {status} X\r\nContent-Type: application/json\r\nContent-Length: {}\r\nConnection: close\r\n\r\n{text}",
                text.len()
            );
        }
        Answer::Endless => {
            let _ = out.write_all(
                b"HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nTransfer-Encoding: chunked\r\nConnection: close\r\n\r\n",
            );
            let _ = write!(out, "b\r\n{{\"value\": [\r\n");
            let item = format!("\"{}\",", "x".repeat(1022));
            let chunk = item.repeat(64);
            loop {
                if write!(out, "{:x}\r\n{chunk}\r\n", chunk.len()).is_err() {
                    return;
                }
            }
        }
    }
}
