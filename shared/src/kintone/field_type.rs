//! kintone's field types, as its REST API names them (`"type": "SINGLE_LINE_TEXT"`).

use serde::{Deserialize, Serialize};

#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize, Serialize)]
#[serde(rename_all = "SCREAMING_SNAKE_CASE")]
pub enum FieldType {
    SingleLineText,
    MultiLineText,
    RichText,
    Number,
    Calc,
    RadioButton,
    CheckBox,
    MultiSelect,
    DropDown,
    UserSelect,
    OrganizationSelect,
    GroupSelect,
    Date,
    Time,
    Datetime,
    Link,
    File,
    Subtable,
    RecordNumber,
    Creator,
    CreatedTime,
    Modifier,
    UpdatedTime,
    Status,
    StatusAssignee,
    Category,
    Label,
    Spacer,
    Hr,
    ReferenceTable,
    Group,
    #[serde(rename = "__ID__")]
    Id,
    #[serde(rename = "__REVISION__")]
    Revision,
}

impl FieldType {
    /// Parses kintone's name of a type.
    pub fn from_name(name: &str) -> Option<Self> {
        use serde::de::IntoDeserializer;
        let deserializer: serde::de::value::StrDeserializer<'_, serde::de::value::Error> =
            name.into_deserializer();
        Self::deserialize(deserializer).ok()
    }

    /// kintone's name of the type, from the same serde names it is parsed with.
    pub fn name(self) -> String {
        serde_json::to_value(self)
            .ok()
            .and_then(|value| value.as_str().map(str::to_owned))
            .unwrap_or_default()
    }

    /// Text fields on which kintone's queries allow only `like`, never `=`.
    pub fn allows_only_like(self) -> bool {
        matches!(self, FieldType::MultiLineText | FieldType::RichText)
    }
}

#[cfg(test)]
mod tests {
    use super::FieldType;

    #[test]
    fn names_round_trip() {
        for name in ["SINGLE_LINE_TEXT", "DROP_DOWN", "DATETIME", "__ID__", "HR"] {
            assert_eq!(
                FieldType::from_name(name).map(FieldType::name).as_deref(),
                Some(name)
            );
        }
        assert_eq!(FieldType::from_name("single_line_text"), None);
    }
}
