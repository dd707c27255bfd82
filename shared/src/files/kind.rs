//! The file types a form may accept, recognised by their leading bytes ("magic numbers"): the
//! `Content-Type` a browser sends is whatever the file's name suggests, so it proves nothing.

use serde::{Deserialize, Serialize};

/// A file type the relay can recognise from its bytes.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub enum FileType {
    #[serde(rename = "application/pdf")]
    Pdf,
    #[serde(rename = "image/png")]
    Png,
    #[serde(rename = "image/jpeg")]
    Jpeg,
    #[serde(rename = "image/gif")]
    Gif,
    #[serde(rename = "image/webp")]
    Webp,
}

impl FileType {
    pub const ALL: [FileType; 5] = [
        FileType::Pdf,
        FileType::Png,
        FileType::Jpeg,
        FileType::Gif,
        FileType::Webp,
    ];

    /// What a form accepts when relay.toml lists nothing.
    pub const DEFAULT_ACCEPT: [FileType; 3] = [FileType::Pdf, FileType::Png, FileType::Jpeg];

    pub fn mime(self) -> &'static str {
        match self {
            FileType::Pdf => "application/pdf",
            FileType::Png => "image/png",
            FileType::Jpeg => "image/jpeg",
            FileType::Gif => "image/gif",
            FileType::Webp => "image/webp",
        }
    }

    pub fn from_mime(text: &str) -> Option<Self> {
        let text = text.trim();
        Self::ALL
            .into_iter()
            .find(|t| t.mime().eq_ignore_ascii_case(text))
    }

    /// The type the bytes themselves show, if any of the known ones.
    pub fn sniff(bytes: &[u8]) -> Option<Self> {
        if bytes.starts_with(b"%PDF-") {
            Some(FileType::Pdf)
        } else if bytes.starts_with(b"\x89PNG\r\n\x1a\n") {
            Some(FileType::Png)
        } else if bytes.starts_with(b"\xff\xd8\xff") {
            Some(FileType::Jpeg)
        } else if bytes.starts_with(b"GIF87a") || bytes.starts_with(b"GIF89a") {
            Some(FileType::Gif)
        } else if bytes.len() >= 12 && &bytes[..4] == b"RIFF" && &bytes[8..12] == b"WEBP" {
            Some(FileType::Webp)
        } else {
            None
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn types_come_from_the_bytes() {
        assert_eq!(FileType::sniff(b"%PDF-1.7\n"), Some(FileType::Pdf));
        assert_eq!(
            FileType::sniff(b"\x89PNG\r\n\x1a\n\0\0"),
            Some(FileType::Png)
        );
        assert_eq!(FileType::sniff(b"\xff\xd8\xff\xe0"), Some(FileType::Jpeg));
        assert_eq!(FileType::sniff(b"GIF89a"), Some(FileType::Gif));
        assert_eq!(
            FileType::sniff(b"RIFF\0\0\0\0WEBPVP8 "),
            Some(FileType::Webp)
        );
        // A Windows executable, an ELF binary, a script, nothing.
        assert_eq!(FileType::sniff(b"MZ\x90\0\x03\0\0\0"), None);
        assert_eq!(FileType::sniff(b"\x7fELF\x02\x01"), None);
        assert_eq!(FileType::sniff(b"#!/bin/sh\n%PDF-"), None);
        assert_eq!(FileType::sniff(b""), None);
        assert_eq!(FileType::from_mime(" Application/PDF"), Some(FileType::Pdf));
        assert_eq!(FileType::from_mime("application/x-msdownload"), None);
    }
}
