//! Just enough HTTP/1.1 for the harness: read one message (head plus a Content-Length or chunked
//! body) from a keep-alive connection, keeping its raw bytes so a proxy can forward them as is.

use std::io::{self, Read, Write};
use std::net::TcpStream;

pub struct Message {
    /// The request line or status line.
    pub start_line: String,
    /// Header names in lower case.
    pub headers: Vec<(String, String)>,
    /// The decoded body.
    pub body: Vec<u8>,
    /// Every byte of the message as received.
    pub raw: Vec<u8>,
}

impl Message {
    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers
            .iter()
            .find(|(n, _)| n == name)
            .map(|(_, v)| v.as_str())
    }

    /// `(method, target)` of a request.
    pub fn request_line(&self) -> (&str, &str) {
        let mut parts = self.start_line.split(' ');
        (parts.next().unwrap_or(""), parts.next().unwrap_or(""))
    }

    /// The status code of a response.
    pub fn status(&self) -> u16 {
        self.start_line
            .split(' ')
            .nth(1)
            .and_then(|s| s.parse().ok())
            .unwrap_or(0)
    }
}

/// A connection with its read buffer.
pub struct Conn {
    pub stream: TcpStream,
    buf: Vec<u8>,
}

impl Conn {
    pub fn new(stream: TcpStream) -> Self {
        let _ = stream.set_nodelay(true);
        Conn {
            stream,
            buf: Vec::with_capacity(16 * 1024),
        }
    }

    fn fill(&mut self) -> io::Result<usize> {
        let mut chunk = [0u8; 16 * 1024];
        let n = self.stream.read(&mut chunk)?;
        self.buf.extend_from_slice(&chunk[..n]);
        Ok(n)
    }

    /// Reads until `buf` holds at least `len` bytes.
    fn need(&mut self, len: usize) -> io::Result<()> {
        while self.buf.len() < len {
            if self.fill()? == 0 {
                return Err(io::Error::new(
                    io::ErrorKind::UnexpectedEof,
                    "connection closed mid-message",
                ));
            }
        }
        Ok(())
    }

    /// Reads a line ending in CRLF starting at `from`; returns the index just past the CRLF.
    fn line_end(&mut self, from: usize) -> io::Result<usize> {
        loop {
            if let Some(i) = find(&self.buf[from..], b"\r\n") {
                return Ok(from + i + 2);
            }
            if self.fill()? == 0 {
                return Err(io::Error::new(
                    io::ErrorKind::UnexpectedEof,
                    "connection closed mid-line",
                ));
            }
        }
    }

    /// The next message, or `None` when the peer closed the connection between messages.
    /// `response_to_head`: a response without a body whatever its headers say.
    pub fn read_message(
        &mut self,
        is_response: bool,
        response_to_head: bool,
    ) -> io::Result<Option<Message>> {
        let head_end = loop {
            if let Some(i) = find(&self.buf, b"\r\n\r\n") {
                break i + 4;
            }
            if self.fill()? == 0 {
                if self.buf.is_empty() {
                    return Ok(None);
                }
                return Err(io::Error::new(
                    io::ErrorKind::UnexpectedEof,
                    "connection closed mid-head",
                ));
            }
        };
        let head = String::from_utf8_lossy(&self.buf[..head_end - 4]).into_owned();
        let mut lines = head.split("\r\n");
        let start_line = lines.next().unwrap_or("").to_owned();
        let headers: Vec<(String, String)> = lines
            .filter_map(|line| {
                let (name, value) = line.split_once(':')?;
                Some((name.trim().to_ascii_lowercase(), value.trim().to_owned()))
            })
            .collect();
        let get = |name: &str| {
            headers
                .iter()
                .find(|(n, _)| n == name)
                .map(|(_, v)| v.as_str())
        };
        let chunked =
            get("transfer-encoding").is_some_and(|v| v.to_ascii_lowercase().contains("chunked"));
        let length: Option<usize> = get("content-length").and_then(|v| v.parse().ok());
        let status: u16 = if is_response {
            start_line
                .split(' ')
                .nth(1)
                .and_then(|s| s.parse().ok())
                .unwrap_or(0)
        } else {
            0
        };
        let no_body = response_to_head
            || (is_response && (status / 100 == 1 || status == 204 || status == 304));
        let (body, end) = if no_body {
            (Vec::new(), head_end)
        } else if chunked {
            let mut body = Vec::new();
            let mut at = head_end;
            loop {
                let line_end = self.line_end(at)?;
                let size_text = String::from_utf8_lossy(&self.buf[at..line_end - 2]).into_owned();
                let size =
                    usize::from_str_radix(size_text.split(';').next().unwrap_or("").trim(), 16)
                        .map_err(|_| {
                            io::Error::new(io::ErrorKind::InvalidData, "bad chunk size")
                        })?;
                at = line_end;
                if size == 0 {
                    // Trailers, then an empty line.
                    loop {
                        let end = self.line_end(at)?;
                        let empty = end - at == 2;
                        at = end;
                        if empty {
                            break;
                        }
                    }
                    break;
                }
                self.need(at + size + 2)?;
                body.extend_from_slice(&self.buf[at..at + size]);
                at += size + 2;
            }
            (body, at)
        } else if let Some(len) = length {
            self.need(head_end + len)?;
            (self.buf[head_end..head_end + len].to_vec(), head_end + len)
        } else if is_response {
            // Delimited by the close of the connection.
            while self.fill()? > 0 {}
            (self.buf[head_end..].to_vec(), self.buf.len())
        } else {
            (Vec::new(), head_end)
        };
        let raw: Vec<u8> = self.buf.drain(..end).collect();
        Ok(Some(Message {
            start_line,
            headers,
            body,
            raw,
        }))
    }

    pub fn write_all(&mut self, bytes: &[u8]) -> io::Result<()> {
        self.stream.write_all(bytes)
    }
}

pub fn find(haystack: &[u8], needle: &[u8]) -> Option<usize> {
    haystack.windows(needle.len()).position(|w| w == needle)
}

/// A complete response with a body.
pub fn response(status: u16, reason: &str, headers: &[(&str, String)], body: &[u8]) -> Vec<u8> {
    let mut out = format!("HTTP/1.1 {status} {reason}\r\n");
    for (name, value) in headers {
        out.push_str(&format!("{name}: {value}\r\n"));
    }
    out.push_str(&format!("content-length: {}\r\n\r\n", body.len()));
    let mut bytes = out.into_bytes();
    bytes.extend_from_slice(body);
    bytes
}

/// A complete request with a body.
pub fn request(
    method: &str,
    target: &str,
    host: &str,
    headers: &[(&str, &str)],
    body: &[u8],
) -> Vec<u8> {
    let mut out = format!("{method} {target} HTTP/1.1\r\nhost: {host}\r\n");
    for (name, value) in headers {
        out.push_str(&format!("{name}: {value}\r\n"));
    }
    out.push_str(&format!("content-length: {}\r\n\r\n", body.len()));
    let mut bytes = out.into_bytes();
    bytes.extend_from_slice(body);
    bytes
}
