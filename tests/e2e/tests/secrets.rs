//! Secrets under stress, end to end: Secrets Manager unreachable after the cache's TTL, a token
//! that kintone keeps refusing, and the domain's Basic authentication rotated.

use std::io;
use std::net::{Shutdown, SocketAddr, TcpListener, TcpStream};
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::thread;
use std::time::Duration;

use kintone_emulator::{Emulator, Permission};
use relay_e2e::*;
use relay_shared::config::SecretId;
use relay_shared::relay::Relay;
use relay_shared::secrets::SecretStore;
use serde_json::{Value, json};

const PATH: &str = "/forms/seminar";

fn valid() -> Value {
    json!({
        "name": "山田 太郎",
        "email": "taro@example.jp",
        "session": "午前の部",
        "consent": true
    })
}

async fn submit(relay: &Relay) -> (u16, Value) {
    let response = submit::handle(relay, post_json(PATH, &valid()))
        .await
        .expect("the handler answers");
    (response.status().as_u16(), body_json(&response))
}

fn token_secret(relay: &Relay) -> SecretId {
    relay.config.forms["seminar"].access.token_secret.clone()
}

/// A TCP forwarder to moto that can be cut. The store under test reaches Secrets Manager through
/// it, so a test can make Secrets Manager fail for that store alone (moto is shared by every
/// test) and the production code needs no switch for it. Once cut, every connection, open or
/// new, is closed without an answer; the port stays bound, so nothing else can take it.
struct Link {
    addr: SocketAddr,
    cut: Arc<AtomicBool>,
    open: Arc<Mutex<Vec<TcpStream>>>,
    connections: Arc<AtomicUsize>,
}

impl Link {
    fn to_moto() -> Self {
        let endpoint = std::env::var("AWS_ENDPOINT_URL_SECRETS_MANAGER")
            .expect("AWS_ENDPOINT_URL_SECRETS_MANAGER: run the tests with scripts/test");
        let moto: SocketAddr = endpoint
            .trim_start_matches("http://")
            .trim_end_matches('/')
            .parse()
            .expect("moto's endpoint is http://IP:PORT");
        let listener = TcpListener::bind("127.0.0.1:0").expect("bind");
        let link = Link {
            addr: listener.local_addr().expect("local addr"),
            cut: Arc::default(),
            open: Arc::default(),
            connections: Arc::default(),
        };
        let (cut, open, connections) = (
            link.cut.clone(),
            link.open.clone(),
            link.connections.clone(),
        );
        thread::spawn(move || {
            for client in listener.incoming() {
                let Ok(client) = client else { continue };
                if cut.load(Ordering::SeqCst) {
                    let _ = client.shutdown(Shutdown::Both);
                    continue;
                }
                let Ok(server) = TcpStream::connect(moto) else {
                    continue;
                };
                connections.fetch_add(1, Ordering::SeqCst);
                let pipe = |mut from: TcpStream, mut to: TcpStream| {
                    thread::spawn(move || {
                        let _ = io::copy(&mut from, &mut to);
                        let _ = to.shutdown(Shutdown::Write);
                    });
                };
                let clones = (client.try_clone(), server.try_clone());
                if let (Ok(client2), Ok(server2)) = clones {
                    open.lock().expect("lock").extend(
                        [client.try_clone(), server.try_clone()]
                            .into_iter()
                            .flatten(),
                    );
                    pipe(client, server2);
                    pipe(server, client2);
                }
            }
        });
        link
    }

    /// From now on Secrets Manager's connection fails, for open connections too.
    fn cut(&self) {
        self.cut.store(true, Ordering::SeqCst);
        for stream in self.open.lock().expect("lock").drain(..) {
            let _ = stream.shutdown(Shutdown::Both);
        }
    }

    /// A Secrets Manager client through this link: moto's region and keys, no retries (a
    /// failure is seen at once) and production's bounded timeouts.
    async fn client(&self) -> aws_sdk_secretsmanager::Client {
        let aws = aws_config::load_defaults(aws_config::BehaviorVersion::latest()).await;
        let timeouts = aws_config::timeout::TimeoutConfig::builder()
            .connect_timeout(Duration::from_secs(2))
            .operation_timeout(Duration::from_secs(3))
            .build();
        let config = aws_sdk_secretsmanager::config::Builder::from(&aws)
            .endpoint_url(format!("http://{}", self.addr))
            .retry_config(aws_config::retry::RetryConfig::disabled())
            .timeout_config(timeouts)
            .build();
        aws_sdk_secretsmanager::Client::from_conf(config)
    }
}

/// The harness's relay, with its secret store swapped for one built as production builds it,
/// from `client` and `ttl`.
fn with_store(
    h: Harness,
    client: aws_sdk_secretsmanager::Client,
    ttl: Duration,
) -> (Emulator, Relay) {
    let Relay {
        config, kintone, ..
    } = h.relay;
    (
        h.emulator,
        Relay::new(config, SecretStore::new(client, ttl), kintone),
    )
}

#[tokio::test]
async fn after_the_ttl_an_unreachable_secrets_manager_is_covered_by_the_cached_token() {
    let h = harness(&seminar_config(""), &[("add", SEMINAR_ADD_TOKEN)]).await;
    let link = Link::to_moto();
    let ttl = Duration::from_millis(300);
    let (emulator, relay) = with_store(h, link.client().await, ttl);

    assert_eq!(submit(&relay).await.0, 201);
    assert_eq!(relay.secrets.fetch_count(), 1);
    assert!(
        link.connections.load(Ordering::SeqCst) >= 1,
        "the store reads through the link"
    );

    tokio::time::sleep(ttl + Duration::from_millis(100)).await;
    link.cut();
    let (status, body) = submit(&relay).await;
    assert_eq!(status, 201, "{body}");
    assert_eq!(
        relay.secrets.fetch_count(),
        2,
        "the expired token was re-read, and that read failed"
    );
    let sent = emulator.requests();
    assert_eq!(sent.len(), 2);
    assert_eq!(sent[1].api_tokens, vec![SEMINAR_ADD_TOKEN.to_owned()]);

    // Within 30 s of the failure, requests do not wait for Secrets Manager again.
    assert_eq!(submit(&relay).await.0, 201);
    assert_eq!(relay.secrets.fetch_count(), 2);
    assert_eq!(emulator.records(12).len(), 3);
}

#[tokio::test]
async fn with_nothing_cached_an_unreachable_secrets_manager_is_503_with_retry_after() {
    let h = harness(&seminar_config(""), &[("add", SEMINAR_ADD_TOKEN)]).await;
    let link = Link::to_moto();
    link.cut();
    let (emulator, relay) = with_store(h, link.client().await, Duration::from_secs(300));
    let response = submit::handle(&relay, post_json(PATH, &valid()))
        .await
        .expect("the handler answers");
    assert_eq!(response.status(), 503);
    assert!(header(&response, "retry-after").is_some());
    assert_eq!(body_json(&response)["error"]["code"], "unavailable");
    assert!(emulator.requests().is_empty(), "kintone is not called");
}

#[tokio::test]
async fn a_revoked_token_is_reread_at_most_once_per_30_s_not_per_request() {
    let h = harness(&seminar_config(""), &[("add", SEMINAR_ADD_TOKEN)]).await;
    h.emulator.revoke_token(SEMINAR_ADD_TOKEN);
    // As at init: the token is cached before the first request.
    h.relay
        .secrets
        .token(&token_secret(&h.relay))
        .await
        .expect("the secret is readable");
    assert_eq!(h.relay.secrets.fetch_count(), 1);

    for _ in 0..5 {
        let (status, body) = submit(&h.relay).await;
        assert_eq!(status, 500, "{body}");
        assert_eq!(body["error"]["code"], "misconfigured");
    }
    assert_eq!(
        h.relay.secrets.fetch_count(),
        2,
        "one re-read for five refused requests"
    );
    // The re-read found the same token, so no call was repeated with it.
    let sent = h.emulator.requests();
    assert_eq!(sent.len(), 5);
    assert!(
        sent.iter()
            .all(|r| r.error_code.as_deref() == Some("GAIA_IA02"))
    );
}

#[tokio::test]
async fn concurrent_requests_refused_together_share_one_reread() {
    let h = harness(&seminar_config(""), &[("add", SEMINAR_ADD_TOKEN)]).await;
    h.emulator.revoke_token(SEMINAR_ADD_TOKEN);
    h.relay
        .secrets
        .token(&token_secret(&h.relay))
        .await
        .expect("the secret is readable");

    let requests: Vec<_> = (0..8).map(|_| submit(&h.relay)).collect();
    for (status, body) in join_all(requests).await {
        assert_eq!(status, 500, "{body}");
    }
    assert_eq!(h.relay.secrets.fetch_count(), 2);
}

#[tokio::test]
async fn a_token_rotated_after_a_refusal_is_picked_up_by_a_later_reread_only_after_30_s() {
    // The secret is updated only after kintone already refused the old token: the re-read
    // that found the old value counts, so requests within 30 s still fail rather than read
    // Secrets Manager each time (the next one after 30 s re-reads; see secrets.rs's unit tests).
    let h = harness(&seminar_config(""), &[("add", SEMINAR_ADD_TOKEN)]).await;
    h.emulator.revoke_token(SEMINAR_ADD_TOKEN);
    assert_eq!(submit(&h.relay).await.0, 500);
    let fetched = h.relay.secrets.fetch_count();

    let new_token = "rotatedSeminarAddToken000000000000000000";
    h.emulator.add_token(new_token, 12, &[Permission::Add]);
    put_secret(&h.secrets, token_secret(&h.relay).as_str(), new_token).await;
    assert_eq!(submit(&h.relay).await.0, 500);
    assert_eq!(h.relay.secrets.fetch_count(), fetched);
}

async fn basic_auth_harness() -> Harness {
    let h = harness(
        &seminar_config("basic_auth_secret = \"{secret:basic}\""),
        &[
            ("add", SEMINAR_ADD_TOKEN),
            ("basic", r#"{"username":"relay","password":"pw"}"#),
        ],
    )
    .await;
    h.emulator.set_basic_auth(Some(("relay", "pw")));
    h
}

fn basic_auth_secret(relay: &Relay) -> String {
    relay
        .config
        .kintone
        .basic_auth_secret
        .as_ref()
        .expect("configured")
        .as_str()
        .to_owned()
}

#[tokio::test]
async fn rotated_basic_auth_is_reread_and_the_call_repeated_once() {
    let h = basic_auth_harness().await;
    assert_eq!(submit(&h.relay).await.0, 201);
    assert_eq!(
        h.relay.secrets.fetch_count(),
        2,
        "the token and the Basic auth"
    );

    // The domain's Basic password changes, and the secret with it.
    h.emulator.set_basic_auth(Some(("relay", "pw2")));
    put_secret(
        &h.secrets,
        &basic_auth_secret(&h.relay),
        r#"{"username":"relay","password":"pw2"}"#,
    )
    .await;

    let (status, body) = submit(&h.relay).await;
    assert_eq!(status, 201, "{body}");
    assert_eq!(
        h.relay.secrets.fetch_count(),
        3,
        "one re-read of the Basic auth secret"
    );
    let sent = h.emulator.requests();
    let outcomes: Vec<_> = sent
        .iter()
        .map(|r| (r.status, r.error_code.as_deref()))
        .collect();
    assert_eq!(outcomes, [(200, None), (401, Some("CB_WA01")), (200, None)]);
    // base64("relay:pw2")
    assert_eq!(sent[2].header("authorization"), Some("Basic cmVsYXk6cHcy"));
    assert_eq!(h.emulator.records(12).len(), 2);
}

#[tokio::test]
async fn basic_auth_that_stays_wrong_is_reread_at_most_once_per_30_s() {
    let h = basic_auth_harness().await;
    assert_eq!(submit(&h.relay).await.0, 201);
    // The domain's Basic password changes; nobody updates the secret.
    h.emulator.set_basic_auth(Some(("relay", "pw2")));
    for _ in 0..4 {
        let (status, body) = submit(&h.relay).await;
        assert_eq!(status, 500, "{body}");
        assert_eq!(body["error"]["code"], "misconfigured");
    }
    assert_eq!(h.relay.secrets.fetch_count(), 3);
    // One refused call per request: the same credentials are never sent twice in a row.
    assert_eq!(h.emulator.requests().len(), 5);
    assert!(h.emulator.records(12).len() == 1);
}

/// Joins futures on the current task, so they really do overlap at the cache.
async fn join_all<F: Future>(futures: Vec<F>) -> Vec<F::Output> {
    let mut done = Vec::new();
    let mut pending: Vec<Option<_>> = futures.into_iter().map(|f| Some(Box::pin(f))).collect();
    std::future::poll_fn(|cx| {
        let mut all = true;
        for slot in pending.iter_mut() {
            if let Some(fut) = slot {
                match fut.as_mut().poll(cx) {
                    std::task::Poll::Ready(out) => {
                        done.push(out);
                        *slot = None;
                    }
                    std::task::Poll::Pending => all = false,
                }
            }
        }
        if all {
            std::task::Poll::Ready(())
        } else {
            std::task::Poll::Pending
        }
    })
    .await;
    done
}
