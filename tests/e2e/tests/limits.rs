//! Attempt limits shared by every instance (moto's DynamoDB), IP allow-lists, and the source
//! address taken from the request context only.

use std::sync::Arc;

use relay_e2e::*;
use relay_shared::limits::Limiter;
use relay_shared::relay::Relay;
use serde_json::{Value, json};

const LOOKUP: &str = "/lookups/deals";
const FORM: &str = "/forms/seminar";

fn limits_section() -> &'static str {
    "[limits]\nkey_secret = \"{secret:limits}\"\n"
}

/// A fresh random limits key per harness, so each test has counters of its own.
fn limits_key() -> String {
    let mut bytes = [0u8; 24];
    getrandom::fill(&mut bytes).expect("randomness");
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

async fn counting(h: &Harness) -> Relay {
    let (client, table) = limits_store().await;
    h.another_relay().with_limits(Limiter::new(client, table))
}

async fn deals_with_limits(extra: &str) -> (Harness, String) {
    let key = limits_key();
    let config = config_with("", &[DEALS_FIXTURE, extra, limits_section()]);
    let h = harness(&config, &[("view", DEALS_VIEW_TOKEN), ("limits", &key)]).await;
    (h, key)
}

fn ask(body: &Value, ip: &str) -> lambda_http::Request {
    from_address(
        post(
            LOOKUP,
            body.to_string(),
            &[
                ("content-type", "application/json"),
                ("origin", PARTNER_ORIGIN),
            ],
        ),
        ip,
    )
}

fn guess(id: &str) -> Value {
    json!({"partner_id": id, "partner_name": "山田商事", "deal_id": "D-1001"})
}

fn kintone_calls(h: &Harness) -> usize {
    h.emulator.requests().len()
}

#[tokio::test]
async fn a_thousand_guesses_from_one_address_stop_at_its_limit() {
    let (h, _) = deals_with_limits("").await;
    let relay = counting(&h).await;
    let mut statuses = std::collections::BTreeMap::<u16, usize>::new();
    for n in 0..1000 {
        let response = lookup::handle(&relay, ask(&guess(&format!("P-9{n:03}")), "198.51.100.7"))
            .await
            .unwrap();
        let status = response.status().as_u16();
        if status == 429 {
            assert!(header(&response, "retry-after").is_some());
            assert_eq!(body_json(&response)["error"]["code"], "too_many_attempts");
        }
        *statuses.entry(status).or_default() += 1;
    }
    assert_eq!(statuses, [(404, 10), (429, 990)].into_iter().collect());
    assert_eq!(kintone_calls(&h), 10, "no kintone call past the limit");
}

#[tokio::test]
async fn a_thousand_guesses_from_two_hundred_addresses_against_one_key_stop_at_its_limit() {
    let (h, _) = deals_with_limits("").await;
    let relay = counting(&h).await;
    let mut found = 0;
    let mut misses = 0;
    for n in 0..1000 {
        let body =
            json!({"partner_id": "P-001", "partner_name": format!("推測{n}"), "deal_id": "D-1001"});
        let ip = format!("203.0.113.{}", n % 200);
        let response = lookup::handle(&relay, ask(&body, &ip)).await.unwrap();
        match response.status().as_u16() {
            200 => found += 1,
            404 => misses += 1,
            429 => {}
            other => panic!("{other}"),
        }
    }
    assert_eq!(found, 0, "zero records revealed");
    assert_eq!(misses, 5);
    assert_eq!(kintone_calls(&h), 5);
    // The partner themself, typing it right, is still held back by the key's window: a found
    // record never clears what others built up, and their own attempt waits as well.
    let response = lookup::handle(&relay, ask(&guess("P-001"), "192.0.2.1"))
        .await
        .unwrap();
    assert_eq!(response.status(), 429);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn fifty_concurrent_misses_across_four_instances_never_pass_the_limit() {
    let (h, _) = deals_with_limits("").await;
    let mut instances = Vec::new();
    for _ in 0..4 {
        instances.push(Arc::new(counting(&h).await));
    }
    let mut tasks = tokio::task::JoinSet::new();
    for n in 0..50 {
        let relay = Arc::clone(&instances[n % 4]);
        let ip = format!("192.0.2.{n}");
        tasks.spawn(async move {
            let body = json!({"partner_id": "P-003", "partner_name": format!("違う{n}"), "deal_id": "D-1003"});
            lookup::handle(&relay, ask(&body, &ip)).await.unwrap().status().as_u16()
        });
    }
    let mut misses = 0;
    while let Some(status) = tasks.join_next().await {
        match status.unwrap() {
            404 => misses += 1,
            429 => {}
            other => panic!("{other}"),
        }
    }
    assert_eq!(misses, 5, "exactly the key's limit");
    assert_eq!(kintone_calls(&h), 5);
}

#[tokio::test]
async fn a_new_instance_sees_the_counts_an_old_one_left() {
    let (h, _) = deals_with_limits("").await;
    let old = counting(&h).await;
    for n in 0..10 {
        let response = lookup::handle(&old, ask(&guess(&format!("P-8{n:03}")), "198.51.100.9"))
            .await
            .unwrap();
        assert_eq!(response.status(), 404);
    }
    drop(old);
    let cold_start = counting(&h).await;
    let response = lookup::handle(&cold_start, ask(&guess("P-8999"), "198.51.100.9"))
        .await
        .unwrap();
    assert_eq!(response.status(), 429);
    // Another address is not held back by that one's misses.
    let response = lookup::handle(&cold_start, ask(&guess("P-001"), "198.51.100.10"))
        .await
        .unwrap();
    assert_eq!(response.status(), 200);
}

#[tokio::test]
async fn input_errors_do_not_count_and_a_find_gives_its_attempt_back() {
    let (h, _) = deals_with_limits("[lookups.deals.limits]\nfailures_per_ip = 2\n").await;
    let relay = counting(&h).await;
    for _ in 0..5 {
        let response = lookup::handle(
            &relay,
            ask(&json!({"partner_id": "P-001"}), "198.51.100.20"),
        )
        .await
        .unwrap();
        assert_eq!(response.status(), 400);
        let response = lookup::handle(&relay, ask(&guess("P-001"), "198.51.100.20"))
            .await
            .unwrap();
        assert_eq!(response.status(), 200);
    }
    let response = lookup::handle(&relay, ask(&guess("P-7001"), "198.51.100.20"))
        .await
        .unwrap();
    assert_eq!(response.status(), 404, "no miss counted yet");
}

#[tokio::test]
async fn the_table_holds_none_of_the_values_sent() {
    let (h, _) = deals_with_limits("").await;
    let relay = counting(&h).await;
    let sent = ["P-7777", "秘密の会社", "D-4242", "198.51.100.77"];
    let body = json!({"partner_id": sent[0], "partner_name": sent[1], "deal_id": sent[2]});
    let response = lookup::handle(&relay, ask(&body, sent[3])).await.unwrap();
    assert_eq!(response.status(), 404);
    let (client, table) = limits_store().await;
    let items = client.scan().table_name(table).send().await.unwrap();
    let text = format!("{:?}", items.items());
    assert!(!items.items().is_empty());
    for value in sent {
        assert!(!text.contains(value), "{value} is stored in clear");
    }
    assert!(
        items
            .items()
            .iter()
            .all(|item| item.contains_key("expires_at"))
    );
}

#[tokio::test]
async fn the_thirty_first_submission_from_one_address_is_refused() {
    let key = limits_key();
    let config = config_with("", &[SEMINAR_FIXTURE, limits_section()]);
    let h = harness(&config, &[("add", SEMINAR_ADD_TOKEN), ("limits", &key)]).await;
    let relay = counting(&h).await;
    let apply = |n: usize, ip: &str| {
        let body = json!({"name": format!("申込{n}"), "email": "a@example.jp", "session": "午前の部", "consent": true});
        from_address(post_json(FORM, &body), ip)
    };
    for n in 0..30 {
        let response = submit::handle(&relay, apply(n, "198.51.100.30"))
            .await
            .unwrap();
        assert_eq!(response.status(), 201, "{n}");
    }
    let response = submit::handle(&relay, apply(30, "198.51.100.30"))
        .await
        .unwrap();
    assert_eq!(response.status(), 429);
    assert_eq!(body_json(&response)["error"]["code"], "too_many_attempts");
    assert_eq!(h.emulator.records(12).len(), 30);
    let response = submit::handle(&relay, apply(31, "198.51.100.31"))
        .await
        .unwrap();
    assert_eq!(response.status(), 201, "another address is not held back");
}

#[tokio::test]
async fn an_unreachable_store_closes_lookups_and_leaves_forms_open() {
    let key = limits_key();
    let config = config_with("", &[SEMINAR_FIXTURE, DEALS_FIXTURE, limits_section()]);
    let h = harness(
        &config,
        &[
            ("add", SEMINAR_ADD_TOKEN),
            ("view", DEALS_VIEW_TOKEN),
            ("limits", &key),
        ],
    )
    .await;
    let (client, _) = limits_store().await;
    let relay = h
        .another_relay()
        .with_limits(Limiter::new(client, "no-such-table"));
    let response = lookup::handle(&relay, ask(&guess("P-001"), "198.51.100.40"))
        .await
        .unwrap();
    assert_eq!(response.status(), 503);
    assert_eq!(kintone_calls(&h), 0, "fail closed: kintone not called");
    let body =
        json!({"name": "山田", "email": "a@example.jp", "session": "午前の部", "consent": true});
    let response = submit::handle(
        &relay,
        from_address(post_json(FORM, &body), "198.51.100.40"),
    )
    .await
    .unwrap();
    assert_eq!(response.status(), 201, "fail open");
}

#[tokio::test]
async fn only_allowed_networks_may_call_and_forwarded_for_changes_nothing() {
    let config = deals_config("").replace(
        "allowed_origins = [",
        "allowed_ips = [\"203.0.113.0/24\", \"2001:db8::/32\"]\nallowed_origins = [",
    );
    let h = harness(&config, &[("view", DEALS_VIEW_TOKEN)]).await;
    let spoofed = |ip: &str| {
        let mut request = ask(&guess("P-001"), ip);
        request
            .headers_mut()
            .insert("x-forwarded-for", "203.0.113.5".parse().unwrap());
        request
    };
    let response = lookup::handle(&h.relay, spoofed("198.51.100.1"))
        .await
        .unwrap();
    assert_eq!(response.status(), 403);
    assert_eq!(body_json(&response)["error"]["code"], "forbidden");
    assert_eq!(kintone_calls(&h), 0);
    // Without a request context (no known address), an allow-list admits no one.
    let bare = post(
        LOOKUP,
        guess("P-001").to_string(),
        &[
            ("content-type", "application/json"),
            ("origin", PARTNER_ORIGIN),
        ],
    );
    assert_eq!(lookup::handle(&h.relay, bare).await.unwrap().status(), 403);
    assert_eq!(kintone_calls(&h), 0);
    assert_eq!(
        lookup::handle(&h.relay, spoofed("203.0.113.9"))
            .await
            .unwrap()
            .status(),
        200
    );
    assert_eq!(
        lookup::handle(&h.relay, spoofed("2001:db8::7"))
            .await
            .unwrap()
            .status(),
        200
    );
}

#[tokio::test]
async fn a_form_filled_in_too_fast_or_with_a_bad_stamp_stores_nothing() {
    use relay_shared::secrets::HashKey;
    use relay_shared::submit::stamp;
    use std::time::{Duration, SystemTime};

    let key = limits_key();
    let form = SEMINAR_FIXTURE.replace(
        "max_body_bytes = 65536",
        "max_body_bytes = 65536\nmin_fill_seconds = 3",
    );
    let config = config_with("", &[&form, limits_section()]);
    let h = harness(&config, &[("add", SEMINAR_ADD_TOKEN), ("limits", &key)]).await;
    let relay = counting(&h).await;
    let described = submit::handle(&relay, request("GET", FORM, &[("origin", ORIGIN)]))
        .await
        .unwrap();
    assert_eq!(described.status(), 200);
    assert_ne!(
        header(&described, "cache-control"),
        Some("public, max-age=60")
    );
    let fresh = body_json(&described)["stamp"].as_str().unwrap().to_owned();
    let body =
        json!({"name": "山田", "email": "a@example.jp", "session": "午前の部", "consent": true});
    let send = |stamp: Option<String>| {
        let mut request = from_address(post_json(FORM, &body), "198.51.100.50");
        if let Some(stamp) = stamp {
            request
                .headers_mut()
                .insert("x-relay-stamp", stamp.parse().unwrap());
        }
        submit::handle(&relay, request)
    };
    let too_fast = send(Some(fresh.clone())).await.unwrap();
    assert_eq!(too_fast.status(), 429);
    assert_eq!(body_json(&too_fast)["error"]["code"], "too_fast");
    let wait: u64 = header(&too_fast, "retry-after").unwrap().parse().unwrap();
    assert!((1..=3).contains(&wait), "{wait}");
    let hash_key = HashKey::new(key.as_bytes());
    let now = SystemTime::now();
    let old = stamp::issue(&hash_key, "seminar", now - Duration::from_secs(25 * 3600));
    let forged = stamp::issue(
        &HashKey::new(b"not the relay's key at all"),
        "seminar",
        now - Duration::from_secs(60),
    );
    for (label, stamp) in [
        ("missing", None),
        ("old", Some(old)),
        ("forged", Some(forged)),
    ] {
        let response = send(stamp).await.unwrap();
        assert_eq!(response.status(), 400, "{label}");
        assert_eq!(
            body_json(&response)["error"]["code"],
            "invalid_stamp",
            "{label}"
        );
    }
    assert!(h.emulator.records(12).is_empty(), "nothing stored");
    let paced = stamp::issue(&hash_key, "seminar", now - Duration::from_secs(10));
    assert_eq!(send(Some(paced)).await.unwrap().status(), 201);
    assert_eq!(h.emulator.records(12).len(), 1);
}
