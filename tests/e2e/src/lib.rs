//! Test harness: a kintone emulator on loopback, moto's Secrets Manager (started by
//! `scripts/test`), and a [`Relay`] built exactly as in production but from a test config.

use std::sync::atomic::{AtomicU64, Ordering};

use kintone_emulator::Emulator;
use lambda_http::{Body, Request};
use relay_shared::config::Config;
use relay_shared::kintone::KintoneClient;
use relay_shared::relay::Relay;
use relay_shared::secrets::SecretStore;
use serde_json::Value;

pub const SEMINAR_ADD_TOKEN: &str = "demoSeminarAddToken000000000000000000000";
pub const SEMINAR_VIEW_TOKEN: &str = "demoSeminarViewToken00000000000000000000";
pub const DEALS_VIEW_TOKEN: &str = "demoDealsViewToken0000000000000000000000";
pub const CAREERS_ADD_TOKEN: &str = "demoCareersAddToken000000000000000000000";
pub const ORIGIN: &str = "https://www.example.jp";

/// Secrets Manager as the tests see it (moto), through the real SDK and the standard
/// `AWS_ENDPOINT_URL_SECRETS_MANAGER` variable.
pub async fn secrets_client() -> aws_sdk_secretsmanager::Client {
    assert!(
        std::env::var_os("AWS_ENDPOINT_URL_SECRETS_MANAGER").is_some(),
        "AWS_ENDPOINT_URL_SECRETS_MANAGER is not set: run the tests with scripts/test, which starts moto_server"
    );
    let aws = aws_config::load_defaults(aws_config::BehaviorVersion::latest()).await;
    aws_sdk_secretsmanager::Client::new(&aws)
}

/// A secret name no other test uses, so tests can run in parallel against one moto.
pub fn unique_secret_name(label: &str) -> String {
    static NEXT: AtomicU64 = AtomicU64::new(0);
    let n = NEXT.fetch_add(1, Ordering::Relaxed);
    format!("e2e/{}/{n}/{label}", std::process::id())
}

pub async fn put_secret(client: &aws_sdk_secretsmanager::Client, name: &str, value: &str) {
    let exists = client
        .describe_secret()
        .secret_id(name)
        .send()
        .await
        .is_ok();
    if exists {
        client
            .put_secret_value()
            .secret_id(name)
            .secret_string(value)
            .send()
            .await
            .expect("put_secret_value");
    } else {
        client
            .create_secret()
            .name(name)
            .secret_string(value)
            .send()
            .await
            .expect("create_secret");
    }
}

/// SQS as the tests see it (moto), through the real SDK and `AWS_ENDPOINT_URL_SQS`.
pub async fn sqs_client() -> aws_sdk_sqs::Client {
    assert!(
        std::env::var_os("AWS_ENDPOINT_URL_SQS").is_some(),
        "AWS_ENDPOINT_URL_SQS is not set: run the tests with scripts/test, which starts moto_server"
    );
    let aws = aws_config::load_defaults(aws_config::BehaviorVersion::latest()).await;
    aws_sdk_sqs::Client::new(&aws)
}

/// DynamoDB as the tests see it (moto), and the limits table `scripts/lib.sh` created from
/// template.yaml's definition (`RELAY_LIMITS_TABLE`).
pub async fn limits_store() -> (aws_sdk_dynamodb::Client, String) {
    let table = std::env::var("RELAY_LIMITS_TABLE").expect(
        "RELAY_LIMITS_TABLE is not set: run the tests with scripts/test, which creates the table in moto",
    );
    let aws = aws_config::load_defaults(aws_config::BehaviorVersion::latest()).await;
    (aws_sdk_dynamodb::Client::new(&aws), table)
}

/// A request as API Gateway hands it over from `ip` (the request context's source address).
pub fn from_address(request: Request, ip: &str) -> Request {
    use lambda_http::RequestExt;
    use lambda_http::aws_lambda_events::apigw::ApiGatewayV2httpRequestContext;
    use lambda_http::request::RequestContext;
    let mut context = ApiGatewayV2httpRequestContext::default();
    context.http.source_ip = Some(ip.to_owned());
    request.with_request_context(RequestContext::ApiGatewayV2(context))
}

/// A queue no other test uses; returns its URL.
pub async fn create_queue(client: &aws_sdk_sqs::Client, label: &str) -> String {
    static NEXT: AtomicU64 = AtomicU64::new(0);
    let n = NEXT.fetch_add(1, Ordering::Relaxed);
    let name = format!("e2e-{}-{n}-{label}", std::process::id());
    client
        .create_queue()
        .queue_name(name)
        .send()
        .await
        .expect("create_queue")
        .queue_url
        .expect("queue url")
}

pub struct Harness {
    pub emulator: Emulator,
    pub relay: Relay,
    pub secrets: aws_sdk_secretsmanager::Client,
    pub base_url: String,
}

impl Harness {
    /// Another relay over the same config, secrets and kintone, built as a second function
    /// would build its own.
    pub fn another_relay(&self) -> Relay {
        let config = self.relay.config.clone();
        let store = SecretStore::new(self.secrets.clone(), config.secrets.cache_ttl);
        let kintone = KintoneClient::new(&config.kintone).expect("kintone client");
        Relay::new(config, store, kintone)
    }
}

/// Starts the demo emulator and builds a relay from `config`, in which `{base_url}` is replaced
/// by the emulator's address and each `{secret:NAME}` by a fresh secret holding `NAME`'s value
/// from `secret_values`.
pub async fn harness(config: &str, secret_values: &[(&str, &str)]) -> Harness {
    harness_with(Emulator::demo(), config, secret_values).await
}

pub async fn harness_with(
    emulator: Emulator,
    config: &str,
    secret_values: &[(&str, &str)],
) -> Harness {
    let addr = emulator
        .serve("127.0.0.1:0".parse().expect("addr"))
        .await
        .expect("emulator starts");
    let base_url = format!("http://{addr}");
    let secrets = secrets_client().await;
    let mut text = config.replace("{base_url}", &base_url);
    for (label, value) in secret_values {
        let name = unique_secret_name(label);
        put_secret(&secrets, &name, value).await;
        text = text.replace(&format!("{{secret:{label}}}"), &name);
    }
    let config = Config::parse(&text, "test config").unwrap_or_else(|err| panic!("{err}"));
    let store = SecretStore::new(secrets.clone(), config.secrets.cache_ttl);
    let kintone = KintoneClient::new(&config.kintone).expect("kintone client");
    Harness {
        emulator,
        relay: Relay::new(config, store, kintone),
        secrets,
        base_url,
    }
}

/// The tests' seminar form (tests/fixtures/seminar.toml): its add token is behind `{secret:add}`.
pub const SEMINAR_FIXTURE: &str = include_str!("../../fixtures/seminar.toml");
/// The tests' deals lookup (tests/fixtures/deals.toml): its view token is behind `{secret:view}`.
pub const DEALS_FIXTURE: &str = include_str!("../../fixtures/deals.toml");

/// A config of the `[kintone]` table pointed at the emulator, with `kintone_extra` appended to
/// it, followed by `sections`.
pub fn config_with(kintone_extra: &str, sections: &[&str]) -> String {
    format!(
        "[kintone]\nbase_url = \"{{base_url}}\"\n{kintone_extra}\n\n{}",
        sections.join("\n")
    )
}

/// The seminar form, pointed at the emulator, with `kintone_extra` in its `[kintone]` table.
pub fn seminar_config(kintone_extra: &str) -> String {
    config_with(kintone_extra, &[SEMINAR_FIXTURE])
}

/// A POST of `body` to `path`, as API Gateway would hand it to the function.
pub fn post(path: &str, body: impl Into<Body>, headers: &[(&str, &str)]) -> Request {
    let mut builder = lambda_http::http::Request::builder()
        .method("POST")
        .uri(format!("https://relay.example.com{path}"));
    for (name, value) in headers {
        builder = builder.header(*name, *value);
    }
    builder.body(body.into()).expect("request")
}

/// A JSON POST from the allowed web page.
pub fn post_json(path: &str, body: &Value) -> Request {
    post(
        path,
        body.to_string(),
        &[("content-type", "application/json"), ("origin", ORIGIN)],
    )
}

pub fn request(method: &str, path: &str, headers: &[(&str, &str)]) -> Request {
    let mut builder = lambda_http::http::Request::builder()
        .method(method)
        .uri(format!("https://relay.example.com{path}"));
    for (name, value) in headers {
        builder = builder.header(*name, *value);
    }
    builder.body(Body::Empty).expect("request")
}

pub fn body_json(response: &lambda_http::Response<Body>) -> Value {
    let bytes: &[u8] = response.body().as_ref();
    if bytes.is_empty() {
        return Value::Null;
    }
    serde_json::from_slice(bytes).unwrap_or_else(|err| {
        panic!(
            "response is not JSON ({err}): {}",
            String::from_utf8_lossy(bytes)
        )
    })
}

pub fn header<'a>(response: &'a lambda_http::Response<Body>, name: &str) -> Option<&'a str> {
    response.headers().get(name).and_then(|v| v.to_str().ok())
}

/// The deals lookup, pointed at the emulator, with `kintone_extra` in its `[kintone]` table.
pub fn deals_config(kintone_extra: &str) -> String {
    config_with(kintone_extra, &[DEALS_FIXTURE])
}

pub const PARTNER_ORIGIN: &str = "https://partner.example.jp";
