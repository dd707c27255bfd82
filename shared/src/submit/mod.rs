//! The submit pipeline: a form's inputs are validated into a person's answers (or recognised as
//! a bot), assembled into a [`Submission`] with its receipt, and delivered to kintone once.
//!
//! ```text
//! Inputs --validate--> Validated::Person(Answers) --Submission::new--> Submission
//!   --accept--> Delivered (now) | Queued (SQS, for `deliver_batch` later)
//! ```

mod accept;
mod admit;
mod batch;
mod deliver;
pub mod stamp;
mod submission;
mod validate;

pub use accept::{Accepted, accept};
pub use admit::{TooManySubmissions, admit};
pub use batch::{BatchOutcome, deliver_batch};
pub use deliver::{Delivered, DeliveryError, Refusal, deliver};
pub use submission::{
    Answers, FieldValue, FileRef, IdempotencyKey, Receipt, Record, Submission, WriteValue,
};
pub use validate::{HandleCheck, Validated, validate};
