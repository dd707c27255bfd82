//! No submission lost: a form with `queue = true` queues on SQS (moto) what kintone cannot take
//! now, and `deliver` adds the queue to kintone in bulk, each submission exactly once.

use std::collections::BTreeMap;

use aws_lambda_events::event::sqs::SqsEvent;
use kintone_emulator::Fault;
use relay_e2e::*;
use relay_shared::queue::{DeadLetters, SubmissionQueue};
use relay_shared::relay::Relay;
use relay_shared::submit::{Receipt, Submission, Validated, validate};
use serde_json::{Value, json};

const PATH: &str = "/forms/seminar";
const SEMINAR_APP: u64 = 12;

/// The seminar form, queueing.
fn queued_config() -> String {
    seminar_config("").replace("queue = false", "queue = true")
}

struct Stack {
    h: Harness,
    sqs: aws_sdk_sqs::Client,
    queue_url: String,
    dead_letter_url: String,
    /// The `submit` function, queueing on `queue_url`.
    submit: Relay,
    deliverer: deliver::Deliverer,
}

async fn stack(config: &str) -> Stack {
    let h = harness(config, &[("add", SEMINAR_ADD_TOKEN)]).await;
    let sqs = sqs_client().await;
    let queue_url = create_queue(&sqs, "submissions").await;
    let dead_letter_url = create_queue(&sqs, "dead-letters").await;
    let submit = h
        .another_relay()
        .with_queue(SubmissionQueue::new(sqs.clone(), queue_url.clone()));
    let deliverer = deliver::Deliverer {
        relay: h.another_relay(),
        dead_letters: DeadLetters::new(sqs.clone(), dead_letter_url.clone()),
    };
    Stack {
        h,
        sqs,
        queue_url,
        dead_letter_url,
        submit,
        deliverer,
    }
}

fn application(n: usize) -> Value {
    json!({"name": format!("申込者{n}"), "email": format!("a{n}@example.jp"), "session": "午前の部", "consent": true})
}

async fn apply(stack: &Stack, n: usize) -> (u16, Value) {
    let response = submit::handle(&stack.submit, post_json(PATH, &application(n)))
        .await
        .unwrap();
    (response.status().as_u16(), body_json(&response))
}

/// Messages as SQS hands them to the function: up to `max` received from `queue`.
async fn receive(stack: &Stack, queue: &str, max: usize) -> Vec<(String, String, String)> {
    let mut messages = Vec::new();
    while messages.len() < max {
        let received = stack
            .sqs
            .receive_message()
            .queue_url(queue)
            .max_number_of_messages(10.min((max - messages.len()) as i32))
            .send()
            .await
            .expect("receive_message");
        let batch = received.messages.unwrap_or_default();
        if batch.is_empty() {
            break;
        }
        for message in batch {
            messages.push((
                message.message_id.unwrap_or_default(),
                message.receipt_handle.unwrap_or_default(),
                message.body.unwrap_or_default(),
            ));
        }
    }
    messages
}

fn event(messages: &[(String, String, String)]) -> SqsEvent {
    let records: Vec<Value> = messages
        .iter()
        .map(|(id, handle, body)| {
            json!({"messageId": id, "receiptHandle": handle, "body": body, "eventSource": "aws:sqs"})
        })
        .collect();
    serde_json::from_value(json!({ "Records": records })).expect("an SQS event")
}

/// One invocation of `deliver` with up to `batch` messages, then what Lambda does after it:
/// deletes the messages not reported as failures. Returns how many messages it handled.
async fn deliver_once(stack: &Stack, batch: usize) -> usize {
    let messages = receive(stack, &stack.queue_url, batch).await;
    if messages.is_empty() {
        return 0;
    }
    let response = deliver::handle(&stack.deliverer, event(&messages))
        .await
        .expect("deliver answers");
    let failed: Vec<String> = response
        .batch_item_failures
        .iter()
        .map(|failure| failure.item_identifier.clone())
        .collect();
    let mut delivered = Vec::new();
    for (id, handle, _) in &messages {
        if failed.contains(id) {
            // Back in the queue at once, instead of after the visibility timeout.
            stack
                .sqs
                .change_message_visibility()
                .queue_url(&stack.queue_url)
                .receipt_handle(handle)
                .visibility_timeout(0)
                .send()
                .await
                .expect("change_message_visibility");
        } else {
            delivered.push(handle.clone());
        }
    }
    for chunk in delivered.chunks(10) {
        let mut entries = Vec::new();
        for (i, handle) in chunk.iter().enumerate() {
            entries.push(
                aws_sdk_sqs::types::DeleteMessageBatchRequestEntry::builder()
                    .id(i.to_string())
                    .receipt_handle(handle)
                    .build()
                    .expect("entry"),
            );
        }
        stack
            .sqs
            .delete_message_batch()
            .queue_url(&stack.queue_url)
            .set_entries(Some(entries))
            .send()
            .await
            .expect("delete_message_batch");
    }
    messages.len() - failed.len()
}

async fn drain(stack: &Stack) {
    for _ in 0..200 {
        if deliver_once(stack, 100).await == 0 && receive_count(stack).await == 0 {
            return;
        }
    }
    panic!("the queue does not drain");
}

async fn receive_count(stack: &Stack) -> usize {
    let attributes = stack
        .sqs
        .get_queue_attributes()
        .queue_url(&stack.queue_url)
        .attribute_names(aws_sdk_sqs::types::QueueAttributeName::ApproximateNumberOfMessages)
        .attribute_names(
            aws_sdk_sqs::types::QueueAttributeName::ApproximateNumberOfMessagesNotVisible,
        )
        .send()
        .await
        .expect("get_queue_attributes");
    attributes
        .attributes
        .unwrap_or_default()
        .values()
        .map(|n| n.parse::<usize>().unwrap_or(0))
        .sum()
}

/// Receipt -> how many records hold it.
fn receipts_in_kintone(h: &Harness) -> BTreeMap<String, usize> {
    let mut receipts = BTreeMap::new();
    for record in h.emulator.records(SEMINAR_APP) {
        let receipt = record["受付番号"]["value"]
            .as_str()
            .unwrap_or("")
            .to_owned();
        *receipts.entry(receipt).or_insert(0) += 1;
    }
    receipts
}

fn record_adds(h: &Harness) -> usize {
    h.emulator
        .requests()
        .iter()
        .filter(|r| r.path.ends_with("/records.json") && r.method == "POST")
        .count()
}

#[tokio::test]
async fn a_healthy_kintone_gets_the_record_directly_and_a_direct_form_never_answers_202() {
    let stack = stack(&queued_config()).await;
    let (status, body) = apply(&stack, 1).await;
    assert_eq!(status, 201, "{body}");
    assert_eq!(body["status"], "created");
    assert_eq!(receive_count(&stack).await, 0, "nothing queued");

    // The same stack, but the form does not queue: kintone down is a 503, as before.
    let direct = stack_with_form_queueing(false).await;
    direct.h.emulator.set_fault(Fault::Maintenance);
    let (status, body) = apply(&direct, 2).await;
    assert_eq!(status, 503, "{body}");
    assert_eq!(
        receive_count(&direct).await,
        0,
        "a direct form never queues"
    );
}

async fn stack_with_form_queueing(queue: bool) -> Stack {
    if queue {
        stack(&queued_config()).await
    } else {
        stack(&seminar_config("")).await
    }
}

#[tokio::test]
async fn five_hundred_submissions_in_maintenance_and_a_429_burst_all_land_exactly_once() {
    let stack = stack(&queued_config()).await;
    let mut receipts = Vec::new();
    for (fault, range) in [(Fault::Maintenance, 0..250), (Fault::RateLimited, 250..500)] {
        stack.h.emulator.set_fault(fault);
        for n in range {
            let (status, body) = apply(&stack, n).await;
            assert!(status == 201 || status == 202, "{n}: {status} {body}");
            assert_eq!(
                body["status"],
                if status == 202 { "queued" } else { "created" }
            );
            receipts.push(body["receipt"].as_str().unwrap().to_owned());
        }
    }
    assert_eq!(stack.h.emulator.records(SEMINAR_APP).len(), 0);
    stack.h.emulator.set_fault(Fault::None);
    drain(&stack).await;
    let stored = receipts_in_kintone(&stack.h);
    assert_eq!(stack.h.emulator.records(SEMINAR_APP).len(), 500);
    for receipt in &receipts {
        assert_eq!(stored.get(receipt), Some(&1), "receipt {receipt}");
    }
}

#[tokio::test]
async fn a_deliver_that_dies_before_deleting_its_batch_loses_and_duplicates_nothing() {
    let stack = stack(&queued_config()).await;
    stack.h.emulator.set_fault(Fault::Maintenance);
    for n in 0..30 {
        assert_eq!(apply(&stack, n).await.0, 202);
    }
    stack.h.emulator.set_fault(Fault::None);
    // The first invocation adds its batch, then dies before Lambda deletes the messages.
    let messages = receive(&stack, &stack.queue_url, 20).await;
    assert_eq!(messages.len(), 20);
    let response = deliver::handle(&stack.deliverer, event(&messages))
        .await
        .unwrap();
    assert!(response.batch_item_failures.is_empty());
    assert_eq!(stack.h.emulator.records(SEMINAR_APP).len(), 20);
    for (_, handle, _) in &messages {
        stack
            .sqs
            .change_message_visibility()
            .queue_url(&stack.queue_url)
            .receipt_handle(handle)
            .visibility_timeout(0)
            .send()
            .await
            .unwrap();
    }
    // SQS delivers those 20 again, with the 10 others.
    drain(&stack).await;
    let stored = receipts_in_kintone(&stack.h);
    assert_eq!(stack.h.emulator.records(SEMINAR_APP).len(), 30);
    assert!(stored.values().all(|&count| count == 1), "{stored:?}");
}

#[tokio::test]
async fn a_poison_record_goes_to_the_dead_letter_queue_and_the_rest_of_its_batch_is_delivered() {
    let stack = stack(&queued_config()).await;
    stack.h.emulator.set_fault(Fault::Maintenance);
    for n in 0..9 {
        assert_eq!(apply(&stack, n).await.0, 202);
    }
    // A submission the app refuses (a number out of its range), queued by an older relay.
    let (_, handle, body) = receive(&stack, &stack.queue_url, 1).await.remove(0);
    stack
        .sqs
        .change_message_visibility()
        .queue_url(&stack.queue_url)
        .receipt_handle(handle)
        .visibility_timeout(0)
        .send()
        .await
        .unwrap();
    let mut poison: Value = serde_json::from_str(&body).unwrap();
    poison["record"]["参加人数"] = json!({"value": "99"});
    poison["receipt"] = json!("POIS-ON00-0000-0000-0000");
    poison["record"]["受付番号"] = json!({"value": "POIS-ON00-0000-0000-0000"});
    stack
        .sqs
        .send_message()
        .queue_url(&stack.queue_url)
        .message_body(poison.to_string())
        .send()
        .await
        .unwrap();
    stack.h.emulator.set_fault(Fault::None);
    drain(&stack).await;
    assert_eq!(stack.h.emulator.records(SEMINAR_APP).len(), 9);
    let dead = stack
        .sqs
        .receive_message()
        .queue_url(&stack.dead_letter_url)
        .max_number_of_messages(10)
        .message_attribute_names("All")
        .send()
        .await
        .unwrap()
        .messages
        .unwrap_or_default();
    assert_eq!(dead.len(), 1);
    let attributes = dead[0].message_attributes.clone().unwrap_or_default();
    let attribute = |name: &str| {
        attributes
            .get(name)
            .and_then(|value| value.string_value.clone())
            .unwrap_or_default()
    };
    assert_eq!(attribute("reason"), "CB_VA01");
    assert_eq!(attribute("fields"), "参加人数", "field codes, never values");
    let body = dead[0].body.clone().unwrap_or_default();
    assert!(
        body.contains("POIS-ON00"),
        "the message is kept as it was, for a replay"
    );
}

#[tokio::test]
async fn a_thousand_queued_submissions_of_one_app_take_at_most_twelve_kintone_calls() {
    let stack = stack(&queued_config()).await;
    // Queued as `submit` queues them (the same Submission JSON), ten to an SQS call.
    let form = &stack.submit.config.forms["seminar"];
    let bodies: Vec<String> = (0..1000)
        .map(|n| {
            let body = application(n).to_string();
            let inputs = relay_shared::input::Inputs::parse(body.as_bytes()).unwrap();
            let Ok(Validated::Person(answers)) = validate(form, &inputs, None) else {
                panic!("a valid application");
            };
            let receipt = Receipt::random().unwrap();
            serde_json::to_string(&Submission::new(form, answers, receipt, None)).unwrap()
        })
        .collect();
    for (chunk_number, chunk) in bodies.chunks(10).enumerate() {
        let entries = chunk
            .iter()
            .enumerate()
            .map(|(i, body)| {
                aws_sdk_sqs::types::SendMessageBatchRequestEntry::builder()
                    .id(format!("{chunk_number}-{i}"))
                    .message_body(body)
                    .build()
                    .unwrap()
            })
            .collect();
        stack
            .sqs
            .send_message_batch()
            .queue_url(&stack.queue_url)
            .set_entries(Some(entries))
            .send()
            .await
            .unwrap();
    }
    stack.h.emulator.clear_requests();
    drain(&stack).await;
    assert_eq!(stack.h.emulator.records(SEMINAR_APP).len(), 1000);
    let calls = stack.h.emulator.requests().len();
    assert!(calls <= 12, "{calls} kintone calls");
    assert_eq!(record_adds(&stack.h), calls);
}
