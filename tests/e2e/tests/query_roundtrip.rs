//! The relay's query builder against the emulator's strict parser: whatever a partner types,
//! the literal parses back to exactly that text and the query keeps exactly its conditions.

use kintone_emulator::query::{self, Expr, Op, Value};
use proptest::prelude::*;
use relay_shared::query::{FieldCode, Literal, QueryBuilder, TrustedCondition};

fn build(key: &str, name: &str) -> Option<String> {
    let filter = TrustedCondition::parse(r#"公開 in ("公開する")"#).unwrap();
    let key = Literal::new(key).ok()?;
    let name = Literal::new(name).ok()?;
    let query = QueryBuilder::new()
        .trusted(&filter)
        .equals(&FieldCode::parse("担当ID").unwrap(), &key)
        .equals(&FieldCode::parse("担当名").unwrap(), &name)
        .limit(21)
        .build();
    Some(query.as_str().to_owned())
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(2000))]

    #[test]
    fn any_typed_text_stays_one_literal(key in any::<String>(), name in ".*[\"\\\\]{1,3}.*") {
        let has_control = key.chars().chain(name.chars()).any(char::is_control);
        let Some(text) = build(&key, &name) else {
            prop_assert!(has_control, "only control characters are refused");
            return Ok(());
        };
        prop_assert!(!has_control);
        let parsed = query::parse(&text).map_err(|e| TestCaseError::fail(format!("{text:?}: {e}")))?;
        prop_assert_eq!(parsed.limit, Some(21));
        prop_assert!(parsed.order_by.is_empty() && parsed.offset.is_none());
        let condition = parsed.condition.expect("conditions");
        let got: Vec<Expr> = condition.conditions().into_iter().cloned().collect();
        let cond = |field: &str, op: Op, value: Value| Expr::Cond { field: field.into(), op, value };
        prop_assert_eq!(got, vec![
            cond("公開", Op::In, Value::List(vec!["公開する".into()])),
            cond("担当ID", Op::Eq, Value::Str(key.clone())),
            cond("担当名", Op::Eq, Value::Str(name.clone())),
        ]);
    }
}
