//! A minimal Lambda Runtime API (2018-06-01) for one function instance at a time: `next`,
//! `response`, `error` and `init/error`. "Ready" is the moment the instance first asks for the
//! next invocation; an invocation is timed from the moment its event is written to the instance
//! until its response has been read whole, as the Lambda service would see it.

use std::collections::VecDeque;
use std::net::{SocketAddr, TcpListener, TcpStream};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Condvar, Mutex};
use std::thread;
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use crate::http::{self, Conn};

pub struct Outcome {
    /// The response body, or the error body the function posted.
    pub result: Result<Vec<u8>, Vec<u8>>,
    pub delivered: Instant,
    pub done: Instant,
}

#[derive(Default)]
struct State {
    first_next: Option<Instant>,
    init_error: Option<String>,
    queue: VecDeque<(String, Vec<u8>)>,
    delivered: Option<(String, Instant)>,
    outcome: Option<(String, Outcome)>,
}

struct Shared {
    state: Mutex<State>,
    changed: Condvar,
    closed: AtomicBool,
}

pub struct RuntimeApi {
    pub addr: SocketAddr,
    shared: Arc<Shared>,
    next_id: u64,
}

pub const FUNCTION_ARN: &str = "arn:aws:lambda:ap-northeast-1:123456789012:function:bench";

impl RuntimeApi {
    pub fn start() -> std::io::Result<RuntimeApi> {
        let listener = TcpListener::bind("127.0.0.1:0")?;
        let addr = listener.local_addr()?;
        let shared = Arc::new(Shared {
            state: Mutex::new(State::default()),
            changed: Condvar::new(),
            closed: AtomicBool::new(false),
        });
        {
            let shared = shared.clone();
            thread::spawn(move || {
                for stream in listener.incoming() {
                    if shared.closed.load(Ordering::Relaxed) {
                        break;
                    }
                    let Ok(stream) = stream else { continue };
                    let shared = shared.clone();
                    thread::spawn(move || {
                        let _ = serve(stream, &shared);
                    });
                }
            });
        }
        Ok(RuntimeApi {
            addr,
            shared,
            next_id: 0,
        })
    }

    /// Waits until the instance first asks for an event, or it reports an init error.
    pub fn wait_ready(&self, timeout: Duration) -> Result<Instant, String> {
        let deadline = Instant::now() + timeout;
        let mut state = self.shared.state.lock().unwrap();
        loop {
            if let Some(error) = &state.init_error {
                return Err(format!("init error: {error}"));
            }
            if let Some(at) = state.first_next {
                return Ok(at);
            }
            let now = Instant::now();
            if now >= deadline {
                return Err("the instance did not ask for an event in time".into());
            }
            state = self
                .shared
                .changed
                .wait_timeout(state, deadline - now)
                .unwrap()
                .0;
        }
    }

    /// Hands `event` to the instance and waits for its answer.
    pub fn invoke(&mut self, event: &[u8], timeout: Duration) -> Result<Outcome, String> {
        self.next_id += 1;
        let id = format!("bench-{:08}", self.next_id);
        let deadline = Instant::now() + timeout;
        let mut state = self.shared.state.lock().unwrap();
        state.queue.push_back((id.clone(), event.to_vec()));
        self.shared.changed.notify_all();
        loop {
            if let Some((done_id, _)) = &state.outcome {
                if *done_id == id {
                    return Ok(state.outcome.take().unwrap().1);
                }
                state.outcome = None;
            }
            if let Some(error) = &state.init_error {
                return Err(format!("init error: {error}"));
            }
            let now = Instant::now();
            if now >= deadline {
                state.queue.clear();
                return Err(format!("invocation {id} timed out"));
            }
            state = self
                .shared
                .changed
                .wait_timeout(state, deadline - now)
                .unwrap()
                .0;
        }
    }
}

impl Drop for RuntimeApi {
    fn drop(&mut self) {
        self.shared.closed.store(true, Ordering::Relaxed);
        self.shared.changed.notify_all();
        let _ = TcpStream::connect(self.addr);
    }
}

fn epoch_ms() -> u128 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .unwrap_or_default()
        .as_millis()
}

fn serve(stream: TcpStream, shared: &Shared) -> std::io::Result<()> {
    let mut conn = Conn::new(stream);
    while let Some(request) = conn.read_message(false, false)? {
        let arrived = Instant::now();
        let (method, target) = request.request_line();
        let path = target.split('?').next().unwrap_or("").to_owned();
        let method = method.to_owned();
        let accepted = || {
            http::response(
                202,
                "Accepted",
                &[("content-type", "application/json".into())],
                b"{\"status\":\"OK\"}",
            )
        };
        if method == "GET" && path == "/2018-06-01/runtime/invocation/next" {
            let (id, event) = {
                let mut state = shared.state.lock().unwrap();
                if state.first_next.is_none() {
                    state.first_next = Some(arrived);
                    shared.changed.notify_all();
                }
                loop {
                    if shared.closed.load(Ordering::Relaxed) {
                        return Ok(());
                    }
                    if let Some(item) = state.queue.pop_front() {
                        break item;
                    }
                    state = shared
                        .changed
                        .wait_timeout(state, Duration::from_millis(200))
                        .unwrap()
                        .0;
                }
            };
            let deadline = (epoch_ms() + 30_000).to_string();
            let bytes = http::response(
                200,
                "OK",
                &[
                    ("content-type", "application/json".into()),
                    ("lambda-runtime-aws-request-id", id.clone()),
                    ("lambda-runtime-deadline-ms", deadline),
                    ("lambda-runtime-invoked-function-arn", FUNCTION_ARN.into()),
                    ("lambda-runtime-trace-id", "Root=1-67890abc-0123456789abcdef01234567;Parent=0123456789abcdef;Sampled=0".into()),
                ],
                &event,
            );
            let delivered = Instant::now();
            shared.state.lock().unwrap().delivered = Some((id, delivered));
            conn.write_all(&bytes)?;
        } else if method == "POST" && path.starts_with("/2018-06-01/runtime/invocation/") {
            let rest = &path["/2018-06-01/runtime/invocation/".len()..];
            let (id, kind) = rest.split_once('/').unwrap_or((rest, ""));
            let result = match kind {
                "response" => Ok(request.body),
                "error" => Err(request.body),
                _ => {
                    conn.write_all(&http::response(404, "Not Found", &[], b""))?;
                    continue;
                }
            };
            {
                let mut state = shared.state.lock().unwrap();
                let delivered = match &state.delivered {
                    Some((d_id, at)) if d_id == id => *at,
                    _ => arrived,
                };
                state.outcome = Some((
                    id.to_owned(),
                    Outcome {
                        result,
                        delivered,
                        done: arrived,
                    },
                ));
                shared.changed.notify_all();
            }
            conn.write_all(&accepted())?;
        } else if method == "POST" && path == "/2018-06-01/runtime/init/error" {
            {
                let mut state = shared.state.lock().unwrap();
                state.init_error = Some(String::from_utf8_lossy(&request.body).into_owned());
                shared.changed.notify_all();
            }
            conn.write_all(&accepted())?;
        } else {
            conn.write_all(&http::response(404, "Not Found", &[], b""))?;
        }
    }
    Ok(())
}
