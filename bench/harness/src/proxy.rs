//! A counting HTTP/1.1 proxy on loopback: requests are read whole, counted by what they ask for
//! and forwarded as they came; responses are copied back untouched. The relay, the Node.js relay
//! and the harness's own direct calls all go through one, so its cost is in every figure alike.

use std::collections::BTreeMap;
use std::io::{Read, Write};
use std::net::{Shutdown, SocketAddr, TcpListener, TcpStream};
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::thread;

use crate::http::Conn;

pub struct Proxy {
    pub addr: SocketAddr,
    counts: Arc<Mutex<BTreeMap<String, u64>>>,
    connections: Arc<AtomicU64>,
    closed: Arc<AtomicBool>,
}

/// What a request is counted as: the `X-Amz-Target` of an AWS JSON call, else the method (with
/// kintone's method override) and the path without the query.
fn key_of(message: &crate::http::Message) -> String {
    if let Some(target) = message.header("x-amz-target") {
        return target.to_owned();
    }
    let (method, target) = message.request_line();
    let path = target.split('?').next().unwrap_or("");
    match message.header("x-http-method-override") {
        Some(over) => format!("{method}({over}) {path}"),
        None => format!("{method} {path}"),
    }
}

impl Proxy {
    pub fn start(upstream: SocketAddr) -> std::io::Result<Proxy> {
        let listener = TcpListener::bind("127.0.0.1:0")?;
        let addr = listener.local_addr()?;
        let counts = Arc::new(Mutex::new(BTreeMap::new()));
        let connections = Arc::new(AtomicU64::new(0));
        let closed = Arc::new(AtomicBool::new(false));
        {
            let (counts, connections, closed) =
                (counts.clone(), connections.clone(), closed.clone());
            thread::spawn(move || {
                for client in listener.incoming() {
                    if closed.load(Ordering::Relaxed) {
                        break;
                    }
                    let Ok(client) = client else { continue };
                    connections.fetch_add(1, Ordering::Relaxed);
                    let counts = counts.clone();
                    thread::spawn(move || {
                        let _ = serve(client, upstream, &counts);
                    });
                }
            });
        }
        Ok(Proxy {
            addr,
            counts,
            connections,
            closed,
        })
    }

    pub fn counts(&self) -> BTreeMap<String, u64> {
        self.counts.lock().unwrap().clone()
    }

    pub fn connections(&self) -> u64 {
        self.connections.load(Ordering::Relaxed)
    }

    /// Requests whose key contains `pattern`.
    pub fn count_matching(&self, pattern: &str) -> u64 {
        self.counts
            .lock()
            .unwrap()
            .iter()
            .filter(|(k, _)| k.contains(pattern))
            .map(|(_, v)| *v)
            .sum()
    }
}

impl Drop for Proxy {
    fn drop(&mut self) {
        self.closed.store(true, Ordering::Relaxed);
        // Wake the accept loop so it sees the flag.
        let _ = TcpStream::connect(self.addr);
    }
}

fn serve(
    client: TcpStream,
    upstream: SocketAddr,
    counts: &Mutex<BTreeMap<String, u64>>,
) -> std::io::Result<()> {
    let server = TcpStream::connect(upstream)?;
    server.set_nodelay(true)?;
    client.set_nodelay(true)?;
    let mut back_from = server.try_clone()?;
    let mut back_to = client.try_clone()?;
    let copier = thread::spawn(move || {
        let mut buf = [0u8; 32 * 1024];
        loop {
            match back_from.read(&mut buf) {
                Ok(0) | Err(_) => break,
                Ok(n) => {
                    if back_to.write_all(&buf[..n]).is_err() {
                        break;
                    }
                }
            }
        }
        let _ = back_to.shutdown(Shutdown::Write);
    });
    let mut reader = Conn::new(client);
    let mut to_server = server;
    while let Ok(Some(message)) = reader.read_message(false, false) {
        *counts.lock().unwrap().entry(key_of(&message)).or_insert(0) += 1;
        if to_server.write_all(&message.raw).is_err() {
            break;
        }
    }
    let _ = to_server.shutdown(Shutdown::Write);
    let _ = copier.join();
    Ok(())
}
