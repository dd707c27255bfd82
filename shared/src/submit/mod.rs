//! The submit pipeline: a form's inputs are validated into a person's answers (or recognised as
//! a bot), assembled into a [`Submission`] with its receipt, and delivered to kintone once.
//!
//! ```text
//! Inputs --validate--> Validated::Person(Answers) --Submission::new--> Submission --deliver--> Delivered
//! ```

mod deliver;
mod submission;
mod validate;

pub use deliver::{Delivered, DeliveryError, Refusal, deliver};
pub use submission::{
    Answers, FieldValue, IdempotencyKey, Receipt, Record, Submission, WriteValue,
};
pub use validate::{Validated, validate};
